"""Reading tickets as a principal: scoping applied (repository.readable), identities masked, views audited.

Whistle-blower protection (举报人保护): a confidential ticket's citizen is shown only to the centre,
only on the ticket detail or a caller lookup, and every such showing is written to `identity_views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth import service as auth
from hotline.auth.principal import Principal
from hotline.kit.errors import NotFound
from hotline.tickets import repository
from hotline.tickets.models import CitizenContact, Ticket, TicketEvent
from hotline.tickets.schemas import CitizenOut, TicketEventOut, TicketOut

MASKED = CitizenOut(name=None, phone=None, email=None, hidden=True)


def citizen_out(ticket: Ticket, citizen: CitizenContact | None, reveal: bool) -> CitizenOut | None:
    """The citizen as this response may show it; `reveal` only for the centre's audited views."""
    if citizen is None:
        return None
    if ticket.confidential and not reveal:
        return MASKED
    return CitizenOut(name=citizen.name, phone=citizen.phone, email=citizen.email, hidden=False)


def citizen_out_plain(citizen: CitizenContact) -> CitizenOut:
    return CitizenOut(name=citizen.name, phone=citizen.phone, email=citizen.email, hidden=False)


def ticket_out(ticket: Ticket, citizen: CitizenContact | None, reveal: bool = False) -> TicketOut:
    out = TicketOut.model_validate(ticket)
    return out.model_copy(update={"citizen": citizen_out(ticket, citizen, reveal)})


async def present(session: AsyncSession, tickets: Sequence[Ticket]) -> list[TicketOut]:
    """Tickets for a list, a poll or an export: confidential citizens masked for everyone."""
    citizens = await repository.citizens_by_ids(session, (t.citizen_id for t in tickets))
    return [ticket_out(t, citizens.get(t.citizen_id or -1)) for t in tickets]


async def readable_ticket(session: AsyncSession, principal: Principal, tracking_number: str) -> Ticket:
    """The ticket, or 404 whether it does not exist or is not this principal's to see."""
    ticket = await repository.get_readable(session, principal, tracking_number)
    if ticket is None:
        raise NotFound(f"no ticket with tracking number {tracking_number}")
    return ticket


async def ticket_detail(
    session: AsyncSession, principal: Principal, tracking_number: str, reveal: bool = True
) -> tuple[TicketOut, Ticket, list[TicketEventOut]]:
    """One ticket and its timeline; the centre sees a protected identity, and that view is audited."""
    ticket = await readable_ticket(session, principal, tracking_number)
    citizens = await repository.citizens_by_ids(session, [ticket.citizen_id])
    citizen = citizens.get(ticket.citizen_id or -1)
    reveal = reveal and principal.is_centre
    if reveal and ticket.confidential and citizen is not None:
        await auth.record_identity_views(session, principal, [ticket.id], "ticket_detail")
    events = await repository.events_of(session, ticket.id)
    return ticket_out(ticket, citizen, reveal), ticket, events_out(principal, ticket, events)


# Timeline data that can point back at a protected citizen: a web message without its own id is
# keyed by a hash of phone + text (intake.schema.content_key), which a unit that knows the text
# could brute-force over the phone numbers.
IDENTIFYING_EVENT_DATA = frozenset({"external_id", "phone", "name", "email", "identity", "citizen", "caller"})


def events_out(principal: Principal, ticket: Ticket, events: Sequence[TicketEvent]) -> list[TicketEventOut]:
    """The timeline as this principal may see it (pydantic copies: the stored events are untouched)."""
    out = [TicketEventOut.model_validate(e) for e in events]
    if principal.is_centre or not ticket.confidential:
        return out
    return [e.model_copy(update={"data": {k: v for k, v in e.data.items() if k not in IDENTIFYING_EVENT_DATA}})
            if e.data else e for e in out]


MASKED_JSON: dict[str, Any] = MASKED.model_dump()
# TicketOut's fields in its order, but the citizen (added after).
QUEUE_ITEM_FIELDS = tuple(name for name in TicketOut.model_fields if name != "citizen")


def queue_item(row: Any) -> dict[str, Any]:
    """One row of `repository.department_queue_page` (a mapping) as TicketOut's JSON (same fields,
    same order, confidential citizens masked), without building a model: a poll writes 50 of these."""
    if row["citizen_id"] is None:
        citizen: dict[str, Any] | None = None
    elif row["confidential"]:
        citizen = MASKED_JSON
    else:
        citizen = {"name": row["citizen_name"], "phone": row["citizen_phone"], "email": row["citizen_email"],
                   "hidden": False}
    item = {name: row[name] for name in QUEUE_ITEM_FIELDS}
    item["confidential"] = bool(item["confidential"])
    item["citizen"] = citizen
    return item


def queue_page_json(rows: Sequence[Any], next_cursor: str | None, resume_cursor: str | None) -> bytes:
    """DepartmentQueuePage as bytes: orjson writes UTC datetimes as pydantic does (`…Z`, microseconds
    only when present), so the body is byte for byte what the model would give."""
    return orjson.dumps({"items": [queue_item(r) for r in rows], "next_cursor": next_cursor,
                         "resume_cursor": resume_cursor}, option=orjson.OPT_UTC_Z)
