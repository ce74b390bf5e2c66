"""Deadlines per stage: started, met, paused, extended and returned as the ticket moves.

For the lifecycle actions (call in the same unit of work as the transition):
  apply_deadlines(session, ticket, Moment.X, now)   X = DISPATCHED (also 改派 re-dispatch),
      ACCEPTED (签收), CONTACTED (first contact with the citizen), REPLIED (办结回复),
      CALLBACK_DONE (回访, pass satisfaction=...), REOPENED (重办), RETURNED (退单), CLOSED
      (also merged, refused, handed off, answered directly: every open clock ends)
  pause_clocks / resume_clocks(session, ticket, now)   waiting on the citizen
  extend_reply_deadline(session, ticket, working_days, now)   an approved extension (延期)
  ensure_return_allowed(session, ticket, now)   raises Conflict after the return window (退单时限)
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.kit.clock import utcnow
from hotline.kit.db import insert_rows
from hotline.kit.errors import Conflict, HotlineError
from hotline.kit.settings import Settings, get_settings
from hotline.sla import repository
from hotline.sla.calendar import (
    UNKNOWN_YEAR_GAUGE,
    CalendarError,
    WorkCalendar,
    calendar_from_settings,
    parse_holiday_document,
    parse_year_schedule,
    set_calendar,
)
from hotline.sla.calendar import get_calendar as _process_calendar
from hotline.sla.models import SlaClock
from hotline.sla.policies import ClockSpec, PolicyDocument, Stage, default_policy
from hotline.tickets.models import Ticket

log = logging.getLogger(__name__)

DUE_COLUMNS = {
    Stage.DISPATCH: "dispatch_due_at",
    Stage.ACCEPT: "accept_due_at",
    Stage.FIRST_CONTACT: "first_contact_due_at",
    Stage.REPLY: "reply_due_at",
    Stage.CALLBACK: "callback_due_at",
}


class Moment(StrEnum):
    """A lifecycle moment that starts or stops SLA clocks."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    CONTACTED = "contacted"
    REPLIED = "replied"
    CALLBACK_DONE = "callback_done"
    REOPENED = "reopened"
    RETURNED = "returned"
    CLOSED = "closed"


@dataclass(frozen=True)
class _Effect:
    met: tuple[Stage, ...] = ()
    returned: tuple[Stage, ...] = ()
    start: tuple[Stage, ...] = ()
    void_all: bool = False


_UNIT_STAGES = (Stage.ACCEPT, Stage.FIRST_CONTACT, Stage.REPLY)
_CENTRE_STAGES = (Stage.DISPATCH, Stage.CALLBACK)  # the centre's own work, no unit to chase
EFFECTS: dict[Moment, _Effect] = {
    Moment.RECEIVED: _Effect(start=(Stage.DISPATCH,)),
    Moment.DISPATCHED: _Effect(met=(Stage.DISPATCH,), start=_UNIT_STAGES),
    Moment.ACCEPTED: _Effect(met=(Stage.ACCEPT,)),
    Moment.CONTACTED: _Effect(met=(Stage.FIRST_CONTACT,)),
    # A reply answers the citizen, so acceptance and first contact are met too at the latest.
    Moment.REPLIED: _Effect(met=_UNIT_STAGES, start=(Stage.CALLBACK,)),
    Moment.CALLBACK_DONE: _Effect(met=(Stage.CALLBACK,)),
    # 重办: the same unit handles it again, with fresh accept and reply clocks.
    Moment.REOPENED: _Effect(met=(Stage.CALLBACK,), start=(Stage.ACCEPT, Stage.REPLY)),
    # 退单: the unit's clocks end as "returned" (counted against it) and the centre re-dispatches.
    Moment.RETURNED: _Effect(returned=_UNIT_STAGES, start=(Stage.DISPATCH,)),
    Moment.CLOSED: _Effect(void_all=True),
}

SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")


