"""SQL for the supervisors' SLA board: open deadlines per unit, nearing (warning) and past (breach)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.sla.models import SlaClock


async def board(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Per unit: open clocks, those past their warning time, those past their deadline (now, not
    as last marked by the monitor, so the board is right even between monitor runs)."""
    warning = and_(SlaClock.warn_at <= now, SlaClock.due_at > now)
    breach = SlaClock.due_at <= now
    stmt = (select(SlaClock.department_code,
                   func.count().label("open"),
                   func.sum(case((warning, 1), else_=0)).label("warnings"),
                   func.sum(case((breach, 1), else_=0)).label("breaches"),
                   func.min(SlaClock.due_at).label("next_due_at"))
            .where(SlaClock.met_at.is_(None), SlaClock.department_code.is_not(None))
            .group_by(SlaClock.department_code))
    rows = [dict(r._mapping) for r in await session.execute(stmt)]
    for r in rows:
        r["warnings"], r["breaches"] = int(r["warnings"] or 0), int(r["breaches"] or 0)
    rows.sort(key=lambda r: (-r["breaches"], -r["warnings"], -r["open"], r["department_code"]))
    return rows
