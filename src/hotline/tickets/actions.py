"""Every lifecycle action on a ticket: check the transition, change it, write the event, queue it for Kafka.

Each action runs in the caller's unit of work: the ticket row is locked, the change, its
`TicketEvent` and the outbox row for `hotline.ticket-events` commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal, Role
from hotline.departments import repository as departments
from hotline.kit.clock import utcnow
from hotline.kit.errors import Conflict, Forbidden, HotlineError, NotFound
from hotline.kit.settings import get_settings
from hotline.notify.outbox import TICKET_EVENT, enqueue
from hotline.tickets import lifecycle as lc
from hotline.tickets import lifecycle_repository as repo
from hotline.tickets import publish
from hotline.tickets.lifecycle_repository import CO, LEAD
from hotline.tickets.models import Ticket, TicketAssignment, TicketEvent, TicketType
from hotline.tickets.models import TicketStatus as S


class InvalidAction(HotlineError):
    """The request names something that does not exist or is not allowed here (bad code, no text)."""

    status_code = 422
    title = "Invalid request"


# Called after every event, inside the same unit of work (the SLA domain recomputes deadlines
# here on dispatch, acceptance, extension and reopening). A hook that raises rolls it all back.
Hook = Callable[[AsyncSession, Ticket, TicketEvent], Awaitable[None]]
AFTER_EVENT: list[Hook] = []


@dataclass
class Acted:
    """What an action returns: the ticket as it now is, and the event(s) it wrote."""

    ticket: Ticket
    events: list[TicketEvent]


def event_payload(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    """The `hotline.ticket-events` record of one event (see tickets/publish.py)."""
    return publish.event_payload(
        event_id=event.id, tracking_number=ticket.tracking_number, kind=event.kind,
        from_status=event.from_status, to_status=event.to_status, actor=event.actor, reason=event.reason,
        data=event.data, created_at=event.created_at,
        ticket={f: getattr(ticket, f) for f in publish.SUMMARY_FIELDS},
    )


async def record_event(
    session: AsyncSession,
    ticket: Ticket,
    actor: Principal | str,
    kind: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an event to the timeline and queue it for Kafka, in the caller's unit of work.

    Also the way other domains (the SLA ladder: 催办, 督办 …) write events that change no status.
    """
    now = utcnow()
    ev = TicketEvent(
        ticket_id=ticket.id, kind=kind,
        from_status=from_status if from_status is not None else ticket.status,
        to_status=to_status if to_status is not None else ticket.status,
        actor=actor.actor if isinstance(actor, Principal) else actor,
        reason=reason, data=data, created_at=now,
    )
    session.add(ev)
    ticket.updated_at = now
    await session.flush()
    enqueue(session, TICKET_EVENT, event_payload(ticket, ev), key=ticket.tracking_number)
    for hook in AFTER_EVENT:
        await hook(session, ticket, ev)
    return ev


