from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
    citizen: CitizenOut | None = None


class TicketDetail(TicketOut):
    routing: dict[str, Any] | None
    events: list[TicketEventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None
