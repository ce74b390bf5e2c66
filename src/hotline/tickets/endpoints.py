"""Reading and searching tickets, scoped to what the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hotline.api.deps import SessionDep
from hotline.auth.deps import TicketReader
from hotline.tickets import queries, repository
from hotline.tickets.schemas import TicketDetail, TicketEventOut, TicketPage

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


@router.get("", response_model=TicketPage)
async def list_tickets(
    session: SessionDep,
    principal: TicketReader,
    status: str | None = None,
    channel: str | None = None,
    department: str | None = None,
    type: str | None = None,
    external_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Tickets, newest first, filtered; follow `next_cursor` for the next page."""
    f = repository.TicketFilter(status=status, channel=channel, department=department,
                                external_id=external_id, type=type)
    rows, next_cursor = await repository.list_tickets(session, principal, f, limit, cursor)
    return TicketPage(items=await queries.present(session, rows), next_cursor=next_cursor)


@router.get("/{tracking_number}", response_model=TicketDetail)
async def get_ticket(session: SessionDep, principal: TicketReader, tracking_number: str) -> TicketDetail:
    """One ticket with its full event timeline."""
    out, ticket, events = await queries.ticket_detail(session, principal, tracking_number)
    return TicketDetail(**out.model_dump(), routing=ticket.routing,
                        events=[TicketEventOut.model_validate(e) for e in events])
