"""The `hotline.ticket-events` record, and queueing events written in bulk (router, intake) for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.kit.clock import utcnow
from hotline.notify.outbox import TICKET_EVENT, enqueue_many

EVENT_SCHEMA_VERSION = 1
SUMMARY_FIELDS = ("status", "type", "topic", "urgency", "department_code", "town_code", "reopen_count")


def event_payload(*, event_id: int, tracking_number: str, kind: str, from_status: str | None,
                  to_status: str | None, actor: str, reason: str | None, data: dict[str, Any] | None,
                  created_at: datetime, ticket: Mapping[str, Any]) -> dict[str, Any]:
    """One record. No citizen identity or text: a consumer fetches what it may see through the API."""
    return _record(event_id, tracking_number, kind, from_status, to_status, actor, reason, data,
                   created_at.isoformat(), _summary(ticket))


def _summary(ticket: Mapping[str, Any]) -> dict[str, Any]:
    return {f: ticket.get(f) for f in SUMMARY_FIELDS}


def _record(event_id: int, tracking_number: str, kind: str, from_status: str | None, to_status: str | None,
            actor: str, reason: str | None, data: dict[str, Any] | None, created_at: str,
            ticket: dict[str, Any]) -> dict[str, Any]:
    """The record's shape, from parts already in their written form (`queue_bulk` shares a ticket's
    summary and an instant's text among a batch's events)."""
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_id": event_id,  # consumers dedupe on this (delivery is at least once)
        "tracking_number": tracking_number,
        "kind": kind,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "reason": reason,
        "data": data,
        "created_at": created_at,
        "ticket": ticket,
    }


async def queue_bulk(session: AsyncSession, rows: Sequence[Mapping[str, Any]], ids: Sequence[int],
                     known: Mapping[int, Mapping[str, Any]] | None = None) -> None:
    """Queue events inserted in bulk (`rows`, with their new `ids`) in the same unit of work.
    `known`: summaries of tickets the caller has in hand (the router's new ones); the rest are read."""
    if not rows:
        return
    from hotline.tickets import lifecycle_repository  # late: the repository module imports this one

    tickets: dict[int, Mapping[str, Any]] = dict(known or {})
    missing = {r["ticket_id"] for r in rows} - tickets.keys()
    if missing:
        tickets.update(await lifecycle_repository.ticket_summaries(session, missing))
    now = utcnow()
    out = []
    # A batch's thousands of events share one summary record per ticket and one text per instant.
    summaries: dict[int, tuple[str, dict[str, Any]]] = {}
    stamp: Any = None
    stamp_text = ""
    for row, id_ in zip(rows, ids, strict=True):
        ticket_id = row["ticket_id"]
        known_summary = summaries.get(ticket_id)
        if known_summary is None:
            t = tickets.get(ticket_id)
            if t is None:  # pragma: no cover - the event's ticket is in this transaction
                continue
            known_summary = summaries[ticket_id] = (str(t["tracking_number"]), _summary(t))
        tn, summary = known_summary
        created_at = row.get("created_at") or now
        if created_at is not stamp:
            stamp, stamp_text = created_at, created_at.isoformat()
        payload = _record(id_, tn, row["kind"], row.get("from_status"), row.get("to_status"), row["actor"],
                          row.get("reason"), row.get("data"), stamp_text, summary)
        out.append({"kind": TICKET_EVENT, "destination": None, "key": tn, "payload": payload,
                    "attempts": 0, "next_attempt_at": now, "created_at": now})
    await enqueue_many(session, out)
