"""`consume_batches(prepare=...)`: the next batch is fetched and prepared while the current one is
handled. That must lose nothing and commit nothing early: a failed batch takes the batch fetched
ahead back with it (on every partition), and a stop never commits what was only fetched ahead."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from hotline.kit.kafka import consume_batches, make_consumer
from tests.conftest import settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually

pytestmark = pytest.mark.kafka

N = 40  # records per partition


async def _fill(bootstrap: str, topic: str) -> None:
    await create_topic(bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    for i in range(N):
        for p in (0, 1):
            await producer.send(topic, f"{p}-{i}".encode(), partition=p)
    await producer.flush()
    await producer.stop()


async def _committed(consumer, topic: str) -> list[int | None]:  # type: ignore[no-untyped-def]
    return [await consumer.committed(TopicPartition(topic, p)) for p in (0, 1)]


async def test_a_failed_batch_takes_the_batch_fetched_ahead_back_with_it(broker: Broker, topic: str,
                                                                         pg_url: str) -> None:
    await _fill(broker.bootstrap, topic)
    handled: list[tuple[int, int]] = []
    prepared: set[tuple[int, int]] = set()
    failures = 0

    async def prepare(records: Sequence[ConsumerRecord]) -> None:
        await asyncio.sleep(0)
        prepared.update((r.partition, r.offset) for r in records)

    async def handler(records: Sequence[ConsumerRecord]) -> None:
        nonlocal failures
        await asyncio.sleep(0.02)  # the database's time, in which the next batch is prepared
        if failures < 3 and len(handled) >= 10:
            failures += 1
            raise ConnectionError("database away")  # an outage: the whole batch is retried
        handled.extend((r.partition, r.offset) for r in records)

    consumer = make_consumer(settings_for(pg_url, broker.bootstrap), topic, f"g-{topic}")
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consume_batches(consumer, handler, stop, max_records=7, retry_pause=0.05,
                                               prepare=prepare))
    try:
        async def done() -> bool:
            return len(set(handled)) == 2 * N

        await eventually(done, timeout=30)
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await task
    committed = await _committed(consumer, topic)
    await consumer.stop()
    assert failures == 3
    assert set(handled) == {(p, i) for p in (0, 1) for i in range(N)}
    # Handled in order on each partition, none twice (the failed batches wrote nothing).
    for p in (0, 1):
        assert [o for q, o in handled if q == p] == list(range(N))
    assert committed == [N, N]
    assert len(prepared) > N  # the work ahead was done, for most batches


async def test_a_stop_commits_only_what_was_handled(broker: Broker, topic: str, pg_url: str) -> None:
    await _fill(broker.bootstrap, topic)
    handled: list[tuple[int, int]] = []
    prepared: list[tuple[int, int]] = []
    stop = asyncio.Event()

    async def prepare(records: Sequence[ConsumerRecord]) -> None:
        prepared.extend((r.partition, r.offset) for r in records)

    async def handler(records: Sequence[ConsumerRecord]) -> None:
        await asyncio.sleep(0.05)
        handled.extend((r.partition, r.offset) for r in records)
        if len(handled) >= 15:
            stop.set()

    consumer = make_consumer(settings_for(pg_url, broker.bootstrap), topic, f"g-{topic}")
    await consumer.start()
    await asyncio.wait_for(consume_batches(consumer, handler, stop, max_records=5, prepare=prepare), 30)
    committed = await _committed(consumer, topic)
    await consumer.stop()
    assert set(prepared) - set(handled)  # a batch was fetched and prepared ahead, never handled
    for p in (0, 1):
        mine = [o for q, o in handled if q == p]
        assert committed[p] == (max(mine) + 1 if mine else None)
