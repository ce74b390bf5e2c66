"""Knowledge articles: edit (versioned), publish, search, and pick an answer for self-service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hotline.auth.principal import Principal, Role
from hotline.kit.clock import utcnow
from hotline.kit.errors import Forbidden, NotFound
from hotline.knowledge import repository
from hotline.knowledge.models import Article, ArticleVersion
from hotline.knowledge.schemas import ArticleIn, ArticleOut, SearchHit
from hotline.knowledge.search import BM25Index, highlight

CITY_TZ = ZoneInfo("Asia/Shanghai")
EDITORS = {Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.DEPARTMENT}


def today() -> date:
    return datetime.now(CITY_TZ).date()


def to_out(a: Article, v: ArticleVersion) -> ArticleOut:
    return ArticleOut(id=a.id, status=a.status, department_code=a.department_code, version=v.version,
                      title=v.title, questions=list(v.questions or []), answer=v.answer,
                      policy_basis=v.policy_basis, valid_from=v.valid_from, valid_until=v.valid_until,
                      review_on=v.review_on, author=v.author, updated_at=a.updated_at)


def _may_edit(p: Principal, department_code: str | None) -> None:
    if p.role not in EDITORS:
        raise Forbidden("only the centre and the owning department edit articles")
    if p.role == Role.DEPARTMENT and department_code != p.department_code:
        # Another unit's article is invisible to a department, as its tickets are.
        raise NotFound("no such article")


async def create(session: AsyncSession, p: Principal, data: ArticleIn) -> ArticleOut:
    owner = p.department_code if p.role == Role.DEPARTMENT else data.department_code
    _may_edit(p, owner)
    a = Article(status="draft", department_code=owner, current_version=1)
    session.add(a)
    await session.flush()
    v = _version(a.id, 1, data, p)
    session.add(v)
    await session.flush()
    return to_out(a, v)


async def update(session: AsyncSession, p: Principal, article_id: int, data: ArticleIn) -> ArticleOut:
    """A new version; the old one stays readable (tickets answered with it cite it)."""
    a = await _get(session, p, article_id)
    a.current_version += 1
    a.updated_at = utcnow()
    v = _version(a.id, a.current_version, data, p)
    session.add(v)
    await session.flush()
    return to_out(a, v)


async def set_status(session: AsyncSession, p: Principal, article_id: int, status: str) -> ArticleOut:
    a = await _get(session, p, article_id)
    a.status = status
    a.updated_at = utcnow()
    await session.flush()
    v = await repository.version(session, a.id, a.current_version)
    assert v is not None
    return to_out(a, v)


async def get(session: AsyncSession, p: Principal, article_id: int, version: int | None = None) -> ArticleOut:
    a = await repository.get(session, article_id)
    if a is None or (p.role == Role.DEPARTMENT and a.department_code != p.department_code
                     and a.status != "published"):
        raise NotFound("no such article")
    v = await repository.version(session, article_id, version or a.current_version)
    if v is None:
        raise NotFound(f"article {article_id} has no version {version}")
    return to_out(a, v)


async def _get(session: AsyncSession, p: Principal, article_id: int) -> Article:
    a = await repository.get(session, article_id)
    if a is None:
        raise NotFound("no such article")
    _may_edit(p, a.department_code)
    return a


def _version(article_id: int, n: int, data: ArticleIn, p: Principal,
             source: str | None = None) -> ArticleVersion:
    return ArticleVersion(article_id=article_id, version=n, title=data.title, questions=data.questions,
                          answer=data.answer, policy_basis=data.policy_basis, valid_from=data.valid_from,
                          valid_until=data.valid_until, review_on=data.review_on, author=p.actor,
                          note=data.note, source_tracking_number=source)


async def draft_from_ticket(session: AsyncSession, p: Principal, tracking_number: str) -> ArticleOut:
    """知识沉淀: a draft article from an answered consultation: its question, the unit's reply."""
    from hotline.kit.errors import Conflict

    t = await repository.readable_ticket(session, p, tracking_number)
    if t is None:
        raise NotFound(f"no ticket with tracking number {tracking_number}")
    if t.type != "consultation" or not t.reply_text or t.status not in repository.ANSWERED:
        raise Conflict("only an answered consultation can become an article")
    owner = p.department_code if p.role == Role.DEPARTMENT else t.department_code
    _may_edit(p, owner)
    title = (t.subject or t.text).strip().splitlines()[0][:80]
    data = ArticleIn(title=title if len(title) >= 2 else "市民咨询", questions=[t.text[:2000]],
                     answer=t.reply_text[:20_000], department_code=owner,
                     note=f"drawn from the reply to {t.tracking_number}")
    a = Article(status="draft", department_code=owner, current_version=1)
    session.add(a)
    await session.flush()
    v = _version(a.id, 1, data, p, source=t.tracking_number)
    session.add(v)
    await session.flush()
    return to_out(a, v)


@dataclass
class _Cached:
    index: BM25Index
    versions: dict[int, ArticleVersion]
    articles: dict[int, Article]
    key: tuple[object, ...]


class KnowledgeIndex:
    """The servable articles, indexed in memory; rebuilt when an article changes or the day turns.

    Freshness costs one aggregate query per use, so an edit made by another process (the API)
    is seen by the next search or routed batch.
    """

    def __init__(self) -> None:
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._cached = None

    async def get(self, session: AsyncSession) -> _Cached:
        bind = session.bind
        engine = bind.engine if isinstance(bind, AsyncConnection) else bind
        key = (str(engine.url) if engine is not None else "", today(),
               *await repository.signature(session))
        c = self._cached
        if c and c.key == key:
            return c
        async with self._lock:
            rows = await repository.servable(session, today())
            docs = [(a.id, " ".join([v.title, *(v.questions or []), v.title, v.answer[:300]]))
                    for a, v in rows]
            index = await asyncio.to_thread(BM25Index, docs) if len(docs) > 200 else BM25Index(docs)
            self._cached = _Cached(index, {a.id: v for a, v in rows}, {a.id: a for a, _ in rows}, key)
            return self._cached

    async def search(self, session: AsyncSession, query: str, k: int = 5) -> tuple[list[SearchHit], float]:
        """The best k articles and the confidence that the first one answers the question."""
        c = await self.get(session)
        hits = c.index.search(query, max(k, 2))
        out = []
        for h in hits[:k]:
            v, a = c.versions[h.doc_id], c.articles[h.doc_id]
            out.append(SearchHit(id=a.id, version=v.version, title=v.title,
                                 snippet=highlight(v.answer, h.matched), score=round(h.score, 4),
                                 relevance=round(h.score / hits[0].score, 4),
                                 department_code=a.department_code))
        return out, round(BM25Index.confidence(hits), 4)

# One per process: the API, the router and the console's suggestions share it.
INDEX = KnowledgeIndex()
