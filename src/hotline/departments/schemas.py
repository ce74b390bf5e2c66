from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hotline.departments.models import DepartmentKind
from hotline.tickets.schemas import TicketOut


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    active: bool = True


class DepartmentPage(BaseModel):
    items: list[DepartmentOut]
    next_cursor: str | None = None


class DepartmentCreate(BaseModel):
    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: DepartmentKind


class DepartmentUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: DepartmentKind | None = None
    active: bool | None = None


class DepartmentQueuePage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="more tickets wait: ask again with this cursor")
    resume_cursor: str | None = Field(description="where the next poll should start (with `cursor`)")
