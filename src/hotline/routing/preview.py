"""Routing preview for the console: what the router would decide for a text, before any ticket exists."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from hotline.api.deps import SessionDep
from hotline.auth.deps import AgentRole
from hotline.knowledge.schemas import SearchHit
from hotline.knowledge.service import INDEX
from hotline.routing.engine import Router
from hotline.routing.schemas import RoutingDecision

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])


class PreviewIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    place: str | None = Field(None, max_length=500)


class PreviewOut(BaseModel):
    decision: RoutingDecision
    articles: list[SearchHit]
    article_confidence: float


@router.post("/preview", response_model=PreviewOut)
async def preview(request: Request, session: SessionDep, principal: AgentRole, body: PreviewIn) -> PreviewOut:
    """Type, topic, place, urgency and unit the router would choose, and the articles that may answer it."""
    engine: Router | None = getattr(request.app.state, "preview_router", None)
    if engine is None:
        engine = request.app.state.preview_router = Router.from_settings(request.app.state.settings)
    await engine.refresh(session)
    text = "\n".join(p for p in (body.text, body.place) if p)
    [decision] = engine.route_batch([text])
    articles, confidence = await INDEX.search(session, body.text, 3)
    return PreviewOut(decision=decision, articles=articles, article_confidence=confidence)
