"""Fresh PostgreSQL databases for tests (a new one per test session) and SQLite files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

ADMIN_URL = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(prefix: str = "hotline_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_dsn(ADMIN_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def empty_tables(session: AsyncSession, tables: Sequence[str]) -> None:
    """Empty `tables` and every table referencing them (as TRUNCATE … CASCADE would), and restart
    their id sequences (RESTART IDENTITY), in the caller's transaction.

    DELETE with foreign-key triggers off: on the few rows a test leaves, ~50x faster than TRUNCATE,
    which rewrites every table's files (0.6 s per test for twenty tables; this runs before each test).
    Needs a superuser (the test server's `postgres`); otherwise it falls back to TRUNCATE.
    """
    found = (await session.execute(text("""
        WITH RECURSIVE dep(oid) AS (
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(:names)
            UNION
            SELECT con.conrelid FROM pg_constraint con JOIN dep ON con.confrelid = dep.oid
             WHERE con.contype = 'f')
        SELECT oid::regclass::text FROM dep"""), {"names": list(tables)})).scalars().all()
    if not found:
        return
    superuser = await session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    if not superuser:
        await session.execute(text(f"TRUNCATE {', '.join(found)} RESTART IDENTITY CASCADE"))
        return
    await session.execute(text("SET LOCAL session_replication_role = replica"))  # FK checks off: any order
    for name in found:
        await session.execute(text(f"DELETE FROM {name}"))
    await session.execute(text("""
        SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_depend d ON d.objid = s.oid
         WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid::regclass::text = ANY(:names)"""),
        {"names": list(found)})
