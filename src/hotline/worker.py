"""The router process: a Kafka consumer-group member turning intake messages into tickets."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from hotline.intake.schema import IntakeMessage
from hotline.kit.db import Database
from hotline.kit.kafka import consume_batches, make_consumer
from hotline.kit.settings import Settings
from hotline.tickets.handlers import IntakeHandler

log = logging.getLogger(__name__)


def decode(records: Sequence[ConsumerRecord]) -> list[IntakeMessage]:
    out = []
    for r in records:
        try:
            out.append(IntakeMessage.from_bytes(r.value))
        except (ValidationError, ValueError):
            # A message no version of the schema can read is logged and skipped, not retried
            # for ever: it would block its partition. Its offset is kept in the log line.
            log.error("undecodable intake record at %s/%d offset %d", r.topic, r.partition, r.offset)
    return out


async def run_router(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    db = Database(settings.database_url, settings.database_pool_size)
    handler = IntakeHandler(db, settings=settings)
    consumer = make_consumer(settings, settings.kafka_intake_topic, settings.kafka_router_group)

    async def handle(records: Sequence[ConsumerRecord]) -> None:
        messages = decode(records)
        if messages:
            await handler(messages)

    await consumer.start()
    log.info("router consuming %s as group %s", settings.kafka_intake_topic, settings.kafka_router_group)
    try:
        await consume_batches(consumer, handle, stop, max_records=settings.kafka_batch_max)
    finally:
        await consumer.stop()
        await db.dispose()
        log.info("router stopped")


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def main(settings: Settings) -> None:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await run_router(settings, stop)
