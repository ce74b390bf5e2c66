"""All SQL for tickets, citizens, events and the intake inbox."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    cast,
    extract,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal, Role
from hotline.intake.models import IntakeRecord
from hotline.kit.clock import utcnow
from hotline.kit.cursors import (
    InvalidCursor,
    decode_id_cursor,
    decode_time_cursor,
    encode_id_cursor,
)
from hotline.kit.db import insert_rows
from hotline.kit.driver_sql import fetch_mappings
from hotline.tickets.models import (
    CitizenContact,
    Ticket,
    TicketAssignment,
    TicketEvent,
    TicketStatus,
)

# Other domains page with these names (the cursors live in kit.cursors now).
encode_cursor = encode_id_cursor
decode_cursor = decode_id_cursor
_ = InvalidCursor  # re-exported: `repository.InvalidCursor` is what callers catch


def _pairs_in(first: Any, second: Any, pairs: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """(first, second) IN pairs, as `first = a AND second IN (...)` per distinct a (a batch has a
    few channels or identity kinds). PostgreSQL takes ~45 ms to plan a 500-pair row IN list (an OR
    of 500 branches); this plans in under 1 ms. The values are inlined (quoted by the dialect): a
    constant list is hashed, so even a table with no statistics yet is not scanned 500 times over."""
    grouped: dict[str, list[str]] = {}
    for a, b in pairs:
        grouped.setdefault(a, []).append(b)
    return or_(*(and_(first == a, second.in_(bindparam(None, bs, expanding=True, literal_execute=True)))
                 for a, bs in grouped.items()))


async def seen_intake(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """The (channel, external_id) pairs already received, with their ticket id."""
    if not keys:
        return {}
    rows = await session.execute(
        select(IntakeRecord.channel, IntakeRecord.external_id, IntakeRecord.ticket_id).where(
            _pairs_in(IntakeRecord.channel, IntakeRecord.external_id, keys)
        )
    )
    return {(c, e): t for c, e, t in rows}


async def upsert_citizens(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Create citizens not yet known; return ids for every (identity_kind, identity) given."""
    if not rows:
        return {}
    await insert_rows(session, CitizenContact.__table__, rows, skip_conflicts_on=["identity_kind", "identity"])
    keys = list({(r["identity_kind"], r["identity"]) for r in rows})
    result = await session.execute(
        select(CitizenContact.identity_kind, CitizenContact.identity, CitizenContact.id).where(
            _pairs_in(CitizenContact.identity_kind, CitizenContact.identity, keys)
        )
    )
    return {(k, i): id_ for k, i, id_ in result}


