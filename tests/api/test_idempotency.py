"""Idempotency-Key: a retried write returns the first response and writes nothing more."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from hotline.tickets.models import Ticket
from tests.api.conftest import World

CALL = {"phone": "13800138000", "name": "张三", "type": "complaint",
        "text": "投诉塘厦镇某工地夜间施工噪音扰民", "place": "塘厦镇林村"}


async def ticket_count(world: World) -> int:
    async with world.db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_a_replayed_create_returns_the_first_ticket(world: World) -> None:
    c, agent = world.client, {**world.as_("agent"), "Idempotency-Key": "call-42-ticket-1"}
    before = await ticket_count(world)
    first = await c.post("/api/v1/tickets", headers=agent, json=CALL)
    assert first.status_code == 201, first.text
    again = await c.post("/api/v1/tickets", headers=agent, json=CALL)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await ticket_count(world) == before + 1

    # The same key for a different request is a client bug, said clearly.
    other = await c.post("/api/v1/tickets", headers=agent, json={**CALL, "text": "另一件事"})
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]

    # Keys belong to their principal: another agent's identical key is another request.
    colleague = {**world.as_("supervisor"), "Idempotency-Key": "call-42-ticket-1"}
    theirs = await c.post("/api/v1/tickets", headers=colleague, json=CALL)
    assert theirs.status_code == 201
    assert theirs.json()["tracking_number"] != first.json()["tracking_number"]


async def test_without_a_key_each_post_is_a_new_ticket(world: World) -> None:
    c, agent = world.client, world.as_("agent")
    a = (await c.post("/api/v1/tickets", headers=agent, json=CALL)).json()
    b = (await c.post("/api/v1/tickets", headers=agent, json=CALL)).json()
    assert a["tracking_number"] != b["tracking_number"]


async def test_concurrent_duplicates_make_one_ticket(world: World) -> None:
    c, agent = world.client, {**world.as_("agent"), "Idempotency-Key": "double-click"}
    before = await ticket_count(world)
    results = await asyncio.gather(*[c.post("/api/v1/tickets", headers=agent, json=CALL) for _ in range(4)])
    statuses = sorted(r.status_code for r in results)
    assert all(s in (201, 409) for s in statuses), statuses
    assert {r.json()["tracking_number"] for r in results if r.status_code == 201} == {
        results[[r.status_code for r in results].index(201)].json()["tracking_number"]}
    assert await ticket_count(world) == before + 1


async def test_a_failed_write_does_not_burn_the_key(world: World) -> None:
    c, agent = world.client, {**world.as_("agent"), "Idempotency-Key": "retry-after-fix"}
    bad = await c.post("/api/v1/tickets", headers=agent, json={**CALL, "call_id": "no-such-call"})
    assert bad.status_code == 404  # the PBX never reported that call
    fixed = await c.post("/api/v1/tickets", headers=agent, json={**CALL, "call_id": "no-such-call"})
    assert fixed.status_code == 404  # not a replay of a stored error: the request ran again
    assert "idempotent-replayed" not in fixed.headers


async def test_lifecycle_actions_replay_too(world: World) -> None:
    c = world.client
    dept = {**world.as_("department"), "Idempotency-Key": "accept-once"}
    first = await c.post(f"/api/v1/tickets/{world.lead_ticket}/accept", headers=dept, json={})
    again = await c.post(f"/api/v1/tickets/{world.lead_ticket}/accept", headers=dept, json={})
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert [e["kind"] for e in again.json()["events"]].count("accepted") == 1


async def test_an_agent_ticket_is_routed_and_numbered_like_any_channel(world: World) -> None:
    r = await world.client.post("/api/v1/tickets", headers=world.as_("agent"), json={**CALL, "type": "report",
                                                                                     "confidential": True})
    t = r.json()
    assert r.status_code == 201 and r.headers["location"] == f"/api/v1/tickets/{t['tracking_number']}"
    assert t["tracking_number"].startswith("DG") and t["channel"] == "phone"
    assert t["type"] == "report"  # the agent's classification wins over the router's
    assert t["town_code"] == "town-tangxia"  # the router still placed it
    assert t["events"][0]["kind"] == "received"
    assert t["citizen"]["hidden"] is True  # a report: even in the agent's own response
