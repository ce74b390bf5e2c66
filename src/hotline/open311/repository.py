"""All SQL for the public Open311 view of tickets (never a citizen's identity or internal notes)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.departments.models import Department
from hotline.intake.models import IntakeRecord
from hotline.tickets.models import Ticket

_SERVICE_CODE = IntakeRecord.payload[("meta", "service_code")].as_string()
_MEDIA_URL = IntakeRecord.payload[("attachments", 0, "url")].as_string()


@dataclass
class PublicRequest:
    ticket: Ticket
    service_code: str | None
    media_url: str | None
    agency: str | None


@dataclass
class RequestFilter:
    tracking_numbers: Sequence[str] = ()
    service_codes: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    closed: bool | None = None  # None: open and closed
    closed_statuses: Collection[str] = ()


async def public_requests(session: AsyncSession, f: RequestFilter, limit: int) -> list[PublicRequest]:
    """Tickets that came in through Open311 and are not confidential, newest first."""
    conds: list[Any] = [IntakeRecord.channel == "open311", Ticket.confidential.is_(False)]
    if f.tracking_numbers:
        conds.append(Ticket.tracking_number.in_(list(f.tracking_numbers)))
    if f.service_codes:
        conds.append(_SERVICE_CODE.in_(list(f.service_codes)))
    if f.start is not None:
        conds.append(Ticket.received_at >= f.start)
    if f.end is not None:
        conds.append(Ticket.received_at <= f.end)
    if f.closed is not None:
        in_closed = Ticket.status.in_(list(f.closed_statuses))
        conds.append(in_closed if f.closed else ~in_closed)
    stmt = (
        select(Ticket, _SERVICE_CODE, _MEDIA_URL, Department.name)
        .join(IntakeRecord, IntakeRecord.ticket_id == Ticket.id)
        .outerjoin(Department, Department.code == Ticket.department_code)
        .where(and_(*conds))
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return [PublicRequest(t, code, media, agency) for t, code, media, agency in await session.execute(stmt)]
