"""Kafka producer and consumer wrappers with the consumer discipline the router needs.

Auto-commit is off: the handler commits the database first, then the offsets (offset + 1).
A batch that fails is not committed; the consumer seeks back and retries it after a pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter

from hotline.kit.db import is_outage
from hotline.kit.settings import Settings

log = logging.getLogger(__name__)

POISON_RECORDS = Counter("hotline_router_poison_records_total",
                         "intake records the router could not take and skipped (see the log)")

BatchHandler = Callable[[Sequence[ConsumerRecord]], Awaitable[Any]]


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": settings.kafka_enable_idempotence,
        "linger_ms": settings.kafka_linger_ms,
        "compression_type": settings.kafka_compression,
        "request_timeout_ms": 10_000,
    }
    kwargs.update(overrides)
    return AIOKafkaProducer(**kwargs)


def make_consumer(settings: Settings, topic: str, group: str, **overrides: Any) -> AIOKafkaConsumer:
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.kafka_batch_max,
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
    }
    kwargs.update(overrides)
    return AIOKafkaConsumer(topic, **kwargs)


async def consume_batches(
    consumer: AIOKafkaConsumer,
    handler: BatchHandler,
    stop: asyncio.Event,
    max_records: int = 500,
    retry_pause: float = 1.0,
) -> None:
    """Fetch, handle, commit, until `stop` is set. The caller starts and stops the consumer."""
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
        if not batches:
            continue
        records = [r for rs in batches.values() for r in rs]
        try:
            await handler(records)
        except Exception as exc:  # noqa: BLE001 - any failure: retried (outage) or isolated (poison)
            # An outage (database away) is retried, batch and all, until it ends. Anything else is
            # a record the handler cannot take: find it, so one bad record never blocks a partition.
            if is_outage(exc) or not await _isolate_poison(handler, records):
                log.error("batch of %d failed (%s); retrying it without committing", len(records),
                          type(exc).__name__)
                for tp, rs in batches.items():
                    consumer.seek(tp, rs[0].offset)
                await _sleep_unless(stop, retry_pause)
                continue
        offsets = {tp: rs[-1].offset + 1 for tp, rs in batches.items()}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # Partitions moved to another router: it will see these again, and the database
            # answers them as duplicates. Nothing is lost.
            log.warning("offset commit failed (%s); the batch will be redelivered and deduplicated", exc)


async def _isolate_poison(handler: BatchHandler, records: Sequence[ConsumerRecord]) -> bool:
    """Handle the records one by one (the handler is idempotent, so repeats are harmless),
    skipping those that fail on their own. False if an outage interrupts: retry the batch then."""
    for r in records:
        try:
            await handler([r])
        except Exception as exc:  # noqa: BLE001 - whatever fails on its own is a poison record
            if is_outage(exc):
                return False
            POISON_RECORDS.inc()
            # Kept on the topic (retention) and named here, so it can be re-processed once fixed.
            log.error("poison record skipped at %s/%d offset %d: %s: %s", r.topic, r.partition, r.offset,
                      type(exc).__name__, str(exc)[:300])
    return True


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def committed_lag(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    out = {}
    for tp in consumer.assignment():
        end = (await consumer.end_offsets([tp]))[tp]
        pos = await consumer.committed(tp) or 0
        out[tp] = end - pos
    return out
