"""API access-control benchmark: what checking a credential costs, and what a 304 poll saves.

    .venv/bin/python -m bench.auth_bench [--database-url URL] [--requests 400]

Default database: a temporary SQLite file (the embedded default); pass a PostgreSQL URL
(postgresql+asyncpg://…) for the production shape. In-process (httpx ASGI transport, no sockets),
one core: figures are for comparing, not for capacity planning.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import secrets
import tempfile
import time
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from hotline.api.app import create_app
from hotline.auth import service
from hotline.departments.service import seed_demo
from hotline.kit.db import Database
from hotline.kit.migrate import upgrade
from hotline.kit.settings import Settings


def per_op(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


async def timed(client: httpx.AsyncClient, n: int, url: str, headers: dict[str, str]) -> tuple[float, int]:
    status = 0
    t = time.perf_counter()
    for _ in range(n):
        status = (await client.get(url, headers=headers)).status_code
    return (time.perf_counter() - t) / n, status


async def main(url: str, n: int) -> None:
    key = "hlk_" + secrets.token_urlsafe(32)
    hmac_s = per_op(lambda: hmac.new(b"secret", key.encode(), hashlib.sha256).hexdigest(), 20_000)
    ph = PasswordHasher()
    stored = ph.hash("a console password")
    argon_s = per_op(lambda: ph.verify(stored, "a console password"), 5)
    print(f"key check, HMAC-SHA256:            {hmac_s * 1e6:9.1f} µs")
    print(f"password check, argon2id (login):  {argon_s * 1e6:9.1f} µs  ({argon_s / hmac_s:,.0f}x: "
          "why keys are not password-hashed)")

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    settings = Settings(database_url=url, environment="test")
    async with db.unit_of_work() as s:
        await seed_demo(s)
        tag = secrets.token_hex(3)
        _, dept_key = await service.create_principal(s, name=f"bench-env-{tag}", role="department",
                                                     department_code="env", secret_key=settings.secret_key)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            auth = {"Authorization": f"Bearer {dept_key}"}
            for i in range(50):
                await c.post("/channels/web", json={"phone": f"1380013{i:04d}",
                                                    "text": f"我要投诉某工地夜间施工噪音扰民 {tag} {i}"})
            health, _ = await timed(c, n, "/healthz", {})
            me, st = await timed(c, n, "/api/v1/me", auth)
            assert st == 200, st
            bad, st = await timed(c, n, "/api/v1/me", {"Authorization": "Bearer hlk_wrong"})
            assert st == 401, st
            page = await c.get("/api/v1/departments/env/tickets", headers=auth)
            items = len(page.json()["items"])
            full, st = await timed(c, n // 4, "/api/v1/departments/env/tickets", auth)
            cached, st = await timed(c, n, "/api/v1/departments/env/tickets",
                                     {**auth, "If-None-Match": page.headers["etag"]})
            assert st == 304, st
    await db.dispose()
    print(f"GET /healthz (no auth, floor):     {health * 1e3:9.2f} ms/request")
    print(f"GET /api/v1/me with an API key:    {me * 1e3:9.2f} ms/request  (+{(me - health) * 1e3:.2f} ms for the key)")
    print(f"GET /api/v1/me with a wrong key:   {bad * 1e3:9.2f} ms/request  (401)")
    print(f"poll a queue page of {items:>3} tickets: {full * 1e3:9.2f} ms (200)  vs {cached * 1e3:.2f} ms "
          f"(304 If-None-Match): {full / cached:.1f}x cheaper")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--database-url")
    p.add_argument("--requests", type=int, default=400)
    a = p.parse_args()
    url = a.database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    asyncio.run(main(url, a.requests))
