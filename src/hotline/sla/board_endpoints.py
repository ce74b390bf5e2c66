"""The supervisors' SLA board (督办看板): warnings and breaches by unit, right now."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from hotline.api.deps import SessionDep
from hotline.auth.deps import AgentRole
from hotline.kit.clock import utcnow
from hotline.sla import board_repository

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])


class UnitSla(BaseModel):
    department_code: str
    open: int
    warnings: int
    breaches: int
    next_due_at: datetime | None


class SlaBoard(BaseModel):
    at: datetime
    units: list[UnitSla]


@router.get("/board", response_model=SlaBoard)
async def sla_board(session: SessionDep, _: AgentRole) -> SlaBoard:
    """Open deadlines per unit: how many are nearing their limit (预警) and how many are past it (超时)."""
    now = utcnow()
    return SlaBoard(at=now, units=[UnitSla(**r) for r in await board_repository.board(session, now)])