class SlaState:
    """Per-process caches: the calendar with loaded years, the policy in force, the warning share."""

    def __init__(self, settings: Settings, calendar: WorkCalendar | None = None) -> None:
        self.settings = settings
        self.calendar = calendar or calendar_from_settings(settings)
        self.policy: tuple[int, PolicyDocument] | None = None
        self.policy_at = -1e9
        self.holidays_at = -1e9
        self.ttl = 30.0

    def warning_share(self, policy: PolicyDocument) -> float:
        return policy.warning_share or self.settings.sla_warning_share


_state: SlaState | None = None


def configure(settings: Settings, calendar: WorkCalendar | None = None) -> SlaState:
    """Install settings (time zone, business hours, holiday file, warning share) for this process."""
    global _state
    _state = SlaState(settings, calendar)
    set_calendar(_state.calendar)
    return _state


def state() -> SlaState:
    if _state is None:
        return configure(get_settings(), _process_calendar())
    return _state


def calendar() -> WorkCalendar:
    return state().calendar


async def refresh(session: AsyncSession, force: bool = False) -> SlaState:
    """Load holiday years and the policy in force from the database, at most every `ttl` seconds."""
    st = state()
    now = _time.monotonic()
    if force or now - st.holidays_at > st.ttl:
        years = {}
        for row in await repository.holiday_years(session):
            try:
                years[row.year] = parse_year_schedule(row.year, row.schedule)
            except CalendarError:
                log.exception("stored holiday schedule for %d is unreadable; ignoring it", row.year)
        st.calendar.load(years)
        st.holidays_at = now
    if force or st.policy is None or now - st.policy_at > st.ttl:
        latest = await repository.latest_policy(session)
        if latest is not None:
            st.policy = (latest.id, PolicyDocument.model_validate(latest.document))
        else:
            st.policy = (0, default_policy(st.settings.sla_policy_file))
        st.policy_at = now
    return st


async def active_policy(session: AsyncSession) -> tuple[int, PolicyDocument]:
    st = await refresh(session)
    assert st.policy is not None
    return st.policy


# ---- administration ----------------------------------------------------------------------------


async def put_policy(session: AsyncSession, document: PolicyDocument, actor: str,
                     now: datetime | None = None) -> int:
    row = await repository.add_policy(session, document.model_dump(mode="json"), actor, now or utcnow())
    state().policy = (row.id, document)
    state().policy_at = _time.monotonic()
    log.info("SLA policy version %d put in force by %s", row.id, actor)
    return row.id


class InvalidHolidays(HotlineError):
    status_code = 422
    title = "Invalid holiday schedule"


async def load_holiday_year(session: AsyncSession, year: int, doc: dict[str, Any], actor: str,
                            source: str | None = None, now: datetime | None = None) -> int:
    """Store one year's official schedule and use it at once (other processes within `ttl`).

    Returns how many open deadlines it moved."""
    if not 2000 <= year <= 2200:
        raise InvalidHolidays(f"{year} is not a plausible year")
    try:
        schedule = parse_year_schedule(year, doc)
    except CalendarError as exc:
        raise InvalidHolidays(str(exc)) from exc
    await repository.put_holiday_year(session, year, schedule.to_document(), source, actor, now or utcnow())
    calendar().load({year: schedule})
    return await recalculate_for_year(session, year, now or utcnow())


async def recalculate_for_year(session: AsyncSession, year: int, now: datetime) -> int:
    """Deadlines that ran into `year` were computed on a guess (or an older schedule): redo them.

    Each open clock keeps its own policy (its stored spec) and approved extensions; time the
    ticket spent paused is added back on working time.
    """
    st = await refresh(session)
    cal = st.calendar
    assert st.policy is not None
    share = st.warning_share(st.policy[1])
    start = datetime(year, 1, 1, tzinfo=cal.tz)
    end = datetime(year + 1, 1, 1, tzinfo=cal.tz)
    n = 0
    for c, t in await repository.open_clocks_reaching(session, start, end):
        spec = ClockSpec.model_validate(c.spec)
        due = spec.due(cal, c.started_at)
        if c.extended_days:
            due = cal.add_working_days(due, c.extended_days)
        if t.sla_paused_seconds and spec.on_working_time:
            due = cal.add_working_time(due, t.sla_paused_seconds)
        if due == c.due_at:
            continue
        c.due_at, c.warn_at = due, _warn_at(cal, spec, c.started_at, due, share)
        if due > now:
            c.breached_at = None
        if c.warn_at > now:
            c.warned_at = None
        c.updated_at = now
        setattr(t, DUE_COLUMNS[Stage(c.stage)], due)
        n += 1
    await session.flush()
    if n:
        log.info("official holidays for %d loaded: %d open deadlines recalculated", year, n)
    return n