async def insert_tickets(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert tickets, skipping tracking numbers that exist; return {tracking_number: id} of new ones."""
    if not rows:
        return {}
    created = await insert_rows(session, Ticket.__table__, rows, skip_conflicts_on=["tracking_number"],
                                returning=("tracking_number", "id"))
    return {tn: id_ for tn, id_ in created}


async def ticket_ids(session: AsyncSession, tracking_numbers: Iterable[str]) -> dict[str, int]:
    tns = list(tracking_numbers)
    if not tns:
        return {}
    rows = await session.execute(select(Ticket.tracking_number, Ticket.id).where(Ticket.tracking_number.in_(tns)))
    return {tn: id_ for tn, id_ in rows}


async def insert_intake(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await insert_rows(session, IntakeRecord.__table__, rows, skip_conflicts_on=["channel", "external_id"])


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]],
                        tickets: Mapping[int, Mapping[str, Any]] | None = None) -> None:
    """Events in bulk, each queued for hotline.ticket-events in the same transaction (outbox).
    `tickets`: what the caller knows of the events' tickets (their summary for the event record:
    tracking_number and publish.SUMMARY_FIELDS), so they are not read back."""
    if rows:
        ids = [id_ for (id_,) in await insert_rows(session, TicketEvent.__table__, rows, returning=("id",))]
        from hotline.tickets.publish import queue_bulk

        await queue_bulk(session, rows, ids, tickets)


async def get_by_tracking_number(session: AsyncSession, tracking_number: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.tracking_number == tracking_number))


async def events_page(
    session: AsyncSession, ticket_id: int, limit: int, after_id: int | None = None
) -> Sequence[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(TicketEvent.id > after_id)
    return (await session.scalars(stmt)).all()


async def events_of(session: AsyncSession, ticket_id: int) -> Sequence[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    return (await session.scalars(stmt)).all()


# ---------------------------------------------------------------------------------------------
# Who may read which ticket: decided here, once, for every ticket query (lists, details, events,
# exports, polls). A department sees the tickets it leads or co-handles; anything else does not
# exist for it (404, never 403, so it cannot probe tracking numbers).


def readable(principal: Principal) -> ColumnElement[bool]:
    """The filter every ticket query of a principal carries."""
    if principal.is_centre:
        return true()
    if principal.role == Role.DEPARTMENT and principal.department_code:
        code = principal.department_code
        cond: ColumnElement[bool] = Ticket.department_code == code
        # Co-handling units (协办) too; a withdrawn assignment (re-dispatched away) no longer counts.
        mine = select(TicketAssignment.ticket_id).where(TicketAssignment.department_code == code,
                                                         TicketAssignment.state != "withdrawn")
        cond = or_(cond, Ticket.id.in_(mine))
        return cond
    return false()


def readable_tickets(principal: Principal) -> Select[Ticket]:
    return select(Ticket).where(readable(principal))


async def get_readable(session: AsyncSession, principal: Principal, tracking_number: str) -> Ticket | None:
    """The ticket if this principal may see it; None (→ 404) if it does not exist *or* is not theirs."""
    return await session.scalar(readable_tickets(principal).where(Ticket.tracking_number == tracking_number))


# Statuses in which no reply deadline runs any more (for the `overdue` filter).
FINISHED_STATUSES = ("replied", "called_back", "closed", "merged", "handed_off", "refused", "answered_directly")


@dataclass
class TicketFilter:
    status: str | None = None
    channel: str | None = None
    department: str | None = None
    external_id: str | None = None
    type: str | None = None
    topic: str | None = None
    town: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    overdue: bool | None = None
    q: str | None = None  # full text (Chinese): a substring of the subject or text
    citizen_ids: list[int] | None = None
    now: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.status:
            conds.append(Ticket.status.in_(self.status.split(",")))
        if self.channel:
            conds.append(Ticket.channel == self.channel)
        if self.department:
            conds.append(Ticket.department_code == self.department)
        if self.type:
            conds.append(Ticket.type == self.type)
        if self.topic:
            conds.append(Ticket.topic == self.topic)
        if self.town:
            conds.append(Ticket.town_code == self.town)
        if self.received_from:
            conds.append(Ticket.received_at >= self.received_from)
        if self.received_to:
            conds.append(Ticket.received_at < self.received_to)
        if self.overdue is not None:
            late = and_(Ticket.reply_due_at.is_not(None), Ticket.reply_due_at < (self.now or utcnow()),
                        Ticket.status.not_in(FINISHED_STATUSES))
            conds.append(late if self.overdue else not_(late))
        if self.q:
            # ILIKE '%…%' is served by the pg_trgm GIN index on PostgreSQL; LIKE on SQLite.
            pattern = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(or_(Ticket.text.ilike(pattern, escape="\\"), Ticket.subject.ilike(pattern, escape="\\")))
        if self.citizen_ids is not None:
            conds.append(Ticket.citizen_id.in_(self.citizen_ids))
        if self.external_id:
            sub = select(IntakeRecord.ticket_id).where(IntakeRecord.external_id == self.external_id)
            conds.append(Ticket.id.in_(sub))
        return conds


async def list_tickets(
    session: AsyncSession, principal: Principal, f: TicketFilter, limit: int, cursor: str | None
) -> tuple[Sequence[Ticket], str | None]:
    """Newest first, only what the principal may read; the cursor is the last id seen, so inserts
    never shift a page."""
    stmt = readable_tickets(principal).where(*f.conditions())
    if cursor:
        stmt = stmt.where(Ticket.id < decode_id_cursor(cursor))
    rows = (await session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit + 1))).all()
    next_cursor = encode_id_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


# The columns a poll shows (TicketOut), and the citizen's contact for masking: one statement gives
# the page, so a poll is one round trip and no ORM objects (50 full Ticket rows cost more CPU than
# everything else in the request together).
QUEUE_COLUMNS = (
    Ticket.id, Ticket.updated_at, Ticket.tracking_number, Ticket.type, Ticket.status, Ticket.channel,
    Ticket.subject, Ticket.text, Ticket.topic, Ticket.town_code, Ticket.urgency, Ticket.department_code,
    Ticket.location_address, Ticket.lat, Ticket.lng, Ticket.dispatch_due_at, Ticket.reply_due_at,
    Ticket.received_at, Ticket.created_at, Ticket.confidential, Ticket.satisfaction, Ticket.callback_at,
    Ticket.reopen_count, CitizenContact.id.label("citizen_id"),
    CitizenContact.name.label("citizen_name"), CitizenContact.phone.label("citizen_phone"),
    CitizenContact.email.label("citizen_email"),
)
_queue_statements: dict[tuple[bool, bool, bool, bool], Any] = {}


def queue_statement(with_status: bool, with_since: bool, with_cursor: bool, rows: bool) -> Any:
    """One page of a unit's queue, built once per shape with bound parameters (building the UNION
    costs more than running it): (id, updated_at) keys, or the page's rows with their citizens.

    The unit's tickets as lead and as co-handler are two index range scans joined by UNION: one
    query with `lead OR co-handler` cannot use the (department_code, updated_at, id) index for
    the ordering and sorts the whole table (seconds per poll at a million tickets).
    """
    shape = (with_status, with_since, with_cursor, rows)
    if (stmt := _queue_statements.get(shape)) is not None:
        return stmt
    conds: list[ColumnElement[bool]] = []
    if with_status:
        conds.append(Ticket.status.in_(bindparam("statuses", expanding=True)))
    if with_since:
        conds.append(Ticket.updated_at > bindparam("since", type_=Ticket.updated_at.type))
    if with_cursor:
        # A row comparison: the index range starts at the cursor instead of filtering up to it.
        conds.append(tuple_(Ticket.updated_at, Ticket.id)
                     > tuple_(bindparam("after_at", type_=Ticket.updated_at.type), bindparam("after_id")))
    page = bindparam("page", type_=Ticket.id.type)
    lead = (select(Ticket.id, Ticket.updated_at).where(Ticket.department_code == bindparam("code"), *conds)
            .order_by(Ticket.updated_at, Ticket.id).limit(page))
    co = (select(Ticket.id, Ticket.updated_at)
          .join(TicketAssignment, TicketAssignment.ticket_id == Ticket.id)
          .where(TicketAssignment.department_code == bindparam("code"), TicketAssignment.state != "withdrawn",
                 *conds)
          .order_by(Ticket.updated_at, Ticket.id).limit(page))
    both = union(lead.subquery().select(), co.subquery().select()).subquery("queue")
    if rows:
        stmt = (select(*QUEUE_COLUMNS).select_from(both)
                .join(Ticket, Ticket.id == both.c.id)
                .outerjoin(CitizenContact, CitizenContact.id == Ticket.citizen_id)
                .order_by(both.c.updated_at, both.c.id).limit(page))
    else:
        stmt = select(both.c.id, both.c.updated_at).order_by(both.c.updated_at, both.c.id).limit(page)
    _queue_statements[shape] = stmt
    return stmt


def queue_versions(with_cursor: bool) -> Any:
    """A one-row subquery `page_versions`: the versions of a queue page's rows (limit + 1), written
    by PostgreSQL as `departments.endpoints.page_versions` writes them in Python (`|id@microseconds
    since the epoch`, in page order) — 51 timestamps formatted per poll cost more in Python."""
    page = queue_statement(False, False, with_cursor, rows=False).subquery("page")
    version = func.concat("|", page.c.id, "@", cast(extract("epoch", page.c.updated_at) * 1_000_000, BigInteger))
    versions = func.string_agg(version, aggregate_order_by(literal_column("''"), page.c.updated_at, page.c.id))
    return select(versions.label("page_versions")).subquery("answer")


def _queue_params(code: str, limit: int, status: str | None, updated_since: datetime | None,
                  cursor: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"code": code, "page": limit + 1}
    if status:
        params["statuses"] = status.split(",")
    if updated_since:
        params["since"] = updated_since
    if cursor:
        params["after_at"], params["after_id"] = decode_time_cursor(cursor)
    return params


async def department_queue_keys(
    session: AsyncSession, principal: Principal, code: str, limit: int, status: str | None = None,
    updated_since: datetime | None = None, cursor: str | None = None,
) -> list[tuple[int, datetime]]:
    """(id, updated_at) of one page of a unit's queue (limit + 1 rows: one more says there are
    more), oldest change first: cheap (index only), so a poll can answer 304 before loading a ticket."""
    if not (principal.is_centre or principal.department_code == code):
        return []
    stmt = queue_statement(bool(status), bool(updated_since), bool(cursor), rows=False)
    rows = await fetch_mappings(session, stmt, _queue_params(code, limit, status, updated_since, cursor))
    return [(r["id"], r["updated_at"]) for r in rows]


async def department_queue_page(
    session: AsyncSession, principal: Principal, code: str, limit: int, status: str | None = None,
    updated_since: datetime | None = None, cursor: str | None = None,
) -> Sequence[Any]:
    """The same page as `department_queue_keys`, as mappings of QUEUE_COLUMNS (citizen columns null
    when the ticket has none), in one statement so the rows and their keys agree."""
    if not (principal.is_centre or principal.department_code == code):
        return []
    stmt = queue_statement(bool(status), bool(updated_since), bool(cursor), rows=True)
    return await fetch_mappings(session, stmt, _queue_params(code, limit, status, updated_since, cursor))


async def tickets_by_ids(session: AsyncSession, principal: Principal, ids: Sequence[int]) -> list[Ticket]:
    if not ids:
        return []
    rows = (await session.scalars(readable_tickets(principal).where(Ticket.id.in_(list(ids))))).all()
    by_id = {t.id: t for t in rows}
    return [by_id[i] for i in ids if i in by_id]


async def citizens_by_ids(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, CitizenContact]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = (await session.scalars(select(CitizenContact).where(CitizenContact.id.in_(wanted)))).all()
    return {c.id: c for c in rows}


async def citizen_ids_by_phone(session: AsyncSession, phone: str) -> list[int]:
    stmt = select(CitizenContact.id).where(or_(CitizenContact.phone == phone, and_(
        CitizenContact.identity_kind == "phone", CitizenContact.identity == phone)))
    return list((await session.scalars(stmt)).all())


async def latest_awaiting_callback(session: AsyncSession, identity_kind: str, identity: str,
                                   replied_since: datetime) -> Ticket | None:
    """The citizen's latest ticket waiting for its callback (回访), replied at or after `replied_since`."""
    stmt = (select(Ticket).join(CitizenContact, CitizenContact.id == Ticket.citizen_id)
            .where(CitizenContact.identity_kind == identity_kind, CitizenContact.identity == identity,
                   Ticket.status == TicketStatus.REPLIED.value, Ticket.replied_at >= replied_since)
            .order_by(Ticket.replied_at.desc()).limit(1))
    return await session.scalar(stmt)


