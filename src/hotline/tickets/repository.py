"""All SQL for tickets, citizens, events and the intake inbox."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.models import IntakeRecord
from hotline.kit.db import insert_ignoring_conflicts
from hotline.kit.errors import HotlineError
from hotline.tickets.models import CitizenContact, Ticket, TicketEvent


async def seen_intake(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """The (channel, external_id) pairs already received, with their ticket id."""
    if not keys:
        return {}
    rows = await session.execute(
        select(IntakeRecord.channel, IntakeRecord.external_id, IntakeRecord.ticket_id).where(
            tuple_(IntakeRecord.channel, IntakeRecord.external_id).in_(list(keys))
        )
    )
    return {(c, e): t for c, e, t in rows}


async def upsert_citizens(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Create citizens not yet known; return ids for every (identity_kind, identity) given."""
    if not rows:
        return {}
    await session.execute(
        insert_ignoring_conflicts(session, CitizenContact.__table__, ["identity_kind", "identity"]), rows
    )
    keys = list({(r["identity_kind"], r["identity"]) for r in rows})
    result = await session.execute(
        select(CitizenContact.identity_kind, CitizenContact.identity, CitizenContact.id).where(
            tuple_(CitizenContact.identity_kind, CitizenContact.identity).in_(keys)
        )
    )
    return {(k, i): id_ for k, i, id_ in result}


async def insert_tickets(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert tickets, skipping tracking numbers that exist; return {tracking_number: id} of new ones."""
    if not rows:
        return {}
    stmt = insert_ignoring_conflicts(session, Ticket.__table__, ["tracking_number"]).returning(
        Ticket.__table__.c.tracking_number, Ticket.__table__.c.id
    )
    result = await session.execute(stmt, rows)
    return {tn: id_ for tn, id_ in result}


async def ticket_ids(session: AsyncSession, tracking_numbers: Iterable[str]) -> dict[str, int]:
    tns = list(tracking_numbers)
    if not tns:
        return {}
    rows = await session.execute(select(Ticket.tracking_number, Ticket.id).where(Ticket.tracking_number.in_(tns)))
    return {tn: id_ for tn, id_ in rows}


async def insert_intake(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(
            insert_ignoring_conflicts(session, IntakeRecord.__table__, ["channel", "external_id"]), rows
        )


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(TicketEvent.__table__.insert(), rows)


async def get_by_tracking_number(session: AsyncSession, tracking_number: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.tracking_number == tracking_number))


async def events_of(session: AsyncSession, ticket_id: int) -> Sequence[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    return (await session.scalars(stmt)).all()


class InvalidCursor(HotlineError):
    title = "Invalid cursor"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("the cursor is not one this API gave out; start again without it") from exc


@dataclass
class TicketFilter:
    status: str | None = None
    channel: str | None = None
    department: str | None = None
    external_id: str | None = None
    type: str | None = None


async def list_tickets(
    session: AsyncSession, f: TicketFilter, limit: int, cursor: str | None
) -> tuple[Sequence[Ticket], str | None]:
    """Newest first; the cursor is the last id seen, so inserts never shift a page."""
    stmt = select(Ticket)
    conds = []
    if f.status:
        conds.append(Ticket.status == f.status)
    if f.channel:
        conds.append(Ticket.channel == f.channel)
    if f.department:
        conds.append(Ticket.department_code == f.department)
    if f.type:
        conds.append(Ticket.type == f.type)
    if f.external_id:
        sub = select(IntakeRecord.ticket_id).where(IntakeRecord.external_id == f.external_id)
        conds.append(Ticket.id.in_(sub))
    if cursor:
        conds.append(Ticket.id < decode_cursor(cursor))
    if conds:
        stmt = stmt.where(and_(*conds))
    rows = (await session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit + 1))).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