async def load_holiday_document(session: AsyncSession, doc: Any, actor: str, source: str | None = None) -> list[int]:
    try:
        years = parse_holiday_document(doc)
    except CalendarError as exc:
        raise InvalidHolidays(str(exc)) from exc
    for year, schedule in sorted(years.items()):
        await load_holiday_year(session, year, schedule.to_document(), actor, source)
    return sorted(years)


def calendar_status(years: Sequence[int]) -> dict[str, Any]:
    """For readiness and the admin API: where each year comes from, and what was guessed."""
    cal = calendar()
    return {"years": {str(y): cal.source_of(y) for y in years},
            "unknown_years": sorted(cal.unknown_years())}


# ---- deadlines ---------------------------------------------------------------------------------


def _warn_at(cal: WorkCalendar, spec: ClockSpec, start: datetime, due: datetime, share: float) -> datetime:
    if spec.on_working_time:
        return cal.add_working_time(start, share * cal.working_seconds_between(start, due))
    return start + (due - start) * share


def _new_clock(cal: WorkCalendar, policy: tuple[int, PolicyDocument], share: float, *, ticket_id: int,
               type_: str, urgency: str, department_code: str | None, stage: Stage, round_: int,
               moment: Moment, start: datetime, now: datetime,
               memo: dict[Any, Any] | None = None) -> dict[str, Any]:
    version, doc = policy
    memo = {} if memo is None else memo
    # A batch's memo (pure functions of the policy and the calendar): the spec of a type × urgency
    # × stage, its JSON, and (due, warning) per spec and start instant — a ticket's stages often
    # share a spec (dispatch and accept: 1 working day), and each is then computed once.
    if (key := (type_, urgency, stage)) not in memo:
        spec = doc.clock_for(type_, urgency, stage)
        memo[key] = (spec, spec.model_dump(mode="json", exclude_none=True))
    spec, spec_json = memo[key]
    if (at := (spec, start)) not in memo:
        due = spec.due(cal, start)
        memo[at] = (due, _warn_at(cal, spec, start, due, share))
    due, warn = memo[at]
    return _clock_row(ticket_id, stage.value, round_, department_code, version, spec_json, moment.value,
                      start, due, warn, now)


def _clock_row(ticket_id: int, stage: str, round_: int, department_code: str | None, policy_version: int,
               spec_json: dict[str, Any], started_by: str, start: datetime, due: datetime, warn: datetime | None,
               now: datetime) -> dict[str, Any]:
    """A new (open) clock's row, every column given: the router writes a batch's in one statement."""
    return {"ticket_id": ticket_id, "stage": stage, "round": round_, "department_code": department_code,
            "policy_version": policy_version, "spec": spec_json,
            "started_by": started_by, "started_at": start, "due_at": due,
            "warn_at": warn, "extensions": 0, "extended_days": 0,
            "warned_at": None, "breached_at": None, "met_at": None, "outcome": None,
            "satisfaction": None, "updated_at": now}


@dataclass(frozen=True)
class NewTicket:
    id: int
    type: str
    urgency: str
    department_code: str | None  # set = dispatched at intake
    received_at: datetime


