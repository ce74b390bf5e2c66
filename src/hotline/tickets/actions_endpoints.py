"""Lifecycle actions over HTTP: `POST /api/v1/tickets/{tracking_number}/{action}`, each idempotent.

`{action}` is the action's name in the state machine, the same names a 409 and `allowed_actions` list.

Who may do what is the state machine's table (tickets/lifecycle.py); a department reaches only
the tickets assigned to it (404 otherwise). Every action answers with the updated ticket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.deps import SessionDep
from hotline.api.idempotency import Idempotency
from hotline.auth.deps import CurrentPrincipal
from hotline.auth.principal import Principal
from hotline.tickets import actions, queries
from hotline.tickets import lifecycle as lc
from hotline.tickets import lifecycle_repository as repo
from hotline.tickets.lifecycle_schemas import (
    ActionOut,
    AnswerIn,
    AssignmentOut,
    CallbackIn,
    DispatchIn,
    ExtensionDecisionIn,
    ExtensionIn,
    HandOffIn,
    LifecycleOut,
    MachineOut,
    MergeIn,
    NoteIn,
    ProgressIn,
    ReclassifyIn,
    RefuseIn,
    ReplyIn,
    ResolveReturnIn,
    ReturnIn,
    TextIn,
    TicketActed,
    TicketLifecycle,
)
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import TicketEventOut

router = APIRouter(prefix="/api/v1/tickets", tags=["ticket lifecycle"])
machine_router = APIRouter(prefix="/api/v1/lifecycle", tags=["ticket lifecycle"])

ACTED = {"model": TicketActed, "description": "the ticket after the action"}
RESPONSES: dict[int | str, dict[str, object]] = {
    200: ACTED,
    403: {"description": "this role may not take this action"},
    404: {"description": "no such ticket, or not one assigned to the calling unit"},
    409: {"description": "not allowed from the ticket's state; `allowed_actions` lists what is"},
    422: {"description": "a code, unit or text in the body is not valid"},
}


async def _lifecycle(session: AsyncSession, principal: Principal, ticket: Ticket) -> TicketLifecycle:
    out = LifecycleOut.model_validate(ticket)
    out.merged_into = await repo.tracking_number_of(session, ticket.merged_into_id)
    units = await actions.assignments(session, ticket)
    return TicketLifecycle(tracking_number=ticket.tracking_number, status=ticket.status, lifecycle=out,
                           assignments=[AssignmentOut.model_validate(a) for a in units],
                           allowed_actions=actions.allowed_for(ticket, principal, units))


async def _acted(session: AsyncSession, principal: Principal, acted: actions.Acted, idem: Idempotency) -> Response:
    # The same view of the ticket as GET /api/v1/tickets/{tn} (scoped, identity masked), not re-audited.
    out, ticket, events = await queries.ticket_detail(session, principal, acted.ticket.tracking_number,
                                                      reveal=False)
    life = await _lifecycle(session, principal, ticket)
    body = TicketActed(**out.model_dump(), routing=ticket.routing,
                       events=[TicketEventOut.model_validate(e) for e in events],
                       lifecycle=life.lifecycle, assignments=life.assignments,
                       allowed_actions=life.allowed_actions)
    return await idem.respond(200, body)


Act = Callable[[], Awaitable[actions.Acted]]


async def _run(session: AsyncSession, principal: Principal, idem: Idempotency, act: Act) -> Response:
    if (replay := await idem.replay()) is not None:
        return replay
    return await _acted(session, principal, await act(), idem)


@router.get("/{tracking_number}/lifecycle", response_model=TicketLifecycle)
async def ticket_lifecycle(session: SessionDep, principal: CurrentPrincipal, tracking_number: str) -> TicketLifecycle:
    """Where a ticket stands: lifecycle dates and codes, its units (lead and co-handling), what the caller may do."""
    ticket = await queries.readable_ticket(session, principal, tracking_number)
    return await _lifecycle(session, principal, ticket)


@router.post("/{tracking_number}/dispatch", response_model=TicketActed, responses=RESPONSES)
async def dispatch(tracking_number: str, body: DispatchIn, session: SessionDep, principal: CurrentPrincipal,
                   idem: Idempotency) -> Response:
    """派单: send a ticket from the manual queue to a lead unit and any co-handling units."""
    return await _run(session, principal, idem, lambda: actions.dispatch(
        session, principal, tracking_number, body.department_code, body.co_departments, body.reason))


@router.post("/{tracking_number}/redispatch", response_model=TicketActed, responses=RESPONSES)
async def redispatch(tracking_number: str, body: DispatchIn, session: SessionDep, principal: CurrentPrincipal,
                     idem: Idempotency) -> Response:
    """改派: move a ticket to another lead unit (co-handlers kept unless a new list is given)."""
    return await _run(session, principal, idem, lambda: actions.redispatch(
        session, principal, tracking_number, body.department_code, body.co_departments, body.reason))


@router.post("/{tracking_number}/accept", response_model=TicketActed, responses=RESPONSES)
async def accept(tracking_number: str, session: SessionDep, principal: CurrentPrincipal, idem: Idempotency,
                 body: NoteIn | None = None) -> Response:
    """签收: the lead unit takes the ticket on (a co-handling unit: its part)."""
    return await _run(session, principal, idem, lambda: actions.accept(
        session, principal, tracking_number, body.note if body else None))


@router.post("/{tracking_number}/co_accept", response_model=TicketActed, responses=RESPONSES)
async def co_accept(tracking_number: str, session: SessionDep, principal: CurrentPrincipal, idem: Idempotency,
                    body: NoteIn | None = None) -> Response:
    """A co-handling unit (协办单位) signs for its part (the same as `accept` from a co-handler)."""
    return await _run(session, principal, idem, lambda: actions.accept(
        session, principal, tracking_number, body.note if body else None, co=True))


@router.post("/{tracking_number}/add_progress", response_model=TicketActed, responses=RESPONSES)
async def add_progress(tracking_number: str, body: ProgressIn, session: SessionDep, principal: CurrentPrincipal,
                       idem: Idempotency) -> Response:
    """A progress note from the lead unit (say whether the citizen has been contacted)."""
    return await _run(session, principal, idem, lambda: actions.add_progress(
        session, principal, tracking_number, body.text, body.contacted_citizen))


@router.post("/{tracking_number}/reply", response_model=TicketActed, responses=RESPONSES)
async def reply(tracking_number: str, body: ReplyIn, session: SessionDep, principal: CurrentPrincipal,
                idem: Idempotency) -> Response:
    """办结回复: the lead unit's reply (409 while a co-handling unit has not replied); a co-handler's reply on its part."""
    return await _run(session, principal, idem, lambda: actions.reply(
        session, principal, tracking_number, body.text, body.override_co_handlers))


@router.post("/{tracking_number}/co_reply", response_model=TicketActed, responses=RESPONSES)
async def co_reply(tracking_number: str, body: TextIn, session: SessionDep, principal: CurrentPrincipal,
                   idem: Idempotency) -> Response:
    """A co-handling unit's reply on its part (the same as `reply` from a co-handler)."""
    return await _run(session, principal, idem, lambda: actions.reply(
        session, principal, tracking_number, body.text, co=True))


