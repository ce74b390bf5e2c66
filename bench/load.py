"""An open-loop HTTP load generator (aiohttp), run as its own process so it has its own core share.

    python -m bench.load --base URL --requests FILE.json --rate R --out FILE.json [--conns N]

Request i is sent at t0 + i/R whatever the server does (no coordinated omission); each result is
(key, status, send offset s, latency s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def run(base: str, reqs: list[dict], rate: float, conns: int) -> list[tuple[str, int, float, float]]:
    results: list[tuple[str, int, float, float]] = []
    sem = asyncio.Semaphore(conns * 4)
    connector = aiohttp.TCPConnector(limit=conns, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as s:
        t0 = time.perf_counter() + 0.2

        async def one(i: int, r: dict) -> None:
            async with sem:
                start = time.perf_counter()
                try:
                    async with s.request(r["method"], r["path"], data=r["body"].encode(),
                                         headers=r["headers"]) as resp:
                        await resp.read()
                        status = resp.status
                except Exception:  # noqa: BLE001 - a failed request is a result
                    status = 0
                results.append((r["key"], status, start - t0, time.perf_counter() - start))

        tasks = []
        for i, r in enumerate(reqs):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, r)))
        await asyncio.gather(*tasks)
    return results


async def poll(base: str, paths: list[str], headers: list[dict], seconds: float, etag: bool) -> dict:
    """Closed-loop pollers (one per path): latency of each poll, optionally with If-None-Match."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=len(paths))
    async with aiohttp.ClientSession(base, connector=connector) as s:
        end = time.perf_counter() + seconds

        async def poller(path: str, h: dict) -> None:
            tag = None
            while time.perf_counter() < end:
                hh = dict(h)
                if etag and tag:
                    hh["If-None-Match"] = tag
                t = time.perf_counter()
                async with s.get(path, headers=hh) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if etag and r.status == 200:
                        tag = r.headers.get("ETag")
                lat.append(time.perf_counter() - t)

        await asyncio.gather(*(poller(p, h) for p, h in zip(paths, headers, strict=True)))
    return {"latencies": lat, "statuses": statuses, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--requests")
    ap.add_argument("--rate", type=float)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--poll", help="JSON file: {paths, headers, seconds, etag}")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if a.poll:
        spec = json.load(open(a.poll))
        out = asyncio.run(poll(a.base, spec["paths"], spec["headers"], spec["seconds"], spec["etag"]))
    else:
        reqs = json.load(open(a.requests))
        out = asyncio.run(run(a.base, reqs, a.rate, a.conns))
    json.dump(out, open(a.out, "w"))


if __name__ == "__main__":
    main()
