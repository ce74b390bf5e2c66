"""SLA tables: loaded holiday years, policy versions, per-ticket clocks, ladder steps, unit contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.kit.clock import utcnow
from hotline.kit.db import Base, BigId, JsonDoc, UTCDateTime


class HolidayYear(Base):
    """One year's official schedule the centre loaded (for years chinesecalendar does not know)."""

    __tablename__ = "holiday_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    schedule: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {"holidays": [...], "workdays": [...]}
    source: Mapped[str | None] = mapped_column(String(500))
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaPolicyVersion(Base):
    """Every policy set ever in force; the highest id is the one in force now."""

    __tablename__ = "sla_policy_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_OPEN = text("met_at IS NULL")


class SlaClock(Base):
    """One stage's deadline for one ticket and one unit; a restarted stage is a new round.

    Open while `met_at` is NULL. `outcome` says how it ended: met, returned (退单), void.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        # Also serves a ticket's clocks (ticket_id leads), so ticket_id has no index of its own.
        UniqueConstraint("ticket_id", "stage", "round"),
        # The monitor's, the board's and the gauges' queries: open clocks by warning time and by
        # deadline. Partial, as every one of them says `met_at IS NULL`: most clocks are met (the
        # dispatch clock is born met at intake), and those cost no index entry.
        Index("ix_sla_clocks_open_warn", "warn_at", postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_sla_clocks_open_due", "due_at", postgresql_where=_OPEN, sqlite_where=_OPEN),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    stage: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=1)
    department_code: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # the ClockSpec it was computed from
    started_by: Mapped[str] = mapped_column(String(24))  # the lifecycle moment that started it
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    satisfaction: Mapped[str | None] = mapped_column(String(24))  # on the reply clock, from 回访
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SupervisionStep(Base):
    """A rung of the ladder taken on a reply clock: 催办, 催办通知书, 通报, 督办 — each once."""

    __tablename__ = "sla_supervision_steps"
    __table_args__ = (UniqueConstraint("clock_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clocks.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    step: Mapped[str] = mapped_column(String(24))
    department_code: Mapped[str | None] = mapped_column(String(64))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitContact(Base):
    """Where a unit's reminders go: email, SMS, and a webhook of its own system."""

    __tablename__ = "unit_contacts"

    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    sms_phone: Mapped[str | None] = mapped_column(String(32))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
