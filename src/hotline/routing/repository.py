"""All SQL of smart dispatch: catalogue versions, the manual queue, duplicates, hot issues, training export."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.departments.models import Department
from hotline.kit.clock import utcnow
from hotline.kit.cursors import decode_id_cursor, encode_id_cursor
from hotline.kit.db import driver_connection
from hotline.routing.tables import DispatchCatalogueVersion
from hotline.tickets.models import Ticket, TicketEvent, TicketStatus

# -- the dispatch catalogue


async def active_catalogue(session: AsyncSession) -> DispatchCatalogueVersion | None:
    return await session.scalar(select(DispatchCatalogueVersion).where(DispatchCatalogueVersion.active.is_(True))
                                .order_by(DispatchCatalogueVersion.version.desc()).limit(1))


async def catalogue_version(session: AsyncSession, version: int) -> DispatchCatalogueVersion | None:
    return await session.scalar(select(DispatchCatalogueVersion).where(DispatchCatalogueVersion.version == version))


async def catalogue_versions(session: AsyncSession) -> Sequence[tuple[int, bool, str, datetime, str | None, int]]:
    """Every version, newest first: (version, active, created_by, created_at, note, number of rows)."""
    rows = await session.execute(
        select(DispatchCatalogueVersion.version, DispatchCatalogueVersion.active,
               DispatchCatalogueVersion.created_by, DispatchCatalogueVersion.created_at,
               DispatchCatalogueVersion.note, DispatchCatalogueVersion.rows)
        .order_by(DispatchCatalogueVersion.version.desc()))
    return [(v, a, by, at, note, len(r or [])) for v, a, by, at, note, r in rows]


async def add_catalogue_version(session: AsyncSession, rows: list[dict[str, Any]], created_by: str,
                                note: str | None, created_at: datetime) -> DispatchCatalogueVersion:
    """Save a new version and make it the active one (the old ones stay, inactive)."""
    # Lock the active row so two saves at once get distinct numbers (the unique constraint is the backstop).
    await session.execute(select(DispatchCatalogueVersion.id).where(DispatchCatalogueVersion.active.is_(True))
                          .with_for_update())
    latest = await session.scalar(select(func.max(DispatchCatalogueVersion.version)))
    await session.execute(update(DispatchCatalogueVersion).where(DispatchCatalogueVersion.active.is_(True))
                          .values(active=False))
    row = DispatchCatalogueVersion(version=(latest or 0) + 1, rows=rows, active=True, created_by=created_by,
                                   note=note, created_at=created_at)
    session.add(row)
    await session.flush()
    return row


async def directory(session: AsyncSession) -> tuple[set[str], set[str], dict[str, str]]:
    """(active unit codes, area codes — towns, streets, parks —, names by code)."""
    rows = (await session.execute(select(Department.code, Department.kind, Department.name)
                                  .where(Department.active.is_(True)))).all()
    units = {c for c, _, _ in rows}
    areas = {c for c, k, _ in rows if k in ("town", "street", "park")}
    return units, areas, {c: n for c, _, n in rows}


# -- the manual dispatch queue (待派单)


async def dispatch_queue(session: AsyncSession, limit: int, cursor: str | None,
                         urgency: str | None = None) -> tuple[Sequence[Ticket], str | None]:
    conds = [Ticket.status == TicketStatus.PENDING_DISPATCH.value]
    if urgency:
        conds.append(Ticket.urgency == urgency)
    if cursor:
        conds.append(Ticket.id < decode_id_cursor(cursor))
    stmt = select(Ticket).where(and_(*conds)).order_by(Ticket.id.desc()).limit(limit + 1)
    rows = (await session.scalars(stmt)).all()
    next_cursor = encode_id_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def tracking_numbers(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Ticket.id, Ticket.tracking_number).where(Ticket.id.in_(list(ids))))
    return {i: tn for i, tn in rows}


# -- duplicates and hot issues

# Likeness is judged on the opening of a ticket (where citizens say what and where): this bounds
# the bytes read and the bigrams built per candidate, whatever the length of the letter.
LIKENESS_CHARS = 200
_LINK_COLUMNS = (Ticket.id, Ticket.tracking_number, Ticket.citizen_id, Ticket.town_code, Ticket.topic,
                 func.substr(Ticket.subject, 1, 80).label("subject"),
                 func.substr(Ticket.text, 1, LIKENESS_CHARS).label("text"),
                 Ticket.received_at, Ticket.issue_cluster_id)


async def tickets_for_linking(session: AsyncSession, tracking_numbers: Collection[str]) -> Sequence[Any]:
    if not tracking_numbers:
        return []
    stmt = select(*_LINK_COLUMNS, Ticket.routing).where(Ticket.tracking_number.in_(list(tracking_numbers))).order_by(Ticket.id)
    return (await session.execute(stmt)).all()


async def recent_candidates(session: AsyncSession, since: datetime, towns: Collection[str],
                            citizens: Collection[int], exclude_ids: Collection[int],
                            limit: int = 5_000) -> Sequence[Any]:
    """One query per batch: recent tickets in the batch's places or from its citizens."""
    place_or_person = []
    if towns:
        place_or_person.append(Ticket.town_code.in_(list(towns)))
    if citizens:
        place_or_person.append(Ticket.citizen_id.in_(list(citizens)))
    if not place_or_person:
        return []
    stmt = (select(*_LINK_COLUMNS)
            .where(Ticket.received_at >= since, or_(*place_or_person),
                   Ticket.status != TicketStatus.MERGED.value, Ticket.id.not_in(list(exclude_ids)))
            .order_by(Ticket.id.desc()).limit(limit))
    return (await session.execute(stmt)).all()


