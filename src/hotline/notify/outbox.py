"""The transactional outbox: enqueue inside the unit of work, deliver after commit, at least once.

`enqueue` adds a row in the caller's transaction, so a message exists if and only if the
change that caused it committed. The relay leases due rows, hands each to the sender
registered for its kind, and marks it sent; a crash between sending and marking sends it
again (consumers dedupe by the id in the payload). Failures back off exponentially.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.kit.clock import utcnow
from hotline.kit.db import Database, insert_rows
from hotline.kit.kafka import make_producer
from hotline.kit.settings import Settings
from hotline.notify import repository
from hotline.notify.models import OutboxMessage

log = logging.getLogger(__name__)

# Kinds of outbox message. Other domains add theirs (email, sms, webhook, wechat…).
TICKET_EVENT = "ticket_event"


@dataclass(frozen=True)
class OutboxItem:
    """What a sender gets: a detached copy of one outbox row."""

    id: int
    kind: str
    destination: str | None
    key: str | None
    payload: dict[str, Any]
    attempts: int


Sender = Callable[[OutboxItem], Awaitable[None]]
SenderFactory = Callable[[Settings], Sender]


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    key: str | None = None,
    destination: str | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's unit of work (flushed with it)."""
    row = OutboxMessage(kind=kind, payload=payload, key=key, destination=destination,
                        attempts=0, next_attempt_at=utcnow(), created_at=utcnow())
    session.add(row)
    return row


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add many messages at once (rows: kind, destination, key, payload, attempts, next_attempt_at,
    created_at), in one statement of the caller's unit of work: the router's events of a batch."""
    await insert_rows(session, OutboxMessage.__table__, rows)


# ---------------------------------------------------------------------------------------------
# Senders


class KafkaSender:
    """Publishes ticket events to Kafka (acks=all), keyed so one ticket's events stay in order."""

    def __init__(self, settings: Settings, topic: str | None = None, timeout: float = 15.0) -> None:
        self.settings = settings
        self.topic = topic or settings.kafka_events_topic
        self.timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                p = make_producer(self.settings, request_timeout_ms=int(self.timeout * 1000))
                try:
                    await p.start()
                except BaseException:
                    await p.stop()
                    raise
                self._producer = p
            return self._producer

    async def __call__(self, item: OutboxItem) -> None:
        producer = await self.producer()
        headers = [("outbox_id", str(item.id).encode())]
        if "event_id" in item.payload:
            headers.append(("event_id", str(item.payload["event_id"]).encode()))
        value = json.dumps(item.payload, ensure_ascii=False, separators=(",", ":")).encode()
        await asyncio.wait_for(
            producer.send_and_wait(item.destination or self.topic, value,
                                   key=item.key.encode() if item.key else None, headers=headers),
            self.timeout,
        )

    async def aclose(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


async def local_only(item: OutboxItem) -> None:
    """Embedded mode has no broker: the event already lives in the ticket's timeline."""
    log.debug("embedded mode: ticket event %s kept locally", item.payload.get("event_id"))


def _ticket_events(settings: Settings) -> Sender:
    return local_only if settings.embedded else KafkaSender(settings)


# kind -> factory(settings) -> sender. Extend it (e.g. from hotline/notify/senders.py, which
# build_senders imports when it exists): SENDER_FACTORIES["email"] = SmtpSender.
SENDER_FACTORIES: dict[str, SenderFactory] = {TICKET_EVENT: _ticket_events}
_PLUGIN_MODULES = ("hotline.notify.senders",)


def build_senders(settings: Settings) -> dict[str, Sender]:
    for mod in _PLUGIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return {kind: factory(settings) for kind, factory in SENDER_FACTORIES.items()}


async def close_senders(senders: dict[str, Sender]) -> None:
    for sender in senders.values():
        aclose = getattr(sender, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # closing must not hide the caller's error
                log.exception("closing a sender failed")


# ---------------------------------------------------------------------------------------------
# The relay


@dataclass(frozen=True)
class RelayPolicy:
    batch: int = 200
    lease: timedelta = timedelta(seconds=60)  # a crashed relay's rows are retried after this
    backoff_base: float = 1.0  # seconds before the first retry; doubles each attempt
    backoff_max: float = 600.0
    concurrency: int = 64  # keys delivered at once


def backoff(attempts: int, policy: RelayPolicy) -> timedelta:
    """Exponential, capped, with a little jitter so failed rows do not retry in lockstep."""
    seconds = min(policy.backoff_max, policy.backoff_base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


async def relay_once(
    db: Database,
    senders: dict[str, Sender],
    *,
    now: datetime | None = None,
    policy: RelayPolicy = RelayPolicy(),
) -> int:
    """Deliver the due outbox rows once; return how many were sent."""
    now = now or utcnow()
    async with db.unit_of_work() as session:
        rows = await repository.claim_due(session, now, policy.batch, now + policy.lease)
        items = [OutboxItem(r.id, r.kind, r.destination, r.key, dict(r.payload), r.attempts) for r in rows]
    if not items:
        return 0

    # One group per (kind, key), in id order: a key's messages go one after another and stop
    # at the first failure; different keys go concurrently.
    groups: dict[tuple[str, str | int], list[OutboxItem]] = {}
    for it in items:
        groups.setdefault((it.kind, it.key if it.key is not None else it.id), []).append(it)
    sent: list[int] = []
    failed: list[tuple[OutboxItem, str]] = []
    untried: list[int] = []
    gate = asyncio.Semaphore(policy.concurrency)

    async def deliver(group: list[OutboxItem]) -> None:
        async with gate:
            for i, it in enumerate(group):
                sender = senders.get(it.kind)
                try:
                    if sender is None:
                        raise LookupError(f"no sender registered for outbox kind {it.kind!r}")
                    await sender(it)
                except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
                    failed.append((it, f"{type(exc).__name__}: {exc}"))
                    untried.extend(x.id for x in group[i + 1:])
                    return
                sent.append(it.id)

    await asyncio.gather(*(deliver(g) for g in groups.values()))

    done_at = utcnow() if now is None else max(now, utcnow())
    async with db.unit_of_work() as session:
        await repository.mark_sent(session, sent, done_at)
        for it, error in failed:
            await repository.mark_failed(session, it.id, error, now + backoff(it.attempts + 1, policy))
        await repository.release(session, untried, now)
    for it, error in failed:
        log.warning("outbox %s #%d (attempt %d) failed: %s", it.kind, it.id, it.attempts + 1, error)
    return len(sent)


async def run_relay(
    db: Database,
    senders: dict[str, Sender],
    stop: asyncio.Event,
    interval: float = 0.5,
    policy: RelayPolicy = RelayPolicy(),
    keep_sent: timedelta = timedelta(days=7),
) -> None:
    """Relay until `stop` is set: drain what is due, then poll every `interval` seconds."""
    last_purge = 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            n = await relay_once(db, senders, policy=policy)
            if loop.time() - last_purge > 3600:
                async with db.unit_of_work() as session:
                    purged = await repository.purge_sent(session, utcnow() - keep_sent)
                last_purge = loop.time()
                if purged:
                    log.info("outbox: purged %d rows sent before %s", purged, keep_sent)
        except Exception:  # the database may be down: keep trying
            log.exception("outbox relay pass failed; retrying")
            n = 0
        if n < policy.batch:
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass


async def run_outbox_relay(settings: Settings, stop: asyncio.Event) -> None:
    """The `hotline outbox-relay` process (also hosted by `hotline dev` and the SLA monitor)."""
    db = Database(settings.database_url, settings.database_pool_size)
    senders = build_senders(settings)
    log.info("outbox relay delivering %s", ", ".join(sorted(senders)))
    try:
        await run_relay(db, senders, stop, interval=settings.outbox_poll_seconds,
                        policy=RelayPolicy(backoff_base=settings.outbox_backoff_base_seconds,
                                           backoff_max=settings.outbox_backoff_max_seconds))
    finally:
        await close_senders(senders)
        await db.dispose()
