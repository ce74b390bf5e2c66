"""How intake messages become tickets: exactly once, classified, dispatched, each step an event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.schema import IntakeMessage
from hotline.kit.clock import utcnow
from hotline.kit.errors import NotFound
from hotline.routing.schemas import RoutingDecision
from hotline.sla.service import NewTicket, insert_clocks, plan_clocks_for_new
from hotline.tickets import followups, repository
from hotline.tickets.models import Ticket, TicketEvent, TicketStatus

log = logging.getLogger(__name__)

ROUTER_ACTOR = "system:router"

# (texts, locations) → decisions; locations (lat/lng) let the router place a message by coordinates.
RouteBatch = Callable[[list[str], list[Any]], list[RoutingDecision]]

# Enum members' `.value` is a property lookup (slow on 3.11): read once here, not per row.
_RECEIVED = TicketStatus.RECEIVED.value
_DISPATCHED = TicketStatus.DISPATCHED.value
_PENDING_DISPATCH = TicketStatus.PENDING_DISPATCH.value


@dataclass(frozen=True)
class IngestOutcome:
    channel: str
    external_id: str
    tracking_number: str
    created: bool


async def ingest(
    session: AsyncSession,
    messages: Sequence[IntakeMessage],
    route_batch: RouteBatch,
    known_departments: set[str],
    new_tickets: list[dict[str, Any]] | None = None,
) -> list[IngestOutcome]:
    """Persist a batch of intake messages in the caller's unit of work; idempotent.

    A message already received (same channel and external id) is not stored again; it is
    answered with the ticket it made the first time. `new_tickets`, if given, receives the rows
    of the tickets this call created (with their `id`), so later steps need not read them back.
    """
    unique: dict[tuple[str, str], IntakeMessage] = {}
    for m in messages:
        unique.setdefault((m.channel.value, m.external_id), m)
    seen = await repository.seen_intake(session, list(unique))
    new = [m for k, m in unique.items() if k not in seen]
    # A photo, voice note or location right after a text joins that ticket (tickets/followups.py).
    follow_ups = await followups.plan(session, new)
    new = [m for m in new if (m.channel.value, m.external_id) not in follow_ups]

    outcomes = [IngestOutcome(c, e, unique[(c, e)].tracking_number, False) for (c, e) in seen]
    if not new:
        return outcomes + await _attach_follow_ups(session, follow_ups)

    now = utcnow()
    channels = [m.channel.value for m in new]
    identities = [(m.citizen.identity_kind.value, m.citizen.identity) for m in new]
    citizen_ids = await repository.upsert_citizens(
        session,
        [
            {"identity_kind": kind, "identity": identity,
             "name": m.citizen.name, "phone": m.citizen.phone, "email": m.citizen.email,
             "created_at": now}
            for m, (kind, identity) in zip(new, identities, strict=True)
        ],
    )
    decisions = route_batch([_routing_text(m) for m in new], [m.location for m in new])
    ticket_rows: list[dict[str, Any]] = []
    for m, d, channel, identity in zip(new, decisions, channels, identities, strict=True):
        if d.department_code and d.department_code not in known_departments:
            d.reasons.append(f"unit {d.department_code} is not in the directory: manual dispatch")
            d.department_code = None
        loc = m.location
        ticket_rows.append({
            "tracking_number": m.tracking_number,
            "type": d.type,
            "status": _DISPATCHED if d.department_code else _PENDING_DISPATCH,
            "channel": channel,
            "citizen_id": citizen_ids.get(identity),
            "confidential": m.citizen.confidential or d.type == "report",
            "subject": m.subject,
            "text": m.text or followups.describe(m),  # a lone photo or location has no text
            "topic": d.topic,
            "town_code": d.town_code,
            "urgency": d.urgency,
            "department_code": d.department_code,
            "location_address": loc.address if loc else None,
            "lat": loc.lat if loc else None,
            "lng": loc.lng if loc else None,
            "routing": d.model_dump(mode="json"),
            "dispatch_due_at": None,
            "reply_due_at": None,
            "received_at": m.received_at,
            "created_at": now,
            "updated_at": now,
        })
    # SLA deadlines (src/hotline/sla), the dispatch clock from receipt and the unit's if dispatched:
    # their due columns go in with the rows (no UPDATE of every new ticket), the clocks once the ids are known.
    planned = await plan_clocks_for_new(session, [
        NewTicket(0, row["type"], row["urgency"], row["department_code"], m.received_at)
        for m, row in zip(new, ticket_rows, strict=True)
    ], now)
    due_columns = sorted({c for due, _ in planned for c in due} | {"dispatch_due_at", "reply_due_at"})
    for row, (due, _) in zip(ticket_rows, planned, strict=True):
        row.update({c: due.get(c) for c in due_columns})  # the same keys in every row: one statement
    created = await repository.insert_tickets(session, ticket_rows)
    # A tracking number that already existed was written by a concurrent router (rebalance).
    ids = dict(created)
    missing = [m.tracking_number for m in new if m.tracking_number not in ids]
    ids.update(await repository.ticket_ids(session, missing))

    await repository.insert_intake(session, [
        {"channel": channel, "external_id": m.external_id, "ticket_id": ids.get(m.tracking_number),
         "schema_version": m.schema_version, "payload": m.model_dump(mode="json"),
         "received_at": m.received_at, "created_at": now}
        for m, channel in zip(new, channels, strict=True)
    ])
    events = []
    summaries: dict[int, dict[str, Any]] = {}
    for m, row, channel in zip(new, ticket_rows, channels, strict=True):
        tid = created.get(m.tracking_number)
        if tid is None:
            continue
        row["id"] = tid
        if new_tickets is not None:
            new_tickets.append(row)
        summaries[tid] = event_summary(row)
        events.append({"ticket_id": tid, "kind": "received", "from_status": None,
                       "to_status": _RECEIVED, "actor": f"channel:{channel}",
                       "reason": None, "data": {"external_id": m.external_id}, "created_at": now})
        routing = row["routing"]
        if row["department_code"]:
            events.append({"ticket_id": tid, "kind": "dispatched", "from_status": _RECEIVED,
                           "to_status": _DISPATCHED, "actor": ROUTER_ACTOR,
                           "reason": "; ".join(routing["reasons"]),
                           "data": {"department": row["department_code"], "rule": routing["rule"],
                                    "confidence": routing["confidence"],
                                    "co_departments": routing.get("co_department_codes") or [],
                                    "catalogue_version": routing.get("catalogue_version")},
                           "created_at": now})
        else:
            events.append({"ticket_id": tid, "kind": "queued_for_manual_dispatch",
                           "from_status": _RECEIVED,
                           "to_status": _PENDING_DISPATCH, "actor": ROUTER_ACTOR,
                           "reason": "; ".join(routing["reasons"]), "data": {"rule": routing["rule"]},
                           "created_at": now})
    await repository.insert_events(session, events, summaries)
    clock_rows = []
    for m, (_, clocks) in zip(new, planned, strict=True):
        if (tid := created.get(m.tracking_number)) is not None:
            for clock in clocks:  # planned for this call alone: given their ticket in place
                clock["ticket_id"] = tid
                clock_rows.append(clock)
    await insert_clocks(session, clock_rows)
    outcomes += [IngestOutcome(channel, m.external_id, m.tracking_number, m.tracking_number in created)
                 for m, channel in zip(new, channels, strict=True)]
    return outcomes + await _attach_follow_ups(session, follow_ups)


def event_summary(row: dict[str, Any]) -> dict[str, Any]:
    """What an event record says of a ticket just inserted (publish.SUMMARY_FIELDS), without a read."""
    return {"id": row["id"], "tracking_number": row["tracking_number"], "status": row["status"],
            "type": row["type"], "topic": row["topic"], "urgency": row["urgency"],
            "department_code": row["department_code"], "town_code": row["town_code"], "reopen_count": 0}


async def _attach_follow_ups(session: AsyncSession,
                             follow_ups: dict[tuple[str, str], followups.FollowUp]) -> list[IngestOutcome]:
    attached = await followups.attach(session, follow_ups, utcnow())
    return [IngestOutcome(m.channel.value, m.external_id, target, False) for m, target in attached]


def _routing_text(m: IntakeMessage) -> str:
    parts = [m.subject or "", m.text]
    if m.location and m.location.address:
        parts.append(m.location.address)
    return "\n".join(p for p in parts if p)


async def get_ticket(session: AsyncSession, tracking_number: str) -> tuple[Ticket, Sequence[TicketEvent]]:
    ticket = await repository.get_by_tracking_number(session, tracking_number)
    if ticket is None:
        raise NotFound(f"no ticket with tracking number {tracking_number}")
    return ticket, await repository.events_of(session, ticket.id)
