"""The directory of units, readable by everyone signed in."""

from __future__ import annotations

from fastapi import APIRouter

from hotline.api.deps import SessionDep
from hotline.auth.deps import CurrentPrincipal
from hotline.departments import repository
from hotline.departments.schemas import DepartmentOut

router = APIRouter(prefix="/api/v1/departments", tags=["departments"])


@router.get("", response_model=dict[str, list[DepartmentOut]])
async def list_departments(session: SessionDep, principal: CurrentPrincipal, kind: str | None = None) -> dict[str, list[DepartmentOut]]:
    """The units tickets are dispatched to: city departments, towns, streets and parks."""
    items = await repository.list_departments(session, kind)
    return {"items": [DepartmentOut.model_validate(d) for d in items]}
