"""The full path on real parts: web → gateway → Kafka (tansu) → router → PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.intake.models import IntakeRecord
from hotline.kit.db import Database
from hotline.tickets.models import Ticket, TicketEvent
from hotline.worker import run_router
from tests.conftest import client_for, settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually

pytestmark = pytest.mark.kafka

TEXTS = ["我要投诉塘厦镇工地夜间噪音扰民", "请问社保怎么转移到东莞", "长安镇某路段路灯坏了很久",
         "举报厚街镇某工厂偷排废水", "建议南城街道增设公交站"]


async def count(db: Database, model: type) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_messages_become_exactly_one_ticket_each_across_a_router_restart(
    db: Database, pg_url: str, broker: Broker, topic: str
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=3)
    settings = settings_for(pg_url, broker.bootstrap, kafka_intake_topic=topic,
                            kafka_router_group=f"router-{topic}", kafka_batch_max=7)
    n = 60
    async with client_for(create_app(settings, roles=("gateway",))) as gw:
        stop = asyncio.Event()
        router = asyncio.create_task(run_router(settings, stop))
        numbers = []
        for i in range(n):
            body = {"phone": f"1380013{i % 7:04d}", "text": f"{TEXTS[i % 5]}（第{i}条）",
                    "client_message_id": f"k-{i}"}
            r = await gw.post("/channels/web", json=body)
            assert r.status_code == 202, r.text
            numbers.append(r.json()["tracking_number"])
            if i == n // 2:
                # Restart the router mid-stream: stop it, post more, start a new one.
                stop.set()
                await router
                stop = asyncio.Event()
                router = asyncio.create_task(run_router(settings, stop))
        # Re-send a few: they must come back with the same number and make no ticket.
        for i in range(5):
            r = await gw.post("/channels/web", json={"phone": f"1380013{i % 7:04d}",
                                                     "text": f"{TEXTS[i % 5]}（第{i}条）",
                                                     "client_message_id": f"k-{i}"})
            assert r.json()["tracking_number"] == numbers[i]

        async def all_in() -> bool:
            return await count(db, IntakeRecord) >= n

        try:
            await eventually(all_in, timeout=60)
            await asyncio.sleep(1.0)  # give a duplicate every chance to show up
        finally:
            stop.set()
            await router

    assert await count(db, Ticket) == n
    assert await count(db, IntakeRecord) == n
    async with db.sessions() as s:
        stored = set((await s.scalars(select(Ticket.tracking_number))).all())
        assert stored == set(numbers)
        undispatched = await s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.department_code.is_(None)))
        assert undispatched == 0  # every text names a unit or a town
        received = await s.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.kind == "received"))
        assert received == n


async def test_messages_acknowledged_while_the_broker_is_down_become_exactly_one_ticket_each(
    db: Database, pg_url: str, tmp_path: Path
) -> None:
    """Broker down at gateway start, then down under a running gateway: nothing acknowledged is lost."""
    broker = Broker(log_dir=tmp_path)  # our own: this test stops and restarts it on the same port
    topic = f"intake-{tmp_path.name[-8:]}"
    settings = settings_for(pg_url, broker.bootstrap, kafka_intake_topic=topic,
                            kafka_router_group=f"router-{topic}", spool_path=tmp_path / "spool.db",
                            spool_after_seconds=0.5)
    acked: dict[str, str] = {}  # client message id -> tracking number

    async def send(gw: httpx.AsyncClient, citizen: int, i: int) -> None:
        cid = f"c{citizen}-{i:02d}"
        r = await gw.post("/channels/web", json={"phone": f"1380013{citizen:04d}", "client_message_id": cid,
                                                 "text": f"{TEXTS[i % 5]}（第{i}条）"})
        assert r.status_code == 202, r.text
        assert acked.setdefault(cid, r.json()["tracking_number"]) == r.json()["tracking_number"]

    async def tickets_reach(n: int) -> None:
        async def check() -> bool:
            return await count(db, Ticket) >= n
        await eventually(check, timeout=60)

    try:
        # 1. The broker is down when the gateway starts: it starts anyway and spools what it is sent.
        first = create_app(settings, roles=("gateway",))
        async with client_for(first) as gw:
            for i in range(8):
                await send(gw, i % 3, i)
            assert first.state.bus.pending == 8
        # 2. The gateway restarts with the broker back: the spool on disk is relayed.
        broker.start()
        await create_topic(broker.bootstrap, topic, partitions=3)
        second = create_app(settings, roles=("gateway",))
        async with client_for(second) as gw:
            stop = asyncio.Event()
            router = asyncio.create_task(run_router(settings, stop))
            await tickets_reach(8)
            stop.set()
            await router
            # 3. The broker dies under the running gateway; it restarts (empty: memory storage).
            broker.stop()
            for i in range(8, 16):
                await send(gw, i % 3, i)
            await send(gw, 0, 0)  # a platform's retry of an old message
            assert second.state.bus.pending == 9
            broker.start()
            await create_topic(broker.bootstrap, topic, partitions=3)

            async def drained() -> bool:
                return bool(second.state.bus.pending == 0)
            await eventually(drained, timeout=60)
            stop = asyncio.Event()
            router = asyncio.create_task(run_router(settings, stop))
            try:
                await tickets_reach(16)
                await asyncio.sleep(1.0)  # give a duplicate every chance to show up
            finally:
                stop.set()
                await router
    finally:
        broker.stop()

    assert await count(db, Ticket) == 16
    assert await count(db, IntakeRecord) == 16
    async with db.sessions() as s:
        assert set((await s.scalars(select(Ticket.tracking_number))).all()) == set(acked.values())
        received = (await s.scalars(select(IntakeRecord.external_id).order_by(IntakeRecord.id))).all()
    # In order per citizen: each citizen's messages were stored in the order they were sent.
    for citizen in range(3):
        mine = [e for e in received if e.startswith(f"c{citizen}-")]
        assert mine == sorted(mine), mine
