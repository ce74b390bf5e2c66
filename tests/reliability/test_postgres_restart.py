"""PostgreSQL restarted under load: the router pauses without committing offsets for unsaved work
and resumes; the API answers 503 (not 500) while the database is down; nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.departments.service import seed_demo
from hotline.intake.models import IntakeRecord
from hotline.kit.db import Database
from hotline.kit.migrate import upgrade
from hotline.tickets.models import Ticket
from hotline.worker import run_router
from tests.conftest import client_for, settings_for
from tests.support import private_pg
from tests.support.auth import headers_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually
from tests.support.ledger import record

pytestmark = [pytest.mark.kafka, pytest.mark.fault,
              pytest.mark.skipif(not private_pg.available(), reason="PostgreSQL server binaries not installed")]


@pytest.fixture
def private_postgres() -> Iterator[private_pg.PrivatePostgres]:
    pg = private_pg.PrivatePostgres()
    pg.init()
    pg.start()
    yield pg
    pg.destroy()


async def test_database_restart_under_load(private_postgres: private_pg.PrivatePostgres, broker: Broker,
                                           topic: str) -> None:
    url = private_postgres.url
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.unit_of_work() as s:
        await seed_demo(s)
    agent = await headers_for(db, "agent")
    await create_topic(broker.bootstrap, topic, partitions=3)
    settings = settings_for(url, broker.bootstrap, kafka_intake_topic=topic, kafka_router_group=f"g-{topic}",
                            kafka_batch_max=10)
    stop = asyncio.Event()
    router = asyncio.create_task(run_router(settings, stop))

    async def count(model: type) -> int:
        async with db.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

    async def at_least(n: int) -> bool:
        try:
            return await count(IntakeRecord) >= n
        except Exception:  # noqa: BLE001 - the database may still be coming back
            return False

    n = 90
    try:
        async with client_for(create_app(settings, roles=("gateway",))) as gw, \
                client_for(create_app(settings, roles=("api",))) as api:
            for i in range(n):
                r = await gw.post("/channels/web", json={"phone": f"1380000{i:04d}", "text": f"长安镇路灯坏了（{i}）",
                                                         "client_message_id": f"pg-{i}"})
                assert r.status_code == 202, r.text
                if i == 30:
                    await eventually(lambda: at_least(10), timeout=60)
                    await asyncio.to_thread(private_postgres.stop)
                    # While it is down: the API says 503 with Retry-After, never 500 …
                    down = await api.get("/api/v1/tickets", headers=agent)
                    assert down.status_code == 503, down.text
                    assert down.headers.get("retry-after")
                    assert (await api.get("/readyz")).status_code == 503
                if i == 60:
                    # … the gateway kept accepting (Kafka has the messages); bring the database back.
                    await asyncio.to_thread(private_postgres.start)
            await eventually(lambda: at_least(n), timeout=120)
            await asyncio.sleep(1.0)
            assert (await api.get("/readyz")).status_code == 200
            assert (await api.get("/api/v1/tickets", headers=agent)).status_code == 200
    finally:
        stop.set()
        await router
    stored, tickets = await count(IntakeRecord), await count(Ticket)
    record(sent=n, lost=n - stored, duplicated=tickets - stored)
    assert stored == n
    assert tickets == n
    await db.dispose()
