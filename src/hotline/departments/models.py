"""The department directory (承办单位)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.kit.clock import utcnow
from hotline.kit.db import Base, BigId, UTCDateTime


class DepartmentKind(StrEnum):
    CITY_DEPARTMENT = "city_department"  # 市直部门
    TOWN = "town"  # 镇
    STREET = "street"  # 街道
    PARK = "park"  # 园区
    CENTRE = "centre"  # the 12345 centre itself


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
