"""What the platform-channel tests look at: the tickets and intake records really in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hotline.intake.models import IntakeRecord
from hotline.kit.db import Database
from hotline.tickets.models import CitizenContact, Ticket


@dataclass(frozen=True)
class StoredTicket:
    tracking_number: str
    channel: str
    text: str
    identity_kind: str | None
    identity: str | None
    lat: float | None
    lng: float | None
    intake: dict[str, Any]  # the normalized message as the router stored it


async def stored_tickets(db: Database) -> list[StoredTicket]:
    async with db.sessions() as s:
        rows = (await s.execute(
            select(Ticket, CitizenContact, IntakeRecord)
            .outerjoin(CitizenContact, CitizenContact.id == Ticket.citizen_id)
            .outerjoin(IntakeRecord, IntakeRecord.ticket_id == Ticket.id)
            .order_by(Ticket.id)
        )).all()
    return [StoredTicket(t.tracking_number, t.channel, t.text,
                         c.identity_kind if c else None, c.identity if c else None, t.lat, t.lng,
                         i.payload if i else {})
            for t, c, i in rows]


async def stored_by_number(db: Database) -> dict[str, StoredTicket]:
    return {t.tracking_number: t for t in await stored_tickets(db)}
