"""`make bench`: hotline's throughput, latency and memory on Kafka (tansu) + PostgreSQL, all on
loopback, beside the ceilings measured in the same run. Prints figures; never fails on speed.

    python -m bench.run [--quick] [--rates 250,500,1000,...] [--poll-tickets 1000000]

Writes bench/results/latest.json and bench/results/latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench import payloads, use_uvloop
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.migrate import upgrade
from tests.support.broker import Broker, free_port
from tests.support.db import _dsn, create_database, drop_database

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
HOTLINE = str(Path(sys.executable).with_name("hotline"))


MAX_SUSTAINED_P99_MS = 1000  # the end-to-end maximum counts only steps whose p99 stayed within this


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def say(msg: str) -> None:
    print(msg, flush=True)


class Proc:
    """A hotline (or other) process started for the bench, stopped at the end."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int | None = None) -> None:
        self.name, self.port = name, port
        self.log = open(RESULTS / f"{name}.log", "wb")
        self.p = subprocess.Popen(args, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
                                  cwd=ROOT)

    def wait_http(self, path: str = "/healthz", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1).status_code < 500:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer in {timeout} s")

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (uvicorn's supervisor and workers), summed."""
        each = self.rss_each_mb()
        return sum(each) if each else float("nan")

    def tree(self) -> list[psutil.Process]:
        """The process and its children (uvicorn's supervisor and workers); empty once it has gone."""
        try:
            proc = psutil.Process(self.p.pid)
            return [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_each_mb(self) -> list[float]:
        """Resident memory of each process in the tree: what one worker holds, for the per-process targets."""
        return [p.memory_info().rss / 2**20 for p in self.tree()]

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the process and its children."""
        tree = self.tree()
        return sum(t.user + t.system for t in (p.cpu_times() for p in tree)) if tree else float("nan")

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()


def load(base: str, reqs: list[dict], rate: float, conns: int = 64) -> list[tuple[str, int, float, float]]:
    with tempfile.TemporaryDirectory() as d:
        rf, of = Path(d) / "reqs.json", Path(d) / "out.json"
        rf.write_text(json.dumps(reqs, ensure_ascii=False))
        subprocess.run([PY, "-m", "bench.load", "--base", base, "--requests", str(rf), "--rate", str(rate),
                        "--conns", str(conns), "--out", str(of)], check=True, cwd=ROOT)
        return [tuple(x) for x in json.loads(of.read_text())]  # type: ignore[misc]


def poll_load(base: str, paths: list[str], headers: list[dict], seconds: float, etag: bool,
              interval: float = 0.0) -> dict:
    with tempfile.TemporaryDirectory() as d:
        spec, out = Path(d) / "spec.json", Path(d) / "out.json"
        spec.write_text(json.dumps({"paths": paths, "headers": headers, "seconds": seconds, "etag": etag,
                                    "interval": interval}))
        subprocess.run([PY, "-m", "bench.load", "--base", base, "--poll", str(spec), "--out", str(out)],
                       check=True, cwd=ROOT)
        return json.loads(out.read_text())


# ------------------------------------------------------------------------------------ ceilings

def echo_ceiling(n: int) -> dict[str, float]:
    port = free_port()
    p = Proc("echo", [PY, "-m", "uvicorn", "bench.echo_app:app", "--port", str(port), "--log-level", "warning",
                      "--no-access-log"], {}, port)
    try:
        p.wait_http("/docs")
        reqs = [{"key": str(i), "method": "POST", "path": "/echo", "headers": {"Content-Type": "application/json"},
                 "body": json.dumps({"phone": "13800138000", "text": "路灯坏了", "client_message_id": str(i)})}
                for i in range(n)]
        res = load(f"http://127.0.0.1:{port}", reqs, rate=1e9)
        span = max(r[2] + r[3] for r in res) - min(r[2] for r in res)
        return {"requests_per_s": len(res) / span, "p99_ms": pct([r[3] for r in res], 99) * 1000,
                "rss_mb": p.rss_mb()}
    finally:
        p.stop()


async def kafka_ceiling(bootstrap: str, n: int) -> dict[str, float]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"ceiling-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    payload = b"x" * 300
    prod = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await prod.start()
    t = time.perf_counter()
    futs = [await prod.send(topic, payload, key=str(i % 1000).encode()) for i in range(n)]
    await asyncio.gather(*futs)
    produce = n / (time.perf_counter() - t)
    await prod.stop()
    cons = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"g-{topic}", enable_auto_commit=False,
                            auto_offset_reset="earliest")
    await cons.start()
    got, t = 0, time.perf_counter()
    while got < n:
        batch = await cons.getmany(timeout_ms=500, max_records=1000)
        for rs in batch.values():
            got += len(rs)
        if batch:
            await cons.commit()
    consume = n / (time.perf_counter() - t)
    await cons.stop()
    return {"produce_per_s": produce, "consume_per_s": consume}


ROW_SQL = """CREATE TABLE IF NOT EXISTS bench_rows (id bigserial primary key, tracking_number text unique,
 type text, status text, channel text, text text, department_code text, routing jsonb,
 received_at timestamptz, created_at timestamptz)"""


def bench_row(i: int, tag: str) -> tuple:
    now = datetime.now(UTC)
    return (f"{tag}{i:012d}", "complaint", "dispatched", "web", payloads.TEXTS[i % 8] * 3, "env",
            json.dumps({"rule": "env-noise", "reasons": ["关键词「噪音」"]}), now, now)


async def asyncpg_ceiling(dsn: str, n: int) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    await conn.execute(ROW_SQL)
    tag = uuid.uuid4().hex[:6]
    t = time.perf_counter()
    for start in range(0, n, 500):
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO bench_rows (tracking_number, type, status, channel, text, department_code, routing,"
                " received_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                [bench_row(i, tag) for i in range(start, min(n, start + 500))])
    rate = n / (time.perf_counter() - t)
    await conn.close()
    return {"rows_per_s": rate}


async def kafka_to_pg_ceiling(bootstrap: str, topic: str, dsn: str, n: int) -> float:
    """The raw path the router stands on: consume a pre-filled topic, insert 500 rows per transaction."""
    from aiokafka import AIOKafkaConsumer

    conn = await asyncpg.connect(dsn)
    await conn.execute(ROW_SQL)
    cons = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex[:6]}",
                            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500)
    await cons.start()
    got, t, tag = 0, time.perf_counter(), uuid.uuid4().hex[:6]
    while got < n:
        batch = await cons.getmany(timeout_ms=500, max_records=500)
        records = [r for rs in batch.values() for r in rs]
        if not records:
            continue
        rows = []
        for r in records:
            m = json.loads(r.value)
            now = datetime.now(UTC)
            rows.append((f"{tag}{got + len(rows):012d}", "complaint", "dispatched", m["channel"], m["text"], "env",
                         json.dumps({"rule": "raw"}), now, now))
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO bench_rows (tracking_number, type, status, channel, text, department_code, routing,"
                " received_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)", rows)
        await cons.commit()
        got += len(records)
    rate = n / (time.perf_counter() - t)
    await cons.stop()
    await conn.close()
    return rate


# ------------------------------------------------------------------------------------ hotline

def hotline_env(db_url: str, bootstrap: str, topic: str, group: str) -> dict[str, str]:
    return {**payloads.gateway_env(), "HOTLINE_DATABASE_URL": db_url, "HOTLINE_KAFKA_BOOTSTRAP": bootstrap,
            "HOTLINE_KAFKA_INTAKE_TOPIC": topic, "HOTLINE_KAFKA_ROUTER_GROUP": group,
            "HOTLINE_KAFKA_ENABLE_IDEMPOTENCE": "false", "HOTLINE_LOG_LEVEL": "WARNING",
            "HOTLINE_ENVIRONMENT": "test", "HOTLINE_ROUTER_METRICS_PORT": str(free_port()), "HOTLINE_SPOOL_PATH": str(RESULTS / f"spool-{topic}.db")}


async def count_intake(conn: asyncpg.Connection, keys: list[str]) -> int:
    pairs = [k.split(":", 1) for k in keys]
    return await conn.fetchval(
        "SELECT count(*) FROM intake_messages i JOIN unnest($1::text[], $2::text[]) AS k(c, e)"
        " ON i.channel = k.c AND i.external_id = k.e", [p[0] for p in pairs], [p[1] for p in pairs])


def router_batches(metrics_url: str | None) -> tuple[float, float, float]:
    """(batches, records, seconds in batches) so far, from the router's own histograms."""
    if not metrics_url:
        return (0.0, 0.0, 0.0)
    text = httpx.get(metrics_url, timeout=5).text
    values = dict(line.rsplit(" ", 1) for line in text.splitlines()
                  if line.startswith(("hotline_router_batch_size_", "hotline_router_batch_duration_seconds_sum")))
    return (float(values.get("hotline_router_batch_size_count", 0)), float(values.get("hotline_router_batch_size_sum", 0)),
            float(values.get("hotline_router_batch_duration_seconds_sum", 0)))


async def e2e_step(conn: asyncpg.Connection, dsn: str, base: str, rate: int, seconds: float,
                   gateway: Proc | None = None, router: Proc | None = None,
                   router_metrics: str | None = None) -> dict[str, Any]:
    n = int(rate * seconds)
    run = uuid.uuid4().hex[:6]
    reqs = payloads.build_many(n, run, base)
    started = datetime.now(UTC)
    cpu0 = [p.cpu_seconds() if p else float("nan") for p in (gateway, router)]
    b0 = router_batches(router_metrics)
    # When each ticket became visible (committed), seen by a second connection every ~10 ms: the
    # latency's end. The router stamps created_at before its batch's writes and commit, so that
    # column alone would flatter the figure by up to a batch's duration.
    # Never a sequential scan: with the table's statistics behind its growth, PostgreSQL expected
    # thousands of rows past the last id seen and scanned the whole table every 10 ms (16 ms a look
    # at 40,000 tickets; ~25 % of a core at 1,500/s, taken from the system being measured). The
    # primary key's index answers in 0.2 ms.
    observer_conn = await asyncpg.connect(dsn, server_settings={"enable_seqscan": "off"})
    visible: dict[int, datetime] = {}
    watching = asyncio.Event()
    observer = asyncio.create_task(_watch_commits(observer_conn, visible, watching))
    await watching.wait()
    res = await asyncio.to_thread(load, base, reqs, rate, 128)
    acked = [r for r in res if 200 <= r[1] < 300]
    keys = [r[0] for r in acked]
    # Drain: wait while the router makes progress; what is still missing after 30 s without
    # progress is counted as lost (a message acknowledged to a platform and never ticketed).
    stored, last, last_change = 0, -1, time.monotonic()
    while time.monotonic() - last_change < 30:
        stored = await count_intake(conn, keys)
        if stored >= len(keys):
            break
        if stored != last:
            last, last_change = stored, time.monotonic()
        await asyncio.sleep(0.5)
    await asyncio.sleep(0.05)  # the observer's last look
    observer.cancel()
    with suppress(asyncio.CancelledError):
        await observer
    await observer_conn.close()
    rows = await conn.fetch(
        "SELECT t.id, extract(epoch from t.created_at - t.received_at) AS lag, t.created_at, t.received_at"
        " FROM tickets t WHERE t.received_at >= $1 AND t.text LIKE '%（' || $2 || '-%'", started, run)
    stamped = [float(r["lag"]) for r in rows]
    lags = [(visible[r["id"]] - r["received_at"]).total_seconds() if r["id"] in visible else float(r["lag"])
            for r in rows]
    span = (max(r["created_at"] for r in rows) - min(r["received_at"] for r in rows)).total_seconds() if rows else 1
    dup = await conn.fetchval(
        "SELECT count(*) - count(DISTINCT text) FROM tickets WHERE received_at >= $1 AND text LIKE '%（' || $2 || '-%'",
        started, run)
    cpu1 = [p.cpu_seconds() if p else float("nan") for p in (gateway, router)]
    b1 = router_batches(router_metrics)
    batches, records, in_batches = (b1[i] - b0[i] for i in range(3))
    return {"offered_per_s": rate, "sent": n, "acknowledged": len(acked),
            # Where the time goes: CPU per message in each process, and the router's batches
            # (a message waits for the batch in progress, then for its own).
            "gateway_cpu_ms_per_msg": (cpu1[0] - cpu0[0]) * 1000 / max(n, 1),
            "router_cpu_ms_per_msg": (cpu1[1] - cpu0[1]) * 1000 / max(len(rows), 1),
            "router_batches": int(batches), "router_batch_mean_size": records / batches if batches else 0.0,
            "router_batch_mean_ms": in_batches * 1000 / batches if batches else 0.0,
            "refused": {str(s): sum(1 for r in res if r[1] == s) for s in {r[1] for r in res} if not 200 <= s < 300},
            "ticketed": len(rows), "lost": len(acked) - stored, "duplicated": int(dup or 0),
            "sustained_per_s": len(rows) / span if span > 0 else 0.0,
            "http_p50_ms": pct([r[3] for r in res], 50) * 1000, "http_p99_ms": pct([r[3] for r in res], 99) * 1000,
            "e2e_p50_ms": pct(lags, 50) * 1000, "e2e_p95_ms": pct(lags, 95) * 1000, "e2e_p99_ms": pct(lags, 99) * 1000,
            "observed_committed": sum(1 for r in rows if r["id"] in visible),
            "stamped_p99_ms": pct(stamped, 99) * 1000}


async def _watch_commits(conn: asyncpg.Connection, visible: dict[int, datetime], ready: asyncio.Event) -> None:
    """Record the wall time each new ticket row is first seen from another connection (= committed)."""
    last_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM tickets")
    ready.set()
    while True:
        rows = await conn.fetch("SELECT id FROM tickets WHERE id > $1 ORDER BY id LIMIT 20000", last_id)
        now = datetime.now(UTC)
        for r in rows:
            visible.setdefault(r["id"], now)
        # One router commits its batches in order, so ids only grow; a lower id committed late
        # (several routers) is missed and falls back to its created_at stamp.
        if rows:
            last_id = rows[-1]["id"]
        await asyncio.sleep(0.01)


async def prefill(bootstrap: str, topic: str, n: int, partitions: int = 3) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, partitions, 1)])
    await admin.close()
    prod = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    await prod.start()
    now = datetime.now(UTC)
    futs = []
    for i in range(n):
        ext = f"{topic}-{i}"
        m = IntakeMessage(channel=Channel.WEB, external_id=ext, tracking_number=tracking_number_for("web", ext),
                          citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=f"+86139{i % 10**8:08d}",
                                          phone=f"+86139{i % 10**8:08d}"),
                          text=f"{payloads.TEXTS[i % 8]}（{topic}-{i}）",
                          received_at=now + timedelta(microseconds=i))  # distinct, as real arrivals are
        futs.append(await prod.send(topic, m.to_bytes(), key=m.partition_key))
    await asyncio.gather(*futs)
    await prod.stop()


