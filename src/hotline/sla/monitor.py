"""The SLA monitor: marks warnings and breaches and climbs the supervision ladder, each once.

催办 (reminder, at the warning share of the reply time) → 催办通知书 (formal notice, the working
day after the deadline) → 通报 (reprimand, N working days later) → 督办 (supervision). Every mark
is a conditional UPDATE or a unique row, so two monitors, or one run twice, act once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import SYSTEM_SLA
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.kit.settings import Settings
from hotline.sla import repository, service
from hotline.sla.models import SlaClock
from hotline.sla.notifications import STEP_TITLES, notify_unit
from hotline.sla.policies import Stage
from hotline.tickets import actions
from hotline.tickets.models import Ticket

log = logging.getLogger(__name__)

LADDER = ("reminder", "reminder_notice", "reprimand", "supervision")
EVENT_KINDS = {"warning": "sla_warning", "breach": "sla_breached", "reminder": "sla_reminder",
               "reminder_notice": "sla_reminder_notice", "reprimand": "sla_reprimand",
               "supervision": "sla_supervision"}
# Stages that are the unit's job: it hears about their warnings and breaches directly.
UNIT_STAGES = {Stage.ACCEPT.value, Stage.FIRST_CONTACT.value}
STAGE_NAMES = {"dispatch": "派单", "accept": "签收", "first_contact": "首次联系", "reply": "办结回复",
               "callback": "回访"}


@dataclass
class MonitorReport:
    warnings: int = 0
    breaches: int = 0
    steps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LADDER, 0))

    @property
    def total(self) -> int:
        return self.warnings + self.breaches + sum(self.steps.values())


async def _record(session: AsyncSession, ticket: Ticket, kind: str, reason: str, data: dict[str, Any],
                  now: datetime) -> None:
    """An event on the ticket's timeline (no status change), published through the outbox."""
    await actions.record_event(session, ticket, SYSTEM_SLA, kind, reason=reason, data={**data, "at": now.isoformat()})


def _local(at: datetime) -> str:
    cal = service.calendar()
    return f"{cal.local(at):%Y-%m-%d %H:%M}"


def _data(clock: SlaClock, **extra: Any) -> dict[str, Any]:
    return {"stage": clock.stage, "round": clock.round, "unit": clock.department_code,
            "due_at": clock.due_at.isoformat(), **extra}


async def _marks(session: AsyncSession, now: datetime, batch: int, report: MonitorReport) -> bool:
    """One batch of breaches then warnings; True if there may be more."""
    more = False
    breached = await repository.claim_marks(session, "breached_at", "due_at", now, batch)
    more |= len(breached) == batch
    for clock, ticket in breached:
        name = STAGE_NAMES.get(clock.stage, clock.stage)
        reason = f"{name}时限 {_local(clock.due_at)} 已过"
        await _record(session, ticket, EVENT_KINDS["breach"], reason, _data(clock), now)
        if clock.stage in UNIT_STAGES:
            await notify_unit(session, clock.department_code, ticket, "breach",
                              f"工单 {ticket.tracking_number} {reason}，请立即处理。", _data(clock))
        report.breaches += 1
    # The reply stage's warning is the ladder's first rung (催办); the others are plain warnings.
    warned = await repository.claim_marks(session, "warned_at", "warn_at", now, batch)
    more |= len(warned) == batch
    for clock, ticket in warned:
        if clock.stage == Stage.REPLY.value:
            continue
        name = STAGE_NAMES.get(clock.stage, clock.stage)
        reason = f"{name}时限 {_local(clock.due_at)} 将到"
        await _record(session, ticket, EVENT_KINDS["warning"], reason, _data(clock), now)
        if clock.stage in UNIT_STAGES:
            await notify_unit(session, clock.department_code, ticket, "warning",
                              f"工单 {ticket.tracking_number} {reason}，请及时处理。", _data(clock))
        report.warnings += 1
    return more


_STEP_TEXT = {
    "reminder": "办理时限 {due} 将到，请抓紧办理并按时回复（催办）。",
    "reminder_notice": "办理时限 {due} 已过仍未办结，现发出催办通知书，请即日办结回复。",
    "reprimand": "超时未办结，催办通知书发出后仍未回复，予以通报。",
    "supervision": "超时未办结，已列入督办，请主要负责人跟进并书面说明。",
}


async def _ladder(session: AsyncSession, now: datetime, batch: int, report: MonitorReport) -> None:
    st = await service.refresh(session)
    assert st.policy is not None
    policy = st.policy[1]
    after: tuple[datetime, int] | None = None
    while True:
        rows = await repository.ladder_candidates(session, now, batch, after)
        for clock, ticket, taken in rows:
            schedule = service.ladder_schedule(st.calendar, policy, clock)
            for step in LADDER:
                if step in taken:
                    continue
                if schedule[step] > now or (step != "reminder" and clock.due_at > now):
                    break
                if not await repository.take_step(session, clock, step, schedule[step], now):
                    continue
                text = _STEP_TEXT[step].format(due=_local(clock.due_at))
                data = _data(clock, step=step, scheduled_at=schedule[step].isoformat())
                await _record(session, ticket, EVENT_KINDS[step], f"{STEP_TITLES[step]}：{text}", data, now)
                await notify_unit(session, clock.department_code, ticket, step,
                                  f"工单 {ticket.tracking_number}：{text}", data)
                report.steps[step] += 1
        if len(rows) < batch:
            return
        after = (rows[-1][0].warn_at, rows[-1][0].id)


async def run_once(db: Database, now: datetime | None = None, batch: int = 500) -> MonitorReport:
    """One pass over every open clock; each batch is its own unit of work."""
    now = now or utcnow()
    report = MonitorReport()
    more = True
    while more:
        async with db.unit_of_work() as session:
            await service.refresh(session)
            more = await _marks(session, now, batch, report)
    async with db.unit_of_work() as session:
        await _ladder(session, now, batch, report)
    if report.total:
        log.info("SLA monitor: %d warnings, %d breaches, ladder %s", report.warnings, report.breaches,
                 {k: v for k, v in report.steps.items() if v})
    return report


async def run_forever(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Every HOTLINE_SLA_MONITOR_INTERVAL_SECONDS until `stop` is set; a failed pass is retried."""
    log.info("SLA monitor running every %.0f s", settings.sla_monitor_interval_seconds)
    while not stop.is_set():
        try:
            await run_once(db)
        except Exception:
            log.exception("SLA monitor pass failed; retrying")
        try:
            await asyncio.wait_for(stop.wait(), settings.sla_monitor_interval_seconds)
        except TimeoutError:
            pass
