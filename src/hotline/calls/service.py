"""Call events become calls; an agent's ticket links to the call it came from."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calls import repository
from hotline.calls.models import Call
from hotline.intake.schema import IntakeMessage
from hotline.kit.clock import utcnow
from hotline.kit.errors import NotFound

log = logging.getLogger(__name__)

CALL_EVENT = "call_event"  # meta["message_kind"] of a CTI event on the intake bus
# Hang-up causes that mean nobody at the centre spoke to the caller (Zammad's generic CTI).
MISSED_CAUSES = frozenset({"cancel", "noAnswer"})


class CallNotFound(NotFound):
    title = "Call not found"


def is_call_event(message: IntakeMessage) -> bool:
    return message.meta.get("message_kind") == CALL_EVENT


async def record_call_events(session: AsyncSession, messages: Sequence[IntakeMessage]) -> int:
    """Store CTI events (newCall/answer/hangup) as calls, each event once; returns how many were new.

    Events are kept in the intake inbox (for audit and de-duplication) and folded into one
    `calls` row per call id, whatever order they arrive in.
    """
    if not messages:
        return 0
    now = utcnow()
    unique: dict[tuple[str, str], IntakeMessage] = {}
    for m in messages:
        unique.setdefault((m.channel.value, m.external_id), m)
    new_keys = await repository.record_in_inbox(session, [
        {"channel": c, "external_id": e, "ticket_id": None, "schema_version": m.schema_version,
         "payload": m.model_dump(mode="json"), "received_at": m.received_at, "created_at": now}
        for (c, e), m in unique.items()
    ])
    new = [m for k, m in unique.items() if k in new_keys]
    if not new:
        return 0
    calls = await repository.calls_by_call_id(session, list({str(m.meta["call_id"]) for m in new}))
    for m in sorted(new, key=lambda m: m.received_at):
        call_id = str(m.meta["call_id"])
        call = calls.get(call_id)
        if call is None:
            call = Call(call_id=call_id, direction=m.meta.get("direction") or "in",
                        caller=m.meta.get("from") or "anonymous", missed=False, created_at=now)
            repository.add_call(session, call)
            calls[call_id] = call
        _apply(call, m, now)
    await session.flush()
    log.info("recorded %d call events", len(new))
    return len(new)


def _at(m: IntakeMessage, field: str) -> datetime:
    """When the PBX says it happened (CDR fields), else when the gateway received the event."""
    value = m.meta.get(field)
    if value:
        try:
            parsed = datetime.fromisoformat(str(value))
            if parsed.tzinfo is not None:
                return parsed
        except ValueError:
            pass
    return m.received_at


def _apply(call: Call, m: IntakeMessage, now: datetime) -> None:
    meta: dict[str, Any] = m.meta
    event = meta.get("event")
    call.direction = meta.get("direction") or call.direction
    call.caller = meta.get("from") or call.caller
    call.callee = meta.get("to") or call.callee
    call.queue = meta.get("queue") or call.queue
    call.answering_number = meta.get("answering_number") or call.answering_number
    call.recording_url = meta.get("recording_url") or call.recording_url
    if meta.get("user"):
        call.agents = sorted(set(call.agents or []) | set(meta["user"]))
    if meta.get("details"):
        call.details = {**(call.details or {}), **meta["details"]}
    if event == "newCall":
        started = _at(m, "started_at")
        call.started_at = min(started, call.started_at) if call.started_at else started
    elif event == "answer":
        call.answered_at = _at(m, "answered_at")
        call.missed = False
    elif event == "hangup":
        call.ended_at = _at(m, "ended_at")
        call.cause = meta.get("cause") or call.cause
        call.missed = (call.direction == "in" and call.answered_at is None
                       and call.cause in MISSED_CAUSES)
    if call.started_at is None:
        # A PBX that lost the newCall event: the call began no later than this event.
        call.started_at = m.received_at
    call.updated_at = now


async def link_call_to_ticket(session: AsyncSession, call_id: str, ticket_id: int) -> None:
    """The agent who took the call wrote ticket `ticket_id` for it (POST /api/v1/tickets)."""
    if not await repository.set_ticket(session, call_id, ticket_id):
        raise CallNotFound(f"no call with call id {call_id!r}: the PBX has not reported it",
                           call_id=call_id)


async def get_call(session: AsyncSession, call_id: str) -> tuple[Call, repository.LinkedTicket | None]:
    found = await repository.get_call(session, call_id)
    if found is None:
        raise CallNotFound(f"no call with call id {call_id!r}", call_id=call_id)
    return found
