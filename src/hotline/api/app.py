"""The application factory: one FastAPI app whose roles (api, gateway) are chosen per process."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hotline import __version__
from hotline.api.errors import install_error_handlers
from hotline.api.health import router as health_router
from hotline.api.metrics import router as metrics_router
from hotline.api.problem import PROBLEM_RESPONSES
from hotline.intake.bus import InProcessBus
from hotline.intake.spool import SpoolingBus
from hotline.kit.db import Database
from hotline.kit.metrics import ObservabilityMiddleware
from hotline.kit.settings import Settings, get_settings

log = logging.getLogger(__name__)

ALL_ROLES = ("api", "gateway")
ROLES_VAR = "HOTLINE_SERVE_ROLES"  # set by `hotline api --workers N` for its worker processes


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process (`--workers N`): settings and roles from the environment."""
    from hotline.kit.tracing import setup_tracing

    settings = get_settings()
    roles = tuple(os.environ.get(ROLES_VAR, "api").split(","))
    setup_tracing(settings, "-".join(roles))
    return create_app(settings, roles)


def create_app(settings: Settings | None = None, roles: Collection[str] = ALL_ROLES) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, settings.database_pool_size)
        app.state.db = db
        spooling = None
        if "gateway" in roles:
            if settings.embedded:
                # Imported here: a gateway process on Kafka never routes, and the router's models,
                # numpy and scipy would cost it ~20 MB of resident memory for nothing.
                from hotline.tickets.handlers import IntakeHandler

                app.state.bus = InProcessBus(IntakeHandler(db, settings=settings))
            else:
                # Starts even while the broker is down: messages wait in the durable spool.
                spooling = SpoolingBus.from_settings(settings)
                await spooling.start()
                app.state.bus = spooling
        sla_stop, sla_task = None, None
        if "sla-monitor" in roles:  # `hotline dev`: the SLA monitor in-process
            import asyncio

            from hotline.sla import monitor as sla_monitor

            sla_stop = asyncio.Event()
            sla_task = asyncio.create_task(sla_monitor.run_forever(db, settings, sla_stop))
        relay_stop, relay_task = None, None
        if "outbox" in roles:  # `hotline dev`: the outbox relay in-process
            import asyncio

            from hotline.notify.outbox import run_outbox_relay

            relay_stop = asyncio.Event()
            relay_task = asyncio.create_task(run_outbox_relay(settings, relay_stop))
        log.info("hotline %s serving %s (%s)", __version__, ",".join(roles),
                 "embedded" if settings.embedded else f"kafka {settings.kafka_bootstrap}")
        try:
            yield
        finally:
            if relay_task is not None and relay_stop is not None:
                relay_stop.set()
                await relay_task
            if sla_task is not None and sla_stop is not None:
                sla_stop.set()
                await sla_task
            if spooling is not None:
                await spooling.stop()
            await db.dispose()

    app = FastAPI(title="hotline", version=__version__, lifespan=lifespan, responses=PROBLEM_RESPONSES,
                  description="12345 government service hotline: channels, dispatch, SLA, API.")
    app.state.settings = settings
    app.state.roles = tuple(roles)
    install_error_handlers(app)
    if "api" in roles:
        from hotline.departments.poll_route import PollRoute

        # Inside the metrics middleware (added after it, so it wraps this one): a department's poll,
        # answered here, is counted and traced like any request.
        app.add_middleware(PollRoute)
    app.add_middleware(ObservabilityMiddleware, metrics=settings.metrics_enabled)
    app.include_router(health_router)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    if "gateway" in roles:
        from hotline.gateway.endpoints import install

        install(app, settings)
    if "api" in roles:
        from hotline.departments.endpoints import router as departments_router
        from hotline.tickets.endpoints import router as tickets_router

        app.include_router(tickets_router)
        app.include_router(departments_router)
        from hotline.tickets.actions_endpoints import machine_router as lifecycle_router
        from hotline.tickets.actions_endpoints import router as ticket_actions_router

        app.include_router(ticket_actions_router)
        app.include_router(lifecycle_router)
        from hotline.auth.endpoints import router as auth_router
        from hotline.departments.endpoints import admin_router as departments_admin_router
        from hotline.tickets.endpoints import citizens_router

        app.include_router(auth_router)
        app.include_router(citizens_router)
        app.include_router(departments_admin_router)
        from hotline.knowledge.endpoints import public_router as public_status_router
        from hotline.knowledge.endpoints import router as knowledge_router

        app.include_router(knowledge_router)
        app.include_router(public_status_router)
        from hotline.routing.preview import router as routing_preview_router

        app.include_router(routing_preview_router)
        from hotline.sla.board_endpoints import router as sla_board_router

        app.include_router(sla_board_router)
        from hotline.console.endpoints import mount_console

        mount_console(app)
        from hotline.calls.endpoints import router as calls_router
        from hotline.open311.endpoints import router as open311_router

        app.include_router(calls_router)
        app.include_router(open311_router)
        from hotline.sla.endpoints import router as sla_router

        app.include_router(sla_router)
        from hotline.routing.endpoints import router as dispatch_router

        app.include_router(dispatch_router)
    return app
