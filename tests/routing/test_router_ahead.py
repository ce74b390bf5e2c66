"""Routing ahead (`Router.route_ahead`): the router classifies the next batch while the current
one waits on the database. The batch then gets exactly the decisions it would have made itself,
each taken once, and none made under another catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hotline.routing.catalogue import Catalogue, default_catalogue
from hotline.routing.engine import Router

TEXTS = ["公司拖欠工资三个月，老板跑路了", "东城街道路灯坏了一个星期", "河涌发黑发臭，附近居民受不了",
         "家里着火了，快来人", "请问社保卡怎么补办", "我要投诉隔壁工地噪音扰民", "公司拖欠工资三个月，老板跑路了",
         "虎门镇有人占道经营", ""]


@dataclass
class Loc:
    lat: float | None
    lng: float | None


LOCS: list[Any] = [None, Loc(23.02, 113.75), None, None, Loc(None, None), None, Loc(22.8, 113.67), None, None]


def _trained_router() -> Router:
    from hotline.routing.models import Models, TextClassifier

    env = ["河涌发黑发臭，附近居民受不了", "工厂晚上偷排废水，河里的鱼都死了", "垃圾站臭气熏天", "工地扬尘很大",
           "化工厂排放刺鼻气体", "河道里漂满垃圾，水质很差"]
    labour = ["老板拖欠工资三个月不发", "公司不给买社保", "被公司辞退没有赔偿", "加班没有加班费",
              "工伤认定怎么办理", "劳动合同到期不续签也不补偿"]
    clf = TextClassifier.train(env + labour, ["环境保护"] * 6 + ["劳动和社会保障"] * 6, target="topic")
    return Router(models=Models(topic=clf), model_status="topic: model, type: rules")


def _dumps(decisions: list[Any]) -> list[dict[str, Any]]:
    return [d.model_dump() for d in decisions]


@pytest.mark.parametrize("make", [Router, _trained_router], ids=["rules", "topic model"])
def test_decisions_routed_ahead_in_steps_are_the_ones_the_batch_makes(make: Any) -> None:
    router = make()
    expected = _dumps(router.route_batch(TEXTS, LOCS))
    calls: list[int] = []
    inner = router._route_batch

    def counted(texts: list[str], locations: Any = None) -> Any:
        calls.append(len(texts))
        return inner(texts, locations)

    router._route_batch = counted  # type: ignore[method-assign]
    router.start_ahead()
    for i in range(0, len(TEXTS), 2):  # in steps, as the worker does
        router.route_ahead(TEXTS[i:i + 2], LOCS[i:i + 2])
    calls.clear()
    assert _dumps(router.route_batch(TEXTS, LOCS)) == expected
    assert calls == []  # every decision was taken from those routed ahead
    # Taken once: the same texts again (a batch retried) are routed afresh, untouched by what
    # the first batch's caller did to its decisions.
    again = router.route_batch(TEXTS, LOCS)
    assert calls == [len(TEXTS)]
    assert _dumps(again) == expected


def test_a_changed_text_or_place_is_routed_for_itself() -> None:
    router = Router()
    router.start_ahead()
    router.route_ahead(TEXTS, LOCS)
    locs = list(LOCS)
    locs[1] = Loc(22.8, 113.67)  # moved
    texts = list(TEXTS)
    texts[0] = "1"  # an escalation rewrote it
    got = _dumps(router.route_batch(texts, locs))
    assert got == _dumps(Router().route_batch(texts, locs))


def test_decisions_made_under_another_catalogue_are_not_used() -> None:
    router = Router()
    router.start_ahead()
    router.route_ahead(TEXTS, LOCS)
    router.catalogue = Catalogue(99, default_catalogue().rows, source="test")  # what `refresh` does when an admin activates a new version
    got = router.route_batch(TEXTS, LOCS)
    assert {d.catalogue_version for d in got} == {99}
    router.route_ahead(TEXTS, LOCS)  # started under the old one: nothing is kept
    assert all(d.catalogue_version == 99 for d in router.route_batch(TEXTS, LOCS))


def test_the_threshold_in_force_decides() -> None:
    router = Router(threshold=0.6)
    router.start_ahead()
    router.route_ahead(TEXTS, LOCS)
    router.threshold = 1.0  # nothing is sure enough now
    assert all(d.department_code is None for d in router.route_batch(TEXTS, LOCS))


def test_only_the_batch_before_is_kept() -> None:
    router = Router()
    for _ in range(3):  # three batches prepared, none handled (retried or skipped)
        router.start_ahead()
        router.route_ahead(TEXTS, LOCS)
    assert len(router._ahead) == 2
    assert sum(len(v) for a in router._ahead for v in a.by_key.values()) == 2 * len(TEXTS)
