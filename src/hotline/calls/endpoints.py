"""Calls for agents: the call log and the missed-call list to call back (回拨).

A call linked to a confidential ticket (a whistle-blower's report) follows the tickets' rule
(tickets/queries.py): the citizen's number is masked in lists, and shown on the call itself
only to the centre, each showing written to `identity_views`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from hotline.api.deps import SessionDep
from hotline.auth import service as auth
from hotline.auth.deps import CentreOnly
from hotline.calls import repository, service
from hotline.calls.models import Call
from hotline.calls.repository import LinkedTicket
from hotline.calls.schemas import CallOut, CallPage

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


def _out(call: Call, ticket: LinkedTicket | None, reveal: bool) -> CallOut:
    hide = ticket is not None and ticket.confidential and not reveal
    # The citizen's end of the line: the caller of an inbound call, the callee of a call back.
    citizen_end = "callee" if call.direction == "out" else "caller"
    return CallOut(call_id=call.call_id, direction=call.direction,
                   caller=None if hide and citizen_end == "caller" else call.caller,
                   callee=None if hide and citizen_end == "callee" else call.callee, agents=call.agents or [],
                   answering_number=call.answering_number, queue=call.queue,
                   started_at=call.started_at, answered_at=call.answered_at, ended_at=call.ended_at,
                   cause=call.cause, missed=call.missed, recording_url=None if hide else call.recording_url,
                   tracking_number=ticket.tracking_number if ticket else None, citizen_hidden=hide)


@router.get("", response_model=CallPage)
async def list_calls(
    session: SessionDep,
    _: CentreOnly,
    missed: bool | None = None,
    since: datetime | None = None,
    linked: Annotated[bool | None, Query(description="has a ticket (false = still to handle)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> CallPage:
    """Calls, newest first; `missed=true&linked=false` is the list of callers to call back."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without a zone is read as UTC
    f = repository.CallFilter(missed=missed, since=since, linked=linked)
    rows, next_cursor = await repository.list_calls(session, f, limit, cursor)
    return CallPage(items=[_out(c, t, reveal=False) for c, t in rows], next_cursor=next_cursor)


@router.get("/{call_id}", response_model=CallOut)
async def get_call(session: SessionDep, principal: CentreOnly, call_id: str) -> CallOut:
    """One call, with the ticket written for it; a protected citizen's number is shown here, audited."""
    call, ticket = await service.get_call(session, call_id)
    if ticket is not None and ticket.confidential:
        await auth.record_identity_views(session, principal, [ticket.id], "call_detail")
    return _out(call, ticket, reveal=True)
