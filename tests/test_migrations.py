"""Models and migrations never drift, on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio

from hotline.kit.migrate import check


async def test_alembic_check_postgres(pg_url: str) -> None:
    await asyncio.to_thread(check, pg_url)


async def test_alembic_check_sqlite(sqlite_url: str) -> None:
    await asyncio.to_thread(check, sqlite_url)