class LinkRow(NamedTuple):
    """A ticket as duplicate linking reads it (the opening of its text)."""

    id: int
    tracking_number: str
    citizen_id: int | None
    town_code: str | None
    topic: str | None
    subject: str | None
    text: str
    received_at: datetime
    issue_cluster_id: int | None


# The same columns for the PostgreSQL fast path (asyncpg, arrays as parameters: no per-id binds).
_LINK_SQL = ("SELECT id, tracking_number, citizen_id, town_code, topic, substr(subject, 1, 80), "
             f"substr(text, 1, {LIKENESS_CHARS}), received_at, issue_cluster_id FROM tickets "
             "WHERE received_at >= $1 AND status <> 'merged' AND NOT (id = ANY($2::bigint[])) AND ")


async def candidates_since(session: AsyncSession, since: datetime, *, after_id: int | None = None,
                           ids: Collection[int] = (), exclude_ids: Collection[int] = (),
                           limit: int = 5_000) -> list[LinkRow]:
    """What a router's duplicate index has not seen yet: tickets with an id above `after_id` (all
    recent ones if None) or among `ids` (another router's batch not committed at the last look),
    newest `limit` of them, oldest first."""
    driver = await driver_connection(session)
    if driver is not None:
        # Two plain statements, each an index range on the primary key whatever plan is cached
        # (one with `id > … OR id = ANY(…)` could walk the whole table back to its LIMIT).
        rows = await driver.fetch(_LINK_SQL + "id > $3 ORDER BY id DESC LIMIT $4",
                                  since, list(exclude_ids), -1 if after_id is None else after_id, limit)
        if ids and after_id is not None:
            rows = [*rows, *await driver.fetch(_LINK_SQL + "id = ANY($3::bigint[])", since, list(exclude_ids),
                                               list(ids))]
            rows.sort(key=lambda r: r[0], reverse=True)
        return [LinkRow(*r) for r in reversed(rows)]
    conds = [Ticket.received_at >= since, Ticket.status != TicketStatus.MERGED.value]
    if after_id is not None:
        conds.append(or_(Ticket.id > after_id, Ticket.id.in_(list(ids))) if ids else Ticket.id > after_id)
    if exclude_ids:
        conds.append(Ticket.id.not_in(list(exclude_ids)))
    stmt = select(*_LINK_COLUMNS).where(*conds).order_by(Ticket.id.desc()).limit(limit)
    return [LinkRow(*r) for r in reversed((await session.execute(stmt)).all())]


async def citizens_recent(session: AsyncSession, since: datetime, citizens: Collection[int],
                          exclude_ids: Collection[int], limit: int = 5_000) -> list[LinkRow]:
    """The recent tickets of these citizens (their own history, beyond what an index keeps), oldest first."""
    if not citizens:
        return []
    driver = await driver_connection(session)
    if driver is not None:
        # Materialized: the citizens' index picks the rows, then the newest are kept (a plan walking
        # the primary key back to the LIMIT would read the whole table for citizens with few tickets).
        rows = await driver.fetch("WITH mine AS MATERIALIZED (" + _LINK_SQL + "citizen_id = ANY($3::bigint[]))"
                                  " SELECT * FROM mine ORDER BY id DESC LIMIT $4",
                                  since, list(exclude_ids), list(citizens), limit)
        return [LinkRow(*r) for r in reversed(rows)]
    stmt = (select(*_LINK_COLUMNS)
            .where(Ticket.citizen_id.in_(list(citizens)), Ticket.received_at >= since,
                   Ticket.status != TicketStatus.MERGED.value, Ticket.id.not_in(list(exclude_ids)))
            .order_by(Ticket.id.desc()).limit(limit))
    return [LinkRow(*r) for r in reversed((await session.execute(stmt)).all())]


