"""What the observability middleware costs per request (request id, latency histogram, counters).

    python -m bench.observability [--requests 20000]

Calls the ASGI app directly (no sockets, no HTTP client) on `/healthz`, the cheapest route, with
HOTLINE_METRICS_ENABLED on and off, and with a bare app without the middleware; prints the mean
time per request of each and the difference. Prints figures; never fails on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from hotline.api.app import create_app
from hotline.kit.metrics import ObservabilityMiddleware
from hotline.kit.settings import Settings


async def per_request(app: Any, n: int) -> float:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/healthz", "raw_path": b"/healthz", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
             "server": ("bench", 80)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / n


def bare_app() -> Any:
    from fastapi import FastAPI

    from hotline.api.health import router

    app = FastAPI()
    app.include_router(router)
    return app


async def noop_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def main(n: int) -> None:
    logging.disable(logging.CRITICAL)
    base: dict[str, Any] = {"environment": "test", "database_url": "sqlite+aiosqlite:///:memory:"}
    apps = {"on": create_app(Settings(**base, metrics_enabled=True), roles=("api",)),
            "off": create_app(Settings(**base, metrics_enabled=False), roles=("api",)),
            "bare": bare_app(),
            # The middleware alone, around an app that does nothing.
            "noop": noop_app,
            "noop+mw": ObservabilityMiddleware(noop_app, metrics=True),
            "noop+mw-off": ObservabilityMiddleware(noop_app, metrics=False)}
    best = {k: float("inf") for k in apps}
    for _ in range(5):  # interleaved rounds, so a busy moment on the machine hits all of them
        for k, app in apps.items():
            best[k] = min(best[k], await per_request(app, n))
    on, off, bare = best["on"], best["off"], best["bare"]
    print(f"GET /healthz through the ASGI stack, best of 5 interleaved rounds x {n} requests")
    print(f"  bare FastAPI app, no middleware:        {bare * 1e6:7.1f} µs/request")
    print(f"  hotline app, metrics off (request id):  {off * 1e6:7.1f} µs/request")
    print(f"  hotline app, metrics on:                {on * 1e6:7.1f} µs/request")
    print(f"  metrics cost:                           {(on - off) * 1e6:7.1f} µs/request")
    print("the middleware alone, around an ASGI app that does nothing:")
    print(f"  request id only (metrics off):          "
          f"{(best['noop+mw-off'] - best['noop']) * 1e6:7.1f} µs/request")
    print(f"  request id + metrics:                   "
          f"{(best['noop+mw'] - best['noop']) * 1e6:7.1f} µs/request")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=20_000)
    asyncio.run(main(p.parse_args().requests))
