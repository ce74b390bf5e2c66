"""`hotline outbox-relay` (deliver the outbox: ticket events to Kafka, notifications) and `hotline outbox status`."""

from __future__ import annotations

import argparse
import asyncio
import signal

from hotline.cli import command
from hotline.kit.settings import Settings


async def _relay(settings: Settings) -> None:
    from hotline.notify.outbox import run_outbox_relay

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_outbox_relay(settings, stop)


@command("outbox-relay", "deliver the outbox after commit: ticket events to Kafka, emails, SMS, webhooks "
         "(also run by `hotline dev` and `hotline sla-monitor`)")
def outbox_relay(a: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_relay(settings))
    return 0


async def _status(settings: Settings) -> int:
    from hotline.kit.db import Database
    from hotline.notify import repository

    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            rows = await repository.backlog(session)
        for kind, pending, failing, oldest in rows:
            print(f"{kind:<16} pending {pending:>7}  failing {failing:>7}  oldest {oldest.isoformat()}")
        if not rows:
            print("the outbox is empty: everything was delivered")
    finally:
        await db.dispose()
    return 0


@command("outbox-status", "what waits in the outbox, by kind (pending, failing, oldest)")
def outbox_status(a: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_status(settings))