async def merged_since(session: AsyncSession, from_id: int) -> list[int]:
    """Ids of merged tickets from `from_id` on (few: the (status, id) index range)."""
    stmt = select(Ticket.id).where(Ticket.status == TicketStatus.MERGED.value, Ticket.id >= from_id)
    return list((await session.scalars(stmt)).all())


async def set_links(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """rows: {"id", "issue_cluster_id"[, "probable_duplicate_of"]} (the same keys in every row);
    one statement (an UPDATE … FROM unnest on PostgreSQL, an executemany elsewhere)."""
    if not rows:
        return
    driver = await driver_connection(session)
    if driver is None:
        await session.execute(update(Ticket), rows)
        return
    now = utcnow()  # what the ORM's onupdate gives updated_at
    if "probable_duplicate_of" in rows[0]:
        await driver.execute(
            "UPDATE tickets AS t SET issue_cluster_id = u.c, probable_duplicate_of = u.d, updated_at = $4"
            " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, c, d) WHERE t.id = u.id",
            [r["id"] for r in rows], [r["issue_cluster_id"] for r in rows],
            [r["probable_duplicate_of"] for r in rows], now)
    else:
        await driver.execute(
            "UPDATE tickets AS t SET issue_cluster_id = u.c, updated_at = $3"
            " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, c) WHERE t.id = u.id",
            [r["id"] for r in rows], [r["issue_cluster_id"] for r in rows], now)


async def hot_issues(session: AsyncSession, since: datetime, min_tickets: int, limit: int,
                     town_code: str | None = None) -> list[dict[str, Any]]:
    conds = [Ticket.issue_cluster_id.is_not(None), Ticket.received_at >= since]
    if town_code:
        conds.append(Ticket.town_code == town_code)
    count = func.count(Ticket.id)
    groups = (await session.execute(
        select(Ticket.issue_cluster_id, count, func.min(Ticket.received_at), func.max(Ticket.received_at))
        .where(*conds).group_by(Ticket.issue_cluster_id).having(count >= min_tickets)
        .order_by(count.desc(), func.max(Ticket.received_at).desc()).limit(limit))).all()
    if not groups:
        return []
    ids = [g[0] for g in groups]
    roots = {r.id: r for r in (await session.execute(
        select(Ticket.id, Ticket.tracking_number, Ticket.town_code, Ticket.topic, Ticket.subject, Ticket.text)
        .where(Ticket.id.in_(ids)))).all()}
    members: dict[int | None, list[str]] = {}
    for cid, tn in (await session.execute(
            select(Ticket.issue_cluster_id, Ticket.tracking_number)
            .where(Ticket.issue_cluster_id.in_(ids), Ticket.received_at >= since)
            .order_by(Ticket.id.desc()))).all():
        members.setdefault(cid, []).append(tn)
    out = []
    for cid, n, first, last in groups:
        if cid is None:
            continue
        root = roots.get(cid)
        out.append({"cluster_id": cid, "ticket_count": n, "first_received_at": first, "last_received_at": last,
                    "town_code": root.town_code if root else None, "topic": root.topic if root else None,
                    "sample_tracking_number": root.tracking_number if root else None,
                    "sample_text": ((root.subject + "：") if root and root.subject else "") + (root.text if root else ""),
                    "tracking_numbers": members.get(cid, [])[:20]})
    return out


# -- training export: tickets whose routing an agent corrected


async def corrections(session: AsyncSession, kinds: Collection[str]) -> Sequence[Any]:
    """(ticket, event) rows for events of these kinds, oldest first."""
    stmt = (select(Ticket.id, Ticket.tracking_number, Ticket.subject, Ticket.text, Ticket.type, Ticket.topic,
                   Ticket.department_code, TicketEvent.kind, TicketEvent.actor, TicketEvent.data)
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(TicketEvent.kind.in_(list(kinds)))
            .order_by(TicketEvent.id))
    return (await session.execute(stmt)).all()
