"""Phone (CTI): py-zammad-cti plays the PBX against a live gateway; events become calls, not tickets."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select
from zammad_cti import CTIClient

from hotline.api.app import create_app
from hotline.auth.models import IdentityView
from hotline.calls.service import CallNotFound, link_call_to_ticket
from hotline.intake.models import IntakeRecord
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from tests.conftest import agent_headers_for, client_for, settings_for
from tests.support.live import live_server

TOKEN = "cti-secret-0123456789"
CENTRE = "12345"


async def count(db: Database, model: type) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def pbx(db: Database, pg_url: str):  # type: ignore[no-untyped-def]
    """A live embedded hotline on PostgreSQL, the PBX's CTI client aimed at it, and an agent's client."""
    app = create_app(settings_for(pg_url, cti_token=TOKEN))
    async with live_server(app) as base:
        headers = await agent_headers_for(db)
        async with httpx.AsyncClient(base_url=base, headers=headers) as agent:
            yield CTIClient(f"{base}/channels/phone/{TOKEN}"), agent, base


async def test_an_answered_call_is_recorded_with_caller_agent_times_and_cause(pbx, db: Database) -> None:  # type: ignore[no-untyped-def]
    cti, agent, _ = pbx
    await asyncio.to_thread(cti.new_call, _from="013800138000", to=CENTRE, direction="in",
                            call_id="call-1", queue="hotline")
    await asyncio.to_thread(cti.answer, _from="013800138000", to=CENTRE, direction="in",
                            call_id="call-1", user=["王芳"], answering_number="8001")
    reply = await asyncio.to_thread(cti.hangup, _from="013800138000", to=CENTRE, direction="in",
                                    call_id="call-1", cause="normalClearing", answering_number="8001")
    assert reply == {}  # what Zammad answers: go on

    r = await agent.get("/api/v1/calls")
    assert r.status_code == 200, r.text
    [call] = r.json()["items"]
    assert call["call_id"] == "call-1"
    assert call["caller"] == "+8613800138000"  # E.164
    assert call["agents"] == ["王芳"]
    assert call["queue"] == "hotline"
    assert call["answering_number"] == "8001"
    assert call["cause"] == "normalClearing"
    assert call["missed"] is False
    assert call["started_at"] <= call["answered_at"] <= call["ended_at"]
    # A call is not a ticket: the agent writes one through the API.
    assert await count(db, Ticket) == 0


async def test_missed_calls_are_listed_for_call_back(pbx) -> None:  # type: ignore[no-untyped-def]
    cti, agent, _ = pbx
    for call_id, caller, cause in (("m-1", "13900139000", "cancel"), ("m-2", "anonymous", "noAnswer"),
                                   ("ok-1", "13700137000", "normalClearing")):
        await asyncio.to_thread(cti.new_call, _from=caller, to=CENTRE, direction="in", call_id=call_id)
        if cause == "normalClearing":
            await asyncio.to_thread(cti.answer, _from=caller, to=CENTRE, direction="in",
                                    call_id=call_id, user="李明")
        await asyncio.to_thread(cti.hangup, _from=caller, to=CENTRE, direction="in", call_id=call_id,
                                cause=cause)
    # A call-back by an agent that nobody picks up is not a missed call of the hotline.
    await asyncio.to_thread(cti.new_call, _from=CENTRE, to="13900139000", direction="out", call_id="out-1")
    await asyncio.to_thread(cti.hangup, _from=CENTRE, to="13900139000", direction="out",
                            call_id="out-1", cause="noAnswer")

    missed = (await agent.get("/api/v1/calls", params={"missed": "true"})).json()["items"]
    assert {(c["call_id"], c["caller"], c["cause"]) for c in missed} == {
        ("m-1", "+8613900139000", "cancel"), ("m-2", "anonymous", "noAnswer")}
    everything = (await agent.get("/api/v1/calls", params={"limit": 2})).json()
    assert len(everything["items"]) == 2
    rest = (await agent.get("/api/v1/calls", params={"limit": 2, "cursor": everything["next_cursor"]})).json()
    assert {c["call_id"] for c in everything["items"] + rest["items"]} == {"m-1", "m-2", "ok-1", "out-1"}
    assert rest["next_cursor"] is None


async def test_a_resent_event_is_stored_once(pbx, db: Database) -> None:  # type: ignore[no-untyped-def]
    cti, agent, _ = pbx
    for _ in range(3):
        await asyncio.to_thread(cti.new_call, _from="13800138000", to=CENTRE, direction="in", call_id="dup")
    await asyncio.to_thread(cti.hangup, _from="13800138000", to=CENTRE, direction="in", call_id="dup",
                            cause="cancel")
    await asyncio.to_thread(cti.hangup, _from="13800138000", to=CENTRE, direction="in", call_id="dup",
                            cause="cancel")
    items = (await agent.get("/api/v1/calls")).json()["items"]
    assert [c["call_id"] for c in items] == ["dup"]
    assert await count(db, IntakeRecord) == 2  # newCall and hangup, each once


async def test_json_events_with_a_recording_and_the_agents_ticket_link(pbx, db: Database) -> None:  # type: ignore[no-untyped-def]
    _, agent, base = pbx
    async with httpx.AsyncClient(base_url=base) as pbx_http:
        for event in ({"event": "newCall", "from": "+86 769 2222 3333", "to": CENTRE, "direction": "in",
                       "callId": "json-1", "user": ["张伟", "刘洋"]},
                      {"event": "hangup", "from": "+86 769 2222 3333", "to": CENTRE, "direction": "in",
                       "callId": "json-1", "cause": "normalClearing",
                       "recordingUrl": "https://pbx.example/rec/json-1.wav", "billsec": 95}):
            r = await pbx_http.post(f"/channels/phone/{TOKEN}", json=event)
            assert r.status_code == 200, r.text
    # The agent who took the call writes the ticket (engineer F's endpoint calls this).
    web = await agent.post("/channels/web", json={"phone": "076922223333", "text": "塘厦镇路灯坏了"})
    tn = web.json()["tracking_number"]
    async with db.unit_of_work() as s:
        ticket_id = await s.scalar(select(Ticket.id).where(Ticket.tracking_number == tn))
        assert ticket_id is not None
        await link_call_to_ticket(s, "json-1", ticket_id)
    call = (await agent.get("/api/v1/calls/json-1")).json()
    assert call["caller"] == "+8676922223333"
    assert call["agents"] == ["刘洋", "张伟"]
    assert call["recording_url"] == "https://pbx.example/rec/json-1.wav"
    assert call["tracking_number"] == tn
    unlinked = (await agent.get("/api/v1/calls", params={"linked": "false"})).json()["items"]
    assert unlinked == []
    async with db.unit_of_work() as s:
        with pytest.raises(CallNotFound):
            await link_call_to_ticket(s, "no-such-call", ticket_id)


async def test_a_wrong_or_missing_token_is_refused_and_nothing_is_stored(db: Database, pg_url: str) -> None:
    event = {"event": "newCall", "from": "13800138000", "to": CENTRE, "direction": "in", "callId": "x"}
    async with client_for(create_app(settings_for(pg_url, cti_token=TOKEN))) as c:
        r = await c.post("/channels/phone/wrong-token", data=event)
        assert r.status_code == 403
        assert "token" in r.json()["detail"]
        bad = await c.post(f"/channels/phone/{TOKEN}", data={**event, "event": "ringing"})
        assert bad.status_code == 422 and "newCall" in bad.json()["detail"]
        no_id = await c.post(f"/channels/phone/{TOKEN}", data={"event": "newCall", "from": "1"})
        assert no_id.status_code == 422
    async with client_for(create_app(settings_for(pg_url))) as c:  # HOTLINE_CTI_TOKEN unset
        r = await c.post(f"/channels/phone/{TOKEN}", data=event)
        assert r.status_code == 404 and "HOTLINE_CTI_TOKEN" in r.json()["detail"]
    assert await count(db, IntakeRecord) == 0


async def test_calls_are_for_the_centre_only(pbx) -> None:  # type: ignore[no-untyped-def]
    _, _, base = pbx
    async with httpx.AsyncClient(base_url=base) as anonymous:
        assert (await anonymous.get("/api/v1/calls")).status_code == 401


async def test_a_call_behind_a_whistle_blowers_report_hides_the_number_in_lists(pbx, db: Database) -> None:  # type: ignore[no-untyped-def]
    """举报人保护: the call log must not leak the number a confidential ticket masks; the call itself
    shows it to the centre, and that showing is audited like the ticket's own detail view."""
    _, agent, base = pbx
    async with httpx.AsyncClient(base_url=base) as pbx_http:
        for event in ({"event": "newCall", "from": "13912345678", "to": CENTRE, "direction": "in", "callId": "wb-1"},
                      {"event": "hangup", "from": "13912345678", "to": CENTRE, "direction": "in",
                       "callId": "wb-1", "cause": "normalClearing",
                       "recordingUrl": "https://pbx.example/rec/wb-1.wav"},
                      {"event": "newCall", "from": "13700001111", "to": CENTRE, "direction": "in", "callId": "plain-1"}):
            assert (await pbx_http.post(f"/channels/phone/{TOKEN}", json=event)).status_code == 200
    web = await agent.post("/channels/web", json={"phone": "13912345678", "text": "举报：长安镇某工厂夜间偷排污水，请查处"})
    tn = web.json()["tracking_number"]
    async with db.unit_of_work() as s:
        ticket = (await s.scalars(select(Ticket).where(Ticket.tracking_number == tn))).one()
        ticket.confidential = True  # whatever the classifier said: the citizen asked for protection
        await link_call_to_ticket(s, "wb-1", ticket.id)

    listed = {c["call_id"]: c for c in (await agent.get("/api/v1/calls")).json()["items"]}
    assert listed["wb-1"]["caller"] is None and listed["wb-1"]["citizen_hidden"] is True
    assert listed["wb-1"]["recording_url"] is None  # the voice identifies the caller as well as the number
    assert listed["wb-1"]["tracking_number"] == tn
    assert listed["plain-1"]["caller"] == "+8613700001111" and listed["plain-1"]["citizen_hidden"] is False
    assert await count(db, IdentityView) == 0  # a list shows nothing protected: nothing to audit

    shown = (await agent.get("/api/v1/calls/wb-1")).json()
    assert shown["caller"] == "+8613912345678" and shown["citizen_hidden"] is False
    async with db.sessions() as s:
        [view] = (await s.scalars(select(IdentityView))).all()
    assert (view.ticket_id, view.purpose) == (ticket.id, "call_detail")
    assert view.actor.startswith("agent")
