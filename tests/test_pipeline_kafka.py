"""The full path on real parts: web → gateway → Kafka (tansu) → router → PostgreSQL."""

from __future__ import annotations

import asyncio

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


async def test_gateway_refuses_with_503_when_the_broker_is_down(pg_url: str, db: Database) -> None:
    dead = Broker()  # never started: nothing listens on its port
    settings = settings_for(pg_url, dead.bootstrap)
    app = create_app(settings, roles=("gateway",))
    # The producer cannot even start without a broker; the gateway must not pretend it can.
    with pytest.raises(Exception):
        async with client_for(app):
            pass