async def router_alone(db_url: str, dsn: str, bootstrap: str, n: int) -> dict[str, float]:
    topic = f"router-{uuid.uuid4().hex[:6]}"
    await prefill(bootstrap, topic, n)
    raw = await kafka_to_pg_ceiling(bootstrap, topic, dsn, n)
    conn = await asyncpg.connect(dsn)
    p = Proc("router-alone", [HOTLINE, "router"], hotline_env(db_url, bootstrap, topic, f"g-{topic}"))
    t = time.perf_counter()
    first: tuple[int, float, float] | None = None  # tickets, router CPU, PostgreSQL CPU at the first commit seen
    try:
        while True:
            done = await conn.fetchval("SELECT count(*) FROM intake_messages WHERE external_id LIKE $1", f"{topic}-%")
            if first is None and done:
                first = (done, p.cpu_seconds(), postgres_cpu_seconds())
            if done >= n or time.perf_counter() - t > 300:
                break
            await asyncio.sleep(0.5)
        last = (done, p.cpu_seconds(), postgres_cpu_seconds())
        span = await conn.fetchval(
            "SELECT extract(epoch from max(created_at) - min(created_at)) FROM tickets WHERE text LIKE $1",
            f"%（{topic}-%")
        rss = p.rss_mb()
    finally:
        p.stop()
        await conn.close()
    # CPU per ticket between the first commit seen and the end (start-up and model loading left out):
    # what each side would cap the rate at with a core of its own.
    counted = last[0] - first[0] if first else 0
    cpu = {f"{side}_cpu_ms_per_ticket": (last[i] - first[i]) / counted * 1000 if first and counted else float("nan")
           for i, side in ((1, "router"), (2, "postgres"))}
    return {"tickets": done, "tickets_per_s": done / float(span or 1), "raw_kafka_to_pg_rows_per_s": raw,
            "rss_mb": rss, **cpu}


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of every PostgreSQL process on the machine (backends, WAL writer,
    checkpointer): the database's whole share of the work, as the bench runs nothing else on it."""
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres":
            with suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system
    return total


