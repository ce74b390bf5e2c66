"""All SQL for calls (and for the call events' place in the intake inbox)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calls.models import Call
from hotline.intake.models import IntakeRecord
from hotline.kit.clock import utcnow
from hotline.kit.cursors import decode_id_cursor as decode_cursor
from hotline.kit.cursors import encode_id_cursor as encode_cursor
from hotline.kit.db import insert_ignoring_conflicts
from hotline.tickets.models import Ticket


async def record_in_inbox(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert call events into the intake inbox; return the (channel, external_id) that were new.

    The inbox's unique (channel, external_id) makes a re-sent or redelivered event a no-op.
    """
    if not rows:
        return set()
    table = IntakeRecord.__table__
    stmt = insert_ignoring_conflicts(session, table, ["channel", "external_id"]).returning(
        table.c.channel, table.c.external_id)
    result = await session.execute(stmt, rows)
    return {(c, e) for c, e in result}


async def calls_by_call_id(session: AsyncSession, call_ids: Sequence[str]) -> dict[str, Call]:
    if not call_ids:
        return {}
    rows = await session.scalars(select(Call).where(Call.call_id.in_(list(call_ids))))
    return {c.call_id: c for c in rows}


def add_call(session: AsyncSession, call: Call) -> None:
    session.add(call)


async def set_ticket(session: AsyncSession, call_id: str, ticket_id: int) -> bool:
    """Link a call to a ticket; False if there is no such call."""
    result = await session.execute(
        update(Call).where(Call.call_id == call_id).values(ticket_id=ticket_id, updated_at=utcnow()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LinkedTicket:
    """What a call shows of the ticket written for it: its number, and whether its citizen is protected."""

    id: int
    tracking_number: str
    confidential: bool


def _linked(row: Any) -> LinkedTicket | None:
    return LinkedTicket(row.ticket_id, row.tracking_number, bool(row.confidential)) if row.ticket_id else None


_WITH_TICKET = (Ticket.id.label("ticket_id"), Ticket.tracking_number, Ticket.confidential)


async def get_call(session: AsyncSession, call_id: str) -> tuple[Call, LinkedTicket | None] | None:
    row = (await session.execute(
        select(Call, *_WITH_TICKET).outerjoin(Ticket, Ticket.id == Call.ticket_id)
        .where(Call.call_id == call_id))).first()
    return (row[0], _linked(row)) if row else None


@dataclass
class CallFilter:
    missed: bool | None = None
    since: datetime | None = None
    linked: bool | None = None  # has a ticket


async def list_calls(
    session: AsyncSession, f: CallFilter, limit: int, cursor: str | None
) -> tuple[list[tuple[Call, LinkedTicket | None]], str | None]:
    """Newest first, with the linked ticket's tracking number; cursor = the last id seen."""
    conds: list[Any] = []
    if f.missed is not None:
        conds.append(Call.missed.is_(f.missed))
    if f.since is not None:
        conds.append(Call.started_at >= f.since)
    if f.linked is not None:
        conds.append(Call.ticket_id.is_not(None) if f.linked else Call.ticket_id.is_(None))
    if cursor:
        conds.append(Call.id < decode_cursor(cursor))
    stmt = select(Call, *_WITH_TICKET).outerjoin(Ticket, Ticket.id == Call.ticket_id)
    if conds:
        stmt = stmt.where(and_(*conds))
    rows: list[tuple[Call, LinkedTicket | None]] = [(r[0], _linked(r)) for r in (await session.execute(
        stmt.order_by(Call.id.desc()).limit(limit + 1))).all()]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
