"""All SQL of the lifecycle: loading a ticket to act on (locked, scoped) and its unit assignments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal
from hotline.kit.clock import utcnow
from hotline.tickets.models import Ticket, TicketAssignment
from hotline.tickets.repository import readable

LEAD = "lead"
CO = "co"
WITHDRAWN = "withdrawn"


async def get_for_action(session: AsyncSession, tracking_number: str, principal: Principal) -> Ticket | None:
    """The ticket, row-locked for the rest of the unit of work; None if this principal may not act on it.

    A department sees only the tickets assigned to it: any other is "not found" to it.
    """
    # The one scoping rule of the read API (tickets.repository.readable); the service then also
    # refuses a unit whose assignment was withdrawn (it may still read its history).
    stmt = select(Ticket).where(Ticket.tracking_number == tracking_number, readable(principal))
    # FOR UPDATE on PostgreSQL (SQLite has one writer anyway and ignores it).
    stmt = stmt.with_for_update(of=Ticket).execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def get_by_tracking_number_for_update(session: AsyncSession, tracking_number: str) -> Ticket | None:
    stmt = (select(Ticket).where(Ticket.tracking_number == tracking_number)
            .with_for_update().execution_options(populate_existing=True))
    return await session.scalar(stmt)


async def assignments_of(session: AsyncSession, ticket_id: int, active_only: bool = True) -> Sequence[TicketAssignment]:
    stmt = select(TicketAssignment).where(TicketAssignment.ticket_id == ticket_id)
    if active_only:
        stmt = stmt.where(TicketAssignment.state != WITHDRAWN)
    return (await session.scalars(stmt.order_by(TicketAssignment.id))).all()


async def assignments_for(session: AsyncSession, ticket_ids: Sequence[int]) -> Sequence[TicketAssignment]:
    if not ticket_ids:
        return []
    stmt = (select(TicketAssignment).where(TicketAssignment.ticket_id.in_(list(ticket_ids)),
                                           TicketAssignment.state != WITHDRAWN)
            .order_by(TicketAssignment.ticket_id, TicketAssignment.id))
    return (await session.scalars(stmt)).all()


async def assign(session: AsyncSession, ticket_id: int, department_code: str, role: str) -> TicketAssignment:
    """Assign a unit (again): a unit that was withdrawn and comes back starts afresh."""
    row = await session.scalar(select(TicketAssignment).where(
        TicketAssignment.ticket_id == ticket_id, TicketAssignment.department_code == department_code))
    now = utcnow()
    if row is None:
        row = TicketAssignment(ticket_id=ticket_id, department_code=department_code, role=role,
                               state="assigned", assigned_at=now, updated_at=now)
        session.add(row)
    else:
        row.role = role
        row.state = "assigned"
        row.assigned_at = now
        row.accepted_at = None
        row.replied_at = None
        row.reply_text = None
        row.updated_at = now
    await session.flush()
    return row


async def withdraw(session: AsyncSession, ticket_id: int, role: str | None = None,
                   keep: Sequence[str] = ()) -> None:
    """Take the ticket away from its units (of one role), except those in `keep`."""
    stmt = update(TicketAssignment).where(TicketAssignment.ticket_id == ticket_id,
                                          TicketAssignment.state != WITHDRAWN)
    if role is not None:
        stmt = stmt.where(TicketAssignment.role == role)
    if keep:
        stmt = stmt.where(TicketAssignment.department_code.not_in(list(keep)))
    await session.execute(stmt.values(state=WITHDRAWN, updated_at=utcnow()),
                          execution_options={"synchronize_session": "fetch"})


async def tracking_number_of(session: AsyncSession, ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    return await session.scalar(select(Ticket.tracking_number).where(Ticket.id == ticket_id))


async def ticket_summaries(session: AsyncSession, ticket_ids: set[int]) -> dict[int, dict[str, object]]:
    """What an event record says about its ticket, for many tickets at once."""
    if not ticket_ids:
        return {}
    cols = [Ticket.id, Ticket.tracking_number, Ticket.status, Ticket.type, Ticket.topic, Ticket.urgency,
            Ticket.department_code, Ticket.town_code, Ticket.reopen_count]
    rows = await session.execute(select(*cols).where(Ticket.id.in_(list(ticket_ids))))
    return {r.id: dict(r._mapping) for r in rows}
