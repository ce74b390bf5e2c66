"""The engine end to end: a message dispatched by the active catalogue, the manual queue with
three suggestions, emergencies and refusals held for an agent, models missing or corrupt."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hotline.api.app import create_app
from hotline.auth.principal import Role
from hotline.kit.db import Database
from hotline.routing.engine import Router
from tests.conftest import client_for, settings_for
from tests.support.auth import headers_for

HEADER = "rule,topic,area,type,lead,co,keywords,note\n"


@pytest.fixture
async def client(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The embedded app, re-reading the catalogue on every batch, signed in as an agent."""
    async with client_for(create_app(settings_for(pg_url, catalogue_refresh_seconds=0))) as c:
        c.headers.update(await headers_for(db, Role.AGENT))
        yield c


async def _post(c: httpx.AsyncClient, text: str, phone: str = "13800138000", **extra: object) -> dict:
    r = await c.post("/channels/web", json={"phone": phone, "text": text, **extra})
    assert r.status_code == 202, r.text
    t = await c.get(f"/api/v1/tickets/{r.json()['tracking_number']}")
    assert t.status_code == 200, t.text
    return t.json()


async def test_dispatch_records_catalogue_version_and_rule(client: httpx.AsyncClient, db: Database) -> None:
    admin = await headers_for(db, Role.ADMIN)
    r = await client.put("/api/v1/admin/catalogue",
                         content=HEADER + "night-works,环境保护,*,*,env,@town|urban,夜间施工|噪音,\n",
                         headers={**admin, "content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["current"]["version"] == 1

    t = await _post(client, "我要投诉塘厦镇某工地夜间施工噪音扰民，每天晚上十二点还在打桩")
    assert t["status"] == "dispatched"
    assert t["department_code"] == "env" and t["town_code"] == "town-tangxia"
    assert t["routing"]["catalogue_version"] == 1
    assert t["routing"]["rule"] == "catalogue:night-works"
    assert t["routing"]["co_department_codes"] == ["town-tangxia", "urban"]
    dispatched = next(e for e in t["events"] if e["kind"] == "dispatched")
    assert dispatched["data"]["catalogue_version"] == 1
    assert dispatched["data"]["rule"] == "catalogue:night-works"
    assert "夜间施工" in dispatched["reason"]


async def test_coordinates_place_a_message_with_no_place_name(client: httpx.AsyncClient) -> None:
    t = await _post(client, "小区门口的路灯坏了一个星期，晚上很黑", location={"lat": 22.80, "lng": 114.08})
    assert t["town_code"] == "town-tangxia"
    assert t["routing"]["place"]["via"] == "coordinates"
    assert t["department_code"] == "urban" and "town-tangxia" in t["routing"]["co_department_codes"]


async def test_unsure_ticket_waits_in_the_queue_with_three_suggestions(client: httpx.AsyncClient,
                                                                         db: Database) -> None:
    t = await _post(client, "小区物业乱收费，楼下餐馆油烟很大，还有人占道经营，没人管")
    assert t["status"] == "pending_dispatch" and t["department_code"] is None
    queued = next(e for e in t["events"] if e["kind"] == "queued_for_manual_dispatch")
    assert "below the threshold" in queued["reason"]

    page = (await client.get("/api/v1/dispatch-queue")).json()
    [item] = page["items"]
    assert item["tracking_number"] == t["tracking_number"]
    assert item["confidence"] < 0.6
    units = [s["department_code"] for s in item["suggestions"]]
    assert len(units) == 3 and len(set(units)) == 3
    assert set(units) <= {"housing", "market", "env", "urban"}
    assert all(s["reasons"] and s["department_name"] for s in item["suggestions"])
    assert any("乱收费" in " ".join(s["reasons"]) for s in item["suggestions"])


async def test_queue_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await _post(client, f"你好，我有个事情想反映一下（第{i}次）", phone=f"1380013800{i}")
    first = (await client.get("/api/v1/dispatch-queue", params={"limit": 2})).json()
    second = (await client.get("/api/v1/dispatch-queue", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    texts = [i["text"] for i in first["items"] + second["items"]]
    assert texts == [f"你好，我有个事情想反映一下（第{i}次）" for i in (2, 1, 0)]
    assert second["next_cursor"] is None


async def test_emergency_is_held_for_hand_off_and_recorded(client: httpx.AsyncClient) -> None:
    t = await _post(client, "塘厦镇林村一个厂房起火了，浓烟很大，里面好像还有人")
    assert t["urgency"] == "emergency" and t["status"] == "pending_dispatch"
    assert t["routing"]["handoff"]["target"] == "119"
    flagged = [e for e in t["events"] if e["kind"] == "emergency_flagged"]
    assert flagged and "119" in flagged[0]["reason"]
    queue = (await client.get("/api/v1/dispatch-queue", params={"urgency": "emergency"})).json()
    assert [i["handoff"]["target"] for i in queue["items"]] == ["119"]
    # The suggestion is still there for after the hand-off: the town government of 塘厦.
    assert queue["items"][0]["suggestions"][0]["department_code"] == "town-tangxia"


async def test_matter_in_court_is_flagged_for_refusal_not_dispatched(client: httpx.AsyncClient) -> None:
    t = await _post(client, "长安镇某电子厂拖欠我三个月工资，我已向法院起诉，想问问进度")
    assert t["status"] == "pending_dispatch"
    assert "court" in t["routing"]["refusal"]["reason"]
    flagged = next(e for e in t["events"] if e["kind"] == "refusal_flagged")
    assert flagged["data"]["suggested_reason_code"] == "legal_proceedings"
    item = (await client.get("/api/v1/dispatch-queue")).json()["items"][0]
    assert item["suggestions"][0]["department_code"] == "hrss"  # if the agent decides to take it after all


async def test_threshold_is_a_setting(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url, dispatch_confidence_threshold=0.99))) as c:
        c.headers.update(await headers_for(db, Role.AGENT))
        t = await _post(c, "我要投诉塘厦镇某工地夜间施工噪音扰民")
        assert t["status"] == "pending_dispatch"
        assert t["routing"]["suggestions"][0]["department_code"] == "env"
        assert "below the threshold 0.99" in t["routing"]["reasons"][-1]


async def test_queue_is_for_the_centre_only(client: httpx.AsyncClient, db: Database) -> None:
    unit = await headers_for(db, Role.DEPARTMENT, department="env")
    assert (await client.get("/api/v1/dispatch-queue", headers=unit)).status_code == 403


def test_missing_model_means_rules_alone_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                      pg_url: str) -> None:
    caplog.set_level(logging.WARNING)
    router = Router.from_settings(settings_for(pg_url, model_dir=tmp_path))
    assert "rules alone" in caplog.text
    d = router(["我要投诉塘厦镇某工地夜间施工噪音扰民"])[0]
    assert d.models == "rules alone (no model loaded)"
    assert d.department_code == "env" and d.topic == "环境保护"


def test_corrupt_model_means_rules_alone_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                      pg_url: str) -> None:
    (tmp_path / "topic.joblib").write_bytes(b"this is not a model")
    (tmp_path / "type.joblib").write_bytes(b"\x80\x04 broken pickle")
    caplog.set_level(logging.WARNING)
    router = Router.from_settings(settings_for(pg_url, model_dir=tmp_path))
    assert "cannot be loaded" in caplog.text and "rules alone" in caplog.text
    d = router(["公司拖欠工资三个月，老板跑路了"])[0]
    assert d.models == "rules alone (no model loaded)"
    assert d.department_code == "hrss"


def test_a_trained_topic_model_is_used_and_named_in_the_reasons(tmp_path: Path) -> None:
    from hotline.routing.models import Models, TextClassifier

    env = ["河涌发黑发臭，附近居民受不了", "工厂晚上偷排废水，河里的鱼都死了", "垃圾站臭气熏天", "工地扬尘很大",
           "化工厂排放刺鼻气体", "河道里漂满垃圾，水质很差"]
    labour = ["老板拖欠工资三个月不发", "公司不给买社保", "被公司辞退没有赔偿", "加班没有加班费",
              "工伤认定怎么办理", "劳动合同到期不续签也不补偿"]
    clf = TextClassifier.train(env + labour, ["环境保护"] * 6 + ["劳动和社会保障"] * 6, target="topic")
    router = Router(models=Models(topic=clf), model_status="topic: model, type: rules")
    d = router(["我们村旁边的河涌又黑又臭"])[0]
    assert d.topic == "环境保护"
    assert any(r.startswith("topic model: 环境保护") for r in d.reasons)
    assert d.models == "topic: model, type: rules"
