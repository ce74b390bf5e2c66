"""A department's poll of its queue, served as plain ASGI in front of FastAPI (issue #8).

Two hundred department systems poll every second, and most polls are answered 304. Through
FastAPI a 304 cost ~1.4 ms of CPU, of which the work itself (the key check, the page's keys, the
ETag) was a fifth: the rest was routing past every route, solving a dozen dependencies, a
SQLAlchemy session and a second round trip. Here the common poll — a department's API key on its
own unit's queue, with at most `limit` and `cursor` — is answered by one statement that both checks
the key and reads the page's keys (`auth.repository.key_check_with`), and the page's rows only when
they changed.

Everything else goes to the documented route (`endpoints.poll_queue`) untouched: a missing,
unknown, revoked or expired key, another unit's code, a centre principal, other parameters, a
value that does not parse, a key due for its `last_used_at` write (once a minute), SQLite, any
error. So each error is that route's own (401/403/404/422 problems), the OpenAPI document is its,
and the key's state is read from the database on every request as before (a revoked key stops at
once, in every process). The metrics middleware, outside this one, labels the poll by the same
route template: the route is taken from the first poll served by FastAPI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.util import greenlet_spawn

from hotline.api.deps import read_gate
from hotline.auth import repository as auth_repository
from hotline.auth import service as auth
from hotline.auth.principal import Role
from hotline.departments.endpoints import (
    matches,
    not_modified,
    page_etag,
    page_params,
    page_response,
)
from hotline.kit.clock import utcnow
from hotline.kit.cursors import decode_time_cursor
from hotline.kit.driver_sql import asyncpg_args
from hotline.tickets import repository as tickets

TEMPLATE = "/api/v1/departments/{code}/tickets"
_PREFIX = "/api/v1/departments/"
_PATH = re.compile(r"/api/v1/departments/([a-z0-9][a-z0-9-]{0,63})/tickets")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,200}")
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
_DEFAULT_LIMIT = 50

_statements: dict[bool, Any] = {}


def _keys_and_key_check(with_cursor: bool) -> Any:
    """The key check and the versions of the page's rows (`endpoints.page_versions`), in one row."""
    stmt = _statements.get(with_cursor)
    if stmt is None:
        stmt = _statements[with_cursor] = auth_repository.key_check_with(tickets.queue_versions(with_cursor))
    return stmt


class PollRoute:
    """ASGI middleware: the common department poll served here, every other request passed on."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.route: Any = None  # the documented route, as FastAPI put it in the scope

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and _PREFIX in scope["path"]:
            if self.route is not None:
                response = await self._answer(scope)
                if response is not None:
                    scope["route"] = self.route  # the metrics middleware labels the request by it
                    await response(scope, receive, send)
                    return
            await self.app(scope, receive, send)
            if self.route is None and getattr(scope.get("route"), "path", None) == TEMPLATE:
                self.route = scope["route"]
            return
        await self.app(scope, receive, send)

    async def _answer(self, scope: dict[str, Any]) -> Any | None:
        """The response to a common poll, or None for the documented route to answer."""
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        m = _PATH.fullmatch(path)
        if m is None:
            return None
        code = m.group(1)
        token = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization" and token is None:
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token.startswith(auth.KEY_PREFIX) or not _TOKEN.fullmatch(token):
                    return None
            elif name == b"if-none-match" and if_none_match is None:
                if_none_match = value.decode("latin-1")
        if token is None:
            return None
        limit, cursor = _DEFAULT_LIMIT, None
        query = scope.get("query_string") or b""
        if query:
            seen = set()
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if name in seen:
                    return None
                seen.add(name)
                if name == "limit" and _LIMIT.fullmatch(value) and int(value) <= 200:
                    limit = int(value)
                elif name == "cursor" and value and "\x00" not in value:
                    cursor = value
                else:
                    return None
        app = scope["app"]
        db = app.state.db
        if db.engine.dialect.driver != "asyncpg":
            return None
        params: dict[str, Any] = {"key_hash": auth.digest(app.state.settings.secret_key, token),
                                  "code": code, "page": limit + 1}
        try:
            if cursor:
                params["after_at"], params["after_id"] = decode_time_cursor(cursor)
            async with read_gate(app.state, db):
                # The pool's connection without SQLAlchemy's Connection around it (a fifth of this
                # path's CPU); statements run on the driver, in autocommit, as on a read-only route.
                pooled = await db.engine.raw_connection()
                try:
                    return await _respond(pooled.driver_connection, params, code, limit, cursor, if_none_match)
                except BaseException:
                    await greenlet_spawn(pooled.invalidate)  # its state is unknown: not back to the pool
                    raise
                finally:
                    await greenlet_spawn(pooled.close)
        except Exception:  # noqa: BLE001 — the documented route answers, with its own error if there is one
            return None


async def _respond(raw: Any, params: dict[str, Any], code: str, limit: int, cursor: str | None,
                   if_none_match: str | None) -> Any | None:
    # Without If-None-Match the versions would go unused: the key check alone.
    check = _keys_and_key_check(bool(cursor)) if if_none_match else auth_repository.key_check_statement()
    row = await raw.fetchrow(*_sql(check, params))
    now = utcnow()
    try:
        principal = auth.key_principal(row, now)
    except auth.NotAuthenticated:  # not the connection's fault: it goes back to the pool
        return None
    if auth.key_needs_touch(row, now) or principal.role != Role.DEPARTMENT or principal.department_code != code:
        return None
    key = page_params(code, None, "", cursor, limit)
    if if_none_match:
        etag = page_etag(principal, key, row["page_versions"] or "")
        if matches(if_none_match, etag):
            return not_modified(etag)
    rows = await raw.fetch(*_sql(tickets.queue_statement(False, False, bool(cursor), rows=True), params))
    return page_response(principal, key, rows, limit, cursor)


def _sql(stmt: Any, params: dict[str, Any]) -> list[Any]:
    sql, args = asyncpg_args(stmt, params)
    return [sql, *args]