async def plan_clocks_for_new(session: AsyncSession, tickets: Sequence[NewTicket],
                              now: datetime | None = None) -> list[tuple[dict[str, datetime], list[dict[str, Any]]]]:
    """The router's batch before its insert: per ticket, its `*_due_at` columns (written with its
    row, not updated after) and its clock rows, the dispatch clock from receipt and the unit's clocks
    if dispatched, for `NewTicket.id` (0 before the insert: set each row's `ticket_id` then)."""
    now = now or utcnow()
    st = await refresh(session)
    assert st.policy is not None
    cal, share = st.calendar, st.warning_share(st.policy[1])
    version, doc = st.policy
    planned: list[tuple[dict[str, datetime], list[dict[str, Any]]]] = []
    # Per type × urgency, the batch's instants: all its tickets' (the dispatch clock) and the
    # dispatched ones' (the unit's clocks).
    groups: dict[tuple[str, str], tuple[set[datetime], set[datetime]]] = {}
    for t in tickets:
        group = groups.get((t.type, t.urgency))
        if group is None:
            group = groups[(t.type, t.urgency)] = (set(), set())
        group[0].add(t.received_at)
        if t.department_code:
            group[1].add(t.received_at)
    # Per type × urgency, its stages as (stage, due column, spec, the spec's JSON), the dispatch
    # clock's first; a batch's instants per spec, their (due, warning) computed together (see
    # _deadlines). Stages sharing a spec share its instants.
    stages_of: dict[tuple[str, str], list[tuple[str, str, ClockSpec, dict[str, Any]]]] = {}
    by_spec: dict[int, tuple[ClockSpec, set[datetime]]] = {}
    for (type_, urgency), (starts, dispatched) in groups.items():
        plan = stages_of[(type_, urgency)] = []
        for stage, stage_starts in ((Stage.DISPATCH, starts),
                                    *((s, dispatched) for s in _UNIT_STAGES if dispatched)):
            spec = doc.clock_for(type_, urgency, stage)
            plan.append((stage.value, DUE_COLUMNS[stage], spec, spec.model_dump(mode="json", exclude_none=True)))
            by_spec.setdefault(id(spec), (spec, set()))[1].update(stage_starts)
    deadlines: dict[tuple[int, datetime], tuple[datetime, datetime | None]] = {}
    for key, (spec, starts) in by_spec.items():
        for start, due_warn in _deadlines(cal, spec, share, sorted(starts)).items():
            deadlines[(key, start)] = due_warn
    returns = _deadlines(cal, doc.return_within, share,
                         sorted({t.received_at for t in tickets if t.department_code}), warn=False)
    received, dispatched_by = Moment.RECEIVED.value, Moment.DISPATCHED.value
    for t in tickets:
        plan = stages_of[(t.type, t.urgency)]
        start = t.received_at
        stage_value, _, spec, spec_json = plan[0]
        due_at, warn_at = deadlines[(id(spec), start)]
        dispatch = _clock_row(t.id, stage_value, 1, None, version, spec_json, received, start, due_at, warn_at, now)
        due = {"dispatch_due_at": due_at}
        clocks: list[dict[str, Any]] = []
        if t.department_code:
            dispatch["met_at"], dispatch["outcome"] = start, "met"
            for stage_value, column, spec, spec_json in plan[1:]:
                due_at, warn_at = deadlines[(id(spec), start)]
                clocks.append(_clock_row(t.id, stage_value, 1, t.department_code, version, spec_json,
                                         dispatched_by, start, due_at, warn_at, now))
                due[column] = due_at
            due["return_due_at"] = returns[start][0]  # 退单时限
        clocks.append(dispatch)
        planned.append((due, clocks))
    return planned


# Units whose deadline (and warning) move exactly as fast as the start while it moves through working
# time (a later start in working time never gains less than it moved, so a run whose ends moved
# by exactly the time between them moved so all along).
_SHIFTING_UNITS = frozenset({"working_days", "working_hours", "hours"})


