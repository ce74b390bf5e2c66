"""Principals for tests: create one in a database and get the headers that authenticate it."""

from __future__ import annotations

import uuid
from datetime import datetime

from hotline.auth import service
from hotline.auth.principal import Role
from hotline.kit.db import Database
from hotline.kit.settings import DEV_SECRET

# The tests' settings keep the default secret (environment=test), so keys hash the same way.
SECRET = DEV_SECRET


async def create_key(database: Database | str, role: Role | str, department: str | None = None,
                     name: str | None = None, expires_at: datetime | None = None,
                     password: str | None = None) -> str:
    """A new principal with this role (and unit); returns its API key."""
    db = Database(database) if isinstance(database, str) else database
    try:
        async with db.unit_of_work() as s:
            _, key = await service.create_principal(
                s, name=name or f"{Role(role).value}-{uuid.uuid4().hex[:8]}", role=role, department_code=department,
                secret_key=SECRET, key_expires_at=expires_at, password=password)
    finally:
        if isinstance(database, str):
            await db.dispose()
    assert key
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def headers_for(database: Database | str, role: Role | str, department: str | None = None,
                      **kw: object) -> dict[str, str]:
    return bearer(await create_key(database, role, department, **kw))  # type: ignore[arg-type]
