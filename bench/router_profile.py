"""The router's batch path without Kafka: intake records (bytes, as on the topic) decoded and fed
to `IntakeHandler` in batches, against a fresh PostgreSQL (or SQLite) database. The fastest
feedback loop for the router's own cost; `python -m bench.run --only router` confirms it.

    python -m bench.router_profile [--batches 20] [--batch 500] [--warm 4] [--sqlite]
                                   [--profile pyinstrument|cprofile] [--redeliver]

Prints tickets/s over the timed batches and, with --profile, where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import payloads, use_uvloop
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.db import Database
from hotline.kit.migrate import upgrade
from hotline.kit.settings import Settings
from hotline.tickets.handlers import IntakeHandler
from hotline.worker import decode, settle_collector


class _Record:
    """What `hotline.worker.decode` reads of a Kafka record."""

    __slots__ = ("offset", "partition", "topic", "value")

    def __init__(self, value: bytes, offset: int) -> None:
        self.value, self.topic, self.partition, self.offset = value, "bench", 0, offset


def records(run: str, start: int, n: int, now: datetime) -> list[_Record]:
    """The same messages `bench.run.prefill` puts on the topic: web form, one citizen each."""
    out = []
    for i in range(start, start + n):
        ext = f"{run}-{i}"
        m = IntakeMessage(channel=Channel.WEB, external_id=ext, tracking_number=tracking_number_for("web", ext),
                          citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=f"+86139{i % 10**8:08d}",
                                          phone=f"+86139{i % 10**8:08d}"),
                          text=f"{payloads.TEXTS[i % 8]}（{run}-{i}）",
                          received_at=now + timedelta(microseconds=i))
        out.append(_Record(m.to_bytes(), i))
    return out


async def main(a: argparse.Namespace) -> None:
    from hotline.departments.service import seed_demo
    from tests.support.db import create_database, drop_database

    tmp = None
    if a.sqlite:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'router.db'}"
    else:
        url = await create_database("hotline_router_profile")
    try:
        await asyncio.to_thread(upgrade, url)
        settings = Settings(database_url=url, environment="test")
        db = Database(url)
        async with db.unit_of_work() as session:
            await seed_demo(session)
        handler = IntakeHandler(db, settings=settings)
        run = uuid.uuid4().hex[:6]
        now = datetime.now(UTC)
        total = (a.warm + a.batches) * a.batch
        recs = records(run, 0, total, now)
        batches = [recs[i:i + a.batch] for i in range(0, total, a.batch)]
        for b in batches[:a.warm]:
            await handler(decode(b))
        timed = batches[a.warm:]
        if a.freeze:
            settle_collector()  # as the router does: what is alive after warm-up never scanned again
        prof: Any = None
        if a.profile == "cprofile":
            prof = cProfile.Profile()
            prof.enable()
        elif a.profile == "pyinstrument":
            from pyinstrument import Profiler

            prof = Profiler(interval=0.001, async_mode="enabled")
            prof.start()
        t, cpu = time.perf_counter(), time.process_time()
        created = 0
        for b in timed:
            created += sum(o.created for o in await handler(decode(b)))
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        if a.profile == "cprofile":
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        elif a.profile == "pyinstrument":
            prof.stop()
            print(prof.output_text(unicode=True, color=False, show_all=False))
        n = len(timed) * a.batch
        print(f"{'sqlite' if a.sqlite else 'postgresql'}: {n} messages in {len(timed)} batches of {a.batch}: "
              f"{elapsed:.2f} s, {n / elapsed:,.0f} tickets/s ({created} created, "
              f"{elapsed / len(timed) * 1000:.0f} ms per batch); router CPU {cpu / len(timed) * 1000:.0f} ms "
              f"per batch = {n / cpu:,.0f} tickets per CPU-second")
        if a.objects:
            import gc

            before = len(gc.get_objects())
            handler.recent.reset()
            gc.collect()
            print(f"objects the garbage collector tracks: {before:,}, without the duplicate index: "
                  f"{len(gc.get_objects()):,}")
        if a.redeliver:
            t = time.perf_counter()
            again = 0
            for b in timed:
                again += sum(o.created for o in await handler(decode(b)))
            elapsed = time.perf_counter() - t
            print(f"redelivered: {n / elapsed:,.0f} messages/s, {again} created (must be 0)")
        await db.dispose()
    finally:
        if tmp is not None:
            tmp.cleanup()
        else:
            await drop_database(url)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--warm", type=int, default=4)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--profile", choices=("pyinstrument", "cprofile"))
    ap.add_argument("--freeze", action="store_true", help="gc.freeze() after the warm-up batches")
    ap.add_argument("--objects", action="store_true", help="count the objects the garbage collector tracks")
    ap.add_argument("--redeliver", action="store_true", help="feed the timed batches again (exactly once)")
    args = ap.parse_args()
    use_uvloop()
    asyncio.run(main(args))