def _deadlines(cal: WorkCalendar, spec: ClockSpec, share: float, starts: list[datetime],
               warn: bool = True) -> dict[datetime, tuple[datetime, datetime | None]]:
    """(due, warning) of a spec for each of these sorted instants, as `spec.due` and `_warn_at` give
    them, without computing each: a batch's tickets arrive within moments of one another.

    Both are non-decreasing in the start. So where the two ends of a run of starts give the same
    deadline, every start between gives it too; and for the shifting units, where the whole run is
    working time (same UTC offset) and the ends' deadlines are exactly as far apart as the starts,
    each start between has its deadline that far from the first. A run that is neither is halved."""
    out: dict[datetime, tuple[datetime, datetime | None]] = {}

    def exact(start: datetime) -> tuple[datetime, datetime | None]:
        if start not in out:
            due = spec.due(cal, start)
            out[start] = (due, _warn_at(cal, spec, start, due, share) if warn else None)
        return out[start]

    def fill(lo: int, hi: int) -> None:
        a, b = starts[lo], starts[hi]
        ea, eb = exact(a), exact(b)
        if hi - lo <= 1:
            return
        ends = [(x, y) for x, y in zip(ea, eb, strict=True) if x is not None and y is not None]
        if all(x == y for x, y in ends):
            for s in starts[lo + 1:hi]:
                out[s] = ea
            return
        span = b - a
        if (spec.unit in _SHIFTING_UNITS
                and all(y - x == span for x, y in ends)
                and all(cal.local(x).utcoffset() == cal.local(y).utcoffset() for x, y in [(a, b), *ends])
                and cal.working_seconds_between(a, b) == span.total_seconds()):
            for s in starts[lo + 1:hi]:
                shift = s - a
                out[s] = (ea[0] + shift, ea[1] + shift if ea[1] is not None else None)
            return
        mid = (lo + hi) // 2
        fill(lo, mid)
        fill(mid, hi)

    if starts:
        fill(0, len(starts) - 1)
    return out


async def insert_clocks(session: AsyncSession, clocks: Sequence[dict[str, Any]]) -> None:
    """Clock rows from `plan_clocks_for_new`, their `ticket_id` set (one statement)."""
    await insert_rows(session, SlaClock.__table__, list(clocks))


async def start_clocks_for_new(session: AsyncSession, tickets: Sequence[NewTicket],
                               now: datetime | None = None) -> None:
    """Tickets already inserted: their clocks, and their `*_due_at` columns by UPDATE."""
    if not tickets:
        return
    planned = await plan_clocks_for_new(session, tickets, now)
    await repository.insert_clocks(session, [c for _, clocks in planned for c in clocks])
    await repository.set_ticket_due(session, [{"id": t.id, **due}
                                              for t, (due, _) in zip(tickets, planned, strict=True)])


def _close(clock: SlaClock, outcome: str, now: datetime) -> None:
    clock.met_at, clock.outcome, clock.updated_at = now, outcome, now


async def apply_deadlines(session: AsyncSession, ticket: Ticket, moment: Moment | str,
                          now: datetime | None = None, *, satisfaction: str | None = None) -> dict[str, datetime]:
    """Stop the clocks `moment` meets and start the ones it opens; returns the new deadlines.

    Sets the ticket's `*_due_at` columns for the clocks it starts (flushed with the caller's work).
    """
    moment = Moment(moment)
    now = now or utcnow()
    st = await refresh(session)
    assert st.policy is not None
    effect = EFFECTS[moment]
    clocks = list(await repository.clocks_of(session, ticket.id))
    open_ = {c.stage: c for c in clocks if c.met_at is None}
    for stage in effect.met:
        if stage in open_:
            _close(open_.pop(stage), "met", now)
    for stage in effect.returned:
        if stage in open_:
            _close(open_.pop(stage), "returned", now)
    if effect.void_all:
        for c in open_.values():
            _close(c, "void", now)
        open_.clear()
    if moment is Moment.CALLBACK_DONE and satisfaction is not None:
        if satisfaction not in SATISFACTION:
            raise HotlineError(f"satisfaction is one of {', '.join(SATISFACTION)}")
        replies = [c for c in clocks if c.stage == Stage.REPLY and c.outcome == "met"]
        if replies:
            replies[-1].satisfaction = satisfaction
    started: dict[str, datetime] = {}
    rounds: dict[str, int] = {}
    for c in clocks:
        rounds[c.stage] = max(rounds.get(c.stage, 0), c.round)
    cal, share = st.calendar, st.warning_share(st.policy[1])
    for stage in effect.start:
        if stage in open_:
            _close(open_.pop(stage), "void", now)
        row = _new_clock(cal, st.policy, share, ticket_id=ticket.id, type_=ticket.type,
                         urgency=ticket.urgency or "normal",
                         department_code=None if stage in _CENTRE_STAGES else ticket.department_code,
                         stage=stage, round_=rounds.get(stage.value, 0) + 1, moment=moment,
                         start=now, now=now)
        session.add(SlaClock(**row))
        setattr(ticket, DUE_COLUMNS[stage], row["due_at"])
        started[DUE_COLUMNS[stage]] = row["due_at"]
    await session.flush()
    return started


