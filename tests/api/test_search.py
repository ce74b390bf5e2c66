"""Agents search tickets: by type, status, topic, unit, town, channel, dates, overdue, and Chinese text."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hotline.kit.clock import utcnow
from hotline.tickets.models import Ticket
from tests.api.conftest import World, make_ticket


async def numbers(world: World, **params: str) -> set[str]:
    r = await world.client.get("/api/v1/tickets", headers=world.as_("agent"), params=params)
    assert r.status_code == 200, r.text
    return {t["tracking_number"] for t in r.json()["items"]}


async def test_search_filters(world: World) -> None:
    noise = await make_ticket(world.db, "env", type="complaint", text="长安镇工厂噪音扰民，晚上打桩",
                              topic="noise", town="town-changan")
    lamp = await make_ticket(world.db, "town-changan", type="help", text="路灯不亮已经一周",
                             topic="street_lighting", town="town-changan")
    assert await numbers(world, q="噪音") == {noise}
    assert await numbers(world, q="打桩") == {noise}
    assert await numbers(world, q="偷排废水") == {world.lead_ticket}
    assert await numbers(world, q="100%") == set()  # LIKE wildcards are literal
    assert await numbers(world, type="help") == {lamp}
    assert await numbers(world, topic="noise") == {noise}
    assert await numbers(world, town="town-changan") == {noise, lamp}
    assert await numbers(world, department="env") == {noise, world.lead_ticket}
    assert await numbers(world, channel="web", type="report") == {world.lead_ticket}
    assert await numbers(world, status="dispatched,accepted") >= {noise, lamp}
    assert await numbers(world, status="closed") == set()

    async with world.db.unit_of_work() as s:
        await s.execute(update(Ticket).where(Ticket.tracking_number == lamp)
                        .values(reply_due_at=utcnow() - timedelta(hours=1)))
        await s.execute(update(Ticket).where(Ticket.tracking_number == noise)
                        .values(received_at=utcnow() - timedelta(days=10), reply_due_at=utcnow() + timedelta(days=3)))
    assert await numbers(world, overdue="true") == {lamp}
    assert lamp not in await numbers(world, overdue="false")
    week_ago = (utcnow() - timedelta(days=7)).isoformat()
    assert noise not in await numbers(world, received_from=week_ago)
    assert await numbers(world, received_to=week_ago) == {noise}


async def test_search_pages_are_stable_while_tickets_arrive(world: World) -> None:
    made = [await make_ticket(world.db, "env", text=f"分页 {i}") for i in range(5)]
    c, agent = world.client, world.as_("agent")
    p1 = (await c.get("/api/v1/tickets", headers=agent, params={"q": "分页", "limit": 2})).json()
    await make_ticket(world.db, "env", text="分页 new")
    seen = [t["tracking_number"] for t in p1["items"]]
    cursor = p1["next_cursor"]
    while cursor:
        page = (await c.get("/api/v1/tickets", headers=agent, params={"q": "分页", "limit": 2,
                                                                       "cursor": cursor})).json()
        seen += [t["tracking_number"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(made))  # newest first, none twice, the newcomer not slipped in


async def test_bad_parameters_are_the_clients_not_a_500(world: World) -> None:
    c, agent = world.client, world.as_("agent")
    for url in ("/api/v1/tickets", "/api/v1/tickets/export"):
        naive = await c.get(url, headers=agent, params={"received_from": "2026-11-01T00:00:00"})
        assert naive.status_code == 422 and "timezone" in naive.text.lower()
        nul = await c.get(url, headers=agent, params={"q": "噪音\x00"})
        assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
    poll = await c.get("/api/v1/departments/env/tickets", headers=world.as_("department"),
                       params={"updated_since": "2026-11-01T00:00:00"})
    assert poll.status_code == 422
