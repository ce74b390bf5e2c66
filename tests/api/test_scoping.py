"""A department sees only the tickets it leads or co-handles; every other ticket does not exist for it."""

from __future__ import annotations

from sqlalchemy import update

from hotline.tickets.models import TicketAssignment
from tests.api.conftest import LEAD, OTHER, World, make_ticket


async def test_another_units_ticket_is_404_everywhere(world: World) -> None:
    c, other = world.client, world.as_("other_department")
    tn = world.lead_ticket
    requests = [
        ("GET", f"/api/v1/tickets/{tn}", None),
        ("GET", f"/api/v1/tickets/{tn}/events", None),
        ("GET", f"/api/v1/tickets/{tn}/lifecycle", None),
        ("GET", f"/api/v1/departments/{LEAD}/tickets", None),
        ("POST", f"/api/v1/tickets/{tn}/accept", {}),
    ]
    for method, url, body in requests:
        r = await c.request(method, url, headers=other, json=body)
        assert r.status_code == 404, (url, r.text)
        assert "王举报" not in r.text and "偷排" not in r.text  # nothing of the ticket itself
    for method, url, body in requests:  # while the lead unit is served: the 404s were about scope
        r = await c.request(method, url, headers=world.as_("department"), json=body)
        assert r.status_code == 200, (url, r.text)
    # Indistinguishable from a ticket that does not exist at all.
    missing = await c.get("/api/v1/tickets/DG0000000000", headers=other)
    shown = await c.get(f"/api/v1/tickets/{tn}", headers=other)
    assert missing.json()["detail"].replace("DG0000000000", tn) == shown.json()["detail"]
    # Lists and exports simply leave it out.
    listed = (await c.get("/api/v1/tickets", headers=other)).json()["items"]
    assert [t["tracking_number"] for t in listed] == [world.other_ticket]
    assert (await c.get("/api/v1/tickets", headers=other, params={"department": LEAD})).json()["items"] == []
    export = (await c.get("/api/v1/tickets/export", headers=other)).text
    assert world.other_ticket in export and tn not in export
    # Its own queue it sees.
    own = (await c.get(f"/api/v1/departments/{OTHER}/tickets", headers=other)).json()["items"]
    assert [t["tracking_number"] for t in own] == [world.other_ticket]


async def test_the_lead_unit_and_the_centre_see_it(world: World) -> None:
    c, tn = world.client, world.lead_ticket
    for role in ("department", "agent", "supervisor", "admin"):
        r = await c.get(f"/api/v1/tickets/{tn}", headers=world.as_(role))
        assert r.status_code == 200, (role, r.text)
    listed = (await c.get("/api/v1/tickets", headers=world.as_("department"))).json()["items"]
    assert [t["tracking_number"] for t in listed] == [tn]
    everything = (await c.get("/api/v1/tickets", headers=world.as_("agent"))).json()["items"]
    assert {t["tracking_number"] for t in everything} == {tn, world.other_ticket}


async def test_a_co_handling_unit_sees_the_ticket_until_withdrawn(world: World) -> None:
    c, other = world.client, world.as_("other_department")
    tn = await make_ticket(world.db, None, text="塘厦镇路面塌陷，涉及社保所门前")
    r = await c.post(f"/api/v1/tickets/{tn}/dispatch", headers=world.as_("agent"),
                     json={"department_code": LEAD, "co_departments": [OTHER]})
    assert r.status_code == 200, r.text
    assert (await c.get(f"/api/v1/tickets/{tn}", headers=other)).status_code == 200
    queue = (await c.get(f"/api/v1/departments/{OTHER}/tickets", headers=other)).json()["items"]
    assert tn in [t["tracking_number"] for t in queue]
    async with world.db.unit_of_work() as s:
        await s.execute(update(TicketAssignment).where(TicketAssignment.department_code == OTHER)
                        .values(state="withdrawn"))
    assert (await c.get(f"/api/v1/tickets/{tn}", headers=other)).status_code == 404


async def test_a_channel_bot_reads_no_tickets(world: World) -> None:
    r = await world.client.get("/api/v1/tickets", headers=world.as_("channel"))
    assert r.status_code == 403
    r = await world.client.get(f"/api/v1/tickets/{world.lead_ticket}", headers=world.as_("channel"))
    assert r.status_code == 403
