"""Tickets over HTTP: create from a call, search, detail with timeline, events, export; scoped by caller."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime

from hotline.api.deps import SessionDep, SettingsDep
from hotline.api.idempotency import Idempotency
from hotline.api.params import refuse_nul
from hotline.auth import service as auth
from hotline.auth.deps import AgentRole, TicketReader
from hotline.channels.phone_numbers import normalize_phone
from hotline.kit.cursors import decode_id_cursor, encode_id_cursor
from hotline.tickets import desk, queries, repository
from hotline.tickets.handlers import IntakeHandler
from hotline.tickets.schemas import (
    CitizenLookup,
    NewTicket,
    TicketDetail,
    TicketEventPage,
    TicketOut,
    TicketPage,
)

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
citizens_router = APIRouter(prefix="/api/v1/citizens", tags=["tickets"])

EXPORT_MAX = 10_000
EXPORT_COLUMNS = ("tracking_number", "type", "status", "channel", "topic", "town_code", "department_code",
                  "urgency", "received_at", "updated_at", "reply_due_at", "subject", "text",
                  "citizen_name", "citizen_phone")


def _filter(
    status: Annotated[str | None, Query(description="one status or several, comma-separated")] = None,
    type: Annotated[str | None, Query(description="consultation | help | complaint | report | …")] = None,
    topic: str | None = None,
    department: Annotated[str | None, Query(description="lead unit code")] = None,
    town: Annotated[str | None, Query(description="town / street / park code")] = None,
    channel: str | None = None,
    received_from: Annotated[AwareDatetime | None,
                             Query(description="received at or after (ISO 8601, with its zone)")] = None,
    received_to: Annotated[AwareDatetime | None,
                           Query(description="received before (ISO 8601, with its zone)")] = None,
    overdue: Annotated[bool | None, Query(description="past the reply deadline, not yet replied")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200,
                                   description="full text (Chinese): a phrase in the subject or text")] = None,
    external_id: str | None = None,
) -> repository.TicketFilter:
    refuse_nul(status=status, type=type, topic=topic, department=department, town=town, channel=channel,
               q=q, external_id=external_id)
    return repository.TicketFilter(status=status, channel=channel, department=department,
                                   external_id=external_id, type=type, topic=topic, town=town,
                                   received_from=received_from, received_to=received_to,
                                   overdue=overdue, q=q)


FilterDep = Annotated[repository.TicketFilter, Depends(_filter)]


def _intake_handler(request: Request) -> IntakeHandler:
    """The handler the channels use in this process (embedded mode), else one of the API's own."""
    state = request.app.state
    handler = getattr(state, "intake_handler", None)
    if handler is None:
        handler = getattr(getattr(state, "bus", None), "handler", None)
        if not isinstance(handler, IntakeHandler):
            handler = IntakeHandler(state.db, settings=state.settings)
        state.intake_handler = handler
    return handler


@router.post("", status_code=201, response_model=TicketDetail)
async def create_ticket(
    request: Request, body: NewTicket, session: SessionDep, settings: SettingsDep, principal: AgentRole,
    idem: Idempotency,
) -> JSONResponse:
    """An agent's ticket from a call (`call_id`): routed and numbered like every channel's (channel=phone)."""
    if (replay := await idem.replay()) is not None:
        return replay  # type: ignore[return-value]
    # With an Idempotency-Key the intake identity is stable too, so even a lost reply is made once.
    external_id = f"agent:{principal.id}:{idem.key}" if idem.key else f"agent:{principal.id}:{uuid.uuid4().hex}"
    ticket = await desk.create_from_call(session, _intake_handler(request), principal, body, external_id,
                                         settings.tracking_prefix)
    out, ticket, events = await queries.ticket_detail(session, principal, ticket.tracking_number, reveal=False)
    detail = TicketDetail(**out.model_dump(), routing=ticket.routing, events=events)
    return await idem.respond(201, detail, headers={"Location": f"/api/v1/tickets/{ticket.tracking_number}"})  # type: ignore[return-value]


