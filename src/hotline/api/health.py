"""Liveness and readiness that tell the truth."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from hotline.kit.migrate import migration_state

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers, its migrations are at this code's head and, in
    Kafka mode, the broker answers."""
    checks: dict[str, str] = {}
    try:
        async with request.app.state.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            state, current = await migration_state(conn)
        # Behind: this code would query columns that do not exist yet; run `hotline migrate`.
        checks["migrations"] = "ok" if state in ("ok", "ahead") else \
            f"behind: database at {','.join(sorted(current)) or 'nothing'}; run hotline migrate"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"down: {type(exc).__name__}"
    bus = getattr(request.app.state, "bus", None)
    if bus is not None and not request.app.state.settings.embedded:
        checks["broker"] = "ok" if await bus.ready() else "down"
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if getattr(bus, "pending", 0):
        # The broker is (or was) down: the gateway still takes messages into its durable spool
        # (intake/spool.py) and relays them when the broker is back.
        body["spooled"] = bus.pending  # type: ignore[union-attr]
    if checks.get("migrations") == "ok":
        # Degraded, not down: deadlines in a year with no official holiday schedule are guessed.
        from hotline.sla.service import calendar_warnings

        try:
            async with request.app.state.db.unit_of_work() as session:
                warnings = await calendar_warnings(session)
        except Exception as exc:  # noqa: BLE001 - a warning must never make readiness fail
            warnings = [f"could not check the holiday calendar: {type(exc).__name__}"]
        if warnings:
            body["warnings"] = {"calendar": warnings}
    return JSONResponse(body, status_code=200 if ok else 503)
