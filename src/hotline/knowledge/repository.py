"""All SQL for the knowledge base."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.principal import Principal
from hotline.knowledge.models import Article, ArticleVersion
from hotline.tickets.models import Ticket
from hotline.tickets.repository import readable


async def get(session: AsyncSession, article_id: int) -> Article | None:
    return await session.get(Article, article_id)


async def version(session: AsyncSession, article_id: int, v: int) -> ArticleVersion | None:
    return await session.scalar(select(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.version == v))


async def versions(session: AsyncSession, article_id: int) -> Sequence[ArticleVersion]:
    return (await session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                                  .order_by(ArticleVersion.version))).all()


async def current(session: AsyncSession, status: str | None = None,
                  department_code: str | None = None, limit: int = 50,
                  after_id: int | None = None) -> Sequence[tuple[Article, ArticleVersion]]:
    stmt = (select(Article, ArticleVersion)
            .join(ArticleVersion, and_(ArticleVersion.article_id == Article.id,
                                       ArticleVersion.version == Article.current_version)))
    if status:
        stmt = stmt.where(Article.status == status)
    if department_code:
        stmt = stmt.where(Article.department_code == department_code)
    if after_id:
        stmt = stmt.where(Article.id > after_id)
    rows = await session.execute(stmt.order_by(Article.id).limit(limit))
    return [(a, v) for a, v in rows]


async def servable(session: AsyncSession, today: date) -> Sequence[tuple[Article, ArticleVersion]]:
    """Published articles whose current version is in force today: the only ones ever served."""
    stmt = (select(Article, ArticleVersion)
            .join(ArticleVersion, and_(ArticleVersion.article_id == Article.id,
                                       ArticleVersion.version == Article.current_version))
            .where(Article.status == "published",
                   or_(ArticleVersion.valid_from.is_(None), ArticleVersion.valid_from <= today),
                   or_(ArticleVersion.valid_until.is_(None), ArticleVersion.valid_until >= today)))
    return [(a, v) for a, v in await session.execute(stmt)]


async def stale(session: AsyncSession, today: date, department_code: str | None) -> Sequence[tuple[Article, ArticleVersion]]:
    stmt = (select(Article, ArticleVersion)
            .join(ArticleVersion, and_(ArticleVersion.article_id == Article.id,
                                       ArticleVersion.version == Article.current_version))
            .where(Article.status == "published", ArticleVersion.review_on.is_not(None),
                   ArticleVersion.review_on < today))
    if department_code:
        stmt = stmt.where(Article.department_code == department_code)
    return [(a, v) for a, v in await session.execute(stmt.order_by(ArticleVersion.review_on))]


def add(session: AsyncSession, obj: Article | ArticleVersion) -> None:
    session.add(obj)


async def signature(session: AsyncSession) -> tuple[object, ...]:
    """Changes whenever an article is added, edited, published or archived: one cheap query."""
    row = (await session.execute(select(func.count(), func.max(Article.updated_at), func.max(Article.id),
                                        func.sum(Article.current_version)))).one()
    return tuple(row)


ANSWERED = ("replied", "called_back", "closed")


async def answered_consultations(session: AsyncSession, principal: Principal, limit: int,
                                 before_id: int | None = None) -> Sequence[Ticket]:
    """Consultations a unit has answered that no article was drawn from yet (scoped like every
    ticket query): the centre asks their units whether the answer should become an article."""
    drawn = select(ArticleVersion.source_tracking_number).where(
        ArticleVersion.source_tracking_number.is_not(None))
    stmt = (select(Ticket).where(readable(principal), Ticket.type == "consultation",
                                 Ticket.status.in_(ANSWERED), Ticket.reply_text.is_not(None),
                                 Ticket.tracking_number.not_in(drawn)))
    if before_id:
        stmt = stmt.where(Ticket.id < before_id)
    return (await session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit))).all()


async def readable_ticket(session: AsyncSession, principal: Principal, tracking_number: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(readable(principal), Ticket.tracking_number == tracking_number))
