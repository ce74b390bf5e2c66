"""The router's message handler: a batch of intake messages → tickets, in one unit of work."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from hotline.calls.service import is_call_event, record_call_events
from hotline.departments import repository as departments
from hotline.intake.schema import IntakeMessage
from hotline.kit.db import Database
from hotline.kit.settings import Settings, get_settings
from hotline.knowledge import selfservice
from hotline.routing.engine import Router
from hotline.routing.service import RecentTickets, after_ingest
from hotline.sla import survey
from hotline.tickets.service import IngestOutcome, RouteBatch, ingest

log = logging.getLogger(__name__)


class IntakeHandler:
    """Shared by the Kafka router and the embedded in-process bus."""

    def __init__(self, db: Database, route: RouteBatch | None = None, directory_ttl: float = 30.0,
                 settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings or get_settings()
        # Smart dispatch: learned models if trained, the active dispatch catalogue, the threshold.
        self.route = route if route is not None else Router.from_settings(self.settings)
        self._directory: set[str] = set()
        self._directory_at = 0.0
        self._ttl = directory_ttl
        # Recent tickets for duplicate linking, kept between batches (routing/service.py).
        self.recent = RecentTickets()

    async def __call__(self, messages: Sequence[IntakeMessage]) -> list[IngestOutcome]:
        try:
            outcomes = await self._handle(messages)
        except BaseException:
            self.recent.reset()  # the batch rolled back: what it put in the index never happened
            raise
        created = sum(o.created for o in outcomes)
        log.info("ingested batch of %d: %d new tickets", len(messages), created)
        return outcomes

    async def _handle(self, messages: Sequence[IntakeMessage]) -> list[IngestOutcome]:
        async with self.db.unit_of_work() as session:
            if time.monotonic() - self._directory_at > self._ttl or not self._directory:
                self._directory = await departments.active_codes(session)
                self._directory_at = time.monotonic()
            # CTI events (the phone channel) are calls, not tickets: stored in the same unit of work.
            calls = [m for m in messages if is_call_event(m)]
            if calls:
                await record_call_events(session, calls)
                messages = [m for m in messages if not is_call_event(m)]
            if isinstance(self.route, Router):
                await self.route.refresh(session)  # the active catalogue version, cached
            # Status look-ups (查询 DG…) get an answer and no ticket; "1" after a self-served answer
            # asks for a person again.
            messages, looked_up = await selfservice.before_ingest(session, messages)
            # "1/2/3" answering the callback survey (回访) is recorded on its ticket, not a new one.
            messages, answered = await survey.read_answers(session, messages)
            looked_up += answered
            route = await selfservice.prepare(session, self.route, self.settings.self_service_threshold,
                                              messages)
            new_tickets: list[dict[str, Any]] = []
            outcomes = await ingest(session, messages, route, self._directory, new_tickets)
            # 并单/hot issues and the router's emergency/refusal flags, in the same unit of work.
            # The index kept between batches only when this handler's own unit of work decides the
            # batch (its rollback resets it); inside a caller's transaction (an agent's ticket,
            # tickets/desk.py) the candidates are read afresh, as that transaction may still fail.
            recent = self.recent if isinstance(self.db, Database) else None
            await after_ingest(session, [o.tracking_number for o in outcomes if o.created], self.settings,
                               new_tickets, recent)
            await selfservice.after_ingest(session, outcomes, new_tickets)
            outcomes += looked_up
        return outcomes
