"""Smart dispatch's business rules around the database: catalogue versions, the queue, duplicates."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.kit.clock import utcnow
from hotline.kit.errors import Conflict, NotFound
from hotline.routing import repository
from hotline.routing.catalogue import (
    Catalogue,
    InvalidCatalogue,
    default_catalogue,
    parse_csv,
    parse_json,
    rows_from_json,
)
from hotline.routing.duplicates import CandidateIndex, Item, link_batch, shingles
from hotline.tickets import repository as tickets

log = logging.getLogger(__name__)

ROUTER_ACTOR = "system:router"
# Event kinds this domain writes on the timeline (E1's lifecycle owns the rest).
PROBABLE_DUPLICATE = "probable_duplicate"  # 疑似重复: the agent may merge (并单)
EMERGENCY_FLAGGED = "emergency_flagged"  # hand off to 110/119/120/122
REFUSAL_FLAGGED = "refusal_flagged"  # 不予受理? the agent decides


# -- the catalogue


async def active_catalogue(session: AsyncSession) -> Catalogue:
    """The active version from the database, or the shipped default (version 0) if none was saved."""
    row = await repository.active_catalogue(session)
    if row is None:
        return default_catalogue()
    return Catalogue(row.version, rows_from_json(row.rows))


def _parse(body: bytes, content_type: str, units: set[str], areas: set[str]) -> tuple[list[Any], str | None]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCatalogue("the catalogue must be UTF-8 text") from exc
    if "json" in content_type:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidCatalogue(f"line {exc.lineno}: not valid JSON ({exc.msg})", line=f"line {exc.lineno}") from exc
        note = doc.get("note") if isinstance(doc, dict) else None
        return parse_json(doc, units, areas), note
    return parse_csv(text, units, areas), None


async def save_catalogue(session: AsyncSession, body: bytes, content_type: str, actor: str,
                         note: str | None = None) -> dict[str, Any]:
    """Validate a CSV or JSON catalogue against the directory and save it as the new active version."""
    units, areas, _ = await repository.directory(session)
    rows, json_note = _parse(body, content_type, units, areas)
    try:
        saved = await repository.add_catalogue_version(session, [r.as_dict() for r in rows], actor,
                                                       note or json_note, utcnow())
    except IntegrityError as exc:
        raise Conflict("another catalogue version was saved at the same moment; send it again") from exc
    log.info("dispatch catalogue version %d saved by %s (%d rows)", saved.version, actor, len(rows))
    return await catalogue_overview(session)


async def restore_catalogue(session: AsyncSession, version: int, actor: str) -> dict[str, Any]:
    """Make an old version current again, as a new version (so the change itself is kept)."""
    old = await repository.catalogue_version(session, version)
    if old is None:
        raise NotFound(f"no catalogue version {version}")
    units, areas, _ = await repository.directory(session)
    # Re-validated: a unit may have left the directory since.
    rows = parse_json(old.rows, units, areas)
    await repository.add_catalogue_version(session, [r.as_dict() for r in rows], actor,
                                           f"restored version {version}", utcnow())
    return await catalogue_overview(session)


async def catalogue_overview(session: AsyncSession) -> dict[str, Any]:
    row = await repository.active_catalogue(session)
    versions = [{"version": v, "active": a, "created_by": by, "created_at": at, "note": note, "rows": n}
                for v, a, by, at, note, n in await repository.catalogue_versions(session)]
    if row is None:
        cat = default_catalogue()
        current = {"version": 0, "source": cat.source, "created_by": None, "created_at": None,
                   "note": "the catalogue shipped with hotline; save one to replace it",
                   "rows": [r.as_dict() for r in cat.rows]}
    else:
        current = {"version": row.version, "source": "database", "created_by": row.created_by,
                   "created_at": row.created_at, "note": row.note, "rows": row.rows}
    return {"current": current, "versions": versions}


# -- after ingest: duplicates, clusters, and the router's flags on the timeline

# A router's duplicate index holds the most recent tickets (all towns) between batches.
RECENT_CAPACITY = 20_000
# How long an id below the index's watermark that it has not seen is looked for again: another
# router's batch not committed yet when this one read (a longer transaction's tickets are missed).
GAP_SECONDS = 120.0
MAX_GAPS = 5_000


class RecentTickets:
    """One router's duplicate index (routing/duplicates.CandidateIndex), kept between batches and
    brought up to date from the database at each: it reads only the tickets with an id above the
    highest it has seen (other routers', the API's), plus the ids it found missing below that for
    `GAP_SECONDS` (a batch another router had not committed yet); its own batch's tickets it has in
    hand. Merged tickets leave it (as they leave the candidates), and each citizen's own recent
    tickets are read for every batch, so "the same citizen again" looks back over the whole window.

    Documented differences from reading the candidates afresh each batch: the candidates by place
    are the `RECENT_CAPACITY` most recent tickets of all towns (not the 5,000 most recent of the
    batch's towns), compared with their topic and cluster as they were when read; a ticket whose
    transaction outlives `GAP_SECONDS` is never a candidate for this router. Both only lose an
    advisory link (疑似重复 / a hot-issue member), never a ticket.
    """

    def __init__(self, capacity: int = RECENT_CAPACITY) -> None:
        self.index = CandidateIndex(capacity)
        self.last_id: int | None = None
        self.gaps: dict[int, float] = {}

    def reset(self) -> None:
        """After a rolled-back batch: what it added or marked never happened."""
        self.__init__(self.index.capacity)  # type: ignore[misc]

    async def catch_up(self, session: AsyncSession, since: Any, duplicate_since: Any, batch_ids: set[int],
                       citizens: set[int]) -> None:
        now = time.monotonic()
        capacity = self.index.capacity
        if self.last_id is None:
            rows = await repository.candidates_since(session, since, exclude_ids=batch_ids, limit=capacity)
        else:
            rows = await repository.candidates_since(session, since, after_id=self.last_id, ids=list(self.gaps),
                                                     exclude_ids=batch_ids, limit=capacity)
        for r in rows:
            self.index.add(_item(r))
            self.gaps.pop(r.id, None)
        top = max(self.last_id or 0, max((r.id for r in rows), default=0), max(batch_ids, default=0))
        if self.last_id is not None and top > self.last_id:
            seen = {r.id for r in rows} | batch_ids
            for i in range(max(self.last_id + 1, top - 4 * capacity), top + 1):
                if i not in seen:
                    self.gaps.setdefault(i, now)
        self.last_id = top
        for i in [i for i, at in self.gaps.items() if now - at > GAP_SECONDS]:
            del self.gaps[i]
        if len(self.gaps) > MAX_GAPS:
            self.gaps = dict(sorted(self.gaps.items())[-MAX_GAPS:])
        # Past both windows, a ticket can match nothing: out (the oldest came first).
        items = self.index.items
        while items and (oldest := next(iter(items.values()))).received_at < since:
            self.index.remove(oldest.id)
        if items:
            for merged in await repository.merged_since(session, min(items)):
                self.index.remove(merged)
        for r in await repository.citizens_recent(session, duplicate_since, citizens, batch_ids):
            if r.id not in self.index:
                self.index.add(_item(r))


def _item(r: Any) -> Item:
    return Item(r.id, r.citizen_id, r.town_code, r.topic, r.received_at,
                shingles(f"{r.subject or ''}{r.text}"), r.issue_cluster_id, r.tracking_number)


class _NewTicket:
    """A row the batch inserted, seen as the linking query's columns (same truncation)."""

    __slots__ = ("citizen_id", "id", "issue_cluster_id", "received_at", "routing", "subject", "text",
                 "topic", "town_code", "tracking_number")

    def __init__(self, row: dict[str, Any]) -> None:
        self.id, self.tracking_number = row["id"], row["tracking_number"]
        self.citizen_id, self.town_code, self.topic = row["citizen_id"], row["town_code"], row["topic"]
        self.subject = (row["subject"] or "")[:80] or None
        self.text = row["text"][:repository.LIKENESS_CHARS]
        self.received_at, self.routing = row["received_at"], row["routing"]
        self.issue_cluster_id = None


async def after_ingest(session: AsyncSession, tracking_numbers: Sequence[str], settings: Any,
                       new_tickets: Sequence[dict[str, Any]] | None = None,
                       recent: RecentTickets | None = None) -> None:
    """Link the batch's new tickets to probable duplicates and issue clusters; flag emergencies
    and refusals on their timelines. A fixed number of queries per batch, whatever its size.

    `new_tickets`: the rows `tickets.service.ingest` inserted (else they are read back).
    `recent`: the router's index kept between batches; without it the candidates are read afresh,
    the 5,000 most recent tickets of the batch's places and citizens."""
    if new_tickets is not None:
        new_rows: Sequence[Any] = [_NewTicket(r) for r in new_tickets]
    else:
        new_rows = await repository.tickets_for_linking(session, tracking_numbers)
    if not new_rows:
        return
    now = utcnow()
    dup_since = now - timedelta(hours=settings.duplicate_window_hours)
    hot_since = now - timedelta(hours=settings.hot_issue_window_hours)
    since = min(dup_since, hot_since)
    citizens = {r.citizen_id for r in new_rows if r.citizen_id is not None}
    new_items = [_item(r) for r in new_rows]
    thresholds: dict[str, Any] = {"duplicate_similarity": settings.duplicate_similarity,
                                  "hot_similarity": settings.hot_issue_similarity,
                                  "duplicate_since": dup_since, "hot_since": hot_since}
    if recent is not None:
        await recent.catch_up(session, since, dup_since, {r.id for r in new_rows}, citizens)
        links = recent.index.link(new_items, **thresholds)
    else:
        towns = {r.town_code for r in new_rows if r.town_code}
        candidates = await repository.recent_candidates(session, since, towns, citizens, [r.id for r in new_rows])
        links = link_batch(new_items, [_item(r) for r in reversed(candidates)], **thresholds)
    new_ids = {r.id for r in new_rows}
    await repository.set_links(session, [{"id": lk.id, "issue_cluster_id": lk.cluster_id,
                                          "probable_duplicate_of": lk.duplicate_of}
                                         for lk in links if lk.id in new_ids])
    # Earlier tickets that just became a cluster's first: their duplicate link stays as it was.
    await repository.set_links(session, [{"id": lk.id, "issue_cluster_id": lk.cluster_id}
                                         for lk in links if lk.id not in new_ids])
    events: list[dict[str, Any]] = []
    for lk in links:
        if lk.duplicate_of is not None:
            events.append(_event(lk.id, PROBABLE_DUPLICATE, f"probable duplicate of {lk.duplicate_tracking_number}: "
                                 f"{lk.reason}; an agent may merge them (并单)",
                                 {"of": lk.duplicate_tracking_number, "similarity": lk.similarity}, now))
    for r in new_rows:
        routing = r.routing or {}
        handoff = routing.get("handoff")
        if handoff:
            lines = [handoff["target"], *handoff.get("also", [])]
            events.append(_event(r.id, EMERGENCY_FLAGGED,
                                 f"emergency: hand off to {'/'.join(lines)} ({handoff['reason']}, "
                                 f"关键词「{handoff['keyword']}」)", dict(handoff), now))
        refusal = routing.get("refusal")
        if refusal:
            events.append(_event(r.id, REFUSAL_FLAGGED, f"may be refused (不予受理): {refusal['reason']}",
                                 {**refusal, "suggested_reason_code": "legal_proceedings"
                                  if "court" in refusal["reason"] or "arbitration" in refusal["reason"]
                                  else "outside_government_services"}, now))
    summaries = None
    if new_tickets is not None:
        # The events' tickets are the batch's own: their summary is known (no read back).
        from hotline.tickets.service import event_summary

        summaries = {r["id"]: event_summary(r) for r in new_tickets}
    await tickets.insert_events(session, events, summaries)


def _event(ticket_id: int, kind: str, reason: str, data: dict[str, Any], now: Any) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "kind": kind, "from_status": None, "to_status": None,
            "actor": ROUTER_ACTOR, "reason": reason, "data": data, "created_at": now}


