"""All SQL for SLA: holiday years, policy versions, clocks, ladder steps, unit contacts, KPIs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.departments.models import Department
from hotline.kit.db import insert_ignoring_conflicts
from hotline.sla.models import HolidayYear, SlaClock, SlaPolicyVersion, SupervisionStep, UnitContact
from hotline.tickets.models import Ticket

# ---- holiday years -----------------------------------------------------------------------------


async def holiday_years(session: AsyncSession) -> Sequence[HolidayYear]:
    return (await session.scalars(select(HolidayYear).order_by(HolidayYear.year))).all()


async def put_holiday_year(session: AsyncSession, year: int, schedule: dict[str, Any], source: str | None,
                           loaded_by: str, now: datetime) -> None:
    row = await session.get(HolidayYear, year)
    if row is None:
        session.add(HolidayYear(year=year, schedule=schedule, source=source, loaded_by=loaded_by, loaded_at=now))
    else:
        row.schedule, row.source, row.loaded_by, row.loaded_at = schedule, source, loaded_by, now
    await session.flush()


# ---- policy versions ---------------------------------------------------------------------------


async def latest_policy(session: AsyncSession) -> SlaPolicyVersion | None:
    return await session.scalar(select(SlaPolicyVersion).order_by(SlaPolicyVersion.id.desc()).limit(1))


async def add_policy(session: AsyncSession, document: dict[str, Any], created_by: str, now: datetime) -> SlaPolicyVersion:
    row = SlaPolicyVersion(document=document, created_by=created_by, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def policy_versions(session: AsyncSession) -> Sequence[SlaPolicyVersion]:
    return (await session.scalars(select(SlaPolicyVersion).order_by(SlaPolicyVersion.id.desc()))).all()


# ---- clocks ------------------------------------------------------------------------------------


async def clocks_of(session: AsyncSession, ticket_id: int, open_only: bool = False) -> Sequence[SlaClock]:
    stmt = select(SlaClock).where(SlaClock.ticket_id == ticket_id)
    if open_only:
        stmt = stmt.where(SlaClock.met_at.is_(None))
    return (await session.scalars(stmt.order_by(SlaClock.id))).all()


async def insert_clocks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(SlaClock.__table__), rows)  # type: ignore[arg-type]


async def set_ticket_due(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk: [{"id": ticket id, "<stage>_due_at": ...}] — one UPDATE per distinct column set."""
    by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        by_cols.setdefault(tuple(sorted(k for k in r if k != "id")), []).append(r)
    table = cast(Table, Ticket.__table__)
    for cols, group in by_cols.items():
        stmt = update(table).where(table.c.id == bindparam("_id")).values(
            {c: bindparam(c) for c in cols})
        await session.execute(stmt, [{"_id": g["id"], **{c: g[c] for c in cols}} for g in group],
                              execution_options={"synchronize_session": False})


async def claim_marks(session: AsyncSession, column: str, at_column: str, now: datetime,
                      limit: int, stages: Sequence[str] | None = None) -> list[tuple[SlaClock, Ticket]]:
    """Open clocks of unpaused tickets whose `at_column` has come and `column` is unset; set it.

    The conditional UPDATE … RETURNING makes each mark happen once even with two monitors.
    """
    mark, at = getattr(SlaClock, column), getattr(SlaClock, at_column)
    conds = [SlaClock.met_at.is_(None), mark.is_(None), at <= now, Ticket.sla_paused_at.is_(None)]
    if stages:
        conds.append(SlaClock.stage.in_(list(stages)))
    ids = (await session.scalars(
        select(SlaClock.id).join(Ticket, Ticket.id == SlaClock.ticket_id).where(and_(*conds))
        .order_by(at).limit(limit).with_for_update(of=SlaClock, skip_locked=True)
    )).all()
    if not ids:
        return []
    values: dict[str, Any] = {column: now}
    if column == "breached_at":
        values["warned_at"] = func.coalesce(SlaClock.warned_at, now)
    claimed = (await session.scalars(
        update(SlaClock).where(SlaClock.id.in_(list(ids)), mark.is_(None)).values(values)
        .returning(SlaClock.id), execution_options={"synchronize_session": False}
    )).all()
    if not claimed:
        return []
    rows = await session.execute(
        select(SlaClock, Ticket).join(Ticket, Ticket.id == SlaClock.ticket_id)
        .where(SlaClock.id.in_(list(claimed))).order_by(SlaClock.id)
    )
    return [(c, t) for c, t in rows.all()]


async def ladder_candidates(session: AsyncSession, now: datetime, limit: int,
                            after: tuple[datetime, int] | None = None) -> list[tuple[SlaClock, Ticket, set[str]]]:
    """Open reply clocks of unpaused tickets past their warning time whose ladder is not done,
    by warning time (then id), after `after` (the last one's (warn_at, id)).

    In warning-time order the scan walks the open clocks' partial index up to `now` and stops. In
    id order it walked the whole table from the oldest clock: open clocks are the newest, and the
    planner, taking them as spread evenly, expected to find a page of them early (1–1.4 s a pass
    over 2.7 M clocks with none due)."""
    done = exists().where(and_(SupervisionStep.clock_id == SlaClock.id, SupervisionStep.step == "supervision"))
    stmt = (select(SlaClock, Ticket).join(Ticket, Ticket.id == SlaClock.ticket_id)
            .where(SlaClock.stage == "reply", SlaClock.met_at.is_(None), SlaClock.warn_at <= now,
                   Ticket.sla_paused_at.is_(None), ~done))
    if after is not None:
        stmt = stmt.where(tuple_(SlaClock.warn_at, SlaClock.id)
                          > tuple_(literal(after[0], SlaClock.warn_at.type), after[1]))
    rows = (await session.execute(stmt.order_by(SlaClock.warn_at, SlaClock.id).limit(limit))).all()
    if not rows:
        return []
    steps: dict[int, set[str]] = {}
    for clock_id, step in await session.execute(
        select(SupervisionStep.clock_id, SupervisionStep.step)
        .where(SupervisionStep.clock_id.in_([c.id for c, _ in rows]))
    ):
        steps.setdefault(clock_id, set()).add(step)
    return [(c, t, steps.get(c.id, set())) for c, t in rows]


