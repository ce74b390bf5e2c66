"""Urgency and hand-off: life-safety keywords, utilities outages, refusals; negations do not trigger."""

from __future__ import annotations

import pytest

from hotline.routing.urgency import assess


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("塘厦镇某工厂仓库起火了，浓烟很大，请赶快派人", "119"),
        ("我们小区3栋煤气泄漏，整栋楼都是煤气味", "119"),
        ("商场电梯故障，有人被困在里面半小时了", "119"),
        ("楼下有人持刀闹事，正在打人", "110"),
        ("环城路口发生车祸，有人受伤倒在地上", "122"),
        ("公园里有老人晕倒了，不省人事", "120"),
    ],
)
def test_life_safety_is_an_emergency_with_a_hand_off(text: str, target: str) -> None:
    f = assess(text)
    assert f.urgency == "emergency"
    assert f.handoff is not None and f.handoff["target"] == target
    assert f.handoff["reason"] and str(f.handoff["keyword"]) in text
    assert target in f.reasons[0]


def test_an_accident_with_injuries_also_calls_an_ambulance() -> None:
    f = assess("路口发生车祸，有人受伤流血")
    assert f.handoff is not None and f.handoff["also"] == ["120"]


@pytest.mark.parametrize(
    "text",
    [
        "厨房冒烟了，但是没有起火，只是油烟机坏了",
        "路口两车追尾，无人受伤，交警还没来",
        "这个厂房存在火灾隐患，消防通道被堵",
        "希望加强防范，防止火灾发生",
        "没有人受伤，就是车被刮花了",
        "去年小区内就发生了3起火灾，消防设施一直没有整改",  # past events, a count
        "电梯经常坏，有时业主被困电梯都没人管",  # habitual, not now
        "这是个信息大爆炸的时代",
    ],
)
def test_negations_and_risks_do_not_trigger_an_emergency(text: str) -> None:
    f = assess(text)
    assert f.urgency != "emergency"
    assert f.handoff is None


@pytest.mark.parametrize("text", ["小区停水三天了，也没有通知", "家里突然停电，整栋楼都没电", "燃气停了一天，没法做饭"])
def test_outages_get_the_utilities_tier(text: str) -> None:
    assert assess(text).urgency == "utilities"


def test_a_price_complaint_is_not_an_outage() -> None:
    assert assess("小区燃气费太贵了，比别的小区贵一倍").urgency == "normal"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("公司拖欠工资，我已向法院起诉，法院还没开庭", "court"),
        ("这个劳动纠纷已经在仲裁中了，公司还是不给钱", "arbitration"),
        ("这个问题我已信访，信访部门已受理，请你们也督促一下", "信访"),
    ],
)
def test_matters_in_court_or_petition_are_flagged_for_refusal(text: str, needle: str) -> None:
    f = assess(text)
    assert f.refusal is not None and needle in f.refusal["reason"]


@pytest.mark.parametrize("text", ["公司拖欠工资，我想起诉他们，怎么办？", "请问如何申请劳动仲裁", "没有起诉，只想协商"])
def test_asking_about_court_is_not_being_in_court(text: str) -> None:
    assert assess(text).refusal is None
