"""Tickets, the citizens behind them, and the append-only event timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.kit.clock import utcnow
from hotline.kit.db import Base, BigId, JsonDoc, UTCDateTime


class TicketType(StrEnum):
    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬
    OTHER = "other"  # 其他


class TicketStatus(StrEnum):
    RECEIVED = "received"
    PENDING_DISPATCH = "pending_dispatch"  # in the agents' manual dispatch queue (待派单)
    DISPATCHED = "dispatched"  # 已派单


class CitizenContact(Base):
    """A citizen as a channel identifies them; kept apart from tickets so it can be hidden."""

    __tablename__ = "citizens"
    __table_args__ = (UniqueConstraint("identity_kind", "identity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    identity_kind: Mapped[str] = mapped_column(String(32))
    identity: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_department_updated", "department_code", "updated_at", "id"),
        Index("ix_tickets_status_id", "status", "id"),
        # Full-text search in Chinese (ILIKE '%…%'): a trigram GIN index on PostgreSQL, plain on SQLite.
        Index("ix_tickets_text_trgm", "text", postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tracking_number: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(16), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(64))
    town_code: Mapped[str | None] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    location_address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    routing: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA (src/hotline/sla): the other stage deadlines, and the clock paused while waiting on
    # the citizen (sla_paused_seconds = working seconds paused so far).
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 并单 and hot issues (routing/duplicates.py, set at ingest): the probable earlier ticket on the
    # same matter, and the first ticket of the cluster this one belongs to (its own id if none).
    probable_duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    issue_cluster_id: Mapped[int | None] = mapped_column(BigId, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TicketEvent(Base):
    """Append-only audit timeline: who did what to a ticket, when, from which state to which."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
