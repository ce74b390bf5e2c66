"""The SLA monitor on PostgreSQL with fixed clocks: warnings, breaches and the supervision
ladder (催办 → 催办通知书 → 通报 → 督办), each once, each an event and a notification."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from hotline.kit.db import Database
from hotline.notify.models import OutboxMessage
from hotline.sla import monitor, repository, service
from hotline.sla.service import Moment
from hotline.tickets import repository as tickets
from tests.sla.support import make_ticket

CST = ZoneInfo("Asia/Shanghai")


def cst(*a: int) -> datetime:
    return datetime(*a, tzinfo=CST)


async def _timeline(db: Database, tracking_number: str) -> list[str]:
    async with db.unit_of_work() as s:
        t = await tickets.get_by_tracking_number(s, tracking_number)
        assert t is not None
        return [e.kind for e in await tickets.events_of(s, t.id) if e.kind.startswith("sla_")]


async def _unit_mail(db: Database) -> list[tuple[str, str]]:
    async with db.unit_of_work() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(["email", "sms", "webhook"]))
                                .order_by(OutboxMessage.id))).all()
        return [(r.kind, r.payload.get("subject") or r.payload.get("text") or r.payload["body"]) for r in rows]


async def test_ladder_end_to_end_each_rung_once(db: Database) -> None:
    async with db.unit_of_work() as s:
        await repository.put_unit_contact(s, "env", {"email": "env@dg.gov.cn", "sms_phone": "+8613900000000",
                                                     "webhook_url": "http://127.0.0.1:9/hook",
                                                     "webhook_secret": "s3cret"})
    # A complaint to the environment bureau, Mon 28 Sep 2026 10:00: 13 working days over
    # National Day (Sep 29, 30, Oct 8, 9, Sat 10, 12–16, 19, 20, 21) → Wed 21 Oct 10:00.
    t = await make_ticket(db, cst(2026, 9, 28, 10))
    assert t.reply_due_at == cst(2026, 10, 21, 10)
    assert t.accept_due_at == cst(2026, 9, 29, 10)
    assert t.first_contact_due_at == cst(2026, 9, 30, 10)
    assert t.return_due_at == cst(2026, 9, 30, 10)

    # 80 % of the accept day (19.2 h) has gone at 05:12 on the 29th: a warning for the unit.
    r = await monitor.run_once(db, now=cst(2026, 9, 29, 5, 12))
    assert (r.warnings, r.breaches, r.total) == (1, 0, 1)
    assert await _timeline(db, t.tracking_number) == ["sla_warning"]
    assert [k for k, _ in await _unit_mail(db)] == ["email", "sms", "webhook"]
    assert (await monitor.run_once(db, now=cst(2026, 9, 29, 5, 12))).total == 0

    # 80 % of 13 working days is 10.4: Fri 16 Oct 19:36 — the reminder (催办); accept and first
    # contact were missed long ago (breaches, no separate warnings for them).
    r = await monitor.run_once(db, now=cst(2026, 10, 16, 19, 35))
    assert (r.breaches, r.steps["reminder"]) == (2, 0)
    r = await monitor.run_once(db, now=cst(2026, 10, 16, 19, 36))
    assert (r.breaches, r.steps["reminder"]) == (0, 1)

    # The deadline passes: a breach; the notice waits for the working day after (Thu 22 Oct).
    r = await monitor.run_once(db, now=cst(2026, 10, 21, 23, 59))
    assert (r.breaches, r.steps["reminder_notice"]) == (1, 0)
    r = await monitor.run_once(db, now=cst(2026, 10, 22, 0, 0))
    assert r.steps == {"reminder": 0, "reminder_notice": 1, "reprimand": 0, "supervision": 0}

    # 通报 5 working days after the notice (22, 23, 26, 27, 28 → Thu 29 Oct 00:00), 督办 5 more
    # (29, 30, Nov 2, 3, 4 → Thu 5 Nov). A monitor that was down catches up, once each.
    assert (await monitor.run_once(db, now=cst(2026, 10, 28, 23))).total == 0
    r = await monitor.run_once(db, now=cst(2026, 11, 6, 9))
    assert r.steps == {"reminder": 0, "reminder_notice": 0, "reprimand": 1, "supervision": 1}
    assert (await monitor.run_once(db, now=cst(2026, 11, 6, 9))).total == 0
    assert (await monitor.run_once(db, now=cst(2026, 12, 31))).total == 0

    assert await _timeline(db, t.tracking_number) == [
        "sla_warning", "sla_breached", "sla_breached", "sla_reminder", "sla_breached",
        "sla_reminder_notice", "sla_reprimand", "sla_supervision"]
    subjects = [text for kind, text in await _unit_mail(db) if kind == "email"]
    assert [s.split("】")[0] for s in subjects] == [
        "【12345 时限预警", "【12345 已超时", "【12345 已超时", "【12345 催办", "【12345 催办通知书",
        "【12345 通报", "【12345 督办"]
    async with db.unit_of_work() as s:
        steps = await repository.steps_of(s, t.id)
        assert [(x.step, x.scheduled_at) for x in steps] == [
            ("reminder", cst(2026, 10, 16, 19, 36)), ("reminder_notice", cst(2026, 10, 22)),
            ("reprimand", cst(2026, 10, 29)), ("supervision", cst(2026, 11, 5))]


async def test_a_reply_in_time_stops_the_ladder(db: Database) -> None:
    t = await make_ticket(db, cst(2026, 9, 28, 10), type="consultation")
    assert t.reply_due_at == cst(2026, 10, 8, 10)  # 3 working days: Sep 29, Sep 30, Oct 8
    async with db.unit_of_work() as s:
        ticket = await tickets.get_by_tracking_number(s, t.tracking_number)
        assert ticket is not None
        await service.apply_deadlines(s, ticket, Moment.REPLIED, cst(2026, 10, 8, 9))
    r = await monitor.run_once(db, now=cst(2026, 12, 1))
    assert r.steps == {"reminder": 0, "reminder_notice": 0, "reprimand": 0, "supervision": 0}
    # The accept and first-contact clocks were met by the reply; only the callback is late.
    assert r.breaches == 1
    assert await _timeline(db, t.tracking_number) == ["sla_breached"]


async def test_paused_ticket_is_not_chased_and_gets_its_time_back(db: Database) -> None:
    t = await make_ticket(db, cst(2026, 9, 28, 10))
    async with db.unit_of_work() as s:
        ticket = await tickets.get_by_tracking_number(s, t.tracking_number)
        assert ticket is not None
        await service.apply_deadlines(s, ticket, Moment.ACCEPTED, cst(2026, 9, 28, 11))
        await service.apply_deadlines(s, ticket, Moment.CONTACTED, cst(2026, 9, 28, 12))
        await service.pause_clocks(s, ticket, cst(2026, 10, 9, 10))
    # Past the original deadline while paused: nothing happens.
    assert (await monitor.run_once(db, now=cst(2026, 10, 22, 9))).total == 0
    async with db.unit_of_work() as s:
        ticket = await tickets.get_by_tracking_number(s, t.tracking_number)
        assert ticket is not None
        moved = await service.resume_clocks(s, ticket, cst(2026, 10, 14, 10))
        # 9 working days were left at the pause (Oct 9 10:00 → Oct 21 10:00); from Oct 14 10:00
        # that is Oct 15, 16, 19–23, 26, 27 → Tue 27 Oct 10:00.
        assert moved == {"reply_due_at": cst(2026, 10, 27, 10)}
        assert ticket.sla_paused_seconds == 4 * 86400  # Oct 9 (14 h), 10, 12, 13, Oct 14 (10 h)
    assert (await monitor.run_once(db, now=cst(2026, 10, 27, 9, 59))).breaches == 0
    assert (await monitor.run_once(db, now=cst(2026, 10, 27, 10))).breaches == 1


async def test_two_monitors_at_once_act_once(db: Database) -> None:
    for _ in range(5):
        await make_ticket(db, cst(2026, 9, 28, 10))
    a, b = await asyncio.gather(monitor.run_once(db, now=cst(2026, 11, 6, 9)),
                                monitor.run_once(db, now=cst(2026, 11, 6, 9)))
    assert a.breaches + b.breaches == 15  # accept, first contact, reply × 5
    assert a.steps["supervision"] + b.steps["supervision"] == 5
    async with db.unit_of_work() as s:
        from hotline.sla.models import SupervisionStep

        assert await s.scalar(select(func.count()).select_from(SupervisionStep)) == 20


async def test_monitor_runs_inside_hotline_dev_on_sqlite(sqlite_url: str) -> None:
    from hotline.api.app import create_app
    from tests.conftest import client_for, settings_for

    db = Database(sqlite_url)
    try:
        t = await make_ticket(db, cst(2026, 9, 28, 10))  # long overdue by now
        settings = settings_for(sqlite_url, sla_monitor_interval_seconds=3600)
        async with client_for(create_app(settings, ("api", "gateway", "sla-monitor"))) as c:
            assert (await c.get("/readyz")).status_code == 200
            for _ in range(100):  # the monitor's first pass runs as the app starts
                if "sla_supervision" in await _timeline(db, t.tracking_number):
                    break
                await asyncio.sleep(0.05)
        assert await _timeline(db, t.tracking_number) == [
            "sla_breached", "sla_breached", "sla_breached", "sla_reminder", "sla_reminder_notice",
            "sla_reprimand", "sla_supervision"]
    finally:
        await db.dispose()


async def test_the_ladder_reaches_every_ticket_when_they_are_more_than_a_batch(db: Database) -> None:
    """Reply clocks paged by warning time: tickets received at different moments (so their
    warnings differ) and two at the same moment (the same warning: the id decides), two per page."""
    await _ladder_over_pages(db)


async def test_the_ladder_pages_on_sqlite_too(sqlite_url: str) -> None:
    """The monitor runs on the embedded default (`make run`) as well."""
    db = Database(sqlite_url)
    try:
        await _ladder_over_pages(db)
    finally:
        await db.dispose()


async def _ladder_over_pages(db: Database) -> None:
    received = [cst(2026, 9, 28, 11), cst(2026, 9, 28, 11), cst(2026, 9, 28, 10), cst(2026, 9, 28, 12),
                cst(2026, 9, 28, 13)]  # by warning: 10 | 11, 11 | 12 | 13 (the two at 11 on two pages)
    made = [await make_ticket(db, at) for at in received]
    r = await monitor.run_once(db, now=cst(2026, 10, 20), batch=2)  # past every reminder (催办) time
    assert r.steps["reminder"] == 5
    for t in made:
        async with db.unit_of_work() as s:
            assert [x.step for x in await repository.steps_of(s, t.id)] == ["reminder"]
    assert (await monitor.run_once(db, now=cst(2026, 10, 20), batch=2)).steps["reminder"] == 0
