"""The `hotline` command: run the system's processes and administer it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from hotline.kit.logging import configure_logging, secrets_of
from hotline.kit.settings import Settings, get_settings

log = logging.getLogger("hotline")

# Other issues add subcommands here: name -> (help, add_arguments, run).
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace, Settings], int | None]]
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, args: Callable[[argparse.ArgumentParser], None] = lambda p: None):  # type: ignore[no-untyped-def]
    def register(fn: Callable[[argparse.Namespace, Settings], int | None]):  # type: ignore[no-untyped-def]
        COMMANDS[name] = (help, args, fn)
        return fn

    return register


def _server_args(default_port: int) -> Callable[[argparse.ArgumentParser], None]:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=default_port)

    return add


def _serve(settings: Settings, roles: tuple[str, ...], host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from hotline.api.app import ROLES_VAR, create_app
    from hotline.kit.metrics import MULTIPROCESS_DIR_VAR
    from hotline.kit.tracing import setup_tracing

    if workers > 1:
        # uvicorn starts each worker process from an import string; the app is built there, from
        # the same environment (settings) and the roles passed along in it. The workers share one
        # metrics directory, so /metrics answers for all of them whichever one is scraped.
        os.environ[ROLES_VAR] = ",".join(roles)
        own_dir = not os.environ.get(MULTIPROCESS_DIR_VAR)
        metrics_dir = Path(os.environ.get(MULTIPROCESS_DIR_VAR) or tempfile.mkdtemp(prefix="hotline-metrics-"))
        for stale in metrics_dir.glob("*.db"):  # a previous run's counts are not this run's
            stale.unlink()
        os.environ[MULTIPROCESS_DIR_VAR] = str(metrics_dir)
        try:
            uvicorn.run("hotline.api.app:app_from_environment", factory=True, workers=workers, host=host,
                        port=port, log_config=None, access_log=False, timeout_graceful_shutdown=10)
        finally:
            if own_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        return
    setup_tracing(settings, "-".join(roles))
    uvicorn.run(create_app(settings, roles), host=host, port=port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)


def _migrate(settings: Settings) -> None:
    from hotline.kit.migrate import upgrade

    log.info("migrating %s to head", settings.database_url.split("@")[-1])
    upgrade(settings.database_url)


async def _seed_demo(settings: Settings) -> int:
    from hotline.departments.service import seed_demo
    from hotline.kit.db import Database

    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            return await seed_demo(session)
    finally:
        await db.dispose()


@command("dev", "everything in one process on the embedded default (SQLite, no broker)",
         _server_args(8000))
def dev(a: argparse.Namespace, settings: Settings) -> None:
    if not settings.embedded:
        log.warning("HOTLINE_KAFKA_BOOTSTRAP is set; `hotline dev` ignores it and runs embedded")
        settings = settings.model_copy(update={"kafka_bootstrap": None})
    _migrate(settings)
    n = asyncio.run(_seed_demo(settings))
    log.info("demo directory loaded: %d Dongguan units", n)
    from hotline.auth.cli import ensure_demo_principals

    for name, role, key in asyncio.run(ensure_demo_principals(settings)):
        print(f"demo {role:<18} {name:<11} Authorization: Bearer {key}", flush=True)
    log.info("hotline dev on http://%s:%d  (API docs at /docs)", a.host, a.port)
    _serve(settings, ("api", "gateway", "sla-monitor", "outbox"), a.host, a.port)


def _api_args(p: argparse.ArgumentParser) -> None:
    _server_args(8000)(p)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes sharing the port (one core each; /metrics answers for one of them)")


@command("api", "the REST API for agents, departments and supervisors", _api_args)
def api(a: argparse.Namespace, settings: Settings) -> None:
    _serve(settings, ("api",), a.host, a.port, a.workers)


@command("gateway", "the channel webhooks (publishes to Kafka, or in-process when embedded)",
         _server_args(8001))
def gateway(a: argparse.Namespace, settings: Settings) -> None:
    _serve(settings, ("gateway",), a.host, a.port)


@command("router", "consume the intake topic and turn messages into dispatched tickets")
def router(a: argparse.Namespace, settings: Settings) -> int:
    if settings.embedded:
        print("hotline router needs HOTLINE_KAFKA_BOOTSTRAP (embedded mode routes in-process)",
              file=sys.stderr)
        return 2
    from hotline.worker import run_process

    run_process(settings)
    return 0


@command("migrate", "apply database migrations up to head")
def migrate(a: argparse.Namespace, settings: Settings) -> None:
    _migrate(settings)


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true", help="load the Dongguan demo directory")


@command("seed", "load reference data", _seed_args)
def seed(a: argparse.Namespace, settings: Settings) -> int:
    if not a.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    n = asyncio.run(_seed_demo(settings))
    print(f"loaded {n} Dongguan units")
    return 0


def _load_plugins() -> None:
    """Domain modules that add subcommands register themselves on import."""
    import importlib

    for mod in ("hotline.routing.cli", "hotline.routing.dispatch_cli", "hotline.auth.cli", "hotline.sla.cli", "hotline.knowledge.cli",
                "hotline.intake.cli", "hotline.notify.cli"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def main(argv: list[str] | None = None) -> int:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_))
    a = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json, secrets_of(settings))
    rc = COMMANDS[a.command][2](a, settings)
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