async def take_step(session: AsyncSession, clock: SlaClock, step: str, scheduled_at: datetime,
                    now: datetime) -> bool:
    """Record a ladder step; False if it was already taken (by this or another monitor)."""
    stmt = insert_ignoring_conflicts(session, SupervisionStep.__table__, ["clock_id", "step"]).values(
        clock_id=clock.id, ticket_id=clock.ticket_id, step=step, department_code=clock.department_code,
        scheduled_at=scheduled_at, created_at=now,
    ).returning(SupervisionStep.__table__.c.id)
    return (await session.execute(stmt)).first() is not None


async def open_clocks_reaching(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[SlaClock, Ticket]]:
    """Open clocks whose span [started_at, due_at] touches [start, end)."""
    rows = await session.execute(
        select(SlaClock, Ticket).join(Ticket, Ticket.id == SlaClock.ticket_id)
        .where(SlaClock.met_at.is_(None), SlaClock.due_at >= start, SlaClock.started_at < end)
        .order_by(SlaClock.id)
    )
    return [(c, t) for c, t in rows.all()]


async def steps_of(session: AsyncSession, ticket_id: int) -> Sequence[SupervisionStep]:
    return (await session.scalars(select(SupervisionStep).where(SupervisionStep.ticket_id == ticket_id)
                                  .order_by(SupervisionStep.id))).all()


# ---- unit contacts -----------------------------------------------------------------------------


async def unit_contact(session: AsyncSession, department_code: str) -> UnitContact | None:
    return await session.get(UnitContact, department_code)


async def put_unit_contact(session: AsyncSession, department_code: str, values: dict[str, Any]) -> UnitContact:
    row = await session.get(UnitContact, department_code)
    if row is None:
        row = UnitContact(department_code=department_code, **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    await session.flush()
    return row


# ---- KPIs --------------------------------------------------------------------------------------


async def unit_kpi_rows(session: AsyncSession, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per unit, counts over the clocks it was given in [start, end): see sla/kpis.py for meanings."""
    reply = SlaClock.__table__.alias("reply")
    accept = SlaClock.__table__.alias("accept")
    fresh = reply.c.started_by != "reopened"
    handled = and_(fresh, func.coalesce(reply.c.outcome, "") != "returned")
    met = reply.c.outcome == "met"

    def count_if(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    accepted_on_time = exists().where(and_(
        accept.c.ticket_id == reply.c.ticket_id, accept.c.stage == "accept",
        accept.c.round == reply.c.round, accept.c.outcome == "met",
        accept.c.met_at <= accept.c.due_at,
    ))
    stmt = (
        select(
            reply.c.department_code.label("unit"),
            Department.name.label("name"), Department.kind.label("kind"),
            count_if(fresh).label("received"),
            count_if(handled).label("handled"),
            count_if(and_(handled, accepted_on_time)).label("accepted_on_time"),
            count_if(and_(handled, met)).label("replied"),
            count_if(and_(handled, met, reply.c.met_at <= reply.c.due_at)).label("replied_on_time"),
            count_if(and_(fresh, reply.c.outcome == "returned")).label("returns"),
            func.sum(reply.c.extensions).label("extensions"),
            count_if(reply.c.started_by == "reopened").label("reopens"),
            count_if(reply.c.satisfaction.in_(["satisfied", "basically_satisfied"])).label("satisfied"),
            count_if(reply.c.satisfaction.is_not(None)).label("rated"),
        )
        .select_from(reply.join(Department, Department.code == reply.c.department_code))
        .where(reply.c.stage == "reply", reply.c.started_at >= start, reply.c.started_at < end)
        .group_by(reply.c.department_code, Department.name, Department.kind)
    )
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def public_counts(session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    """Counts of tickets received in [start, end) by type, topic and town; no personal data."""
    in_month = and_(Ticket.received_at >= start, Ticket.received_at < end)
    out: dict[str, Any] = {}
    for name, col in (("by_type", Ticket.type), ("by_topic", Ticket.topic), ("by_town", Ticket.town_code)):
        rows = await session.execute(select(col, func.count()).where(in_month).group_by(col))
        out[name] = {(k if k is not None else "unknown"): int(n) for k, n in rows}
    out["total"] = int(await session.scalar(select(func.count()).select_from(Ticket).where(in_month)) or 0)
    reply = await session.execute(
        select(func.count(), func.sum(case((SlaClock.met_at <= SlaClock.due_at, 1), else_=0)))
        .select_from(SlaClock)
        .where(SlaClock.stage == "reply", SlaClock.outcome == "met",
               SlaClock.started_at >= start, SlaClock.started_at < end)
    )
    replied, on_time = reply.one()
    out["replied"], out["replied_on_time"] = int(replied or 0), int(on_time or 0)
    return out