@router.post("/{tracking_number}/return_ticket", response_model=TicketActed, responses=RESPONSES)
async def return_ticket(tracking_number: str, body: ReturnIn, session: SessionDep, principal: CurrentPrincipal,
                        idem: Idempotency) -> Response:
    """退单: the lead unit sends the ticket back with a reason code, before its return deadline."""
    return await _run(session, principal, idem, lambda: actions.return_ticket(
        session, principal, tracking_number, body.reason_code, body.note))


@router.post("/{tracking_number}/resolve_return", response_model=TicketActed, responses=RESPONSES)
async def resolve_return(tracking_number: str, body: ResolveReturnIn, session: SessionDep,
                         principal: CurrentPrincipal, idem: Idempotency) -> Response:
    """The centre's answer to a return: re-dispatch to the right unit, or dispute the return."""
    return await _run(session, principal, idem, lambda: actions.resolve_return(
        session, principal, tracking_number, body.decision, body.department_code, body.co_departments, body.note))


@router.post("/{tracking_number}/request_extension", response_model=TicketActed, responses=RESPONSES)
async def request_extension(tracking_number: str, body: ExtensionIn, session: SessionDep,
                            principal: CurrentPrincipal, idem: Idempotency) -> Response:
    """延期申请: the lead unit asks for more working days."""
    return await _run(session, principal, idem, lambda: actions.request_extension(
        session, principal, tracking_number, body.days, body.reason))


@router.post("/{tracking_number}/decide_extension", response_model=TicketActed, responses=RESPONSES)
async def decide_extension(tracking_number: str, body: ExtensionDecisionIn, session: SessionDep,
                           principal: CurrentPrincipal, idem: Idempotency) -> Response:
    """The centre approves (deadline recalculated) or refuses an extension."""
    return await _run(session, principal, idem, lambda: actions.decide_extension(
        session, principal, tracking_number, body.approve, body.days, body.note))


