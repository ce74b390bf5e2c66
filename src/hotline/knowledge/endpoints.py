"""The knowledge base API: search for agents (and the console), edit for the centre and owners."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from hotline.api.deps import SessionDep
from hotline.auth.deps import CurrentPrincipal, TicketReader
from hotline.auth.principal import Role
from hotline.kit.cursors import decode_id_cursor as decode_cursor
from hotline.kit.cursors import encode_id_cursor as encode_cursor
from hotline.kit.errors import HotlineError, NotFound
from hotline.knowledge import repository, service
from hotline.knowledge.schemas import ArticleIn, ArticleOut, ArticlePage, SearchResult
from hotline.tickets import public as public_words

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
ArticleId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the article's id")]

STATUSES = ("draft", "published", "archived")


@router.get("/search", response_model=SearchResult)
async def search(session: SessionDep, principal: TicketReader,
                 q: Annotated[str, Query(min_length=1, max_length=2000)],
                 limit: Annotated[int, Query(ge=1, le=20)] = 5) -> SearchResult:
    """Published articles in force today that answer a citizen's question, best first, highlighted."""
    items, confidence = await service.INDEX.search(session, q, limit)
    return SearchResult(query=q, confidence=confidence, items=items)


@router.get("/articles", response_model=ArticlePage)
async def list_articles(session: SessionDep, principal: TicketReader,
                        status: str | None = None, department: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50,
                        cursor: str | None = None) -> ArticlePage:
    """Articles (current versions), oldest first; a department sees its own and published ones."""
    if principal.role == Role.DEPARTMENT and status != "published":
        department = principal.department_code
    rows = await repository.current(session, status, department, limit + 1,
                                    decode_cursor(cursor) if cursor else None)
    items = [service.to_out(a, v) for a, v in rows[:limit]]
    return ArticlePage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.get("/articles/stale", response_model=list[ArticleOut])
async def stale(session: SessionDep, principal: TicketReader) -> list[ArticleOut]:
    """Published articles past their review date: to be checked by their owner (a department sees its own)."""
    code = principal.department_code if principal.role == Role.DEPARTMENT else None
    return [service.to_out(a, v) for a, v in await repository.stale(session, service.today(), code)]


@router.post("/articles", response_model=ArticleOut, status_code=201)
async def create(session: SessionDep, principal: CurrentPrincipal, body: ArticleIn) -> ArticleOut:
    """Write a new article (a draft); a department's article is owned by that department."""
    out = await service.create(session, principal, body)
    return out


class Candidate(BaseModel):
    tracking_number: str
    department_code: str | None
    question: str
    reply: str
    replied_at: datetime | None


class CandidatePage(BaseModel):
    items: list[Candidate]
    next_cursor: str | None


@router.get("/candidates", response_model=CandidatePage)
async def candidates(session: SessionDep, principal: TicketReader,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     cursor: str | None = None) -> CandidatePage:
    """Answered consultations no article was drawn from: should the answer become an article? (a unit sees its own)"""
    rows = await repository.answered_consultations(session, principal, limit + 1,
                                                   decode_cursor(cursor) if cursor else None)
    items = [Candidate(tracking_number=t.tracking_number, department_code=t.department_code, question=t.text,
                       reply=t.reply_text or "", replied_at=t.replied_at) for t in rows[:limit]]
    return CandidatePage(items=items,
                         next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)


@router.post("/articles/from-ticket/{tracking_number}", response_model=ArticleOut, status_code=201)
async def from_ticket(session: SessionDep, principal: TicketReader, tracking_number: str) -> ArticleOut:
    """Draft an article from an answered consultation (its question, the unit's reply), owned by that unit."""
    return await service.draft_from_ticket(session, principal, tracking_number)


@router.get("/articles/{article_id}", response_model=ArticleOut)
async def get(session: SessionDep, principal: TicketReader, article_id: ArticleId,
              version: int | None = None) -> ArticleOut:
    """One article, its current version or the `version` asked for."""
    return await service.get(session, principal, article_id, version)


@router.get("/articles/{article_id}/versions", response_model=list[ArticleOut])
async def versions(session: SessionDep, principal: TicketReader, article_id: ArticleId) -> list[ArticleOut]:
    """Every version of an article, oldest first, with who wrote each."""
    current = await service.get(session, principal, article_id)
    a = await repository.get(session, article_id)
    assert a is not None
    return [service.to_out(a, v).model_copy(update={"status": current.status})
            for v in await repository.versions(session, article_id)]


@router.put("/articles/{article_id}", response_model=ArticleOut)
async def update(session: SessionDep, principal: CurrentPrincipal, article_id: ArticleId,
                 body: ArticleIn) -> ArticleOut:
    """Edit an article: a new version; tickets answered with an older one still cite it."""
    out = await service.update(session, principal, article_id, body)
    service.INDEX.invalidate()
    return out


@router.post("/articles/{article_id}/{status}", response_model=ArticleOut)
async def set_status(session: SessionDep, principal: CurrentPrincipal, article_id: ArticleId,
                     status: str) -> ArticleOut:
    """Publish, unpublish (draft) or archive an article (`publish`, `draft`, `archive`)."""
    target = {"publish": "published", "draft": "draft", "archive": "archived"}.get(status)
    if target is None:
        raise HotlineError(f"unknown action {status!r}: use publish, draft or archive")
    out = await service.set_status(session, principal, article_id, target)
    service.INDEX.invalidate()
    return out


public_router = APIRouter(prefix="/api/v1/public", tags=["public"])


class PublicTicketStatus(BaseModel):
    tracking_number: str
    status: str
    status_text: str
    type: str
    received_at: datetime
    replied_at: datetime | None = None


@public_router.get("/tickets/{tracking_number}", response_model=PublicTicketStatus)
async def public_status(session: SessionDep, tracking_number: str) -> PublicTicketStatus:
    """A ticket's state as its citizen may see it (web, app): no notes, no units' steps, no identity."""
    from hotline.tickets import repository as tickets_repo

    t = await tickets_repo.get_by_tracking_number(session, tracking_number.upper())
    if t is None:
        raise NotFound(f"no ticket with tracking number {tracking_number}")
    return PublicTicketStatus(tracking_number=t.tracking_number, status=t.status,
                              status_text=public_words.public_status(t.status), type=t.type,
                              received_at=t.received_at, replied_at=getattr(t, "replied_at", None))