async def seed_tickets(dsn: str, n: int) -> list[str]:
    """n tickets spread over the units, written with COPY (the fast path)."""
    conn = await asyncpg.connect(dsn)
    codes = [r["code"] for r in await conn.fetch("SELECT code FROM departments WHERE kind <> 'centre'")]
    cols = await conn.fetch(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
        " WHERE table_name = 'tickets' AND table_schema = current_schema() ORDER BY ordinal_position")
    fill: dict[str, Any] = {}
    now = datetime.now(UTC)
    defaults = {"boolean": False, "integer": 0, "bigint": 0, "double precision": 0.0, "jsonb": "{}", "json": "{}",
                "timestamp with time zone": now, "text": "", "character varying": ""}
    for c in cols:
        if c["column_name"] != "id" and c["is_nullable"] == "NO" and c["column_default"] is None:
            fill[c["column_name"]] = defaults.get(c["data_type"], "")
    statuses = ["dispatched", "accepted", "in_progress", "replied", "closed"]
    tag = uuid.uuid4().hex[:4].upper()
    # Every column a row sets, not only the required ones: department_code is nullable, and a seed
    # without it left every unit's queue empty (a poll then measured a scan finding nothing).
    set_too = ("tracking_number", "type", "status", "channel", "text", "urgency", "department_code",
               "received_at", "created_at", "updated_at", "confidential")
    names = list(dict.fromkeys([*fill, *set_too]))

    def rows(start: int, stop: int):  # type: ignore[no-untyped-def]
        for i in range(start, stop):
            at = now - timedelta(seconds=(n - i) * 3)
            v = dict(fill)
            v.update(tracking_number=f"DGB{tag}{i:09d}", type="complaint", status=statuses[i % 5], channel="web",
                     text=payloads.TEXTS[i % 8], urgency="normal", department_code=codes[i % len(codes)],
                     received_at=at, created_at=at, updated_at=at, confidential=False)
            yield tuple(v[k] for k in names)

    for start in range(0, n, 100_000):
        await conn.copy_records_to_table("tickets", records=rows(start, min(n, start + 100_000)), columns=names)
    await conn.execute("ANALYZE tickets")
    await conn.close()
    return codes


