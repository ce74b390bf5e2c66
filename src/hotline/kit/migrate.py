"""Run Alembic from code: `hotline migrate`, `hotline dev` and the tests use this."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import hotline


def migrations_dir() -> Path:
    env = os.environ.get("HOTLINE_MIGRATIONS_DIR")
    if env:
        return Path(env)
    return Path(hotline.__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s")
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking (Alembic runs its own event loop): call from a thread inside async code."""
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(alembic_config(database_url))


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    """The head revision(s) of the migrations this code ships (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@lru_cache(maxsize=1)
def script_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(r.revision for r in script.walk_revisions())


async def migration_state(conn: AsyncConnection) -> tuple[str, set[str]]:
    """Compare the database's `alembic_version` with this code's head.

    Returns ("ok" | "behind" | "ahead", the database's revisions). "ahead" (a revision this
    code does not know) is a newer release's expand migration during a rolling upgrade: the
    old code still runs on it, so it counts as ready.
    """

    def read(sync_conn: Connection) -> set[str]:
        return set(MigrationContext.configure(sync_conn).get_current_heads())

    current = await conn.run_sync(read)
    if current == set(script_heads()):
        return "ok", current
    if current and not current <= script_revisions():
        return "ahead", current
    return "behind", current
