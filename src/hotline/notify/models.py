"""The outbox: side effects written in the same transaction as the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.kit.clock import utcnow
from hotline.kit.db import Base, BigId, JsonDoc, UTCDateTime


class OutboxMessage(Base):
    """One message to deliver (a Kafka record, an email, an SMS…), at least once."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The relay's only query: unsent rows that are due, oldest first.
        Index("ix_outbox_due", "sent_at", "next_attempt_at", "id"),
        # Keeps one key's messages in order (an older unsent row of the key blocks the rest).
        Index("ix_outbox_key", "kind", "key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # which sender delivers it
    destination: Mapped[str | None] = mapped_column(String(500))  # topic, address, URL…
    key: Mapped[str | None] = mapped_column(String(200))  # ordering/partition key
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
