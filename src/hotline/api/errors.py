"""Every error a client can cause becomes a problem-details JSON body (RFC 9457)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.kit.db import is_outage
from hotline.kit.errors import HotlineError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HotlineError)
    async def _domain(_: Request, exc: HotlineError) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})  # e.g. WWW-Authenticate on 401
        if "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        return JSONResponse(exc.problem(), status_code=exc.status_code, media_type=PROBLEM,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        body = {"type": "about:blank", "title": "Invalid request", "status": 422,
                "detail": "; ".join(f"{e['field']}: {e['message']}" for e in errors), "errors": errors}
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {"type": "about:blank", "title": str(exc.detail), "status": exc.status_code,
                "detail": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _bad_value(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (an id beyond 64 bits, a malformed date): the client's.
        log.info("database refused a value: %s", type(exc.orig).__name__ if exc.orig else "DataError")
        return _problem(422, "Invalid value", "a value in the request is out of range or malformed")

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        text = str(exc.orig).lower()
        if "foreign key" in text:
            return _problem(422, "Unknown reference",
                            "the request names something that does not exist (e.g. an unknown unit code)")
        return _problem(409, "Conflict", "the request conflicts with existing data (a duplicate)")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)  # a refused or reset connection before SQLAlchemy wraps it
    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and _is_bad_value(exc):
            return _problem(422, "Invalid value", "a value in the request cannot be stored "
                            "(out of range, or a character such as NUL that text may not contain)")
        if isinstance(exc, DBAPIError) and not _is_connection_error(exc):
            log.exception("database error", exc_info=exc)
            return _problem(500, "Internal error", "the request failed inside hotline; it has been logged")
        log.error("database unavailable: %s", type(exc).__name__)
        return _problem(503, "Service unavailable", "the database is not available; retry later",
                        {"Retry-After": "5"})


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _is_bad_value(exc: DBAPIError) -> bool:
    """asyncpg refuses some values before or as PostgreSQL sees them; SQLAlchemy wraps that generically."""
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    return any(w in text for w in ("invalid byte sequence", "invalid input for query argument",
                                   "out of range", "dataerror", "unsupported unicode escape"))


def _is_connection_error(exc: DBAPIError) -> bool:
    """Whether the database is away (503) rather than the statement wrong (500)."""
    return is_outage(exc)
