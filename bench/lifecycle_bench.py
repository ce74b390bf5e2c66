"""Lifecycle and outbox benchmark: what an action costs, and how fast the relay drains to Kafka.

    .venv/bin/python -m bench.lifecycle_bench [--tickets 500]

On a fresh PostgreSQL database (127.0.0.1, as the tests) and a tansu broker started here. Prints:
one action (lock, check, event, outbox row, commit) per second, sequential and 8 at a time on
different tickets; and the relay's drain rate to `hotline.ticket-events` (acks=all). Figures are
for comparing, not for capacity planning: everything shares this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer

from hotline.auth.principal import Principal, Role
from hotline.departments.service import seed_demo
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.kit.migrate import upgrade
from hotline.kit.settings import Settings
from hotline.notify import repository as outbox_repository
from hotline.notify.outbox import build_senders, close_senders, relay_once
from hotline.tickets import actions
from hotline.tickets.models import Ticket
from tests.support.broker import Broker
from tests.support.db import create_database, drop_database
from tests.support.kafka import create_topic

AGENT = Principal(1, "bench", Role.AGENT)
UNIT = Principal(2, "env-desk", Role.DEPARTMENT, "env")


async def make_tickets(db: Database, n: int) -> list[str]:
    now = utcnow()
    tns = [f"DGB{uuid.uuid4().hex[:12].upper()}" for _ in range(n)]
    async with db.unit_of_work() as s:
        s.add_all([Ticket(tracking_number=tn, type="complaint", status="dispatched", channel="web",
                          text="夜间施工噪音扰民", urgency="normal", department_code="env", received_at=now,
                          created_at=now, updated_at=now, reopen_count=0, return_count=0) for tn in tns])
    return tns


async def act_all(db: Database, tns: list[str], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(tn: str) -> None:
        async with gate, db.unit_of_work() as s:
            await actions.accept(s, UNIT, tn)

    t = time.perf_counter()
    await asyncio.gather(*(one(tn) for tn in tns))
    return time.perf_counter() - t


async def main(n: int) -> None:
    # The SLA hooks need SLA clocks these hand-made tickets lack: measure the lifecycle alone.
    actions.AFTER_EVENT.clear()
    url = await create_database("hotline_bench")
    broker = Broker()
    broker.start()
    db = Database(url, pool_size=16)
    try:
        await asyncio.to_thread(upgrade, url)
        async with db.unit_of_work() as s:
            await seed_demo(s)
        seq = await act_all(db, await make_tickets(db, n), 1)
        par = await act_all(db, await make_tickets(db, n), 8)
        print(f"accept, one at a time:       {n / seq:8.0f} actions/s  ({seq / n * 1000:.2f} ms each)")
        print(f"accept, 8 tickets at a time: {n / par:8.0f} actions/s")

        topic = f"bench-events-{uuid.uuid4().hex[:6]}"
        await create_topic(broker.bootstrap, topic, partitions=3)
        settings = Settings(database_url=url, kafka_bootstrap=broker.bootstrap, kafka_events_topic=topic,
                            kafka_enable_idempotence=False, environment="test")
        senders = build_senders(settings)
        async with db.unit_of_work() as s:
            queued = await outbox_repository.pending_count(s)
        t = time.perf_counter()
        sent = 0
        while sent < queued:
            sent += await relay_once(db, senders)
        drain = time.perf_counter() - t
        await close_senders(senders)
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                                    group_id=None, enable_auto_commit=False)
        await consumer.start()
        seen = 0
        deadline = time.monotonic() + 30
        while seen < queued and time.monotonic() < deadline:
            for rs in (await consumer.getmany(timeout_ms=500)).values():
                seen += len(rs)
        await consumer.stop()
        print(f"relay to Kafka (acks=all):   {queued / drain:8.0f} events/s  ({queued} events, {seen} on the topic)")
    finally:
        await db.dispose()
        broker.stop()
        await drop_database(url)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=500)
    asyncio.run(main(ap.parse_args().tickets))