async def polling(db_url: str, dsn: str, n_tickets: int, pollers: int, seconds: float, interval: float,
                  workers: int) -> dict[str, Any]:
    """The model: `pollers` department systems, each polling its unit's queue (limit=50) every
    `interval` s from a random phase, plain and with If-None-Match; then the same pollers in a closed
    loop with no pause, which is the API's saturation rate (not a load any department makes)."""
    t = time.perf_counter()
    codes = await seed_tickets(dsn, n_tickets)
    seeded = time.perf_counter() - t
    from hotline.auth import service
    from hotline.kit.db import Database

    db = Database(db_url)
    keys: dict[str, str] = {}
    async with db.unit_of_work() as s:
        for code in codes:
            _, key = await service.create_principal(s, name=f"bench-{code}-{uuid.uuid4().hex[:4]}", role="department",
                                                    department_code=code, secret_key=payloads.SECRET_KEY)
            keys[code] = key or ""
    await db.dispose()
    port = free_port()
    api = Proc("api", [HOTLINE, "api", "--port", str(port), *(["--workers", str(workers)] if workers > 1 else [])],
               {**payloads.gateway_env(), "HOTLINE_DATABASE_URL": db_url, "HOTLINE_LOG_LEVEL": "WARNING"}, port)
    base = f"http://127.0.0.1:{port}"
    paths = [f"/api/v1/departments/{codes[i % len(codes)]}/tickets?limit=50" for i in range(pollers)]
    headers = [{"Authorization": f"Bearer {keys[codes[i % len(codes)]]}"} for i in range(pollers)]

    def summary(r: dict, cpu: float) -> dict[str, Any]:
        lat = r["latencies"]
        return {"requests_per_s": len(lat) / r["seconds"], "p50_ms": pct(lat, 50) * 1000,
                "p95_ms": pct(lat, 95) * 1000, "p99_ms": pct(lat, 99) * 1000,
                "api_cpu_ms_per_request": cpu * 1000 / max(1, len(lat)), "overran": r.get("overran", 0),
                "statuses": r["statuses"]}

    out: dict[str, Any] = {"tickets": n_tickets, "seed_seconds": seeded, "pollers": pollers,
                           "interval_s": interval, "workers": workers}
    try:
        api.wait_http()
        # Warm-up: every poller's first page (connections, statement caches), not measured.
        await asyncio.to_thread(poll_load, base, paths, headers, 1.0, False, 1.0)
        for mode, every in (("interval", interval), ("closed_loop", 0.0)):
            for name, etag in (("plain", False), ("etag", True)):
                before = api.cpu_seconds()
                r = await asyncio.to_thread(poll_load, base, paths, headers, seconds, etag, every)
                out.setdefault(mode, {})[name] = summary(r, api.cpu_seconds() - before)
        out["api_rss_mb"] = api.rss_mb()
        out["api_rss_each_mb"] = [round(m, 1) for m in api.rss_each_mb()]
    finally:
        api.stop()
    return out


