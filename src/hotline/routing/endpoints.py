"""Smart dispatch over HTTP: the manual dispatch queue, hot issues, the dispatch catalogue (admin)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from hotline.api.deps import SessionDep, SettingsDep
from hotline.auth.deps import AdminOnly, AgentRole, SupervisorRole
from hotline.kit.clock import utcnow
from hotline.routing import repository, service

router = APIRouter(prefix="/api/v1", tags=["dispatch"])

CATALOGUE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"},
                         "example": "rule,topic,area,type,lead,co,keywords,note\n"
                                    "env-noise,环境保护,*,*,env,@town,噪音|扰民,\n"},
            "application/json": {"schema": {"type": "object", "properties": {
                "rows": {"type": "array", "items": {"type": "object"}}, "note": {"type": "string"}}}},
        },
    }
}


class Suggestion(BaseModel):
    department_code: str | None = None
    department_name: str | None = None
    co_department_codes: list[str] = Field(default_factory=list)
    rule: str | None = None
    share: float | None = Field(None, description="this unit's share of the routing evidence")
    reasons: list[str] = Field(default_factory=list)


class QueuedTicket(BaseModel):
    tracking_number: str
    type: str
    topic: str | None
    town_code: str | None
    urgency: str
    channel: str
    subject: str | None
    text: str
    received_at: datetime
    confidence: float | None
    why_queued: list[str] = Field(description="the router's reasons, ending with why it did not dispatch")
    handoff: dict[str, Any] | None
    refusal: dict[str, Any] | None
    probable_duplicate_of: str | None = None
    suggestions: list[Suggestion]


class QueuePage(BaseModel):
    items: list[QueuedTicket]
    next_cursor: str | None


@router.get("/dispatch-queue", response_model=QueuePage)
async def dispatch_queue(
    session: SessionDep,
    principal: AgentRole,
    urgency: Annotated[str | None, Query(description="normal | utilities | emergency")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> QueuePage:
    """Tickets waiting for an agent to dispatch (待派单), newest first, each with the top 3 suggestions."""
    rows, next_cursor = await repository.dispatch_queue(session, limit, cursor, urgency)
    _, _, names = await repository.directory(session)
    dup_ids = {t.probable_duplicate_of for t in rows if t.probable_duplicate_of}
    dup_numbers = await repository.tracking_numbers(session, dup_ids)
    items = []
    for t in rows:
        routing = t.routing or {}
        suggestions = [Suggestion(**{k: v for k, v in s.items() if k in Suggestion.model_fields},
                                  department_name=names.get(str(s.get("department_code"))))
                       for s in routing.get("suggestions") or [] if s.get("department_code")][:3]
        items.append(QueuedTicket(
            tracking_number=t.tracking_number, type=t.type, topic=t.topic, town_code=t.town_code,
            urgency=t.urgency, channel=t.channel, subject=t.subject, text=t.text, received_at=t.received_at,
            confidence=routing.get("confidence"), why_queued=routing.get("reasons") or [],
            handoff=routing.get("handoff"), refusal=routing.get("refusal"),
            probable_duplicate_of=dup_numbers.get(t.probable_duplicate_of) if t.probable_duplicate_of else None,
            suggestions=suggestions))
    return QueuePage(items=items, next_cursor=next_cursor)


class HotIssue(BaseModel):
    cluster_id: int
    ticket_count: int
    town_code: str | None
    topic: str | None
    sample_tracking_number: str | None
    sample_text: str
    first_received_at: datetime
    last_received_at: datetime
    tracking_numbers: list[str]


@router.get("/hot-issues", response_model=dict[str, list[HotIssue]])
async def hot_issues(
    session: SessionDep,
    settings: SettingsDep,
    principal: SupervisorRole,
    town: Annotated[str | None, Query(description="only this town / street / park code")] = None,
    hours: Annotated[float | None, Query(gt=0, le=24 * 90, description="look back this many hours")] = None,
    min_tickets: Annotated[int | None, Query(ge=2, le=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, list[HotIssue]]:
    """Hot issues (热点): many tickets on one issue in one place, biggest first."""
    since = utcnow() - timedelta(hours=hours or settings.hot_issue_window_hours)
    rows = await repository.hot_issues(session, since, min_tickets or settings.hot_issue_min_tickets, limit, town)
    return {"items": [HotIssue(**r) for r in rows]}


@router.get("/admin/catalogue")
async def get_catalogue(session: SessionDep, principal: AdminOnly) -> dict[str, Any]:
    """The active dispatch catalogue (派单目录) and every saved version, with who saved it and when."""
    return await service.catalogue_overview(session)


@router.put("/admin/catalogue", openapi_extra=CATALOGUE_BODY)
async def put_catalogue(
    request: Request, session: SessionDep, principal: AdminOnly,
    note: Annotated[str | None, Query(max_length=2000, description="why this change")] = None,
) -> dict[str, Any]:
    """Save a new catalogue version (CSV, or JSON rows) and make it active; a bad row is a 422 naming its line."""
    body = await request.body()
    content_type = request.headers.get("content-type", "text/csv")
    return await service.save_catalogue(session, body, content_type, principal.actor, note)


@router.post("/admin/catalogue/versions/{version}/restore")
async def restore_catalogue(version: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep,
                            principal: AdminOnly) -> dict[str, Any]:
    """Make an earlier version current again (saved as a new version, so the change is kept too)."""
    return await service.restore_catalogue(session, version, principal.actor)
