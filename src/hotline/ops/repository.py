"""Read-only counts for the operational gauges; each one a single cheap aggregate query."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.tickets.models import Ticket


async def tickets_by_status(session: AsyncSession) -> dict[str, int]:
    # Served by ix_tickets_status_id (an index-only scan on PostgreSQL).
    rows = await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
    return {status: int(n) for status, n in rows.all()}
