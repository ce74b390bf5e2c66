"""`hotline sla-monitor` and `hotline holidays load FILE | status`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import date
from pathlib import Path

from hotline.cli import command
from hotline.kit.settings import Settings


def _monitor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    p.add_argument("--no-relay", action="store_true",
                   help="do not also deliver the outbox (another process runs `hotline outbox-relay`)")


async def _monitor(settings: Settings, once: bool, relay: bool) -> int:
    from hotline.kit.db import Database
    from hotline.sla import monitor, service

    service.configure(settings)
    db = Database(settings.database_url, settings.database_pool_size)
    try:
        if once:
            report = await monitor.run_once(db)
            print(json.dumps({"warnings": report.warnings, "breaches": report.breaches, "ladder": report.steps}))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        tasks = [monitor.run_forever(db, settings, stop)]
        if relay:
            from hotline.notify.outbox import run_outbox_relay

            tasks.append(run_outbox_relay(settings, stop))
        await asyncio.gather(*tasks)
        return 0
    finally:
        await db.dispose()


@command("sla-monitor", "mark SLA warnings and breaches, climb the supervision ladder (催办→督办)",
         _monitor_args)
def sla_monitor(a: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_monitor(settings, a.once, not a.no_relay))


def _holiday_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["load", "status"])
    p.add_argument("file", nargs="?", type=Path,
                   help='JSON: {"2027": {"holidays": ["2027-01-01", "2027-02-06..2027-02-13"], "workdays": [...]}}')


async def _holidays(settings: Settings, action: str, file: Path | None) -> int:
    from hotline.kit.db import Database
    from hotline.kit.errors import HotlineError
    from hotline.sla import service

    service.configure(settings)
    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            if action == "load":
                if file is None:
                    print("hotline holidays load FILE: which file?", file=sys.stderr)
                    return 2
                try:
                    doc = json.loads(file.read_text("utf-8"))
                    years = await service.load_holiday_document(session, doc, "cli", source=str(file))
                except (OSError, ValueError, HotlineError) as exc:
                    print(f"not loaded: {getattr(exc, 'detail', exc)}", file=sys.stderr)
                    return 1
                print(f"loaded official holidays for {', '.join(map(str, years))}")
                return 0
            await service.refresh(session, force=True)
            this = date.today().year
            status = service.calendar_status([this - 1, this, this + 1, this + 2])
            for year, source in status["years"].items():
                print(f"{year}: {source}{'   <- deadlines guessed Monday-Friday' if source.startswith('fallback') else ''}")
            return 0
    finally:
        await db.dispose()


@command("holidays", "load the official holiday schedule for a year, or show where each year comes from",
         _holiday_args)
def holidays(a: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_holidays(settings, a.action, a.file))