async def _transition(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    action: str,
    kind: str,
    *,
    target: S | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    to = lc.check(action, ticket.status, principal.role, target)
    before = ticket.status
    ticket.status = to.value
    return await record_event(session, ticket, principal, kind, from_status=before, to_status=to.value,
                              reason=reason, data=data)


async def load(session: AsyncSession, principal: Principal, tracking_number: str) -> Ticket:
    """The ticket to act on, locked; 404 when it does not exist or is not this principal's."""
    ticket = await repo.get_for_action(session, tracking_number, principal)
    if ticket is None:
        raise NotFound(f"no ticket with tracking number {tracking_number}")
    return ticket


def _require_text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise InvalidAction(f"{what} must not be blank")
    return value.strip()


async def _require_unit(session: AsyncSession, code: str) -> str:
    d = await departments.get_by_code(session, code)
    if d is None or not d.active:
        raise InvalidAction(f"no active unit with code {code!r} (see GET /api/v1/departments)")
    return code


async def _lead_assignment(session: AsyncSession, ticket: Ticket) -> TicketAssignment | None:
    """The lead unit's assignment; the router dispatches without one, so it is made on first need."""
    if ticket.department_code is None:
        return None
    for a in await repo.assignments_of(session, ticket.id):
        if a.role == LEAD and a.department_code == ticket.department_code:
            return a
    await repo.withdraw(session, ticket.id, LEAD)
    return await repo.assign(session, ticket.id, ticket.department_code, LEAD)


async def _own_assignment(session: AsyncSession, ticket: Ticket, principal: Principal) -> TicketAssignment | None:
    """The acting department's assignment (lead or co); None for the centre and admins."""
    if principal.role != Role.DEPARTMENT:
        return None
    if principal.department_code == ticket.department_code:
        return await _lead_assignment(session, ticket)
    for a in await repo.assignments_of(session, ticket.id):
        if a.department_code == principal.department_code:
            return a
    # readable() already hides tickets a unit no longer works on; this keeps the rule local too.
    raise NotFound(f"no ticket with tracking number {ticket.tracking_number}")


def _as_lead(assignment: TicketAssignment | None, action: str) -> None:
    if assignment is not None and assignment.role != LEAD:
        raise Forbidden(f"only the lead unit may {action.replace('_', ' ')}; a co-handling unit "
                        "accepts and replies on its part")


async def _assign_units(session: AsyncSession, ticket: Ticket, lead: str, co: Sequence[str] | None) -> list[str]:
    lead = await _require_unit(session, lead)
    co_codes = [c for c in dict.fromkeys(co or []) if c != lead]
    for c in co_codes:
        await _require_unit(session, c)
    await repo.withdraw(session, ticket.id, LEAD, keep=[lead])
    if co is not None:  # a new list of co-handlers replaces the old one
        await repo.withdraw(session, ticket.id, CO, keep=co_codes)
    await repo.assign(session, ticket.id, lead, LEAD)
    for c in co_codes:
        await repo.assign(session, ticket.id, c, CO)
    ticket.department_code = lead
    now = utcnow()
    ticket.dispatched_at = now
    ticket.accepted_at = None
    ticket.replied_at = None
    return [a.department_code for a in await repo.assignments_of(session, ticket.id) if a.role == CO]


# ---------------------------------------------------------------------------------------------
# Dispatch


async def dispatch(session: AsyncSession, principal: Principal, tracking_number: str, department_code: str,
                   co_departments: Sequence[str] | None = None, reason: str | None = None) -> Acted:
    """派单: give a ticket from the manual queue to a lead unit (and co-handling units)."""
    t = await load(session, principal, tracking_number)
    lc.check("dispatch", t.status, principal.role)
    co = await _assign_units(session, t, department_code, co_departments or [])
    ev = await _transition(session, principal, t, "dispatch", lc.DISPATCHED, reason=reason,
                           data={"department": department_code, "co_departments": co})
    return Acted(t, [ev])


async def redispatch(session: AsyncSession, principal: Principal, tracking_number: str, department_code: str,
                     co_departments: Sequence[str] | None = None, reason: str | None = None) -> Acted:
    """改派: move a ticket to another unit (or, after a disputed return, back to the same one)."""
    t = await load(session, principal, tracking_number)
    lc.check("redispatch", t.status, principal.role)
    if department_code == t.department_code and t.status not in (S.RETURNED, S.DISPUTE_REVIEW):
        raise Conflict(f"the ticket is already with {department_code}")
    return Acted(t, [await _redispatch(session, principal, t, "redispatch", department_code,
                                       co_departments, reason, via="redispatch")])


async def _redispatch(session: AsyncSession, principal: Principal, t: Ticket, action: str, department_code: str,
                      co_departments: Sequence[str] | None, reason: str | None, via: str,
                      target: S | None = None) -> TicketEvent:
    previous = t.department_code
    co = await _assign_units(session, t, department_code, co_departments)
    return await _transition(
        session, principal, t, action, lc.REDISPATCHED, target=target, reason=reason,
        data={"from_department": previous, "department": department_code, "co_departments": co,
              "via": via, "return_reason": t.return_reason if via == "return" else None},
    )


# ---------------------------------------------------------------------------------------------
# The unit's work


async def accept(session: AsyncSession, principal: Principal, tracking_number: str,
                 note: str | None = None, co: bool = False) -> Acted:
    """签收: the lead unit (or a co-handling unit, for its part) takes the ticket on.

    `co=True` asks for the co-handler's action explicitly (a lead unit gets 403).
    """
    t = await load(session, principal, tracking_number)
    mine = await _own_assignment(session, t, principal)
    if co and (mine is None or mine.role != CO):
        raise Forbidden("only a co-handling unit signs for its part; the lead unit accepts the ticket")
    if mine is not None and mine.role == CO:
        lc.check("co_accept", t.status, principal.role)
        if mine.accepted_at is not None:
            raise Conflict(f"{mine.department_code} has already accepted its part")
        mine.state, mine.accepted_at = "accepted", utcnow()
        ev = await _transition(session, principal, t, "co_accept", lc.CO_ACCEPTED, reason=note,
                               data={"department": mine.department_code})
        return Acted(t, [ev])
    lc.check("accept", t.status, principal.role)
    lead = await _lead_assignment(session, t)
    now = utcnow()
    if lead is not None:
        lead.state, lead.accepted_at = "accepted", now
    t.accepted_at = now
    ev = await _transition(session, principal, t, "accept", lc.ACCEPTED, reason=note,
                           data={"department": t.department_code})
    return Acted(t, [ev])


async def add_progress(session: AsyncSession, principal: Principal, tracking_number: str, text: str,
                       contacted_citizen: bool = False) -> Acted:
    """A progress note from the lead unit; `contacted_citizen` starts nothing but stops the first-contact clock."""
    t = await load(session, principal, tracking_number)
    _as_lead(await _own_assignment(session, t, principal), "add progress")
    text = _require_text(text, "the progress note")
    lc.check("add_progress", t.status, principal.role)
    if contacted_citizen and t.first_contact_at is None:
        t.first_contact_at = utcnow()
    ev = await _transition(session, principal, t, "add_progress", lc.PROGRESS_ADDED, reason=text,
                           data={"contacted_citizen": contacted_citizen})
    return Acted(t, [ev])


async def reply(session: AsyncSession, principal: Principal, tracking_number: str, text: str,
                override_co_handlers: bool = False, co: bool = False) -> Acted:
    """办结回复: the lead unit's reply for the whole ticket, or a co-handling unit's reply on its part.

    The lead is refused while a co-handling unit has not replied, unless the centre (a supervisor
    or admin) overrides.
    """
    t = await load(session, principal, tracking_number)
    text = _require_text(text, "the reply")
    mine = await _own_assignment(session, t, principal)
    now = utcnow()
    if co and (mine is None or mine.role != CO):
        raise Forbidden("only a co-handling unit replies on its part; the lead unit replies for the ticket")
    if mine is not None and mine.role == CO:
        lc.check("co_reply", t.status, principal.role)
        if mine.replied_at is not None:
            raise Conflict(f"{mine.department_code} has already replied on its part")
        mine.state, mine.replied_at, mine.reply_text = "replied", now, text
        mine.accepted_at = mine.accepted_at or now
        ev = await _transition(session, principal, t, "co_reply", lc.CO_REPLIED, reason=text,
                               data={"department": mine.department_code})
        return Acted(t, [ev])
    lc.check("reply", t.status, principal.role)
    if override_co_handlers and principal.role not in lc.SUPERVISORS:
        raise Forbidden("only the centre (a supervisor or admin) may override co-handling units")
    pending = [a.department_code for a in await repo.assignments_of(session, t.id)
               if a.role == CO and a.replied_at is None]
    if pending and not override_co_handlers:
        raise Conflict(f"co-handling units have not replied yet: {', '.join(pending)}",
                       pending_co_handlers=pending)
    lead = await _lead_assignment(session, t)
    if lead is not None:
        lead.state, lead.replied_at, lead.reply_text = "replied", now, text
    t.replied_at, t.reply_text = now, text
    ev = await _transition(session, principal, t, "reply", lc.REPLIED, reason=text,
                           data={"department": t.department_code,
                                 "overridden_co_handlers": pending if override_co_handlers else []})
    return Acted(t, [ev])


async def return_ticket(session: AsyncSession, principal: Principal, tracking_number: str, reason_code: str,
                        note: str | None = None) -> Acted:
    """退单: the lead unit sends a ticket back to the centre, with a reason, before its return deadline."""
    t = await load(session, principal, tracking_number)
    _as_lead(await _own_assignment(session, t, principal), "return the ticket")
    if reason_code not in lc.RETURN_REASONS:
        raise InvalidAction(f"unknown return reason {reason_code!r}; one of: {', '.join(lc.RETURN_REASONS)}",
                            allowed_reasons=list(lc.RETURN_REASONS))
    if reason_code == "other":
        note = _require_text(note, "a return for another reason needs a note; the note")
    lc.check("return_ticket", t.status, principal.role)
    now = utcnow()
    if t.return_due_at is not None and now > t.return_due_at:
        raise Conflict(f"the time to return this ticket ended at {t.return_due_at.isoformat()}; "
                       "ask the centre to re-dispatch it instead", return_due_at=t.return_due_at.isoformat())
    lead = await _lead_assignment(session, t)
    if lead is not None:
        lead.state = "returned"
    t.return_reason, t.returned_at = reason_code, now
    t.return_count = (t.return_count or 0) + 1
    ev = await _transition(session, principal, t, "return_ticket", lc.RETURNED,
                           reason=note or lc.RETURN_REASONS[reason_code],
                           data={"department": t.department_code, "reason_code": reason_code})
    return Acted(t, [ev])


async def resolve_return(session: AsyncSession, principal: Principal, tracking_number: str, decision: str,
                         department_code: str | None = None, co_departments: Sequence[str] | None = None,
                         note: str | None = None) -> Acted:
    """The centre's answer to a return: re-dispatch (改派) to the right unit, or dispute it (争议审核)."""
    t = await load(session, principal, tracking_number)
    lc.check("resolve_return", t.status, principal.role)
    if decision == "redispatch":
        if not department_code:
            raise InvalidAction("re-dispatching a returned ticket needs department_code")
        ev = await _redispatch(session, principal, t, "resolve_return", department_code, co_departments,
                               note, via="return", target=S.DISPATCHED)
    elif decision == "dispute":
        ev = await _transition(session, principal, t, "resolve_return", lc.RETURN_DISPUTED,
                               target=S.DISPUTE_REVIEW, reason=note,
                               data={"department": t.department_code, "reason_code": t.return_reason})
    else:
        raise InvalidAction("decision must be 'redispatch' or 'dispute'")
    return Acted(t, [ev])


async def request_extension(session: AsyncSession, principal: Principal, tracking_number: str, days: int,
                            reason: str) -> Acted:
    """延期: the lead unit asks for more working days; the centre decides."""
    t = await load(session, principal, tracking_number)
    _as_lead(await _own_assignment(session, t, principal), "request an extension")
    reason = _require_text(reason, "the reason for the extension")
    limit = get_settings().extension_max_working_days
    if not 1 <= days <= limit:
        raise InvalidAction(f"an extension is 1 to {limit} working days")
    lc.check("request_extension", t.status, principal.role)
    if t.extension_state == "approved":
        raise Conflict("this ticket has already been granted an extension; only one is allowed")
    t.extension_state, t.extension_requested_days = "requested", days
    t.extension_reason, t.extension_requested_at = reason, utcnow()
    ev = await _transition(session, principal, t, "request_extension", lc.EXTENSION_REQUESTED, reason=reason,
                           data={"days": days})
    return Acted(t, [ev])


async def decide_extension(session: AsyncSession, principal: Principal, tracking_number: str, approve: bool,
                           days: int | None = None, note: str | None = None) -> Acted:
    """The centre approves (for up to the requested days) or refuses an extension."""
    t = await load(session, principal, tracking_number)
    lc.check("decide_extension", t.status, principal.role)
    requested = t.extension_requested_days or 0
    granted = None
    if approve:
        granted = requested if days is None else days
        if not 1 <= granted <= requested:
            raise InvalidAction(f"grant 1 to {requested} working days (the unit asked for {requested})")
    t.extension_state = "approved" if approve else "refused"
    t.extension_days, t.extension_decided_at = granted, utcnow()
    ev = await _transition(session, principal, t, "decide_extension",
                           lc.EXTENSION_APPROVED if approve else lc.EXTENSION_REFUSED,
                           reason=note, data={"requested_days": requested, "days": granted})
    return Acted(t, [ev])


# ---------------------------------------------------------------------------------------------
# Callback and closing


async def record_callback(session: AsyncSession, principal: Principal, tracking_number: str, satisfaction: str,
                          note: str | None = None) -> Acted:
    """回访: the citizen's verdict on the reply; unsatisfied reopens it (重办) with the same unit."""
    t = await load(session, principal, tracking_number)
    if satisfaction not in lc.SATISFACTION:
        raise InvalidAction(f"satisfaction is one of {', '.join(lc.SATISFACTION)}")
    lc.check("record_callback", t.status, principal.role)
    t.satisfaction, t.callback_at = satisfaction, utcnow()
    if satisfaction != "unsatisfied":
        ev = await _transition(session, principal, t, "record_callback", lc.CALLED_BACK,
                               target=S.CALLED_BACK, reason=note, data={"satisfaction": satisfaction})
        return Acted(t, [ev])
    t.reopen_count = (t.reopen_count or 0) + 1
    t.accepted_at = t.replied_at = None
    lead = await _lead_assignment(session, t)
    if lead is not None:
        lead.state, lead.accepted_at, lead.replied_at = "assigned", None, None
    ev = await _transition(session, principal, t, "record_callback", lc.REOPENED, target=S.REOPENED,
                           reason=note, data={"satisfaction": satisfaction, "reopen_count": t.reopen_count,
                                              "department": t.department_code})
    return Acted(t, [ev])


async def close(session: AsyncSession, principal: Principal, tracking_number: str,
                note: str | None = None) -> Acted:
    """结案."""
    t = await load(session, principal, tracking_number)
    lc.check("close", t.status, principal.role)
    t.closed_at = utcnow()
    ev = await _transition(session, principal, t, "close", lc.CLOSED, reason=note,
                           data={"satisfaction": t.satisfaction})
    return Acted(t, [ev])


# ---------------------------------------------------------------------------------------------
# The centre's other decisions


async def merge(session: AsyncSession, principal: Principal, tracking_number: str, into: str,
                note: str | None = None) -> Acted:
    """并单: this ticket is about the same matter as `into`, which carries on; this one ends."""
    t = await load(session, principal, tracking_number)
    lc.check("merge", t.status, principal.role)
    if into == tracking_number:
        raise InvalidAction("a ticket cannot be merged into itself")
    target = await repo.get_by_tracking_number_for_update(session, into)
    if target is None:
        raise InvalidAction(f"no ticket with tracking number {into} to merge into")
    if target.status in lc.TERMINAL:
        raise Conflict(f"{into} is {target.status}; merge into a ticket that is still open")
    t.merged_into_id = target.id
    ev = await _transition(session, principal, t, "merge", lc.MERGED, reason=note,
                           data={"into": into})
    ev_target = await record_event(session, target, principal, lc.MERGED_IN, reason=note,
                                   data={"from": tracking_number})
    return Acted(t, [ev, ev_target])


async def hand_off(session: AsyncSession, principal: Principal, tracking_number: str, line: str,
                   note: str | None = None) -> Acted:
    """转警: an emergency goes to 110/119/120/122; the hotline's part ends."""
    t = await load(session, principal, tracking_number)
    if line not in lc.HAND_OFF_LINES:
        raise InvalidAction(f"hand off to one of {', '.join(lc.HAND_OFF_LINES)}")
    lc.check("hand_off", t.status, principal.role)
    t.handed_off_to, t.closed_at = line, utcnow()
    ev = await _transition(session, principal, t, "hand_off", lc.HANDED_OFF, reason=note,
                           data={"line": line})
    return Acted(t, [ev])


async def refuse(session: AsyncSession, principal: Principal, tracking_number: str, reason_code: str,
                 note: str | None = None) -> Acted:
    """不予受理, with a reason from the fixed list."""
    t = await load(session, principal, tracking_number)
    if reason_code not in lc.REFUSAL_REASONS:
        raise InvalidAction(f"unknown refusal reason {reason_code!r}; one of: {', '.join(lc.REFUSAL_REASONS)}",
                            allowed_reasons=list(lc.REFUSAL_REASONS))
    if reason_code == "other":
        note = _require_text(note, "a refusal for another reason needs a note; the note")
    lc.check("refuse", t.status, principal.role)
    t.refusal_reason, t.closed_at = reason_code, utcnow()
    ev = await _transition(session, principal, t, "refuse", lc.REFUSED,
                           reason=note or lc.REFUSAL_REASONS[reason_code], data={"reason_code": reason_code})
    return Acted(t, [ev])


async def answer_directly(session: AsyncSession, principal: Principal, tracking_number: str, answer: str,
                          article_id: int | None = None) -> Acted:
    """直接办结: the agent answers a consultation from the centre's knowledge; no unit is involved."""
    t = await load(session, principal, tracking_number)
    answer = _require_text(answer, "the answer")
    lc.check("answer_directly", t.status, principal.role)
    if t.type not in lc.DIRECT_ANSWER_TYPES:
        raise Conflict(f"a {t.type} needs a unit; only {', '.join(sorted(lc.DIRECT_ANSWER_TYPES))} "
                       "tickets may be answered directly (reclassify it first if it is one)")
    now = utcnow()
    t.reply_text, t.replied_at, t.closed_at = answer, now, now
    ev = await _transition(session, principal, t, "answer_directly", lc.ANSWERED_DIRECTLY, reason=answer,
                           data={"article_id": article_id})
    return Acted(t, [ev])


async def reclassify(session: AsyncSession, principal: Principal, tracking_number: str, *,
                     type: str | None = None, topic: str | None = None, urgency: str | None = None,
                     reason: str | None = None) -> Acted:
    """Correct the type, topic or urgency the router chose (routing learns from these events)."""
    t = await load(session, principal, tracking_number)
    lc.check("reclassify", t.status, principal.role)
    if type is not None and type not in TicketType._value2member_map_:
        raise InvalidAction(f"type is one of {', '.join(TicketType)}")
    before: dict[str, str | None] = {"type": t.type, "topic": t.topic, "urgency": t.urgency}
    after = dict(before)
    for field, value in (("type", type), ("topic", topic), ("urgency", urgency)):
        if value is not None:
            after[field] = value
    if after == before:
        raise InvalidAction("nothing to change: give a type, topic or urgency different from the current one")
    t.type, t.topic, t.urgency = after["type"] or t.type, after["topic"], after["urgency"] or t.urgency
    changed = {k: v for k, v in after.items() if before[k] != v}
    ev = await _transition(session, principal, t, "reclassify", lc.RECLASSIFIED, reason=reason,
                           data={"from": {k: before[k] for k in changed}, "to": changed})
    return Acted(t, [ev])


async def add_note(session: AsyncSession, principal: Principal, tracking_number: str, text: str) -> Acted:
    """An internal note on the timeline (any state, any role that works the ticket)."""
    t = await load(session, principal, tracking_number)
    text = _require_text(text, "the note")
    lc.check("add_note", t.status, principal.role)
    ev = await _transition(session, principal, t, "add_note", lc.NOTE_ADDED, reason=text)
    return Acted(t, [ev])


async def assignments(session: AsyncSession, ticket: Ticket) -> Sequence[TicketAssignment]:
    """The units working a ticket now (lead first if it has a row, then co-handlers)."""
    rows = list(await repo.assignments_of(session, ticket.id))
    if ticket.department_code and not any(a.role == LEAD for a in rows):
        return rows  # dispatched by the router: the lead's row is made on its first action
    return sorted(rows, key=lambda a: (a.role != LEAD, a.id))


CO_ACTIONS = frozenset({"co_accept", "co_reply"})
LEAD_ONLY = frozenset({"accept", "add_progress", "reply", "return_ticket", "request_extension"})


def allowed_for(ticket: Ticket, principal: Principal, units: Sequence[TicketAssignment]) -> list[str]:
    """What this caller may do next: the machine's moves for its role, narrowed by its part on the ticket."""
    names = lc.allowed_actions_for(ticket.status, principal.role)
    if principal.role != Role.DEPARTMENT:
        return [n for n in names if n not in CO_ACTIONS]
    if principal.department_code == ticket.department_code:
        return [n for n in names if n not in CO_ACTIONS]
    mine = next((a for a in units if a.department_code == principal.department_code), None)
    if mine is None:
        return []
    done = {"co_accept": mine.accepted_at is not None, "co_reply": mine.replied_at is not None}
    return [n for n in names if n not in LEAD_ONLY and not done.get(n, False)]
