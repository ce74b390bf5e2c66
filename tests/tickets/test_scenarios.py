"""The lifecycle over HTTP, as a centre and its units live it: tickets come in through the web
channel (router, SLA and all), then agents, units and supervisors act on them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hotline.auth.principal import Role
from hotline.kit.db import Database
from tests.support.auth import headers_for
from tests.tickets.factories import outbox

H = dict[str, str]


@pytest.fixture
async def who(db: Database) -> dict[str, H]:
    return {
        "agent": await headers_for(db, Role.AGENT),
        "supervisor": await headers_for(db, Role.SUPERVISOR),
        "env": await headers_for(db, Role.DEPARTMENT, "env"),
        "tangxia": await headers_for(db, Role.DEPARTMENT, "town-tangxia"),
        "hrss": await headers_for(db, Role.DEPARTMENT, "hrss"),
    }


async def new_ticket(c: httpx.AsyncClient, text: str, n: int = 0) -> str:
    r = await c.post("/channels/web", json={"phone": f"1380013{n:04d}", "text": text,
                                             "client_message_id": f"lc-{n}-{hash(text) % 10_000}"})
    assert r.status_code == 202, r.text
    return str(r.json()["tracking_number"])


async def act(c: httpx.AsyncClient, h: H, tn: str, action: str, body: dict[str, Any] | None = None,
              status: int = 200, **headers: str) -> dict[str, Any]:
    r = await c.post(f"/api/v1/tickets/{tn}/{action}", json=body, headers={**h, **headers})
    assert r.status_code == status, r.text
    return dict(r.json())


async def pending_ticket(c: httpx.AsyncClient, who: dict[str, H], n: int, text: str = "你好，我有事反映") -> str:
    tn = await new_ticket(c, text, n)
    t = (await c.get(f"/api/v1/tickets/{tn}", headers=who["agent"])).json()
    assert t["status"] == "pending_dispatch"
    return tn


async def test_lead_cannot_reply_before_its_co_handler(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 1)
    t = await act(c, who["agent"], tn, "dispatch", {"department_code": "env", "co_departments": ["town-tangxia"]})
    assert t["status"] == "dispatched"
    assert [(a["department_code"], a["role"]) for a in t["assignments"]] == [("env", "lead"), ("town-tangxia", "co")]

    view = (await c.get(f"/api/v1/tickets/{tn}/lifecycle", headers=who["tangxia"])).json()
    assert set(view["allowed_actions"]) == {"co_accept", "co_reply", "add_note"}
    await act(c, who["env"], tn, "co_accept", status=403)  # the lead accepts the ticket, not a part
    await act(c, who["env"], tn, "accept")
    t = await act(c, who["tangxia"], tn, "co_accept")
    assert t["status"] == "accepted"  # a co-handler's acceptance is its own, not the ticket's
    assert set(t["allowed_actions"]) == {"co_reply", "add_note"}
    await act(c, who["env"], tn, "add_progress", {"text": "已到现场", "contacted_citizen": True})

    blocked = await act(c, who["env"], tn, "reply", {"text": "已处理"}, status=409)
    assert blocked["pending_co_handlers"] == ["town-tangxia"]
    # Only the centre may override, not the lead itself.
    await act(c, who["env"], tn, "reply", {"text": "已处理", "override_co_handlers": True}, status=403)
    # A co-handler cannot return the whole ticket either.
    await act(c, who["tangxia"], tn, "return_ticket", {"reason_code": "not_our_remit"}, status=403)

    t = await act(c, who["tangxia"], tn, "reply", {"text": "镇执法队已责令整改"})
    assert t["status"] == "in_progress"
    co = {a["department_code"]: a for a in t["assignments"]}["town-tangxia"]
    assert co["state"] == "replied" and co["reply_text"] == "镇执法队已责令整改"
    await act(c, who["tangxia"], tn, "reply", {"text": "再次回复"}, status=409)

    t = await act(c, who["env"], tn, "reply", {"text": "已责令停止夜间施工"})
    assert t["status"] == "replied"
    assert t["lifecycle"]["reply_text"] == "已责令停止夜间施工"
    kinds = [e["kind"] for e in t["events"]]
    assert kinds[-6:] == ["dispatched", "accepted", "co_accepted", "progress_added", "co_replied", "replied"]


async def test_the_centre_overrides_a_silent_co_handler(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 2)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env", "co_departments": ["town-tangxia"]})
    await act(c, who["env"], tn, "accept")
    t = await act(c, who["supervisor"], tn, "reply", {"text": "中心代为办结", "override_co_handlers": True})
    assert t["status"] == "replied"
    assert t["events"][-1]["data"]["overridden_co_handlers"] == ["town-tangxia"]


async def test_a_unit_cannot_touch_another_units_ticket(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 3)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
    for action, body in [("accept", None), ("reply", {"text": "x"}), ("add_note", {"text": "x"}),
                         ("return_ticket", {"reason_code": "not_our_remit"})]:
        problem = await act(c, who["hrss"], tn, action, body, status=404)
        assert "no ticket" in problem["detail"]
    assert (await c.get(f"/api/v1/tickets/{tn}/lifecycle", headers=who["hrss"])).status_code == 404
    # …and the centre's actions are not a unit's to take.
    await act(c, who["env"], tn, "redispatch", {"department_code": "hrss"}, status=403)


async def test_return_then_redispatch_to_the_right_unit(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 4)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
    bad = await act(c, who["env"], tn, "return_ticket", {"reason_code": "too_busy"}, status=422)
    assert "not_our_remit" in bad["allowed_reasons"]
    await act(c, who["env"], tn, "return_ticket", {"reason_code": "other"}, status=422)  # "other" needs a note

    t = await act(c, who["env"], tn, "return_ticket", {"reason_code": "not_our_remit", "note": "属劳动纠纷"})
    assert t["status"] == "returned"
    assert t["lifecycle"]["return_reason"] == "not_our_remit"
    assert t["lifecycle"]["return_count"] == 1
    illegal = await act(c, who["env"], tn, "accept", status=409)
    assert sorted(illegal["allowed_actions"]) == sorted(
        ["redispatch", "resolve_return", "merge", "refuse", "reclassify", "add_note"])

    t = await act(c, who["agent"], tn, "resolve_return", {"decision": "redispatch", "department_code": "hrss"})
    assert t["status"] == "dispatched" and t["department_code"] == "hrss"
    redispatched = t["events"][-1]
    assert redispatched["kind"] == "redispatched"
    assert redispatched["data"]["from_department"] == "env" and redispatched["data"]["department"] == "hrss"
    # The unit that returned it no longer reaches it; the new one does.
    await act(c, who["env"], tn, "accept", status=404)
    t = await act(c, who["hrss"], tn, "accept")
    assert t["status"] == "accepted"


async def test_a_disputed_return_goes_back_to_the_same_unit(embedded_client: httpx.AsyncClient,
                                                            who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 5)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
    await act(c, who["env"], tn, "return_ticket", {"reason_code": "outside_jurisdiction"})
    t = await act(c, who["supervisor"], tn, "resolve_return", {"decision": "dispute", "note": "属贵单位职责"})
    assert t["status"] == "dispute_review"
    t = await act(c, who["supervisor"], tn, "redispatch", {"department_code": "env", "reason": "争议审核维持原派"})
    assert t["status"] == "dispatched" and t["department_code"] == "env"
    await act(c, who["env"], tn, "accept")


async def test_extension_approved_and_refused(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    a, b = await pending_ticket(c, who, 6), await pending_ticket(c, who, 7)
    for tn in (a, b):
        await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
        await act(c, who["env"], tn, "accept")
    await act(c, who["env"], a, "request_extension", {"days": 11, "reason": "需检测"}, status=422)
    before = (await c.get(f"/api/v1/tickets/{a}", headers=who["agent"])).json()["reply_due_at"]
    t = await act(c, who["env"], a, "request_extension", {"days": 5, "reason": "需第三方检测"})
    assert t["status"] == "extension_requested"
    await act(c, who["agent"], a, "decide_extension", {"approve": True}, status=403)  # the supervisor decides
    t = await act(c, who["supervisor"], a, "decide_extension", {"approve": True, "days": 3})
    assert t["status"] == "in_progress"
    assert (t["lifecycle"]["extension_state"], t["lifecycle"]["extension_days"]) == ("approved", 3)
    assert before is not None and t["reply_due_at"] > before  # the deadline moved out
    await act(c, who["env"], a, "request_extension", {"days": 2, "reason": "再次延期"}, status=409)  # once only

    await act(c, who["env"], b, "request_extension", {"days": 5, "reason": "需第三方检测"})
    t = await act(c, who["supervisor"], b, "decide_extension", {"approve": False, "note": "理由不充分"})
    assert t["status"] == "in_progress" and t["lifecycle"]["extension_state"] == "refused"
    assert t["events"][-1]["kind"] == "extension_refused"


async def test_unsatisfied_callback_reopens_with_the_same_unit(embedded_client: httpx.AsyncClient,
                                                               who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 8)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
    for round_ in (1, 2):
        await act(c, who["env"], tn, "accept")
        await act(c, who["env"], tn, "reply", {"text": f"第{round_}次答复"})
        if round_ == 1:
            t = await act(c, who["agent"], tn, "record_callback", {"satisfaction": "unsatisfied", "note": "噪音仍在"})
            assert t["status"] == "reopened"
            assert t["department_code"] == "env"
            assert t["lifecycle"]["reopen_count"] == 1
            # The unit sees the ticket come back as a reopened one (重办) in its queue, and so do lists.
            polled = (await c.get("/api/v1/departments/env/tickets", headers=who["env"])).json()["items"]
            mine = next(p for p in polled if p["tracking_number"] == tn)
            assert (mine["status"], mine["reopen_count"], mine["satisfaction"]) == ("reopened", 1, "unsatisfied")
            listed = (await c.get("/api/v1/tickets", headers=who["agent"], params={"department": "env"})).json()
            assert next(i for i in listed["items"] if i["tracking_number"] == tn)["reopen_count"] == 1
    t = await act(c, who["agent"], tn, "record_callback", {"satisfaction": "basically_satisfied"})
    assert t["status"] == "called_back" and t["lifecycle"]["satisfaction"] == "basically_satisfied"
    t = await act(c, who["agent"], tn, "close")
    assert t["status"] == "closed" and t["lifecycle"]["closed_at"] is not None
    assert t["lifecycle"]["reopen_count"] == 1
    assert [e["kind"] for e in t["events"]].count("reopened") == 1


async def test_merge_into_an_open_ticket(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    a, b, done = (await pending_ticket(c, who, 9), await pending_ticket(c, who, 10),
                  await pending_ticket(c, who, 11))
    await act(c, who["agent"], done, "refuse", {"reason_code": "abusive"})
    await act(c, who["agent"], a, "merge", {"into": a}, status=422)
    await act(c, who["agent"], a, "merge", {"into": done}, status=409)
    t = await act(c, who["agent"], a, "merge", {"into": b, "note": "同一工地"})
    assert t["status"] == "merged" and t["lifecycle"]["merged_into"] == b
    target = (await c.get(f"/api/v1/tickets/{b}", headers=who["agent"])).json()
    assert target["status"] == "pending_dispatch"
    assert target["events"][-1]["kind"] == "merged_in" and target["events"][-1]["data"] == {"from": a}


async def test_hand_off_refuse_and_answer_directly(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    fire, junk, question, complaint = [await pending_ticket(c, who, n) for n in (12, 13, 14, 15)]
    await act(c, who["agent"], fire, "hand_off", {"line": "112"}, status=422)
    t = await act(c, who["agent"], fire, "hand_off", {"line": "119", "note": "厂房起火"})
    assert t["status"] == "handed_off" and t["lifecycle"]["handed_off_to"] == "119"

    await act(c, who["agent"], junk, "refuse", {"reason_code": "nonsense"}, status=422)
    t = await act(c, who["agent"], junk, "refuse", {"reason_code": "outside_government_services"})
    assert t["status"] == "refused" and t["lifecycle"]["refusal_reason"] == "outside_government_services"
    assert t["allowed_actions"] == ["add_note"]

    await act(c, who["agent"], question, "reclassify", {"type": "consultation", "topic": "social_insurance"})
    t = await act(c, who["agent"], question, "answer_directly", {"answer": "社保转移请登录广东政务服务网办理"})
    assert t["status"] == "answered_directly" and t["lifecycle"]["reply_text"].startswith("社保")

    await act(c, who["agent"], complaint, "reclassify", {"type": "complaint"})
    refused = await act(c, who["agent"], complaint, "answer_directly", {"answer": "不处理"}, status=409)
    assert "needs a unit" in refused["detail"]
    await act(c, who["agent"], complaint, "dispatch", {"department_code": "env"})
    await act(c, who["env"], complaint, "answer_directly", {"answer": "x"}, status=403)  # not a unit's to do


async def test_reclassify_records_what_changed(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 16)
    t = await act(c, who["agent"], tn, "reclassify", {"type": "report", "topic": "pollution", "reason": "实为举报"})
    ev = t["events"][-1]
    assert ev["kind"] == "reclassified"
    assert ev["data"]["to"] == {"type": "report", "topic": "pollution"}
    assert set(ev["data"]["from"]) == {"type", "topic"}
    assert (t["type"], t["topic"]) == ("report", "pollution")
    await act(c, who["agent"], tn, "reclassify", {"type": "report"}, status=422)  # nothing changes


async def test_idempotency_key_replays_instead_of_acting_twice(embedded_client: httpx.AsyncClient, db: Database,
                                                               who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 17)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
    first = await c.post(f"/api/v1/tickets/{tn}/accept", headers={**who["env"], "Idempotency-Key": "acc-1"})
    again = await c.post(f"/api/v1/tickets/{tn}/accept", headers={**who["env"], "Idempotency-Key": "acc-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    events = (await c.get(f"/api/v1/tickets/{tn}", headers=who["agent"])).json()["events"]
    assert [e["kind"] for e in events].count("accepted") == 1
    # Without a key a repeat is a real second request, and the machine refuses it.
    await act(c, who["env"], tn, "accept", status=409)
    # The refused action queued nothing for Kafka: one outbox row per event on the timeline.
    ids = sorted(m.payload["event_id"] for m in await outbox(db) if m.key == tn)
    assert len(ids) == len(set(ids))
    assert [e["kind"] for e in events][-1] == "accepted"


async def test_lifecycle_view_and_machine(embedded_client: httpx.AsyncClient, who: dict[str, H]) -> None:
    c = embedded_client
    tn = await pending_ticket(c, who, 18)
    await act(c, who["agent"], tn, "dispatch", {"department_code": "env"})
    view = (await c.get(f"/api/v1/tickets/{tn}/lifecycle", headers=who["env"])).json()
    assert view["status"] == "dispatched"
    assert set(view["allowed_actions"]) == {"accept", "return_ticket", "add_note"}
    m = (await c.get("/api/v1/lifecycle", headers=who["agent"])).json()
    assert "returned" in m["states"] and "closed" in m["terminal"]
    assert {a["name"] for a in m["actions"]} >= {"dispatch", "record_callback", "merge"}
    assert (await c.get("/api/v1/lifecycle", headers={"Authorization": ""})).status_code == 401