@router.get("", response_model=TicketPage)
async def search_tickets(
    session: SessionDep,
    principal: TicketReader,
    f: FilterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Search tickets, newest first: by type, status, topic, unit, town, channel, dates, overdue, text."""
    rows, next_cursor = await repository.list_tickets(session, principal, f, limit, cursor)
    return TicketPage(items=await queries.present(session, rows), next_cursor=next_cursor)


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with BOM (opens in Excel)"}})
async def export_tickets(
    session: SessionDep,
    principal: TicketReader,
    f: FilterDep,
) -> StreamingResponse:
    """The search as CSV (at most 10,000 rows, newest first); protected citizens are never in an export."""
    rows, _ = await repository.list_tickets(session, principal, f, EXPORT_MAX, None)
    items = await queries.present(session, rows)

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        buf.write("\ufeff")
        w.writerow(EXPORT_COLUMNS)
        for t in items:
            c = t.citizen
            w.writerow([t.tracking_number, t.type, t.status, t.channel, t.topic or "", t.town_code or "",
                        t.department_code or "", t.urgency, t.received_at.isoformat(), t.updated_at.isoformat(),
                        t.reply_due_at.isoformat() if t.reply_due_at else "", t.subject or "", t.text,
                        "保密" if c and c.hidden else (c.name or "") if c else "",
                        "保密" if c and c.hidden else (c.phone or "") if c else ""])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="tickets.csv"'})


@router.get("/{tracking_number}", response_model=TicketDetail)
async def get_ticket(session: SessionDep, principal: TicketReader, tracking_number: str) -> TicketDetail:
    """One ticket with its full event timeline (a protected citizen is shown to the centre only, audited)."""
    out, ticket, events = await queries.ticket_detail(session, principal, tracking_number)
    return TicketDetail(**out.model_dump(), routing=ticket.routing, events=events)


@router.get("/{tracking_number}/events", response_model=TicketEventPage)
async def ticket_events(
    session: SessionDep, principal: TicketReader, tracking_number: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, cursor: str | None = None,
) -> TicketEventPage:
    """A ticket's timeline, oldest first, paginated."""
    ticket = await queries.readable_ticket(session, principal, tracking_number)
    after = decode_id_cursor(cursor) if cursor else None
    events = await repository.events_page(session, ticket.id, limit + 1, after)
    more = len(events) > limit
    events = events[:limit]
    return TicketEventPage(items=queries.events_out(principal, ticket, events),
                           next_cursor=encode_id_cursor(events[-1].id) if more else None)


@citizens_router.get("/lookup", response_model=CitizenLookup)
async def lookup_caller(
    session: SessionDep, principal: AgentRole, phone: Annotated[str, Query(min_length=3, max_length=32)],
    limit: Annotated[int, Query(ge=1, le=200)] = 20, cursor: str | None = None,
) -> CitizenLookup:
    """A caller's number (any format; E.164 after normalizing) → who they are and their previous tickets."""
    e164 = normalize_phone(phone)
    citizen_ids = await repository.citizen_ids_by_phone(session, e164)
    if not citizen_ids:
        return CitizenLookup(phone=e164, citizen=None, tickets=[], next_cursor=None)
    f = repository.TicketFilter(citizen_ids=citizen_ids)
    rows, next_cursor = await repository.list_tickets(session, principal, f, limit, cursor)
    citizens = await repository.citizens_by_ids(session, citizen_ids)
    # The agent typed the number, so the identity is theirs already; but tying it to a report (举报)
    # reveals the reporter, so those tickets are shown and the view audited.
    protected = [t.id for t in rows if t.confidential]
    if protected:
        await auth.record_identity_views(session, principal, protected, "caller_lookup")
    tickets: list[TicketOut] = [queries.ticket_out(t, citizens.get(t.citizen_id or -1), reveal=True) for t in rows]
    first = citizens[citizen_ids[0]]
    return CitizenLookup(phone=e164, citizen=queries.citizen_out_plain(first), tickets=tickets,
                         next_cursor=next_cursor)
