"""Loading the directory: the demo Dongguan units ship as data."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.departments import repository
from hotline.departments.models import Department
from hotline.kit.clock import utcnow
from hotline.kit.errors import Conflict, NotFound


def dongguan_directory() -> list[dict[str, str]]:
    text = resources.files("hotline.departments").joinpath("data/dongguan.json").read_text("utf-8")
    return [{"code": d["code"], "name": d["name"], "kind": d["kind"]} for d in json.loads(text)["departments"]]


async def seed_demo(session: AsyncSession) -> int:
    """Load the Dongguan directory (28 towns, 4 streets, 4 parks, city departments); idempotent."""
    rows = dongguan_directory()
    await repository.insert_missing(session, rows)
    return len(rows)


async def create_department(session: AsyncSession, code: str, name: str, kind: str) -> Department:
    if await repository.get_by_code(session, code) is not None:
        raise Conflict(f"a department with code {code!r} exists already")
    return await repository.add_department(session, code, name, kind)


async def update_department(
    session: AsyncSession, code: str, name: str | None, kind: str | None, active: bool | None
) -> Department:
    dept = await repository.get_by_code(session, code)
    if dept is None:
        raise NotFound(f"no department {code!r}")
    if name is not None:
        dept.name = name
    if kind is not None:
        dept.kind = kind
    if active is not None:
        dept.active = active
    dept.updated_at = utcnow()
    await session.flush()
    return dept
