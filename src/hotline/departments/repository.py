"""All SQL for departments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.departments.models import Department
from hotline.kit.db import insert_ignoring_conflicts


async def list_departments(
    session: AsyncSession, kind: str | None = None, limit: int | None = None, after_id: int | None = None
) -> Sequence[Department]:
    stmt = select(Department).where(Department.active.is_(True)).order_by(Department.id)
    if kind:
        stmt = stmt.where(Department.kind == kind)
    if after_id is not None:
        stmt = stmt.where(Department.id > after_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return (await session.scalars(stmt)).all()


async def add_department(session: AsyncSession, code: str, name: str, kind: str) -> Department:
    dept = Department(code=code, name=name, kind=kind, active=True)
    session.add(dept)
    await session.flush()
    return dept


async def get_by_code(session: AsyncSession, code: str) -> Department | None:
    return await session.scalar(select(Department).where(Department.code == code))


async def active_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Department.code).where(Department.active.is_(True)))).all())


async def insert_missing(session: AsyncSession, rows: list[dict[str, str]]) -> None:
    if rows:
        await session.execute(insert_ignoring_conflicts(session, Department.__table__, ["code"]), rows)
