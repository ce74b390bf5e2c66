"""Routing's tables: the dispatch catalogue's versions (派单目录), every change kept.

(`routing/models.py` holds the learned classifiers, so the tables live here.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.kit.clock import utcnow
from hotline.kit.db import Base, BigId, JsonDoc, UTCDateTime


class DispatchCatalogueVersion(Base):
    """One saved version of the catalogue; exactly one is active (the router's)."""

    __tablename__ = "dispatch_catalogue_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
