"""An open-loop HTTP load generator (raw asyncio + httptools for webhooks; aiohttp for polling), run as
its own process so it has its own core share.

    python -m bench.load --base URL --requests FILE.json --rate R --out FILE.json [--conns N]

Request i is sent at t0 + i/R whatever the server does (no coordinated omission); each result is
(key, status, send offset s, latency s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import time
from collections import deque
from urllib.parse import urlsplit

import aiohttp
import httptools

from bench import use_uvloop


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: pre-encoded request bytes out, httptools parses the reply.

    aiohttp cost more CPU per request than the server it measured (0.41 vs 0.34 ms against the
    echo app); on a 2-core machine the load generator's share is taken from the system under test.
    """

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.current: int | None = None
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, i: int) -> None:
        self.current = i
        assert self.transport is not None
        self.transport.write(self.pool.wire[i])

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail()

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        i, self.current = self.current, None
        if i is not None:
            self.pool.done(i, self.parser.get_status_code())
        if self.keep_alive:
            self.pool.idle(self)
        else:
            self.pool.lost(self)
            assert self.transport is not None
            self.transport.close()

    def fail(self) -> None:
        i, self.current = self.current, None
        if i is not None:
            self.pool.done(i, 0)
        self.pool.lost(self)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None or self in self.pool.free:
            self.fail()


class _Pool:
    """At most `conns` connections; a due request takes an idle one or waits its turn (in order)."""

    def __init__(self, host: str, port: int, wire: list[bytes], conns: int) -> None:
        self.host, self.port, self.wire, self.conns = host, port, wire, conns
        self.loop = asyncio.get_running_loop()
        self.free: list[_Connection] = []
        self.open = 0  # connections made or being made
        self.waiting: deque[int] = deque()
        self.sent_at = [0.0] * len(wire)
        self.status = [-1] * len(wire)
        self.finished_at = [0.0] * len(wire)
        self.remaining = len(wire)
        self.all_done = self.loop.create_future()

    def submit(self, i: int) -> None:
        if self.free:
            self._send(self.free.pop(), i)
        else:
            self.waiting.append(i)
            if self.open < self.conns:
                self.open += 1
                self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            _, conn = await self.loop.create_connection(lambda: _Connection(self), self.host, self.port)
        except OSError:
            self.open -= 1
            if self.waiting:
                self.done(self.waiting.popleft(), 0)
            return
        self.idle(conn)

    def _send(self, conn: _Connection, i: int) -> None:
        self.sent_at[i] = time.perf_counter()
        conn.send(i)

    def idle(self, conn: _Connection) -> None:
        if self.waiting:
            self._send(conn, self.waiting.popleft())
        else:
            self.free.append(conn)

    def lost(self, conn: _Connection) -> None:
        if conn in self.free:
            self.free.remove(conn)
        self.open -= 1
        if self.waiting and self.open < self.conns:
            self.open += 1
            self.loop.create_task(self._connect())

    def done(self, i: int, status: int) -> None:
        if self.status[i] != -1:
            return
        self.status[i] = status
        self.finished_at[i] = time.perf_counter()
        self.remaining -= 1
        if self.remaining == 0 and not self.all_done.done():
            self.all_done.set_result(None)


def encode(base: str, r: dict) -> bytes:
    body = r["body"].encode()
    host = urlsplit(base).netloc
    head = [f"{r['method']} {r['path']} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in r["headers"].items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def run(base: str, reqs: list[dict], rate: float, conns: int) -> list[tuple[str, int, float, float]]:
    """Open loop: request i is due at t0 + i/rate. Its latency runs from when it was due (waiting
    for a free connection counts: the connections are busy because the server is); at an
    unbounded rate, from when it was written."""
    url = urlsplit(base)
    pool = _Pool(url.hostname or "127.0.0.1", url.port or 80, [encode(base, r) for r in reqs], conns)
    n = len(reqs)
    t0 = time.perf_counter() + 0.2
    paced = rate < 1e8
    i = 0
    while i < n:
        now = time.perf_counter()
        due = n if not paced else min(n, int((now - t0) * rate) + 1)
        while i < due:  # everything due by now, in order
            pool.submit(i)
            i += 1
        if i < n:
            # At least a millisecond: the loop's timers have that resolution, and a shorter sleep
            # spins; whatever fell due meanwhile goes out together on waking.
            await asyncio.sleep(max(0.001, t0 + i / rate - time.perf_counter()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(pool.all_done), 30)
    for j in range(n):  # no answer within 30 s of the last send: a failed request
        if pool.status[j] == -1:
            pool.done(j, 0)
    out = []
    for j, r in enumerate(reqs):
        start = t0 + j / rate if paced else (pool.sent_at[j] or pool.finished_at[j])
        out.append((r["key"], pool.status[j], start - t0, pool.finished_at[j] - start))
    return out


async def poll(base: str, paths: list[str], headers: list[dict], seconds: float, etag: bool,
               interval: float = 0.0, seed: int = 8) -> dict:
    """Department pollers, one per path, each on its own keep-alive connection, optionally sending
    back the last ETag as If-None-Match.

    interval > 0 (how department systems poll): each poller polls every `interval` s from a random
    phase, so they do not all fire together; a poll that takes longer than the interval starts the
    next one at once (the missed slots are not made up). Latency runs from when the poll was due.
    interval = 0: closed loop, no pause (the server's saturation rate, not a realistic load).
    """
    import random

    lat: list[float] = []
    statuses: dict[int, int] = {}
    overran = 0
    rng = random.Random(seed)
    connector = aiohttp.TCPConnector(limit=len(paths))
    async with aiohttp.ClientSession(base, connector=connector) as s:
        start = time.perf_counter()
        end = start + seconds

        async def poller(path: str, h: dict, phase: float) -> None:
            nonlocal overran
            tag = None
            due = start + phase
            while due < end:
                if interval:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                hh = dict(h)
                if etag and tag:
                    hh["If-None-Match"] = tag
                async with s.get(path, headers=hh) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if etag and r.status == 200:
                        tag = r.headers.get("ETag")
                now = time.perf_counter()
                lat.append(now - due)
                if not interval:
                    due = now
                elif now - due > interval:
                    overran += 1
                    due = now
                else:
                    due += interval

        await asyncio.gather(*(poller(p, h, rng.uniform(0, interval))
                               for p, h in zip(paths, headers, strict=True)))
        elapsed = time.perf_counter() - start
    return {"latencies": lat, "statuses": statuses, "seconds": elapsed, "interval": interval,
            "overran": overran}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--requests")
    ap.add_argument("--rate", type=float)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--poll", help="JSON file: {paths, headers, seconds, etag, interval}")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    use_uvloop()
    out: object
    if a.poll:
        spec = json.load(open(a.poll))
        out = asyncio.run(poll(a.base, spec["paths"], spec["headers"], spec["seconds"], spec["etag"],
                               spec.get("interval", 0.0)))
    else:
        reqs = json.load(open(a.requests))
        out = asyncio.run(run(a.base, reqs, a.rate, a.conns))
    json.dump(out, open(a.out, "w"))


if __name__ == "__main__":
    main()
