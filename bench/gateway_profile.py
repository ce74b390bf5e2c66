"""The gateway's CPU per webhook without HTTP or a broker: the bench's signed webhooks (WeChat AES,
Twilio SMS, web form, app; bench/payloads.py) called straight into the gateway's ASGI app, in one
process. The fastest feedback loop for the gateway's own cost; `python -m bench.run --only e2e`
confirms it through uvicorn and Kafka.

    python -m bench.gateway_profile [--n 4000] [--rounds 5] [--kind all|wechat|sms|web|app]
                                    [--bus stub|producer] [--profile]

`--bus kafka` starts a tansu broker and publishes through the gateway's real bus (best with
`--rate`, so that requests overlap and the producer batches them as under load).
`--bus stub` (default) stands in for the bus: it serialises each message as Kafka would get it
and returns at once. `--bus producer` goes through the real `SpoolingBus` → `KafkaBus` path with a
stub producer whose deliveries are already acknowledged (aiokafka's own cost is not in it).
Both are for profiling only: the tests use a real broker or the spool.

Prints µs of CPU per webhook (median of rounds) and, with --profile, where it went (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import payloads, use_uvloop

BASE = "http://127.0.0.1:8001"
KINDS = {"wechat": 0, "sms": 1, "web": 2, "app": 3}


class StubBus:
    """Serialises like the Kafka bus and returns (profiling only)."""

    pending = 0

    async def publish(self, messages: Any) -> None:
        for m in messages:
            m.to_bytes()
            _ = m.partition_key

    async def ready(self) -> bool:
        return True


class _Acked:
    """A delivery future that is already done."""

    def __await__(self) -> Any:
        return None
        yield  # pragma: no cover - makes this a generator


class StubProducer:
    """What `KafkaBus` calls of an AIOKafkaProducer, every send acknowledged (profiling only)."""

    def __init__(self) -> None:
        self.client = self
        self.sent = 0

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def fetch_all_metadata(self) -> None: ...

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> Any:
        self.sent += 1
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


def scopes(n: int, kind: str) -> list[tuple[dict[str, Any], bytes]]:
    run = uuid.uuid4().hex[:6]
    reqs = payloads.build_many(n * (1 if kind == "all" else 4), run, BASE)
    if kind != "all":
        reqs = reqs[KINDS[kind]::4]
    out = []
    for r in reqs[:n]:
        path, _, query = r["path"].partition("?")
        body = r["body"].encode()
        headers = [(k.lower().encode(), v.encode()) for k, v in r["headers"].items()]
        headers += [(b"host", b"127.0.0.1:8001"), (b"content-length", str(len(body)).encode())]
        out.append(({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": r["method"],
                     "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                     "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                     "server": ("127.0.0.1", 8001)}, body))
    return out


async def call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def paced(app: Any, reqs: list[tuple[dict[str, Any], bytes]], rate: float) -> list[int]:
    """Requests started at `rate` per second, each awaited in its own task (as concurrent clients)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks = []
    for i, (s, b) in enumerate(reqs):
        delay = t0 + i / rate - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call(app, s, b)))
    return list(await asyncio.gather(*tasks))


async def main(a: argparse.Namespace) -> None:
    os.environ.update(payloads.gateway_env())
    os.environ.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    tmp = tempfile.mkdtemp()
    os.environ["HOTLINE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp}/unused.db"
    os.environ["HOTLINE_KAFKA_BOOTSTRAP"] = "127.0.0.1:1"
    os.environ["HOTLINE_SPOOL_PATH"] = str(Path(tmp) / "spool.db")
    from hotline.api.app import create_app
    from hotline.intake.bus import KafkaBus
    from hotline.intake.spool import Spool, SpoolingBus
    from hotline.kit.logging import configure_logging, secrets_of
    from hotline.kit.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json, secrets_of(settings))  # as `hotline` does
    app = create_app(settings, ("gateway",))
    broker = None
    if a.bus == "kafka":
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        from tests.support.broker import Broker

        broker = Broker()
        broker.start()
        settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap, "kafka_enable_idempotence": False,
                                               "kafka_intake_topic": f"profile-{uuid.uuid4().hex[:6]}"})
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(settings.kafka_intake_topic, 6, 1)])
        await admin.close()
        bus = SpoolingBus.from_settings(settings)
        await bus.start()
        app.state.bus = bus
    elif a.bus == "producer":
        producer = StubProducer()
        bus = SpoolingBus(lambda: producer, settings.kafka_intake_topic, Spool(Path(tmp) / "spool.db"))
        bus.producer = producer  # type: ignore[assignment]
        bus._kafka = KafkaBus(producer, settings.kafka_intake_topic)  # type: ignore[arg-type]
        bus._broker_ok = True
        app.state.bus = bus
    else:
        app.state.bus = StubBus()
    stack = app  # as uvicorn calls it, without the lifespan (no database, no broker)

    times = []
    prof = cProfile.Profile() if a.profile else None
    for r in range(a.rounds + 1):  # the first round warms up
        reqs = scopes(a.n, a.kind)  # fresh ids each round: nothing is a repeat
        t0 = time.process_time()
        if prof is not None and r > 0:
            prof.enable()
        if a.rate:
            statuses = await paced(stack, reqs, a.rate)
        else:
            statuses = [await call(stack, s, b) for s, b in reqs]
        if prof is not None and r > 0:
            prof.disable()
        dt = time.process_time() - t0
        bad = [s for s in statuses if not 200 <= s < 300]
        if bad:
            raise SystemExit(f"{len(bad)} requests refused, e.g. {bad[:5]}")
        if r > 0:
            times.append(dt / len(reqs) * 1e6)
    if broker is not None:
        await app.state.bus.stop()
        broker.stop()
    print(f"{a.kind} via {a.bus} bus{f' at {a.rate}/s' if a.rate else ''}: {statistics.median(times):.0f} µs CPU per webhook "
          f"(median of {a.rounds} rounds of {a.n}; min {min(times):.0f}, max {max(times):.0f})")
    if prof is not None:
        st = pstats.Stats(prof)
        st.sort_stats(a.sort).print_stats(a.top)


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--kind", default="all", choices=["all", *KINDS])
    ap.add_argument("--bus", default="stub", choices=["stub", "producer", "kafka"])
    ap.add_argument("--rate", type=float, default=0,
                    help="start requests at this rate (concurrently); 0: one after the other")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=45)
    a = ap.parse_args()
    use_uvloop()
    asyncio.run(main(a))


if __name__ == "__main__":
    cli()
