"""A unit's queue is what it leads plus what it co-handles (协办), paged in change order by cursor."""

from __future__ import annotations

from sqlalchemy import select, update

from hotline.api.app import create_app
from hotline.tickets.models import Ticket, TicketAssignment
from tests.api.conftest import LEAD, OTHER, World, make_ticket
from tests.conftest import client_for, settings_for
from tests.support.auth import bearer, create_key

QUEUE = f"/api/v1/departments/{OTHER}/tickets"


async def _pages(world: World, role: str) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await world.client.get(QUEUE, headers=world.as_(role), params=params)
        assert r.status_code == 200, r.text
        pages.append([t["tracking_number"] for t in r.json()["items"]])
        cursor = r.json()["next_cursor"]
        if not cursor:
            return pages


async def test_led_and_co_handled_tickets_interleave_in_change_order(world: World) -> None:
    c, agent = world.client, world.as_("agent")
    expected = [world.other_ticket]
    co: list[str] = []
    for i in range(3):
        expected.append(await make_ticket(world.db, OTHER, text=f"本单位工单 {i}"))
        tn = await make_ticket(world.db, None, text=f"塘厦镇协办工单 {i}")
        r = await c.post(f"/api/v1/tickets/{tn}/dispatch", headers=agent,
                         json={"department_code": LEAD, "co_departments": [OTHER]})
        assert r.status_code == 200, r.text
        expected.append(tn)
        co.append(tn)
    async with world.db.unit_of_work() as s:  # the middle co-handling is withdrawn: it leaves the queue
        withdrawn = select(Ticket.id).where(Ticket.tracking_number == co[1]).scalar_subquery()
        await s.execute(update(TicketAssignment).where(TicketAssignment.department_code == OTHER,
                                                       TicketAssignment.ticket_id == withdrawn)
                        .values(state="withdrawn"))
    expected.remove(co[1])

    unit = await _pages(world, "other_department")
    assert [tn for page in unit for tn in page] == expected  # no ticket skipped, repeated or out of order
    assert all(len(page) <= 2 for page in unit)
    centre = await _pages(world, "supervisor")  # the centre looking at the unit's queue sees the same
    assert [tn for page in centre for tn in page] == expected


async def test_the_queue_pages_by_cursor_on_sqlite(sqlite_url: str) -> None:
    agent = bearer(await create_key(sqlite_url, "agent"))
    async with client_for(create_app(settings_for(sqlite_url))) as c:
        made: list[str] = []
        unit = None
        for i in range(3):
            call = {"phone": f"1380013800{i}", "text": f"举报塘厦镇某工地夜间施工噪音扰民，第{i}次"}
            r = await c.post("/api/v1/tickets", headers=agent, json=call)
            assert r.status_code == 201, r.text
            made.append(r.json()["tracking_number"])
            unit = unit or r.json()["department_code"]
            assert r.json()["department_code"] == unit
        dept = bearer(await create_key(sqlite_url, "department", unit))
        seen: list[str] = []
        changed: list[str] = []
        params: dict[str, str | int] = {"limit": 1}
        while True:
            body = (await c.get(f"/api/v1/departments/{unit}/tickets", headers=dept, params=params)).json()
            seen += [t["tracking_number"] for t in body["items"]]
            changed += [t["updated_at"] for t in body["items"]]
            if not body["next_cursor"]:
                break
            params = {"limit": 1, "cursor": body["next_cursor"]}
        # Each once, oldest change first (a later one may have touched an earlier: 并单 clusters).
        assert sorted(seen) == sorted(made) and len(seen) == 3
        assert changed == sorted(changed)
        rest = await c.get(f"/api/v1/departments/{unit}/tickets", headers=dept,
                           params={"cursor": body["resume_cursor"]})
        assert rest.json()["items"] == []
