"""Refresh the database-backed gauges (tickets by status, SLA, outbox) for a scrape."""

from __future__ import annotations

import logging

from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.kit.metrics import DATABASE_GAUGES, GaugeFamily
from hotline.ops import repository
from hotline.tickets.models import TicketStatus

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
            clocks = await repository.open_sla_clocks(session)
            depth, oldest = await repository.outbox_depth(session)
    except Exception as exc:  # noqa: BLE001 - keep serving the last snapshot
        log.warning("metrics: database gauges not refreshed (%s)", type(exc).__name__)
        return
    # Every known status is reported, zeros included, so a dashboard's series never vanish.
    statuses = {s.value: 0 for s in TicketStatus} | by_status
    DATABASE_GAUGES.replace([
        GaugeFamily("hotline_tickets", "Tickets by status", ["status"],
                    [([s], float(n)) for s, n in sorted(statuses.items())]),
        GaugeFamily("hotline_sla_warnings",
                    "Open SLA clocks past their warning point, not yet breached, by stage",
                    ["stage"], [([stage], float(n)) for (state, stage), n in sorted(clocks.items())
                                if state == "warning"]),
        GaugeFamily("hotline_sla_breaches", "Open SLA clocks past their deadline, by stage",
                    ["stage"], [([stage], float(n)) for (state, stage), n in sorted(clocks.items())
                                if state == "breached"]),
        GaugeFamily("hotline_outbox_depth", "Outbox messages not yet delivered, by kind", ["kind"],
                    [([k], float(n)) for k, n in sorted(depth.items())]),
        GaugeFamily("hotline_outbox_oldest_age_seconds",
                    "Age of the oldest undelivered outbox message (0 when none)", [],
                    [([], (utcnow() - oldest).total_seconds() if oldest else 0.0)]),
    ])
