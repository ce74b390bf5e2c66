"""All SQL for the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hotline.notify.models import OutboxMessage

# Any constant will do: it only has to be the same for every relay process.
_CLAIM_LOCK = 12345_0001


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "postgresql"


async def claim_due(session: AsyncSession, now: datetime, limit: int, lease_until: datetime) -> Sequence[OutboxMessage]:
    """Lease the oldest due rows to this relay until `lease_until`.

    A row is not claimed while an older unsent row with the same kind and key is leased or
    backing off, so one key's messages leave in the order they were written.
    """
    if _dialect(session) == "postgresql":
        # Claims are serialised (a short transaction each) so two relays never both see an
        # older row of a key as due; sending happens outside this lock.
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK})
    earlier = aliased(OutboxMessage)
    blocked = exists().where(and_(
        earlier.kind == OutboxMessage.kind,
        earlier.key == OutboxMessage.key,
        earlier.sent_at.is_(None),
        earlier.id < OutboxMessage.id,
        earlier.next_attempt_at > now,
    ))
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now, ~blocked)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.scalars(stmt)).all()
    if rows:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(next_attempt_at=lease_until)
        )
    return rows


async def mark_sent(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    if ids:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(list(ids)))
            .values(sent_at=now, attempts=OutboxMessage.attempts + 1, last_error=None)
        )


async def mark_failed(session: AsyncSession, id_: int, error: str, retry_at: datetime) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == id_)
        .values(attempts=OutboxMessage.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at)
    )


async def release(session: AsyncSession, ids: Sequence[int], at: datetime) -> None:
    """Give back leased rows that were not tried (an older row of their key failed)."""
    if ids:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(list(ids))).values(next_attempt_at=at)
        )


async def purge_sent(session: AsyncSession, before: datetime) -> int:
    result: Any = await session.execute(
        delete(OutboxMessage).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < before)
    )
    return int(result.rowcount or 0)


async def pending_count(session: AsyncSession) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    ) or 0)


async def backlog(session: AsyncSession) -> list[tuple[str, int, int, datetime]]:
    """Per kind: unsent rows, how many of them have failed at least once, the oldest one's time."""
    stmt = (select(OutboxMessage.kind, func.count(),
                   func.count().filter(OutboxMessage.attempts > 0), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.sent_at.is_(None)).group_by(OutboxMessage.kind).order_by(OutboxMessage.kind))
    return [(k, int(n), int(f), o) for k, n, f, o in (await session.execute(stmt)).all()]


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk enqueue (one statement) for callers that write many messages at once."""
    if rows:
        await session.execute(insert(OutboxMessage), list(rows))
