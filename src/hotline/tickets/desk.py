"""The agent's desk: a ticket typed in during a call goes through the same intake path as any channel."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal
from hotline.channels.phone_numbers import normalize_phone
from hotline.intake.schema import (
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    Location,
    tracking_number_for,
)
from hotline.kit.clock import utcnow
from hotline.kit.errors import NotFound
from hotline.routing.schemas import RoutingDecision
from hotline.tickets import repository
from hotline.tickets.handlers import IntakeHandler
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import NewTicket

AGENT_TICKET = "agent_ticket"  # meta["message_kind"] of a ticket typed in by an agent


class AgentTyped:
    """The router still decides topic, place and unit; the agent who heard the caller decides the type
    (so the SLA clock is the one for that type from the start)."""

    def __init__(self, route: Any, ticket_type: str) -> None:
        self.route = route
        self.ticket_type = ticket_type

    def __call__(self, texts: list[str], locations: Sequence[Any] | None = None) -> list[RoutingDecision]:
        decisions: list[RoutingDecision] = self.route(texts, locations)
        for d in decisions:
            if d.type != self.ticket_type:
                d.reasons.append(f"type set by the agent: {self.ticket_type} (router said {d.type})")
                d.type = self.ticket_type
        return decisions


class _RequestUnitOfWork:
    """Runs the intake handler inside the request's own unit of work: one transaction, one connection."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        yield self.session


async def create_from_call(
    session: AsyncSession, handler: IntakeHandler, principal: Principal, body: NewTicket, external_id: str,
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
    desk = copy.copy(handler)  # the channels' handler (router, directory cache), bound to this request
    desk.db = _RequestUnitOfWork(session)  # type: ignore[assignment]
    if body.type is not None:
        refresh = getattr(handler.route, "refresh", None)
        if refresh is not None:  # the wrapper hides the router from the handler's own refresh
            await refresh(session)
        desk.route = AgentTyped(handler.route, body.type.value)
    await desk([message])
    ticket = await repository.get_by_tracking_number(session, message.tracking_number)
    if ticket is None:  # pragma: no cover - the handler just wrote it in this transaction
        raise NotFound(f"ticket {message.tracking_number} was not stored")
    if body.call_id:
        from hotline.calls.service import link_call_to_ticket

        await link_call_to_ticket(session, body.call_id, ticket.id)
    return ticket