# -- the learning loop: agents' corrections become training rows

RECLASSIFIED = "reclassified"  # E1's lifecycle: data {"from": {...}, "to": {"type"?, "topic"?, "urgency"?}}
REDISPATCHED = "redispatched"  # E1's lifecycle: data {"from_department", "department", ...}
DISPATCHED = "dispatched"  # by an agent (not the router) from the manual queue: data {"department"}
EXPORT_TARGETS = ("topic", "type", "unit")


async def training_rows(session: AsyncSession, target: str) -> list[dict[str, str]]:
    """One row per corrected ticket (id, subject, body, label): the last correction wins.

    type: the agent's reclassification; unit: the unit an agent re-dispatched (改派) or dispatched
    it to by hand; topic: the agent's reclassification, else the topic most of that unit's rules
    in the active catalogue belong to.
    """
    if target not in EXPORT_TARGETS:
        raise ValueError(f"target is one of {', '.join(EXPORT_TARGETS)}")
    unit_topic: dict[str, str] = {}
    if target == "topic":
        # A unit's topic: the one most of the rules it leads belong to, if more than half do.
        topics_of: dict[str, Counter[str]] = {}
        for r in (await active_catalogue(session)).rows:
            if r.lead != "@town" and r.topic != "*":
                topics_of.setdefault(r.lead, Counter())[r.topic] += 1
        for unit, counts in topics_of.items():
            topic, n = counts.most_common(1)[0]
            if n * 2 > sum(counts.values()):
                unit_topic[unit] = topic
    labels: dict[int, tuple[Any, str]] = {}
    explicit_topic: set[int] = set()
    for row in await repository.corrections(session, (RECLASSIFIED, REDISPATCHED, DISPATCHED)):
        data = row.data or {}
        if row.kind == DISPATCHED and row.actor == ROUTER_ACTOR:
            continue  # the router's own choice is not a correction
        label: Any = None
        if row.kind == RECLASSIFIED:
            to = data.get("to") or {}
            if target == "type":
                label = to.get("type")
            elif target == "topic" and to.get("topic"):
                label = to["topic"]
                explicit_topic.add(row.id)
        else:
            to_unit = data.get("department")
            if target == "unit":
                label = to_unit
            elif target == "topic" and row.id not in explicit_topic and to_unit:
                label = unit_topic.get(to_unit)
        if label:
            labels[row.id] = (row, str(label))
    return [{"id": row.tracking_number, "subject": row.subject or "", "body": row.text, "label": label}
            for row, label in labels.values()]