async def pause_clocks(session: AsyncSession, ticket: Ticket, now: datetime | None = None) -> None:
    """Waiting on the citizen (补充材料, unreachable): no warnings or breaches until resumed."""
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now or utcnow()
        await session.flush()


async def resume_clocks(session: AsyncSession, ticket: Ticket, now: datetime | None = None) -> dict[str, datetime]:
    """The citizen answered: every open clock gets back the working time it had left at the pause."""
    paused_at = ticket.sla_paused_at
    if paused_at is None:
        return {}
    now = now or utcnow()
    st = await refresh(session)
    cal = st.calendar
    moved: dict[str, datetime] = {}
    for c in await repository.clocks_of(session, ticket.id, open_only=True):
        working = ClockSpec.model_validate(c.spec).on_working_time
        for col in ("due_at", "warn_at"):
            at: datetime = getattr(c, col)
            if at <= paused_at:
                continue  # already passed before the pause: a pause does not undo lateness
            if working:
                new = cal.add_working_time(now, cal.working_seconds_between(paused_at, at))
            else:
                new = now + (at - paused_at)
            setattr(c, col, new)
        c.updated_at = now
        setattr(ticket, DUE_COLUMNS[Stage(c.stage)], c.due_at)
        moved[DUE_COLUMNS[Stage(c.stage)]] = c.due_at
    ticket.sla_paused_seconds = int((ticket.sla_paused_seconds or 0) + cal.working_seconds_between(paused_at, now))
    ticket.sla_paused_at = None
    await session.flush()
    return moved


async def has_open_clock(session: AsyncSession, ticket: Ticket, stage: str) -> bool:
    return any(c.stage == stage for c in await repository.clocks_of(session, ticket.id, open_only=True))


async def _open_reply_clock(session: AsyncSession, ticket: Ticket) -> SlaClock:
    for c in await repository.clocks_of(session, ticket.id, open_only=True):
        if c.stage == Stage.REPLY:
            return c
    raise Conflict(f"ticket {ticket.tracking_number} has no running reply deadline")


async def extend_reply_deadline(session: AsyncSession, ticket: Ticket, working_days: int,
                                now: datetime | None = None) -> datetime:
    """An approved extension (延期): the reply deadline moves `working_days` later, within the cap."""
    now = now or utcnow()
    _, policy = await active_policy(session)
    cap = int(policy.extension_max.amount or 0)
    clock = await _open_reply_clock(session, ticket)
    if working_days < 1:
        raise HotlineError("an extension is at least one working day")
    if clock.extended_days + working_days > cap:
        raise Conflict(f"extensions are capped at {cap} working days in total; this ticket already has "
                       f"{clock.extended_days}", allowed_working_days=max(0, cap - clock.extended_days))
    cal = calendar()
    clock.due_at = cal.add_working_days(clock.due_at, working_days)
    spec = ClockSpec.model_validate(clock.spec)
    clock.warn_at = _warn_at(cal, spec, clock.started_at, clock.due_at, state().warning_share(policy))
    clock.extensions += 1
    clock.extended_days += working_days
    if clock.due_at > now:
        clock.breached_at = None
        if clock.warn_at > now:
            clock.warned_at = None
    clock.updated_at = now
    ticket.reply_due_at = clock.due_at
    await session.flush()
    return clock.due_at


async def return_deadline(session: AsyncSession, ticket: Ticket) -> datetime | None:
    """Until when the unit may return the ticket (退单): `return_within` from its dispatch."""
    _, policy = await active_policy(session)
    for c in await repository.clocks_of(session, ticket.id, open_only=True):
        if c.stage == Stage.REPLY:
            return policy.return_within.due(calendar(), c.started_at)
    return None


