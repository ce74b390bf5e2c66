"""Run Alembic from code: `hotline migrate`, `hotline dev` and the tests use this."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

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
