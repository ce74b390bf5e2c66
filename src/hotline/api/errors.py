"""Every error a client can cause becomes a problem-details JSON body (RFC 9457)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)  # a refused or reset connection before SQLAlchemy wraps it
    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        log.error("database error: %s", type(exc).__name__)
        body = {"type": "about:blank", "title": "Service unavailable", "status": 503,
                "detail": "the database is not available; retry later"}
        return JSONResponse(body, status_code=503, media_type=PROBLEM, headers={"Retry-After": "5"})
