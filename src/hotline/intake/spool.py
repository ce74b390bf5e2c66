"""The gateway's durable spool: when Kafka cannot take a message in time, it waits on local disk.

`Spool` is one SQLite file (WAL, `synchronous=FULL`: every append is fsync'd before the platform
is acknowledged). `SpoolingBus` wraps the Kafka producer: it publishes straight to Kafka while
the broker answers, spools otherwise, and a relay task drains the spool to Kafka when the broker
is back — oldest first, never letting a citizen's new message overtake their spooled ones, and
deleting a record only once Kafka acknowledged it. Re-sends are harmless: the router
deduplicates on (channel, external_id).

One spool file per gateway process: two processes sharing a file would both relay it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from hotline.intake.bus import KafkaBus
from hotline.intake.schema import IntakeMessage
from hotline.kit.errors import Unavailable
from hotline.kit.kafka import make_producer
from hotline.kit.settings import Settings

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class SpooledRecord:
    seq: int
    topic: str
    key: bytes
    value: bytes
    headers: Headers


def record_headers(m: IntakeMessage) -> Headers:
    return [("schema_version", str(m.schema_version).encode()), ("channel", m.channel.value.encode())]


class Spool:
    """A FIFO of Kafka records on disk. Thread-safe; call it through `asyncio.to_thread`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # open() runs inside the other methods

    def open(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: the WAL is fsync'd at every commit, so an acknowledged message survives a
                # power cut, not just a crash of the process.
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "topic TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, "
                             "headers BLOB NOT NULL, spooled_at REAL NOT NULL)")
                conn.execute("CREATE INDEX IF NOT EXISTS spool_key ON spool (key)")
            except BaseException:
                conn.close()
                raise
            self._conn = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.open()
        assert self._conn is not None
        return self._conn

    def append(self, topic: str, records: Sequence[tuple[bytes, bytes, Headers]]) -> None:
        """Durable when this returns (committed and fsync'd); raises sqlite3.Error or OSError if not."""
        with self._lock:
            db = self._db()
            now = time.time()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO spool (topic, key, value, headers, spooled_at) VALUES (?, ?, ?, ?, ?)",
                    [(topic, k, v, orjson.dumps([[n, h.decode("latin-1")] for n, h in hs]), now)
                     for k, v, hs in records])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def head(self, limit: int) -> list[SpooledRecord]:
        with self._lock:
            rows = self._db().execute(
                "SELECT seq, topic, key, value, headers FROM spool ORDER BY seq LIMIT ?",
                (limit,)).fetchall()
        return [SpooledRecord(seq, topic, bytes(k), bytes(v),
                              [(n, h.encode("latin-1")) for n, h in orjson.loads(hs)])
                for seq, topic, k, v, hs in rows]

    def delete(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in seqs])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def pending_keys(self) -> Counter[bytes]:
        with self._lock:
            rows = self._db().execute("SELECT key, count(*) FROM spool GROUP BY key").fetchall()
        return Counter({bytes(k): n for k, n in rows})

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class SpoolingBus:
    """Kafka when the broker answers in time, the spool when it does not; 503 only if both fail."""

    def __init__(
        self,
        producer_factory: Callable[[], AIOKafkaProducer],
        topic: str,
        spool: Spool,
        send_timeout: float = 2.0,
        relay_batch: int = 500,
        max_backoff: float = 2.0,
    ) -> None:
        self.producer_factory = producer_factory
        self.topic = topic
        self.spool = spool
        self.send_timeout = send_timeout
        self.relay_batch = relay_batch
        self.max_backoff = max_backoff
        self.producer: AIOKafkaProducer | None = None
        self._kafka: KafkaBus | None = None
        self._broker_ok = False  # False: go straight to the spool; the relay probes the broker
        self._pending: Counter[bytes] = Counter()
        self._wake = asyncio.Event()
        self._relay: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SpoolingBus:
        return cls(lambda: make_producer(settings), settings.kafka_intake_topic, Spool(settings.spool_path),
                   send_timeout=settings.spool_after_seconds)

    @property
    def pending(self) -> int:
        """Messages waiting in the spool."""
        return sum(self._pending.values())

    async def start(self) -> None:
        """Never fails for want of a broker: the gateway serves from the spool until it is back."""
        try:
            await asyncio.to_thread(self.spool.open)
            self._pending = await asyncio.to_thread(self.spool.pending_keys)
            if self._pending:
                log.warning("%d spooled messages from a previous run will be relayed to Kafka", self.pending)
        except (sqlite3.Error, OSError) as exc:
            # Kafka may still take everything; a spool write will be retried (and 503 if it fails).
            log.error("the spool at %s cannot be opened: %s", self.spool.path, exc)
        await self._connect()
        self._relay = asyncio.create_task(self._run_relay(), name="spool-relay")

    async def stop(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
        if self.producer is not None:
            with contextlib.suppress(Exception):
                # Anything unacknowledged is in the spool already; do not wait long on a dead broker.
                await asyncio.wait_for(self.producer.stop(), 10)
            self.producer = None
        await asyncio.to_thread(self.spool.close)

    async def _connect(self) -> bool:
        if self._kafka is not None:
            return True
        producer = self.producer_factory()
        try:
            await asyncio.wait_for(producer.start(), max(self.send_timeout, 5.0))
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            log.warning("Kafka is not reachable (%s); messages go to the spool", type(exc).__name__)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)
            return False
        self.producer = producer
        self._kafka = KafkaBus(producer, self.topic, timeout=self.send_timeout)
        self._broker_ok = not self._pending
        log.info("connected to Kafka")
        return True

    async def publish(self, messages: Sequence[IntakeMessage]) -> None:
        # A citizen with messages still in the spool goes behind them, to keep their order.
        behind = any(self._pending[m.partition_key] for m in messages)
        if self._kafka is not None and self._broker_ok and not behind:
            try:
                await self._kafka.publish(messages)  # within send_timeout, or Unavailable
                return
            except Exception as exc:  # noqa: BLE001 - whatever went wrong, the spool can still take it
                # Some may have reached Kafka after all: a re-send is deduplicated by the router.
                self._broker_ok = False
                log.warning("Kafka did not acknowledge in %.1f s (%s); spooling",
                            self.send_timeout, type(exc.__cause__ or exc).__name__)
        await self._to_spool(messages)

    async def _to_spool(self, messages: Sequence[IntakeMessage]) -> None:
        records = [(m.partition_key, m.to_bytes(), record_headers(m)) for m in messages]
        try:
            await asyncio.to_thread(self.spool.append, self.topic, records)
        except (sqlite3.Error, OSError) as exc:
            log.error("cannot write the spool at %s: %s", self.spool.path, exc)
            raise Unavailable("the message bus is down and the local spool cannot be written; "
                              "retry later", retry_after=5) from exc
        for key, _, _ in records:
            self._pending[key] += 1
        self._wake.set()

    async def ready(self) -> bool:
        """Ready to acknowledge messages durably: Kafka answers, or the spool is writable."""
        if self._kafka is not None and self._broker_ok and await self._kafka.ready():
            return True
        return self.spool._conn is not None  # opened at start, or by a later successful write

    async def _run_relay(self) -> None:
        backoff = 0.2
        while True:
            try:
                self._wake.clear()  # before looking, so a message spooled meanwhile still wakes us
                if not self._pending:
                    if not self._broker_ok and await self._connect():
                        # Nothing to relay (e.g. a spool write failed): probe the broker instead.
                        assert self._kafka is not None
                        self._broker_ok = await self._kafka.ready()
                    if self._broker_ok:
                        backoff = 0.2
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), 5)
                        continue
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                if await self._connect() and await self._relay_once():
                    backoff = 0.2
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("spool relay failed; retrying")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _relay_once(self) -> bool:
        """Send the oldest spooled records; delete those Kafka acknowledged. True if all were."""
        assert self.producer is not None
        batch = await asyncio.to_thread(self.spool.head, self.relay_batch)
        if not batch:
            self._pending.clear()
            self._broker_ok = True
            return True
        sent: list[tuple[SpooledRecord, asyncio.Future[object]]] = []

        async def send_all() -> None:
            assert self.producer is not None
            for r in batch:
                # To the topic it was meant for, even if the gateway's setting changed since.
                fut = await self.producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                sent.append((r, fut))
            await asyncio.gather(*(f for _, f in sent), return_exceptions=True)

        with contextlib.suppress(Exception):
            await asyncio.wait_for(send_all(), max(self.send_timeout * 5, 10.0))
        acked = [r for r, f in sent if f.done() and not f.cancelled() and f.exception() is None]
        await asyncio.to_thread(self.spool.delete, [r.seq for r in acked])
        for r in acked:
            self._pending[r.key] -= 1
            if self._pending[r.key] <= 0:
                del self._pending[r.key]
        if acked:
            log.info("relayed %d spooled messages to Kafka (%d left)", len(acked), self.pending)
        if len(acked) < len(batch):
            return False
        if not self._pending:
            self._broker_ok = True
        return True
