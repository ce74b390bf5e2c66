"""The router process: a Kafka consumer-group member turning intake messages into tickets."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from pydantic import ValidationError

from hotline.intake.schema import IntakeMessage
from hotline.kit import tracing
from hotline.kit.db import Database
from hotline.kit.kafka import consume_batches, make_consumer
from hotline.kit.metrics import (
    CONSUMER_LAG,
    ROUTER_BATCH_FAILURES,
    ROUTER_BATCH_SECONDS,
    ROUTER_BATCH_SIZE,
    ROUTER_MESSAGES,
    serve_process_metrics,
)
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


# The cyclic collector's thresholds in the router: a batch of 1,000 holds ~100,000 container objects
# at a time (rows, decisions, events), nearly all freed by reference counting when it is done; the
# default threshold (700) ran the collector ~140 times a batch: 24–27 ms of ~195 ms CPU (router_profile).
ROUTER_GC_THRESHOLD = (50_000, 20, 20)


def settle_collector() -> None:
    """After start-up: the models, catalogue and modules loaded live as long as the process, so the
    collector need not scan them after every batch (gc.freeze: ~5–13% less router CPU), and it runs
    less often (ROUTER_GC_THRESHOLD: ~8% less)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*ROUTER_GC_THRESHOLD)


async def run_router(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    db = Database(settings.database_url, settings.database_pool_size)
    handler = IntakeHandler(db, settings=settings)
    thresholds = gc.get_threshold()
    settle_collector()
    consumer = make_consumer(settings, settings.kafka_intake_topic, settings.kafka_router_group)

    async def handle(records: Sequence[ConsumerRecord]) -> None:
        started = time.perf_counter()
        # One consumer span per batch, linked to every producer span that sent a record in it.
        carriers = [c for r in records if (c := tracing.carrier_from_kafka(r.headers))]
        try:
            with tracing.span("hotline.intake process", kind="consumer", links_from=carriers[:128],
                              attributes={"messaging.system": "kafka",
                                          "messaging.batch.message_count": len(records)}):
                messages = decode(records)
                outcomes = []
                if messages:
                    with tracing.span("ingest transaction", attributes={"db.system": db.engine.name}):
                        outcomes = await handler(messages)
        except Exception:
            ROUTER_BATCH_FAILURES.inc()
            raise
        created = sum(1 for o in outcomes if o.created)
        ROUTER_MESSAGES.labels("created").inc(created)
        ROUTER_MESSAGES.labels("duplicate").inc(len(outcomes) - created)
        ROUTER_MESSAGES.labels("undecodable").inc(len(records) - len(messages))
        ROUTER_BATCH_SIZE.observe(len(records))
        ROUTER_BATCH_SECONDS.observe(time.perf_counter() - started)

    await consumer.start()
    CONSUMER_LAG.group = settings.kafka_router_group
    lag = asyncio.create_task(report_lag(consumer, stop))
    log.info("router consuming %s as group %s", settings.kafka_intake_topic, settings.kafka_router_group)
    try:
        await consume_batches(consumer, handle, stop, max_records=settings.kafka_batch_max)
    finally:
        lag.cancel()
        await consumer.stop()
        await db.dispose()
        gc.set_threshold(*thresholds)  # a router run inside another process (tests) leaves it as it was
        CONSUMER_LAG.snapshot = {}
        log.info("router stopped")


class Heartbeat:
    """Last time the event loop did the router's periodic work; `/healthz` on the metrics port."""

    def __init__(self, max_age: float = 30.0) -> None:
        self.at = time.monotonic()
        self.max_age = max_age

    def beat(self) -> None:
        self.at = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self.at < self.max_age


HEARTBEAT = Heartbeat()


async def report_lag(consumer: AIOKafkaConsumer, stop: asyncio.Event, every: float = 2.0) -> None:
    """Keep the consumer-lag gauge current from the consumer's own positions (no broker call).

    The better autoscaling signal than CPU: export it to the HPA through an adapter (docs).
    """
    while not stop.is_set():
        HEARTBEAT.beat()
        snapshot = {}
        for tp in consumer.assignment():
            try:
                high = consumer.highwater(tp)
                if high is None:  # nothing fetched from this partition yet
                    continue
                snapshot[(tp.topic, tp.partition)] = max(high - await consumer.position(tp), 0)
            except Exception as exc:  # noqa: BLE001 - a rebalance took the partition meanwhile
                log.debug("no lag for %s: %s", tp, exc)
        CONSUMER_LAG.snapshot = snapshot
        await asyncio.sleep(every)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def main(settings: Settings) -> None:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    server = None
    if settings.router_metrics_port:
        server = serve_process_metrics(settings.router_metrics_port, HEARTBEAT.alive)
        log.info("router metrics on :%d/metrics", settings.router_metrics_port)
    tracing.setup_tracing(settings, "router")
    try:
        await run_router(settings, stop)
    finally:
        tracing.shutdown_tracing()
        if server is not None:
            server.shutdown()


def run_process(settings: Settings) -> None:
    """`hotline router`: on uvloop when it is installed (uvicorn[standard] brings it; the API and
    gateway already run on it), for cheaper asyncpg and Kafka I/O per batch."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - e.g. Windows
        asyncio.run(main(settings))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(settings))
