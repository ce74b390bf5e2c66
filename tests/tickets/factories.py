"""Tickets in any lifecycle state, built directly in the database, and principals to act on them."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from hotline.auth.principal import Principal, Role
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.notify.models import OutboxMessage
from hotline.tickets.models import Ticket, TicketAssignment, TicketEvent

LEAD = "env"  # 市生态环境局
CO = "town-tangxia"  # 塘厦镇
OTHER = "hrss"  # 市人力资源和社会保障局

AGENT = Principal(1, "li", Role.AGENT)
SUPERVISOR = Principal(2, "wang", Role.SUPERVISOR)
ADMIN = Principal(3, "root", Role.ADMIN)
SYSTEM = Principal(None, "sla-monitor", Role.SYSTEM)
LEAD_UNIT = Principal(4, "env-desk", Role.DEPARTMENT, LEAD)
CO_UNIT = Principal(5, "tangxia-desk", Role.DEPARTMENT, CO)
OTHER_UNIT = Principal(6, "hrss-desk", Role.DEPARTMENT, OTHER)

_numbers = itertools.count(1)


async def make_ticket(db: Database, status: str = "dispatched", *, department: str | None = LEAD,
                      co: str | None = None, type: str = "consultation", **fields: Any) -> str:
    """A ticket in `status`, led by `department`, co-handled by `co` (not yet accepted)."""
    tn = f"DGT{next(_numbers):08d}"
    now = utcnow()
    async with db.unit_of_work() as s:
        t = Ticket(tracking_number=tn, type=type, status=status, channel="web", text="工地夜间施工噪音扰民",
                   topic="noise", urgency="normal", department_code=department, received_at=now,
                   created_at=now, updated_at=now, reopen_count=0, return_count=0, **fields)
        s.add(t)
        await s.flush()
        if co:
            s.add(TicketAssignment(ticket_id=t.id, department_code=co, role="co", state="assigned",
                                   assigned_at=now, updated_at=now))
    return tn


async def ticket(db: Database, tn: str) -> Ticket:
    async with db.sessions() as s:
        t = await s.scalar(select(Ticket).where(Ticket.tracking_number == tn))
        assert t is not None
        return t


async def events(db: Database, tn: str) -> list[TicketEvent]:
    async with db.sessions() as s:
        return list((await s.scalars(select(TicketEvent).join(Ticket, Ticket.id == TicketEvent.ticket_id)
                                     .where(Ticket.tracking_number == tn).order_by(TicketEvent.id))).all())


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def assignments(db: Database, tn: str) -> dict[str, TicketAssignment]:
    async with db.sessions() as s:
        rows = (await s.scalars(select(TicketAssignment).join(Ticket, Ticket.id == TicketAssignment.ticket_id)
                                .where(Ticket.tracking_number == tn))).all()
        return {a.department_code: a for a in rows}
