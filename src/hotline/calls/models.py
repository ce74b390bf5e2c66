"""One row per phone call, built up from the PBX's newCall/answer/hangup events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.kit.clock import utcnow
from hotline.kit.db import Base, BigId, JsonDoc, UTCDateTime


class Call(Base):
    """A call to or from the hotline; a ticket is linked when the agent who took it writes one."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_missed_id", "missed", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(200), unique=True)  # the PBX's callId
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    caller: Mapped[str] = mapped_column(String(64), index=True)  # E.164, or "anonymous"
    callee: Mapped[str | None] = mapped_column(String(64))
    agents: Mapped[list[str] | None] = mapped_column(JsonDoc)  # the PBX's `user` (坐席)
    answering_number: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cause: Mapped[str | None] = mapped_column(String(32))  # normalClearing, cancel, noAnswer, …
    recording_url: Mapped[str | None] = mapped_column(String(2000))
    # An inbound call nobody answered (cancel/noAnswer): kept for call-back (回拨).
    missed: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # extra CDR fields the PBX sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
