"""Shared fixtures: a real PostgreSQL database and a real Kafka-protocol broker per test session."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hotline.api.app import create_app
from hotline.departments.service import seed_demo
from hotline.kit.db import Database
from hotline.kit.migrate import upgrade
from hotline.kit.settings import Settings
from tests.support.broker import Broker
from tests.support.db import create_database, drop_database, empty_tables

# The suite routes with the catalogue's rules unless a test trains a model into its own directory:
# models a developer trained with `make train` (./models) must not change what the tests expect.
# Set in the environment too, for the router and gateway processes some tests start.
NO_MODELS = Path(tempfile.mkdtemp(prefix="hotline-no-models-"))
os.environ["HOTLINE_MODEL_DIR"] = str(NO_MODELS)

pytest_plugins = ["tests.support.summary"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# Tables emptied between tests (the directory is seed data and stays).
DATA_TABLES = ["dispatch_catalogue_versions", "ticket_events", "intake_messages", "tickets", "citizens",
               "identity_views", "idempotency_keys", "console_sessions", "api_keys", "principals", "calls",
               "ticket_assignments", "outbox",
               "sla_supervision_steps", "sla_clocks", "holiday_years", "sla_policy_versions", "unit_contacts",
               "knowledge_article_versions", "knowledge_articles"]


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    url = await create_database()
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.unit_of_work() as s:
        await seed_demo(s)
    await db.dispose()
    yield url
    await drop_database(url)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    """The session's PostgreSQL database, emptied of tickets before each test."""
    database = Database(pg_url)
    async with database.unit_of_work() as s:
        await empty_tables(s, DATA_TABLES)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    async with database.unit_of_work() as s:
        await seed_demo(s)
    await database.dispose()
    return url


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(log_dir=tmp_path_factory.mktemp("tansu"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def topic() -> str:
    """A topic of the test's own, so tests sharing the broker never see each other's messages."""
    return f"intake-{uuid.uuid4().hex[:8]}"


def settings_for(database_url: str, bootstrap: str | None = None, **kw: object) -> Settings:
    base: dict[str, object] = {
        "environment": "test", "database_url": database_url, "kafka_bootstrap": bootstrap,
        "model_dir": NO_MODELS, "kafka_enable_idempotence": False, "web_rate_limit_per_minute": 10_000,
        # Each gateway its own spool, so messages one test spooled never reach another's topic.
        "spool_path": Path(tempfile.mkdtemp(prefix="hotline-spool-")) / "spool.db",
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process, with its lifespan started."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as c:
            yield c


@pytest.fixture
async def embedded_client(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Gateway + API in one app, routing in-process, on PostgreSQL; signed in as an agent."""
    async with client_for(create_app(settings_for(pg_url))) as c:
        c.headers.update(await agent_headers_for(db))
        yield c


async def agent_headers_for(database: Database | str) -> dict[str, str]:
    """`Authorization` headers of a new agent principal (tests/support/auth.py has every role)."""
    from tests.support.auth import headers_for

    return await headers_for(database, "agent")


@pytest.fixture
async def agent_headers(db: Database) -> dict[str, str]:
    return await agent_headers_for(db)
