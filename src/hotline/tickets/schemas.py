from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hotline.tickets.models import TicketType


class TicketEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    data: dict[str, Any] | None
    created_at: datetime


class CitizenOut(BaseModel):
    """Who filed the ticket. `hidden`: a report (举报) or a citizen who asked for confidentiality;
    name and contact are then withheld from departments, lists and exports (the centre sees them on
    the ticket detail, and each such view is audited)."""

    name: str | None
    phone: str | None
    email: str | None
    hidden: bool = False


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tracking_number: str
    type: str
    status: str
    channel: str
    subject: str | None
    text: str
    topic: str | None
    town_code: str | None
    urgency: str
    department_code: str | None
    location_address: str | None
    lat: float | None
    lng: float | None
    dispatch_due_at: datetime | None
    reply_due_at: datetime | None
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    confidential: bool = False
    # The callback (回访): the citizen's verdict, when it was taken, how often the ticket was reopened
    # (重办) — in lists and department polls too, so a unit sees a reopened ticket as one.
    satisfaction: str | None = None
    callback_at: datetime | None = None
    reopen_count: int = 0
    citizen: CitizenOut | None = None

    @field_validator("reopen_count", mode="before")
    @classmethod
    def _none_is_zero(cls, v: int | None) -> int:
        return v or 0


class TicketDetail(TicketOut):
    routing: dict[str, Any] | None
    events: list[TicketEventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class NewTicket(BaseModel):
    """What an agent types while on the phone (坐席录单)."""

    call_id: str | None = Field(None, max_length=100, description="the PBX call this ticket comes from")
    phone: str = Field(min_length=3, max_length=32, description="the caller's number; stored in E.164")
    name: str | None = Field(None, max_length=100)
    type: TicketType | None = Field(None, description="the agent's classification; unset = the router decides")
    subject: str | None = Field(None, max_length=500)
    text: str = Field(min_length=1, max_length=20_000)
    place: str | None = Field(None, max_length=500, description="the address the matter concerns")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    confidential: bool = Field(False, description="the caller asked not to be named (保密)")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text must not be blank")
        return v.strip()


class TicketEventPage(BaseModel):
    items: list[TicketEventOut]
    next_cursor: str | None


class CitizenLookup(BaseModel):
    """A caller's history (来电弹屏): who they are and their previous tickets, newest first."""

    phone: str
    citizen: CitizenOut | None
    tickets: list[TicketOut]
    next_cursor: str | None
