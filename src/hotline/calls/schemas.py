"""What the API shows of a call."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CallOut(BaseModel):
    call_id: str
    direction: str
    caller: str | None  # None when hidden: the call's ticket protects its citizen (举报人保护)
    callee: str | None
    agents: list[str]
    answering_number: str | None
    queue: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    cause: str | None
    missed: bool
    recording_url: str | None
    tracking_number: str | None  # the ticket the agent wrote for it, if any
    citizen_hidden: bool = False  # the citizen's number is withheld from this list (see the call itself)


class CallPage(BaseModel):
    items: list[CallOut]
    next_cursor: str | None
