"""Pooled database connections: one that died while idle in the pool is replaced before a request
uses it (the API no longer pings every connection on every checkout, only idle ones)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from hotline.kit import db as kit_db
from tests.support.db import _dsn


async def test_a_connection_killed_while_idle_is_replaced_unseen(pg_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kit_db, "PING_WHEN_IDLE_SECONDS", 0.05)
    database = kit_db.Database(pg_url, pool_size=1)
    try:
        async with database.sessions() as s:
            first = await s.scalar(text("SELECT pg_backend_pid()"))
        # The server ends that backend (a restart, a failover, an idle timeout on the way).
        admin = await asyncpg.connect(_dsn(pg_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
        async with database.sessions() as s:  # no error reaches the caller
            second = await s.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
        # A connection handed back a moment ago is used as it is (no ping round trips).
        monkeypatch.setattr(kit_db, "PING_WHEN_IDLE_SECONDS", 60.0)
        async with database.sessions() as s:
            assert await s.scalar(text("SELECT pg_backend_pid()")) == second
    finally:
        await database.dispose()
