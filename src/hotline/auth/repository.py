"""All SQL for principals, API keys, console sessions, identity-view audit and idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, bindparam, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from hotline.auth.models import (
    ApiKey,
    ConsoleSession,
    IdempotencyRecord,
    IdentityView,
    PrincipalRecord,
)
from hotline.kit.db import insert_ignoring_conflicts
from hotline.kit.driver_sql import fetch_mappings


async def add_principal(session: AsyncSession, **values: Any) -> PrincipalRecord:
    row = PrincipalRecord(**values)
    session.add(row)
    await session.flush()
    return row


async def get_principal(session: AsyncSession, principal_id: int) -> PrincipalRecord | None:
    return await session.get(PrincipalRecord, principal_id)


async def find_principal(session: AsyncSession, name_or_id: str) -> PrincipalRecord | None:
    conds = [PrincipalRecord.name == name_or_id]
    if name_or_id.isdigit():
        conds.append(PrincipalRecord.id == int(name_or_id))
    return await session.scalar(select(PrincipalRecord).where(or_(*conds)).order_by(PrincipalRecord.id).limit(1))


async def list_principals(
    session: AsyncSession, limit: int, after_id: int | None = None, include_inactive: bool = True
) -> Sequence[PrincipalRecord]:
    stmt = select(PrincipalRecord).order_by(PrincipalRecord.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(PrincipalRecord.id > after_id)
    if not include_inactive:
        stmt = stmt.where(PrincipalRecord.active.is_(True))
    return (await session.scalars(stmt)).all()


async def add_api_key(session: AsyncSession, **values: Any) -> ApiKey:
    row = ApiKey(**values)
    session.add(row)
    await session.flush()
    return row


async def keys_of(session: AsyncSession, principal_ids: Sequence[int]) -> Sequence[ApiKey]:
    if not principal_ids:
        return []
    stmt = select(ApiKey).where(ApiKey.principal_id.in_(list(principal_ids))).order_by(ApiKey.id)
    return (await session.scalars(stmt)).all()


# Built once: the lookup every API-key request makes (columns, not ORM objects).
_KEY_CHECK = (
    select(ApiKey.id, ApiKey.revoked_at, ApiKey.expires_at, ApiKey.last_used_at, PrincipalRecord.id.label("principal_id"),
           PrincipalRecord.name, PrincipalRecord.role, PrincipalRecord.department_code, PrincipalRecord.active)
    .join(PrincipalRecord, PrincipalRecord.id == ApiKey.principal_id)
    .where(ApiKey.key_hash == bindparam("key_hash"))
)


def key_check_statement() -> Executable:
    """The statement of `key_check` (bind parameter `key_hash`), for a caller running it on the driver."""
    return _KEY_CHECK


def key_check_with(answer: Subquery) -> Executable:
    """The key check joined with a one-row subquery (e.g. an aggregate) over the same request's
    data: one round trip both authenticates and answers. The subquery is the caller's to discard
    when the key does not pass `service.key_principal`."""
    return _KEY_CHECK.add_columns(*answer.c).join(answer, true())


async def key_check(session: AsyncSession, key_hash: str) -> Any | None:
    """One indexed lookup per request: the key's state and its principal, as one mapping (or None)."""
    rows = await fetch_mappings(session, _KEY_CHECK, {"key_hash": key_hash})
    return rows[0] if rows else None


async def principal_by_session_hash(
    session: AsyncSession, token_hash: str
) -> tuple[ConsoleSession, PrincipalRecord] | None:
    row = (await session.execute(
        select(ConsoleSession, PrincipalRecord)
        .join(PrincipalRecord, PrincipalRecord.id == ConsoleSession.principal_id)
        .where(ConsoleSession.token_hash == token_hash)
    )).first()
    return (row[0], row[1]) if row else None


async def touch_key(session: AsyncSession, key_id: int, at: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


async def touch_console_session(session: AsyncSession, session_id: int, at: datetime) -> None:
    await session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_used_at=at))


async def revoke_keys_and_sessions(session: AsyncSession, principal_id: int, at: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.principal_id == principal_id, ApiKey.revoked_at.is_(None))
                          .values(revoked_at=at))
    await session.execute(update(ConsoleSession)
                          .where(ConsoleSession.principal_id == principal_id, ConsoleSession.revoked_at.is_(None))
                          .values(revoked_at=at))


async def add_console_session(session: AsyncSession, **values: Any) -> ConsoleSession:
    row = ConsoleSession(**values)
    session.add(row)
    await session.flush()
    return row


async def revoke_console_session(session: AsyncSession, token_hash: str, at: datetime) -> None:
    await session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == token_hash,
                                                       ConsoleSession.revoked_at.is_(None))
                          .values(revoked_at=at))


async def record_identity_views(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(IdentityView), rows)


async def identity_views_of(session: AsyncSession, ticket_id: int) -> Sequence[IdentityView]:
    stmt = select(IdentityView).where(IdentityView.ticket_id == ticket_id).order_by(IdentityView.id)
    return (await session.scalars(stmt)).all()


async def claim_idempotency_key(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Insert the key; False when it exists (a concurrent first request blocks here until it commits)."""
    stmt = insert_ignoring_conflicts(session, IdempotencyRecord.__table__, ["principal_id", "key"]).returning(
        IdempotencyRecord.__table__.c.id
    )
    return (await session.execute(stmt, row)).first() is not None


async def get_idempotency_record(session: AsyncSession, principal_id: int, key: str) -> IdempotencyRecord | None:
    return await session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.principal_id == principal_id, IdempotencyRecord.key == key))


async def store_idempotent_response(
    session: AsyncSession, principal_id: int, key: str, status_code: int, response: Any
) -> None:
    await session.execute(update(IdempotencyRecord).where(
        IdempotencyRecord.principal_id == principal_id, IdempotencyRecord.key == key
    ).values(status_code=status_code, response=response))