async def ensure_return_allowed(session: AsyncSession, ticket: Ticket, now: datetime | None = None) -> datetime:
    deadline = await return_deadline(session, ticket)
    if deadline is None:
        raise Conflict(f"ticket {ticket.tracking_number} is not with a unit, so it cannot be returned")
    if (now or utcnow()) > deadline:
        local = calendar().local(deadline)
        raise Conflict(f"the return window closed at {local:%Y-%m-%d %H:%M} ({calendar().timezone}); "
                       "ask the centre to re-dispatch (改派) instead", return_due_at=deadline.isoformat())
    return deadline


async def clocks(session: AsyncSession, ticket: Ticket) -> Sequence[SlaClock]:
    return await repository.clocks_of(session, ticket.id)


def ladder_schedule(cal: WorkCalendar, policy: PolicyDocument, clock: SlaClock) -> dict[str, datetime]:
    """When each rung falls due for a reply clock (the reminder at the warning time)."""
    # "The working day after the deadline": a deadline at 24:00 Wednesday makes Thursday that day.
    notice = cal.next_working_day_start(clock.due_at)
    reprimand = cal.add_working_days(notice, policy.ladder.reprimand_after_working_days)
    supervision = cal.add_working_days(reprimand, policy.ladder.supervise_after_working_days)
    return {"reminder": clock.warn_at, "reminder_notice": notice, "reprimand": reprimand,
            "supervision": supervision}


async def calendar_warnings(session: AsyncSession, now: datetime | None = None,
                            horizon_days: int = 60) -> list[str]:
    """For readiness: years deadlines were (or within `horizon_days` will be) guessed Monday–Friday."""
    await refresh(session)
    cal = calendar()
    now = now or utcnow()
    years = set(cal.unknown_years())
    last = cal.local(now + timedelta(days=horizon_days)).year
    upcoming = {y for y in range(cal.local(now).year, last + 1) if not cal.knows(y)}
    for y in upcoming:  # the metric shows a year before any deadline reaches it
        UNKNOWN_YEAR_GAUGE.labels(year=str(y)).set(1)
    years.update(upcoming)
    return [f"{y}: no official holiday schedule; deadlines assume Monday-Friday "
            f"(load it: hotline holidays load FILE, or PUT /api/v1/admin/holidays/{y})" for y in sorted(years)]


async def recompute_open(session: AsyncSession, ticket: Ticket, now: datetime | None = None) -> dict[str, datetime]:
    """The type or urgency changed (reclassified): open clocks follow the new rule from their start.

    Approved extensions are kept; time paused earlier is not re-added (a rare combination).
    """
    now = now or utcnow()
    st = await refresh(session)
    assert st.policy is not None
    version, policy = st.policy
    cal, share = st.calendar, st.warning_share(policy)
    moved: dict[str, datetime] = {}
    for c in await repository.clocks_of(session, ticket.id, open_only=True):
        spec = policy.clock_for(ticket.type, ticket.urgency or "normal", Stage(c.stage))
        due = spec.due(cal, c.started_at)
        if c.extended_days:
            due = cal.add_working_days(due, c.extended_days)
        c.spec, c.policy_version, c.due_at = spec.model_dump(mode="json", exclude_none=True), version, due
        c.warn_at = _warn_at(cal, spec, c.started_at, due, share)
        if due > now:
            c.breached_at = None
        if c.warn_at > now:
            c.warned_at = None
        c.updated_at = now
        setattr(ticket, DUE_COLUMNS[Stage(c.stage)], due)
        moved[DUE_COLUMNS[Stage(c.stage)]] = due
    await session.flush()
    return moved


def survey_time(now: datetime) -> datetime:
    """When the callback survey goes out: the next working day's opening (09:00 without business hours)."""
    cal = calendar()
    opening = cal.next_working_day_start(cal.end_of_local_day(now))
    return opening if cal.business_hours is not None else opening + timedelta(hours=9)


# Registers the SLA hook on every lifecycle event (tickets.actions.AFTER_EVENT).
from hotline.sla import hooks as _hooks  # noqa: F401
