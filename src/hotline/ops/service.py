"""Refresh the database-backed gauges (tickets by status, SLA, outbox) for a scrape."""

from __future__ import annotations

import logging

from hotline.kit.db import Database
from hotline.kit.metrics import DATABASE_GAUGES, GaugeFamily
from hotline.ops import repository

log = logging.getLogger(__name__)


async def refresh_gauges(db: Database, max_age: float) -> None:
    """Re-query the gauges if the cached snapshot is older than `max_age` seconds.

    A failing query keeps the previous snapshot: /metrics must answer even when the database
    does not (the database's own health is /readyz's business).
    """
    if not DATABASE_GAUGES.stale(max_age):
        return
    try:
        async with db.sessions() as session:
            by_status = await repository.tickets_by_status(session)
    except Exception as exc:  # noqa: BLE001 - keep serving the last snapshot
        log.warning("metrics: database gauges not refreshed (%s)", type(exc).__name__)
        return
    families = [
        GaugeFamily("hotline_tickets", "Tickets by status", ["status"],
                    [([s], float(n)) for s, n in sorted(by_status.items())]),
    ]
    DATABASE_GAUGES.replace(families)
