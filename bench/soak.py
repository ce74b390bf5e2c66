"""`make soak`: a bounded stream of citizen messages for N minutes through real processes while
faults are injected on a schedule; prints sent / acknowledged / ticketed / lost / duplicated.

    python -m bench.soak [--minutes 3] [--rate 40]

Faults, in turn: the router is killed (SIGKILL) and restarted; PostgreSQL (a private server of
the soak's own) is stopped and restarted; the broker is stopped and restarted; the gateway is
stopped (SIGTERM) and restarted. Like a platform, the sender retries what was not acknowledged
(same message id), so "lost" counts only messages hotline acknowledged and never ticketed.

tansu keeps topics in memory, so a broker restart empties it: the soak stops the broker only once
the router has caught up (on Apache Kafka the log survives a restart and this wait is not needed).
What the gateway accepts while the broker is away goes to its durable spool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from bench.run import HOTLINE, RESULTS, Proc
from hotline.kit.migrate import upgrade
from tests.support.broker import Broker, free_port
from tests.support.db import _dsn
from tests.support.private_pg import PrivatePostgres

TEXTS = ["长安镇某路段路灯坏了", "塘厦镇工地夜间噪音扰民", "请问社保怎么转移", "虎门镇小区物业乱收费"]


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def main(a: argparse.Namespace) -> dict[str, int]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    pg = PrivatePostgres()
    pg.init()
    pg.start()
    broker = Broker(log_dir=RESULTS)
    broker.start()
    url = pg.url
    await asyncio.to_thread(upgrade, url)
    subprocess.run([HOTLINE, "seed", "--demo"], env={**os.environ, "HOTLINE_DATABASE_URL": url}, check=True,
                   stdout=subprocess.DEVNULL)
    topic = f"soak-{uuid.uuid4().hex[:6]}"
    env = {"HOTLINE_DATABASE_URL": url, "HOTLINE_KAFKA_BOOTSTRAP": broker.bootstrap,
           "HOTLINE_KAFKA_INTAKE_TOPIC": topic, "HOTLINE_KAFKA_ROUTER_GROUP": f"g-{topic}",
           "HOTLINE_KAFKA_ENABLE_IDEMPOTENCE": "false", "HOTLINE_LOG_LEVEL": "WARNING",
           "HOTLINE_WEB_RATE_LIMIT_PER_MINUTE": "100000000", "HOTLINE_ENVIRONMENT": "test",
           "HOTLINE_ROUTER_METRICS_PORT": "0", "HOTLINE_SPOOL_PATH": str(RESULTS / f"{topic}-spool.db")}
    gport = free_port()
    procs = {"gateway": Proc("soak-gateway", [HOTLINE, "gateway", "--port", str(gport)], env, gport),
             "router": Proc("soak-router", [HOTLINE, "router"], env)}
    procs["gateway"].wait_http()
    acked: set[str] = set()
    sent = 0
    stop = asyncio.Event()

    async def sender() -> None:
        nonlocal sent
        pending: list[dict] = []
        i = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
            while not stop.is_set():
                t = time.perf_counter()
                pending.append({"phone": f"1380{i % 10**7:07d}", "text": f"{TEXTS[i % 4]}（soak {i}）",
                                "client_message_id": f"{topic}-{i}"})
                i += 1
                sent += 1
                retry = []
                for body in pending:
                    try:
                        async with s.post(f"http://127.0.0.1:{gport}/channels/web", json=body) as r:
                            if 200 <= r.status < 300:
                                acked.add(body["client_message_id"])
                                continue
                    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                        pass
                    retry.append(body)  # like a platform: send it again later
                pending = retry[-5000:]
                await asyncio.sleep(max(0.0, 1 / a.rate - (time.perf_counter() - t)))

    async def ticketed() -> int:
        conn = await asyncpg.connect(_dsn(url))
        try:
            return await conn.fetchval("SELECT count(*) FROM intake_messages WHERE external_id LIKE $1", f"{topic}-%")
        finally:
            await conn.close()

    async def caught_up() -> None:
        for _ in range(120):
            try:
                if await ticketed() >= len(acked):
                    return
            except (OSError, asyncpg.PostgresError):
                pass
            await asyncio.sleep(0.5)

    faults = 0
    task = asyncio.create_task(sender())
    end = time.monotonic() + a.minutes * 60
    cycle = 0
    try:
        while time.monotonic() < end - 10:
            await asyncio.sleep(a.every)
            kind = ["router", "postgres", "broker", "gateway"][cycle % 4]
            cycle += 1
            if kind == "router":
                say("fault: router killed (SIGKILL)")
                procs["router"].p.send_signal(signal.SIGKILL)
                procs["router"].p.wait()
                await asyncio.sleep(3)
                procs["router"] = Proc("soak-router", [HOTLINE, "router"], env)
            elif kind == "postgres":
                say("fault: PostgreSQL stopped for 6 s")
                await asyncio.to_thread(pg.stop)
                await asyncio.sleep(6)
                await asyncio.to_thread(pg.start)
            elif kind == "broker":
                await caught_up()
                say("fault: broker stopped for 8 s (the gateway spools)")
                broker.stop()
                await asyncio.sleep(8)
                broker.start()
            else:
                say("fault: gateway stopped (SIGTERM) and restarted")
                procs["gateway"].stop()
                procs["gateway"] = Proc("soak-gateway", [HOTLINE, "gateway", "--port", str(gport)], env, gport)
                procs["gateway"].wait_http()
            faults += 1
        stop.set()
        await task
        say("stream stopped; waiting for the router to drain")
        last, still = -1, time.monotonic()
        while time.monotonic() - still < 45:
            n = await ticketed()
            if n >= len(acked):
                break
            if n != last:
                last, still = n, time.monotonic()
            await asyncio.sleep(1)
        conn = await asyncpg.connect(_dsn(url))
        ids = set(await conn.fetch("SELECT external_id FROM intake_messages WHERE external_id LIKE $1", f"{topic}-%"))
        stored = {r["external_id"] for r in ids}
        tickets = await conn.fetchval("SELECT count(*) FROM tickets WHERE text LIKE '%（soak %'")
        await conn.close()
    finally:
        stop.set()
        for p in procs.values():
            p.stop()
        broker.stop()
        pg.destroy()
    out = {"minutes": a.minutes, "faults": faults, "sent": sent, "acknowledged": len(acked),
           "ticketed": len(stored), "lost": len(acked - stored), "duplicated": int(tickets) - len(stored)}
    say(f"sent {out['sent']}  acknowledged {out['acknowledged']}  ticketed {out['ticketed']}  "
        f"lost {out['lost']}  duplicated {out['duplicated']}  (faults injected: {faults})")
    (RESULTS / "soak.json").write_text(json.dumps(out))
    return out


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--rate", type=float, default=40, help="new messages per second")
    ap.add_argument("--every", type=float, default=20, help="seconds between faults")
    out = asyncio.run(main(ap.parse_args()))
    sys.exit(0 if out["lost"] == 0 and out["duplicated"] == 0 else 1)


if __name__ == "__main__":
    cli()