@router.post("/{tracking_number}/record_callback", response_model=TicketActed, responses=RESPONSES)
async def record_callback(tracking_number: str, body: CallbackIn, session: SessionDep,
                          principal: CurrentPrincipal, idem: Idempotency) -> Response:
    """回访: the citizen's satisfaction; unsatisfied reopens the ticket (重办) with the same unit."""
    return await _run(session, principal, idem, lambda: actions.record_callback(
        session, principal, tracking_number, body.satisfaction, body.note))


@router.post("/{tracking_number}/close", response_model=TicketActed, responses=RESPONSES)
async def close(tracking_number: str, session: SessionDep, principal: CurrentPrincipal, idem: Idempotency,
                body: NoteIn | None = None) -> Response:
    """结案: close a replied (and called-back) ticket."""
    return await _run(session, principal, idem, lambda: actions.close(
        session, principal, tracking_number, body.note if body else None))


@router.post("/{tracking_number}/merge", response_model=TicketActed, responses=RESPONSES)
async def merge(tracking_number: str, body: MergeIn, session: SessionDep, principal: CurrentPrincipal,
                idem: Idempotency) -> Response:
    """并单: merge this ticket into another about the same matter; this one ends."""
    return await _run(session, principal, idem, lambda: actions.merge(
        session, principal, tracking_number, body.into, body.note))


@router.post("/{tracking_number}/hand_off", response_model=TicketActed, responses=RESPONSES)
async def hand_off(tracking_number: str, body: HandOffIn, session: SessionDep, principal: CurrentPrincipal,
                   idem: Idempotency) -> Response:
    """转警: hand an emergency to 110, 119, 120 or 122."""
    return await _run(session, principal, idem, lambda: actions.hand_off(
        session, principal, tracking_number, body.line, body.note))


@router.post("/{tracking_number}/refuse", response_model=TicketActed, responses=RESPONSES)
async def refuse(tracking_number: str, body: RefuseIn, session: SessionDep, principal: CurrentPrincipal,
                 idem: Idempotency) -> Response:
    """不予受理, with a reason code."""
    return await _run(session, principal, idem, lambda: actions.refuse(
        session, principal, tracking_number, body.reason_code, body.note))


@router.post("/{tracking_number}/answer_directly", response_model=TicketActed, responses=RESPONSES)
async def answer_directly(tracking_number: str, body: AnswerIn, session: SessionDep, principal: CurrentPrincipal,
                          idem: Idempotency) -> Response:
    """直接办结: the agent answers a consultation at once; no unit is involved."""
    return await _run(session, principal, idem, lambda: actions.answer_directly(
        session, principal, tracking_number, body.answer, body.article_id))


@router.post("/{tracking_number}/reclassify", response_model=TicketActed, responses=RESPONSES)
async def reclassify(tracking_number: str, body: ReclassifyIn, session: SessionDep, principal: CurrentPrincipal,
                     idem: Idempotency) -> Response:
    """Correct the type, topic or urgency (routing learns from these corrections)."""
    return await _run(session, principal, idem, lambda: actions.reclassify(
        session, principal, tracking_number, type=body.type, topic=body.topic, urgency=body.urgency,
        reason=body.reason))


@router.post("/{tracking_number}/add_note", response_model=TicketActed, responses=RESPONSES)
async def add_note(tracking_number: str, body: TextIn, session: SessionDep, principal: CurrentPrincipal,
                   idem: Idempotency) -> Response:
    """An internal note on the ticket's timeline."""
    return await _run(session, principal, idem, lambda: actions.add_note(
        session, principal, tracking_number, body.text))


@machine_router.get("", response_model=MachineOut)
async def lifecycle_machine(principal: CurrentPrincipal) -> MachineOut:
    """The state machine itself: states, each action's roles and moves, and the fixed reason codes."""
    return MachineOut(
        states=[s.value for s in lc.ALL_STATES], terminal=sorted(lc.TERMINAL),
        actions=[ActionOut(name=a.name, roles=sorted(r.value for r in a.roles), help=a.help,
                           moves={s.value: [t.value for t in ts] for s, ts in a.moves.items()})
                 for a in lc.ACTIONS.values()],
        return_reasons=dict(lc.RETURN_REASONS), refusal_reasons=dict(lc.REFUSAL_REASONS),
        hand_off_lines=dict(lc.HAND_OFF_LINES), satisfaction=list(lc.SATISFACTION),
    )