async def latest_self_served(session: AsyncSession, identity_kind: str, identity: str,
                             since: datetime) -> Ticket | None:
    """The citizen's latest ticket the knowledge base answered (自助答复) since `since`."""
    stmt = (select(Ticket)
            .join(CitizenContact, CitizenContact.id == Ticket.citizen_id)
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(CitizenContact.identity_kind == identity_kind, CitizenContact.identity == identity,
                   TicketEvent.kind == "answered_directly", TicketEvent.actor == "system:self-service",
                   TicketEvent.created_at >= since)
            .order_by(Ticket.id.desc()).limit(1))
    return await session.scalar(stmt)


async def by_tracking_numbers(session: AsyncSession, tracking_numbers: Sequence[str],
                              status: str | None = None) -> Sequence[Ticket]:
    """For hotline's own processes (the router) only: not scoped, never reachable by a principal."""
    stmt = select(Ticket).where(Ticket.tracking_number.in_(list(tracking_numbers)))
    if status:
        stmt = stmt.where(Ticket.status == status)
    return (await session.scalars(stmt)).all()


async def recent_tickets_of(
    session: AsyncSession, identities: Sequence[tuple[str, str]], since: datetime
) -> list[tuple[tuple[str, str], str, datetime]]:
    """Tickets of these citizens (identity_kind, identity) received since `since`, newest first."""
    if not identities:
        return []
    rows = await session.execute(
        select(CitizenContact.identity_kind, CitizenContact.identity, Ticket.tracking_number,
               Ticket.received_at)
        .join(Ticket, Ticket.citizen_id == CitizenContact.id)
        .where(tuple_(CitizenContact.identity_kind, CitizenContact.identity).in_(list(identities)),
               Ticket.received_at >= since)
        .order_by(Ticket.received_at.desc(), Ticket.id.desc()))
    return [((kind, identity), tn, at) for kind, identity, tn, at in rows]


async def fill_location_if_empty(session: AsyncSession, ticket_id: int, address: str | None,
                                 lat: float | None, lng: float | None, at: datetime) -> None:
    """Give a ticket the location a follow-up message carried, unless it has one already."""
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.lat.is_(None), Ticket.lng.is_(None),
               Ticket.location_address.is_(None))
        .values(location_address=address, lat=lat, lng=lng, updated_at=at))
