"""Place extraction on real-style Chinese messages: full names, bare names, landmarks, coordinates, ambiguity."""

from __future__ import annotations

import pytest

from hotline.routing.place import extract_place


@pytest.mark.parametrize(
    ("text", "code", "via"),
    [
        ("我要投诉塘厦镇某工地夜间施工噪音扰民", "town-tangxia", "full"),
        ("南城街道鸿福路的路灯坏了一个星期", "street-nancheng", "full"),
        ("松山湖高新区有企业偷排废水", "park-songshanhu", "full"),
        ("大岭山镇的公交车经常不按站停", "town-dalingshan", "full"),
        ("在塘厦那边有个工厂天天排黑烟", "town-tangxia", "bare"),
        ("长安那边的路灯晚上全不亮", "town-changan", "bare"),
        ("我在长安上班，公司拖欠工资三个月", "town-changan", "bare"),
        ("虎门的服装批发市场门口乱摆卖", "town-humen", "bare"),
        ("威远炮台附近的垃圾没人清理", "town-humen", "alias"),
        ("东莞东站出站口的黑车拉客", "town-changping", "alias"),
        ("可园旁边有人占道经营", "street-guancheng", "alias"),
    ],
)
def test_places_are_found(text: str, code: str, via: str) -> None:
    p = extract_place(text)
    assert (p.status, p.code, p.via) == ("found", code, via)
    assert p.reason


@pytest.mark.parametrize(
    "text",
    [
        "我开的长安汽车在4S店保养被乱收费",  # a car brand, not the town
        "北京长安街的事情我想咨询一下",
        "东莞城管执法人员态度恶劣",  # 东莞城… is not 莞城
        "广东城市建设的政策是什么",
        "你好，我想咨询一下社保怎么交",
    ],
)
def test_ordinary_words_are_not_places(text: str) -> None:
    assert extract_place(text).status == "none"


def test_two_towns_named_is_ambiguous_with_both_candidates() -> None:
    p = extract_place("家住塘厦，在长安镇上班，想问问社保转移的事")
    assert p.status == "ambiguous" and p.code is None
    assert [c.code for c in p.candidates] == ["town-changan", "town-tangxia"]


def test_weak_bare_name_without_a_cue_is_ambiguous_not_guessed() -> None:
    p = extract_place("桥头的垃圾堆了好几天")
    assert p.status == "ambiguous"
    assert [c.code for c in p.candidates] == ["town-qiaotou"]
    assert "ordinary word" in p.candidates[0].reason


def test_coordinates_map_to_the_nearest_town_centre() -> None:
    p = extract_place("路灯坏了，位置见定位", lat=22.801, lng=114.079)
    assert (p.status, p.code, p.via) == ("found", "town-tangxia", "coordinates")
    assert "approximate" in (p.reason or "")


def test_coordinates_settle_a_weak_name() -> None:
    p = extract_place("桥头的垃圾堆了好几天", lat=23.02, lng=114.09)
    assert (p.status, p.code, p.via) == ("found", "town-qiaotou", "text+coordinates")


def test_text_wins_over_coordinates() -> None:
    # Written from 长安, about 塘厦: the text says where the problem is.
    p = extract_place("塘厦镇林村社区的下水道堵了", lat=22.815, lng=113.805)
    assert p.code == "town-tangxia"


def test_coordinates_far_from_dongguan_give_no_place() -> None:
    assert extract_place("路灯坏了", lat=39.9, lng=116.4).status == "none"
