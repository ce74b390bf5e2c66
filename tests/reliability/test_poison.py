"""One bad message never stops the router: control characters are cleaned at intake, and a record
the handler cannot take is skipped (named in the log) while the rest of its batch goes through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy.exc import DBAPIError

from hotline.kit.db import Database
from hotline.kit.kafka import consume_batches, make_consumer
from tests.conftest import settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually
from tests.support.ledger import record


async def test_a_nul_character_is_cleaned_not_fatal(embedded_client: httpx.AsyncClient, db: Database) -> None:
    r = await embedded_client.post("/channels/web", content='{"phone": "13800138000", "text": "路灯\\u0000坏了\\u0007"}',
                                   headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text
    t = (await embedded_client.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
    assert t["text"] == "路灯坏了"
    record(inputs=1)


@pytest.mark.kafka
async def test_a_poison_record_is_skipped_and_its_batch_goes_through(
    broker: Broker, topic: str, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    for i in range(10):
        await producer.send_and_wait(topic, b"poison" if i == 4 else f"good-{i}".encode())
    await producer.stop()

    handled: list[bytes] = []

    async def handler(records: Sequence[ConsumerRecord]) -> None:
        # Like a database refusing a value: the whole transaction fails if one record is bad.
        if any(r.value == b"poison" for r in records):
            raise DBAPIError("INSERT …", {}, ValueError("invalid input for query argument"))
        handled.extend(r.value for r in records if r.value not in handled)

    settings = settings_for(pg_url, broker.bootstrap)
    consumer = make_consumer(settings, topic, f"g-{topic}")
    await consumer.start()
    stop = asyncio.Event()
    caplog.set_level(logging.ERROR, logger="hotline.kit.kafka")
    task = asyncio.create_task(consume_batches(consumer, handler, stop, max_records=10, retry_pause=0.1))

    async def done() -> bool:
        return len(handled) == 9

    try:
        await eventually(done, timeout=30)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await task
    tp = next(iter(consumer.assignment()))
    committed = await consumer.committed(tp)
    await consumer.stop()
    assert sorted(handled) == sorted(f"good-{i}".encode() for i in range(10) if i != 4)
    assert committed == 10  # the partition moved past the poison record
    assert any("poison record skipped" in m and "offset 4" in m for m in caplog.messages)
