"""Read-only counts for the operational gauges; each one a single cheap aggregate query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.notify.models import OutboxMessage
from hotline.sla.models import SlaClock
from hotline.tickets.models import Ticket


async def tickets_by_status(session: AsyncSession) -> dict[str, int]:
    # Served by ix_tickets_status_id (an index-only scan on PostgreSQL).
    rows = await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
    return {status: int(n) for status, n in rows.all()}


async def open_sla_clocks(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Open clocks (met_at IS NULL) in warning or breached, by stage: {(state, stage): n}.

    The SLA monitor sets `warned_at` and `breached_at` (sla/monitor.py); a breached clock is
    counted as breached only, not also as warned.
    """
    out: dict[tuple[str, str], int] = {}
    open_ = SlaClock.met_at.is_(None)
    breached = await session.execute(
        select(SlaClock.stage, func.count()).where(open_, SlaClock.breached_at.is_not(None))
        .group_by(SlaClock.stage))
    for stage, n in breached.all():
        out[("breached", stage)] = int(n)
    warned = await session.execute(
        select(SlaClock.stage, func.count())
        .where(open_, SlaClock.warned_at.is_not(None), SlaClock.breached_at.is_(None))
        .group_by(SlaClock.stage))
    for stage, n in warned.all():
        out[("warning", stage)] = int(n)
    return out


async def outbox_depth(session: AsyncSession) -> tuple[dict[str, int], datetime | None]:
    """Unsent outbox rows by kind, and when the oldest of them was written."""
    rows = await session.execute(
        select(OutboxMessage.kind, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.sent_at.is_(None)).group_by(OutboxMessage.kind))
    depth: dict[str, int] = {}
    oldest: datetime | None = None
    for kind, n, first in rows.all():
        depth[kind] = int(n)
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return depth, oldest
