"""Whistle-blower protection: a reporter's identity never reaches a department or an export; the
centre sees it on the ticket itself, and every such view is audited."""

from __future__ import annotations

from sqlalchemy import select

from hotline.auth.models import IdentityView
from tests.api.conftest import LEAD, World, make_ticket, ticket_row

NAME, PHONE = "王举报", "13900000001"  # the lead ticket's reporter (conftest.build_world)


def assert_hidden(text: str, where: str) -> None:
    assert NAME not in text and PHONE not in text, f"the reporter's identity leaked in {where}"


async def audit_rows(world: World, tn: str) -> list[IdentityView]:
    ticket = await ticket_row(world.db, tn)
    async with world.db.sessions() as s:
        return list((await s.scalars(select(IdentityView).where(IdentityView.ticket_id == ticket.id))).all())


async def test_a_department_never_sees_the_reporter(world: World) -> None:
    c, dept, tn = world.client, world.as_("department"), world.lead_ticket
    responses = {
        "detail": await c.get(f"/api/v1/tickets/{tn}", headers=dept),
        "events": await c.get(f"/api/v1/tickets/{tn}/events", headers=dept),
        "lifecycle": await c.get(f"/api/v1/tickets/{tn}/lifecycle", headers=dept),
        "list": await c.get("/api/v1/tickets", headers=dept),
        "search": await c.get("/api/v1/tickets", headers=dept, params={"q": "偷排"}),
        "poll": await c.get(f"/api/v1/departments/{LEAD}/tickets", headers=dept),
        "export": await c.get("/api/v1/tickets/export", headers=dept),
        "accept": await c.post(f"/api/v1/tickets/{tn}/accept", headers=dept, json={}),
    }
    for where, r in responses.items():
        assert r.status_code == 200, (where, r.text)
        assert_hidden(r.text, where)
    detail = responses["detail"].json()
    assert detail["confidential"] is True
    assert detail["citizen"] == {"name": None, "phone": None, "email": None, "hidden": True}
    assert responses["poll"].json()["items"][0]["citizen"]["hidden"] is True
    assert "保密" in responses["export"].text
    assert await audit_rows(world, tn) == []  # nothing was revealed, so nothing to audit


async def test_the_timeline_gives_no_handle_on_the_reporter(world: World) -> None:
    # A web message without a client id is keyed by a hash of phone + text: a unit knowing the text
    # could try every phone number against it, so that key is not in a department's timeline.
    c, tn = world.client, world.lead_ticket
    as_unit = (await c.get(f"/api/v1/tickets/{tn}/events", headers=world.as_("department"))).json()["items"]
    as_centre = (await c.get(f"/api/v1/tickets/{tn}/events", headers=world.as_("agent"))).json()["items"]
    received_unit = next(e for e in as_unit if e["kind"] == "received")
    received_centre = next(e for e in as_centre if e["kind"] == "received")
    assert "external_id" in (received_centre["data"] or {})
    assert "external_id" not in (received_unit["data"] or {})
    detail = (await c.get(f"/api/v1/tickets/{tn}", headers=world.as_("department"))).json()
    assert all("external_id" not in (e["data"] or {}) for e in detail["events"])


async def test_a_citizen_who_asked_for_confidentiality_is_hidden_too(world: World) -> None:
    tn = await make_ticket(world.db, LEAD, type="complaint", text="投诉某商户噪音", name="赵保密",
                           phone="+8613900000009", confidential=True)
    r = await world.client.get(f"/api/v1/tickets/{tn}", headers=world.as_("department"))
    assert r.json()["citizen"]["hidden"] is True and "赵保密" not in r.text


async def test_an_ordinary_complainant_is_shown_to_the_unit_that_must_call_back(world: World) -> None:
    tn = await make_ticket(world.db, LEAD, text="投诉路灯不亮", name="钱公开", phone="+8613900000010")
    r = await world.client.get(f"/api/v1/tickets/{tn}", headers=world.as_("department"))
    assert r.json()["citizen"] == {"name": "钱公开", "phone": "+8613900000010", "email": None, "hidden": False}


async def test_the_centre_sees_the_reporter_on_the_ticket_and_each_view_is_audited(world: World) -> None:
    c, tn = world.client, world.lead_ticket
    for role in ("agent", "supervisor"):
        r = await c.get(f"/api/v1/tickets/{tn}", headers=world.as_(role))
        assert r.json()["citizen"] == {"name": NAME, "phone": "+86" + PHONE, "email": None, "hidden": False}
    rows = await audit_rows(world, tn)
    assert [(v.actor.split(":")[0], v.purpose) for v in rows] == [("agent", "ticket_detail"),
                                                                 ("supervisor", "ticket_detail")]
    assert all(v.principal_id and v.viewed_at for v in rows)
    # Lists and exports mask it for the centre as well: only the audited detail view shows it.
    assert_hidden((await c.get("/api/v1/tickets", headers=world.as_("agent"))).text, "the centre's list")
    export = (await c.get("/api/v1/tickets/export", headers=world.as_("admin"))).text
    assert_hidden(export, "the centre's export")
    assert "李四" in export  # a non-protected citizen is in the centre's export
    assert len(await audit_rows(world, tn)) == 2


async def test_caller_lookup_reveals_a_report_only_with_an_audit_row(world: World) -> None:
    r = await world.client.get("/api/v1/citizens/lookup", headers=world.as_("agent"),
                               params={"phone": "139-0000-0001"})
    assert r.status_code == 200
    body = r.json()
    assert body["phone"] == "+8613900000001"
    assert [t["tracking_number"] for t in body["tickets"]] == [world.lead_ticket]
    assert [v.purpose for v in await audit_rows(world, world.lead_ticket)] == ["caller_lookup"]


async def test_the_public_status_page_shows_no_identity(world: World) -> None:
    r = await world.client.get(f"/api/v1/public/tickets/{world.lead_ticket}")
    assert_hidden(r.text, "the public status page")
