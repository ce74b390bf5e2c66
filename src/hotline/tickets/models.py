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
    # The lifecycle (src/hotline/tickets/lifecycle.py holds the transitions between these).
    ACCEPTED = "accepted"  # 已签收
    IN_PROGRESS = "in_progress"  # 办理中
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请中
    RETURNED = "returned"  # 已退单, waiting for the centre
    DISPUTE_REVIEW = "dispute_review"  # the centre disputes a return (退单争议)
    REPLIED = "replied"  # 办结回复, waiting for the callback
    CALLED_BACK = "called_back"  # 已回访 (satisfied or basically satisfied)
    REOPENED = "reopened"  # 重办: back with the same unit after an unsatisfied callback
    CLOSED = "closed"  # 已结案
    MERGED = "merged"  # 并单 into another ticket
    HANDED_OFF = "handed_off"  # 转 110/119/120/122
    REFUSED = "refused"  # 不予受理
    ANSWERED_DIRECTLY = "answered_directly"  # 直接办结 by an agent


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
    # Lifecycle (src/hotline/tickets/actions.py writes these).
    return_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 退单 allowed until
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the unit reached the citizen
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_text: Mapped[str | None] = mapped_column(Text)  # 办结回复 (or the agent's direct answer)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(String(40))  # a RETURN_REASONS code
    return_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_state: Mapped[str | None] = mapped_column(String(16))  # requested|approved|refused
    extension_requested_days: Mapped[int | None] = mapped_column(Integer)  # working days
    extension_days: Mapped[int | None] = mapped_column(Integer)  # granted working days
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[str | None] = mapped_column(String(24))  # 回访 outcome
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 重办
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    handed_off_to: Mapped[str | None] = mapped_column(String(8))  # 110/119/120/122
    refusal_reason: Mapped[str | None] = mapped_column(String(40))  # a REFUSAL_REASONS code
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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


class TicketAssignment(Base):
    """A unit working a ticket: the lead unit (主办) or a co-handling unit (协办)."""

    __tablename__ = "ticket_assignments"
    __table_args__ = (
        UniqueConstraint("ticket_id", "department_code"),
        # A department's scope: the tickets it is assigned to.
        Index("ix_ticket_assignments_department", "department_code", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    role: Mapped[str] = mapped_column(String(8))  # lead | co
    state: Mapped[str] = mapped_column(String(16))  # assigned|accepted|replied|returned|withdrawn
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