# ------------------------------------------------------------------------------------ main

async def main(a: argparse.Namespace) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "cores": os.cpu_count(),
                           "machine": os.uname().machine}
    broker = Broker(log_dir=RESULTS)
    broker.start()
    db_url = await create_database("hotline_bench")
    dsn = _dsn(db_url)
    procs: list[Proc] = []
    try:
        await asyncio.to_thread(upgrade, db_url)
        subprocess.run([HOTLINE, "seed", "--demo"], env={**os.environ, "HOTLINE_DATABASE_URL": db_url}, check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
        say("== 1. ceilings (same run, same machine)")
        out["echo"] = echo_ceiling(a.echo_n)  # always: the ratios are against it
        say(f"   FastAPI/uvicorn JSON echo        {out['echo']['requests_per_s']:9.0f} req/s")
        if "ceilings" in a.only:
            out["kafka"] = await kafka_ceiling(broker.bootstrap, a.kafka_n)
            say(f"   aiokafka produce → tansu          {out['kafka']['produce_per_s']:9.0f} msg/s")
            say(f"   aiokafka consume (commit/batch)   {out['kafka']['consume_per_s']:9.0f} msg/s")
            out["asyncpg"] = await asyncpg_ceiling(dsn, a.pg_n)
            say(f"   asyncpg insert, 500 rows/txn      {out['asyncpg']['rows_per_s']:9.0f} rows/s")

        if "router" in a.only:
            say("== 3. router alone (pre-filled topic → committed rows, one process = one core)")
            out["router"] = await router_alone(db_url, dsn, broker.bootstrap, a.router_n)
            say(f"   router                            {out['router']['tickets_per_s']:9.0f} tickets/s "
                f"({out['router']['tickets']} tickets)")
            say(f"   raw Kafka → asyncpg ceiling       {out['router']['raw_kafka_to_pg_rows_per_s']:9.0f} rows/s")
            r = out["router"]
            say(f"   CPU per ticket: router {r['router_cpu_ms_per_ticket']:.3f} ms, PostgreSQL "
                f"{r['postgres_cpu_ms_per_ticket']:.3f} ms (each alone on a core: "
                f"{1000 / r['router_cpu_ms_per_ticket']:,.0f} / {1000 / r['postgres_cpu_ms_per_ticket']:,.0f} tickets/s)")

        if "e2e" in a.only:
            say("== 2. end to end: signed webhooks (WeChat AES, Twilio SMS, web, app) → gateway → Kafka → router → PostgreSQL")
            topic = f"e2e-{uuid.uuid4().hex[:6]}"
            from aiokafka.admin import AIOKafkaAdminClient, NewTopic

            admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
            await admin.start()
            await admin.create_topics([NewTopic(topic, 6, 1)])
            await admin.close()
            env = hotline_env(db_url, broker.bootstrap, topic, f"g-{topic}")
            gport = free_port()
            gateway = Proc("gateway", [HOTLINE, "gateway", "--port", str(gport)], env, gport)
            router = Proc("router", [HOTLINE, "router"], env)
            procs += [gateway, router]
            gateway.wait_http()
            base = f"http://127.0.0.1:{gport}"
            conn = await asyncpg.connect(dsn)
            metrics = f"http://127.0.0.1:{env['HOTLINE_ROUTER_METRICS_PORT']}/metrics"
            await e2e_step(conn, dsn, base, 100, 2)  # warm-up: group join, connections, first batches
            steps = []
            for rate in a.rates:
                s = await e2e_step(conn, dsn, base, rate, a.step_seconds, gateway, router, metrics)
                steps.append(s)
                say(f"   offered {rate:5d}/s  sustained {s['sustained_per_s']:7.0f}/s  http p99 {s['http_p99_ms']:7.1f} ms"
                    f"  e2e p50 {s['e2e_p50_ms']:7.1f} / p95 {s['e2e_p95_ms']:7.1f} / p99 {s['e2e_p99_ms']:7.1f} ms"
                    f"  acked {s['acknowledged']}/{s['sent']} lost {s['lost']} dup {s['duplicated']}")
                say(f"{'':20}CPU per message: gateway {s['gateway_cpu_ms_per_msg']:.2f} ms, router "
                    f"{s['router_cpu_ms_per_msg']:.2f} ms;  router batches {s['router_batches']}, "
                    f"mean {s['router_batch_mean_size']:.0f} messages in {s['router_batch_mean_ms']:.0f} ms;  "
                    f"latency to the commit seen ({s['observed_committed']}/{s['ticketed']} tickets; "
                    f"to the router's created_at stamp p99 {s['stamped_p99_ms']:.0f} ms)")
                if s["e2e_p99_ms"] > 2000 or s["acknowledged"] < 0.98 * s["sent"]:
                    say("   latency broke: stopping the ramp")
                    break
            await conn.close()
            out["e2e"] = steps
            out["gateway_rss_mb"], out["router_rss_mb"] = gateway.rss_mb(), router.rss_mb()
            for p in procs:
                p.stop()

        if "polling" in a.only:
            say(f"== 4. department polling over {a.poll_tickets:,} tickets: {a.pollers} department systems, each"
                f" polling its unit's queue (limit=50) every {a.poll_interval:g} s from a random phase"
                f" (offered {a.pollers / a.poll_interval:.0f} polls/s); API with {a.api_workers} worker(s)")
            out["polling"] = await polling(db_url, dsn, a.poll_tickets, a.pollers, a.poll_seconds, a.poll_interval,
                                           a.api_workers)
            pl = out["polling"]
            say(f"   seeded with COPY in {pl['seed_seconds']:.1f} s")

            def line(label: str, r: dict[str, Any]) -> str:
                return (f"   {label:<22} {r['requests_per_s']:7.0f} req/s  p50 {r['p50_ms']:7.1f}  p95 {r['p95_ms']:7.1f}"
                        f"  p99 {r['p99_ms']:7.1f} ms  API CPU {r['api_cpu_ms_per_request']:5.2f} ms/req"
                        f"  {r['statuses']}" + (f"  overran {r['overran']}" if r["overran"] else ""))

            say(line(f"every {a.poll_interval:g} s, plain", pl["interval"]["plain"]))
            say(line(f"every {a.poll_interval:g} s, ETag", pl["interval"]["etag"]))
            say(f"   closed loop (saturation: the same {a.pollers} pollers with no pause between polls):")
            say(line("closed loop, plain", pl["closed_loop"]["plain"]))
            say(line("closed loop, ETag", pl["closed_loop"]["etag"]))
    finally:
        for p in procs:
            p.stop()
        broker.stop()
        await drop_database(db_url)

    say("== 5. resident memory")
    each = out.get("polling", {}).get("api_rss_each_mb") or []
    say(f"   gateway {out.get('gateway_rss_mb', float('nan')):6.0f} MB   router {out.get('router_rss_mb', float('nan')):6.0f} MB"
        f"   api {out.get('polling', {}).get('api_rss_mb', float('nan')):6.0f} MB"
        + (f" in {len(each)} processes (largest {max(each):.0f} MB)" if len(each) > 1 else "")
        + f"   (echo app {out['echo']['rss_mb']:.0f} MB)")
    at500 = next((s for s in out.get("e2e", []) if s["offered_per_s"] == 500), None)
    # Sustained: no loss, at least 90 % of the offered rate, and latency held (p99 to the commit
    # within MAX_SUSTAINED_P99_MS): a step that only keeps up by queueing is not sustained.
    ok = [s for s in out.get("e2e", []) if s["lost"] == 0 and s["sustained_per_s"] >= 0.9 * s["offered_per_s"]
          and s["e2e_p99_ms"] <= MAX_SUSTAINED_P99_MS]
    best = max(ok, key=lambda s: s["sustained_per_s"]) if ok else None
    out["summary"] = {
        "e2e_max_sustained_per_s": best["sustained_per_s"] if best else 0,
        "e2e_p99_ms_at_500": at500["e2e_p99_ms"] if at500 else None,
        "lost": sum(s["lost"] for s in out.get("e2e", [])),
        "duplicated": sum(s["duplicated"] for s in out.get("e2e", [])),
        "ratio_e2e_to_echo": (best["sustained_per_s"] if best else 0) / out["echo"]["requests_per_s"],
        "ratio_router_to_raw": (out["router"]["tickets_per_s"] / out["router"]["raw_kafka_to_pg_rows_per_s"]
                                if "router" in out else float("nan")),
    }
    sm = out["summary"]
    say("== 6. ratios")
    say(f"   end to end max sustained          {sm['e2e_max_sustained_per_s']:9.0f} tickets/s "
        f"(no loss, ≥ 90 % of offered, p99 ≤ {MAX_SUSTAINED_P99_MS} ms; p99 at 500/s: {sm['e2e_p99_ms_at_500'] if sm['e2e_p99_ms_at_500'] is None else round(sm['e2e_p99_ms_at_500'], 1)} ms)")
    say(f"   every message accounted for       lost = {sm['lost']}, duplicated = {sm['duplicated']}")
    say(f"   end-to-end / echo ceiling         {sm['ratio_e2e_to_echo']:9.2f}")
    say(f"   router / raw Kafka→PG ceiling     {sm['ratio_router_to_raw']:9.2f}")
    return out


def chart(out: dict[str, Any]) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    steps = out.get("e2e", [])
    if not steps:
        return None
    x = [s["offered_per_s"] for s in steps]
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, label in (("e2e_p50_ms", "p50"), ("e2e_p95_ms", "p95"), ("e2e_p99_ms", "p99")):
        ax.plot(x, [s[k] for s in steps], marker="o", label=f"webhook accepted → ticket dispatched, {label}")
    ax.set_xlabel("offered rate (webhooks/s)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=.3)
    ax.legend(fontsize=8)
    ax.set_title(f"hotline end to end on {out['cores']} cores (tansu + PostgreSQL, loopback)")
    path = RESULTS / "latency.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--rates", default="250,500,1000,1500,1750,2000,2500,3000")
    ap.add_argument("--step-seconds", type=float, default=8)
    ap.add_argument("--poll-tickets", type=int, default=1_000_000)
    ap.add_argument("--pollers", type=int, default=200)
    ap.add_argument("--poll-seconds", type=float, default=10, help="length of each polling phase")
    ap.add_argument("--poll-interval", type=float, default=1.0,
                    help="seconds between one department system's polls (random phase per poller)")
    ap.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes of `hotline api`")
    ap.add_argument("--only", default="ceilings,router,e2e,polling",
                    help="comma-separated parts to run (the echo ceiling always runs): ceilings,router,e2e,polling")
    a = ap.parse_args()
    a.only = set(a.only.split(","))
    a.rates = [int(r) for r in a.rates.split(",")]
    a.echo_n, a.kafka_n, a.pg_n, a.router_n = 20_000, 100_000, 50_000, 30_000
    if a.quick:
        a.rates, a.step_seconds = [250, 500], 3
        a.poll_tickets, a.pollers, a.poll_seconds = 20_000, 20, 3
        a.echo_n, a.kafka_n, a.pg_n, a.router_n = 2_000, 5_000, 5_000, 2_000
    use_uvloop()
    out = asyncio.run(main(a))
    (RESULTS / "latest.json").write_text(json.dumps(out, indent=1, default=str))
    png = chart(out)
    say(f"results: {RESULTS / 'latest.json'}" + (f", chart: {png}" if png else ""))


if __name__ == "__main__":
    cli()
