"""The agent's desk: a ticket typed in during a call goes through the same ingest path as any channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal
from hotline.channels.phone_numbers import normalize_phone
from hotline.departments import repository as departments
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, Location, tracking_number_for
from hotline.kit.clock import utcnow
from hotline.kit.errors import NotFound
from hotline.routing.schemas import RoutingDecision
from hotline.tickets import repository
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import NewTicket
from hotline.tickets.service import RouteBatch, ingest

AGENT_TICKET = "agent_ticket"  # meta["message_kind"] of a ticket typed in by an agent


def with_agent_type(route: RouteBatch, ticket_type: str) -> RouteBatch:
    """The router still decides topic, place and unit; the agent who heard the caller decides the type."""

    def routed(texts: list[str], locations: list[Any] | None = None) -> list[RoutingDecision]:
        decisions = route(texts, locations or [None] * len(texts))
        for d in decisions:
            if d.type != ticket_type:
                d.reasons.append(f"type set by the agent: {ticket_type} (router said {d.type})")
                d.type = ticket_type
        return decisions

    return routed


async def create_from_call(
    session: AsyncSession, principal: Principal, body: NewTicket, external_id: str, route: RouteBatch,
    tracking_prefix: str,
) -> Ticket:
    """Make the ticket (routed, dispatched or queued, with its tracking number) and link its call."""
    phone = normalize_phone(body.phone)
    location = None
    if body.place or body.lat is not None or body.lng is not None:
        location = Location(address=body.place, lat=body.lat, lng=body.lng)
    message = IntakeMessage(
        channel=Channel.PHONE,
        external_id=external_id,
        tracking_number=tracking_number_for(Channel.PHONE, external_id, tracking_prefix),
        citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, name=body.name, phone=phone,
                        confidential=body.confidential),
        subject=body.subject,
        text=body.text,
        location=location,
        received_at=utcnow(),
        meta={"message_kind": AGENT_TICKET, "call_id": body.call_id, "agent": principal.actor},
    )
    if body.type is not None:
        route = with_agent_type(route, body.type.value)
    await ingest(session, [message], route, await departments.active_codes(session))
    ticket = await repository.get_by_tracking_number(session, message.tracking_number)
    if ticket is None:  # pragma: no cover - ingest just wrote it in this transaction
        raise NotFound(f"ticket {message.tracking_number} was not stored")
    if body.call_id:
        from hotline.calls.service import link_call_to_ticket

        await link_call_to_ticket(session, body.call_id, ticket.id)
    return ticket
