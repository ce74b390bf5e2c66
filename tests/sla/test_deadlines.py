"""Deadlines as the ticket moves through the lifecycle (E1's actions, through the SLA hook),
the 2027 holiday schedule loaded by an admin, and versioned policies — on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.auth.principal import Role
from hotline.intake.schema import Channel, IdentityKind
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.kit.errors import Conflict
from hotline.notify.models import OutboxMessage
from hotline.sla import repository, service
from hotline.sla.models import SlaClock
from hotline.tickets import actions
from tests.conftest import client_for, settings_for
from tests.sla.support import make_ticket
from tests.support.auth import headers_for
from tests.tickets.factories import LEAD_UNIT, OTHER_UNIT, SUPERVISOR, ticket

CST = ZoneInfo("Asia/Shanghai")


def cst(*a: int) -> datetime:
    return datetime(*a, tzinfo=CST)


async def _clocks(db: Database, ticket_id: int) -> list[tuple[str, int, str | None, str | None]]:
    async with db.sessions() as s:
        return [(c.stage, c.round, c.department_code, c.outcome)
                for c in await repository.clocks_of(s, ticket_id)]


async def test_extension_moves_the_reply_deadline_by_working_days_within_the_cap(db: Database) -> None:
    t = await make_ticket(db, cst(2026, 9, 28, 10))
    assert t.reply_due_at == cst(2026, 10, 21, 10)
    async with db.unit_of_work() as s:
        await actions.accept(s, LEAD_UNIT, t.tracking_number)
        await actions.request_extension(s, LEAD_UNIT, t.tracking_number, 5, "需要现场复测噪音")
        await actions.decide_extension(s, SUPERVISOR, t.tracking_number, True)
    # Oct 21 10:00 + 5 working days: 22, 23, 26, 27, 28.
    assert (await ticket(db, t.tracking_number)).reply_due_at == cst(2026, 10, 28, 10)
    async with db.unit_of_work() as s:
        tk = await ticket(db, t.tracking_number)
        tk = await s.merge(tk)
        with pytest.raises(Conflict, match="capped at 10 working days"):
            await service.extend_reply_deadline(s, tk, 6)


async def test_return_window_and_redispatch(db: Database) -> None:
    old = await make_ticket(db, cst(2026, 9, 28, 10))
    assert old.return_due_at == cst(2026, 9, 30, 10)  # 2 working days
    async with db.unit_of_work() as s:
        with pytest.raises(Conflict, match="return"):
            await actions.return_ticket(s, LEAD_UNIT, old.tracking_number, "not_our_remit")

    fresh = await make_ticket(db, utcnow())
    async with db.unit_of_work() as s:
        await actions.return_ticket(s, LEAD_UNIT, fresh.tracking_number, "not_our_remit")
    returned = await ticket(db, fresh.tracking_number)
    assert returned.dispatch_due_at is not None and returned.dispatch_due_at > utcnow()
    async with db.unit_of_work() as s:
        await actions.resolve_return(s, SUPERVISOR, fresh.tracking_number, "redispatch", department_code="hrss")
    clocks = await _clocks(db, fresh.id)
    # env's clocks ended as returned (counted against env), hrss got fresh ones.
    assert ("reply", 1, "env", "returned") in clocks and ("accept", 1, "env", "returned") in clocks
    assert ("reply", 2, "hrss", None) in clocks and ("dispatch", 2, None, "met") in clocks
    redispatched = await ticket(db, fresh.tracking_number)
    assert redispatched.return_due_at is not None and redispatched.return_due_at > utcnow()
    async with db.unit_of_work() as s:
        await actions.accept(s, OTHER_UNIT, fresh.tracking_number)


async def test_reply_reaches_the_citizen_on_their_channel_and_unsatisfied_reopens(db: Database) -> None:
    wx = await make_ticket(db, utcnow(), channel=Channel.WECHAT, identity_kind=IdentityKind.WECHAT_OPENID,
                           identity="oWx-openid-1", phone=None)
    async with db.unit_of_work() as s:
        await actions.accept(s, LEAD_UNIT, wx.tracking_number)
        await actions.reply(s, LEAD_UNIT, wx.tracking_number, "已责令工地停止夜间施工")
    async with db.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "wechat_message")
                                .order_by(OutboxMessage.id))).all()
    assert [r.payload["purpose"] for r in rows] == ["reply", "callback_survey"]
    assert rows[0].payload["to"] == "oWx-openid-1" and "已责令工地停止夜间施工" in rows[0].payload["text"]
    # The survey waits for the next working morning.
    assert rows[1].next_attempt_at > utcnow()
    assert service.calendar().local(rows[1].next_attempt_at).hour == 9
    assert (await ticket(db, wx.tracking_number)).callback_due_at is not None

    async with db.unit_of_work() as s:
        await actions.record_callback(s, SUPERVISOR, wx.tracking_number, "unsatisfied")
    clocks = await _clocks(db, wx.id)
    assert ("callback", 1, None, "met") in clocks
    assert ("reply", 2, "env", None) in clocks  # 重办: the same unit, a new reply deadline
    async with db.sessions() as s:
        first_reply = await s.scalar(select(SlaClock).where(SlaClock.ticket_id == wx.id, SlaClock.stage == "reply",
                                                            SlaClock.round == 1))
        assert first_reply is not None and first_reply.satisfaction == "unsatisfied"


async def test_reclassified_to_emergency_is_due_the_same_day(db: Database) -> None:
    t = await make_ticket(db, cst(2026, 10, 12, 9))
    async with db.unit_of_work() as s:
        await actions.reclassify(s, SUPERVISOR, t.tracking_number, urgency="emergency", reason="燃气泄漏")
    assert (await ticket(db, t.tracking_number)).reply_due_at == cst(2026, 10, 13)


async def test_2027_guessed_loudly_then_loaded_by_an_admin(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        guessed = await make_ticket(db, cst(2026, 12, 15, 10))
        # Mon–Fri guess: Dec 16–18, 21–25, 28–31 (12), then Fri 1 Jan 2027.
        assert guessed.reply_due_at == cst(2027, 1, 1, 10)
        ready = (await c.get("/readyz")).json()
        assert ready["status"] == "ok"
        assert any(w.startswith("2027:") for w in ready["warnings"]["calendar"])
        assert 'hotline_calendar_unknown_year{year="2027"} 1.0' in (await c.get("/metrics")).text

        schedule = {"holidays": ["2027-01-01", "2027-02-06..2027-02-13"], "workdays": ["2027-02-20"],
                    "source": "国务院办公厅关于2027年部分节假日安排的通知"}
        agent = await headers_for(db, Role.AGENT)
        assert (await c.put("/api/v1/admin/holidays/2027", json=schedule, headers=agent)).status_code == 403
        admin = await headers_for(db, Role.ADMIN)
        bad = await c.put("/api/v1/admin/holidays/2027", json={"holidays": ["2026-12-31"]}, headers=admin)
        assert bad.status_code == 422 and "another year" in bad.json()["detail"]
        r = await c.put("/api/v1/admin/holidays/2027", json=schedule, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["source"] == "loaded" and r.json()["deadlines_recalculated"] == 1  # only the reply clock reaches 2027
        assert "2027-02-08" in r.json()["holidays"]

        # The ticket already open is corrected; a new one is exact: New Year's Day is off → Mon 4 Jan.
        assert (await ticket(db, guessed.tracking_number)).reply_due_at == cst(2027, 1, 4, 10)
        assert (await make_ticket(db, cst(2026, 12, 15, 10))).reply_due_at == cst(2027, 1, 4, 10)
        ready = (await c.get("/readyz")).json()
        assert not any(w.startswith("2027:") for w in ready.get("warnings", {}).get("calendar", []))
        assert 'hotline_calendar_unknown_year{year="2027"} 0.0' in (await c.get("/metrics")).text
        status = (await c.get("/api/v1/admin/holidays", headers=admin)).json()
        assert status["years"]["2027"] == "loaded" and status["years"]["2026"] == "chinesecalendar"

    # Another process (a fresh calendar) reads the year from the database.
    service.configure(settings_for(pg_url))
    assert (await make_ticket(db, cst(2026, 12, 15, 10))).reply_due_at == cst(2027, 1, 4, 10)


async def test_policies_are_versioned_data(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        supervisor = await headers_for(db, Role.SUPERVISOR)
        admin = await headers_for(db, Role.ADMIN)
        current = (await c.get("/api/v1/admin/sla-policies", headers=supervisor)).json()
        assert current["version"] == 0
        before = await make_ticket(db, cst(2026, 10, 12, 9), type="consultation")
        assert before.reply_due_at == cst(2026, 10, 15, 9)

        doc = current["document"]
        for rule in doc["rules"]:
            if rule["type"] == "consultation":
                rule["stages"]["reply"] = {"unit": "working_days", "amount": 5}
        assert (await c.put("/api/v1/admin/sla-policies", json=doc, headers=supervisor)).status_code == 403
        r = await c.put("/api/v1/admin/sla-policies", json=doc, headers=admin)
        assert r.status_code == 200 and r.json()["version"] == 1
        no_catch_all = {**doc, "rules": [x for x in doc["rules"] if x["type"] != "*" or x["urgency"] != "*"]}
        bad = await c.put("/api/v1/admin/sla-policies", json=no_catch_all, headers=admin)
        assert bad.status_code == 422 and "catch-all" in bad.text

        after = await make_ticket(db, cst(2026, 10, 12, 9), type="consultation")
        assert after.reply_due_at == cst(2026, 10, 19, 9)  # 5 working days: 13, 14, 15, 16, 19
        assert (await ticket(db, before.tracking_number)).reply_due_at == cst(2026, 10, 15, 9)
        listed = (await c.get("/api/v1/admin/sla-policies", headers=supervisor)).json()
        assert listed["version"] == 1 and [v["version"] for v in listed["versions"]] == [1]
        async with db.sessions() as s:
            versions = {c.policy_version for c in (await s.scalars(select(SlaClock))).all()}
        assert versions == {0, 1}


async def test_public_summary_needs_no_sign_in_but_kpis_need_a_supervisor(
        embedded_client: httpx.AsyncClient, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as anonymous:
        assert (await anonymous.get("/api/v1/public/summary", params={"month": "2026-10"})).status_code == 200
        assert (await anonymous.get("/api/v1/kpis", params={"month": "2026-10"})).status_code == 401
    # embedded_client is an agent: KPIs are for supervisors and admins.
    assert (await embedded_client.get("/api/v1/kpis", params={"month": "2026-10"})).status_code == 403
    assert (await embedded_client.get("/api/v1/public/summary", params={"month": "2026-13"})).status_code == 422


async def test_unit_pauses_and_resumes_its_clocks_over_the_api(db: Database, pg_url: str) -> None:
    t = await make_ticket(db, utcnow())
    async with client_for(create_app(settings_for(pg_url))) as c:
        env = await headers_for(db, Role.DEPARTMENT, "env")
        hrss = await headers_for(db, Role.DEPARTMENT, "hrss")
        view = await c.get(f"/api/v1/tickets/{t.tracking_number}/sla", headers=env)
        assert view.status_code == 200
        stages = {(x["stage"], x["outcome"]) for x in view.json()["clocks"]}
        assert stages == {("dispatch", "met"), ("accept", None), ("first_contact", None), ("reply", None)}
        assert (await c.get(f"/api/v1/tickets/{t.tracking_number}/sla", headers=hrss)).status_code == 404

        r = await c.post(f"/api/v1/tickets/{t.tracking_number}/sla/pause", headers=env,
                         json={"reason": "请市民补充噪音发生的具体时段"})
        assert r.status_code == 200
        again = await c.post(f"/api/v1/tickets/{t.tracking_number}/sla/pause", headers=env, json={"reason": "x"})
        assert again.status_code == 409
        r = await c.post(f"/api/v1/tickets/{t.tracking_number}/sla/resume", headers=env)
        assert r.status_code == 200
        # Resumed at once: the deadlines barely move, and never earlier.
        assert datetime.fromisoformat(r.json()["deadlines"]["reply_due_at"]) >= t.reply_due_at
        timeline = (await c.get(f"/api/v1/tickets/{t.tracking_number}", headers=env)).json()["events"]
        assert [e["kind"] for e in timeline][-2:] == ["sla_paused", "sla_resumed"]
