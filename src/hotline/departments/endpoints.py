"""The directory of units (readable by everyone signed in), a unit's ticket queue, and its administration."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from hotline.api.deps import ReadOnly, SessionDep
from hotline.api.idempotency import Idempotency
from hotline.api.params import refuse_nul
from hotline.auth.deps import AdminOnly, CurrentPrincipal, TicketReader
from hotline.auth.principal import Principal, Role
from hotline.departments import repository, service
from hotline.departments.schemas import (
    DepartmentCreate,
    DepartmentOut,
    DepartmentPage,
    DepartmentQueuePage,
    DepartmentUpdate,
)
from hotline.kit.cursors import decode_id_cursor, encode_id_cursor, encode_time_cursor
from hotline.kit.errors import NotFound
from hotline.tickets import queries
from hotline.tickets import repository as tickets

router = APIRouter(prefix="/api/v1/departments", tags=["departments"])
admin_router = APIRouter(prefix="/api/v1/admin/departments", tags=["admin"])


@router.get("", response_model=DepartmentPage)
async def list_departments(
    session: SessionDep, principal: CurrentPrincipal, kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200, cursor: str | None = None,
) -> DepartmentPage:
    """The units tickets are dispatched to: city departments, towns, streets and parks."""
    after = decode_id_cursor(cursor) if cursor else None
    items = await repository.list_departments(session, kind, limit=limit + 1, after_id=after)
    more = len(items) > limit
    items = items[:limit]
    return DepartmentPage(items=[DepartmentOut.model_validate(d) for d in items],
                          next_cursor=encode_id_cursor(items[-1].id) if more else None)


@router.get("/{code}/tickets", response_model=DepartmentQueuePage, dependencies=[ReadOnly],
            responses={304: {"description": "nothing changed since the ETag you sent (If-None-Match)"}})
async def poll_queue(
    request: Request,
    session: SessionDep,
    principal: TicketReader,
    code: str,
    status: Annotated[str | None, Query(description="one status or several, comma-separated")] = None,
    updated_since: Annotated[AwareDatetime | None,
                             Query(description="only tickets changed after this instant (with its zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """A unit's queue, oldest change first, for polling: send the ETag back as `If-None-Match` → 304
    when nothing changed; follow `next_cursor` for more, keep `resume_cursor` for the next poll."""
    refuse_nul(code=code, status=status)
    if principal.role == Role.DEPARTMENT:
        if principal.department_code != code:
            raise NotFound(f"no department {code!r}")  # another unit's queue does not exist for you
    elif await repository.get_by_code(session, code) is None:  # a unit's own code exists (foreign key)
        raise NotFound(f"no department {code!r}")
    params = page_params(code, status, updated_since.isoformat() if updated_since else "", cursor, limit)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match:
        # A conditional poll: the page's (id, updated_at) keys from the index decide 304 before a
        # single ticket is read.
        keys = await tickets.department_queue_keys(session, principal, code, limit, status, updated_since, cursor)
        etag = page_etag(principal, params, page_versions(keys))
        if matches(if_none_match, etag):
            return not_modified(etag)
    rows = await tickets.department_queue_page(session, principal, code, limit, status, updated_since, cursor)
    return page_response(principal, params, rows, limit, cursor)


# Shared with the plain-ASGI poll (departments/poll_route.py), so both answer byte for byte alike.

def page_params(code: str, status: str | None, since: str, cursor: str | None, limit: int) -> str:
    """What a poll asked for, as its ETag covers it."""
    return f"{code}|{status}|{since}|{cursor}|{limit}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def page_versions(keys: Iterable[tuple[int, datetime]]) -> str:
    """Each fetched row's version, `|id@microseconds since the epoch`, in page order. The rows are
    limit + 1: whether more follow is part of what the page says (its `next_cursor`). The poll
    route has PostgreSQL write the same text (`tickets.repository.queue_versions`)."""
    return "".join([f"|{ticket_id}@{(updated_at - _EPOCH) // _MICROSECOND}" for ticket_id, updated_at in keys])


def page_etag(principal: Principal, params: str, versions: str) -> str:
    """A strong ETag for one page of a poll: who asks (masking differs), what, and each row's version."""
    h = hashlib.sha256(f"{principal.role}|{principal.department_code}|{params}{versions}".encode())
    return '"' + h.hexdigest()[:32] + '"'


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "private, no-cache"})


def page_response(principal: Principal, params: str, rows: Sequence[Any], limit: int, cursor: str | None) -> Response:
    """The page (limit + 1 rows fetched: one more says there are more) as DepartmentQueuePage's JSON."""
    # The ETag of the rows served (not of any keys read before: the queue may have moved in between).
    etag = page_etag(principal, params, page_versions([(r["id"], r["updated_at"]) for r in rows]))
    more = len(rows) > limit
    rows = rows[:limit]
    last = encode_time_cursor(rows[-1]["updated_at"], rows[-1]["id"]) if rows else cursor
    return Response(queries.queue_page_json(rows, last if more else None, last), media_type="application/json",
                    headers={"ETag": etag, "Cache-Control": "private, no-cache"})


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in [t.strip() for t in if_none_match.split(",")]  # strong comparison: W/ tags never match


@admin_router.post("", status_code=201, response_model=DepartmentOut)
async def create_department(body: DepartmentCreate, session: SessionDep, principal: AdminOnly,
                            idem: Idempotency) -> Response:
    """Add a unit to the directory."""
    if (replay := await idem.replay()) is not None:
        return replay
    dept = await service.create_department(session, body.code, body.name, body.kind)
    return await idem.respond(201, DepartmentOut.model_validate(dept))


@admin_router.patch("/{code}", response_model=DepartmentOut)
async def update_department(code: str, body: DepartmentUpdate, session: SessionDep, principal: AdminOnly,
                            idem: Idempotency) -> Response:
    """Rename a unit, change its kind, or reactivate it."""
    if (replay := await idem.replay()) is not None:
        return replay
    dept = await service.update_department(session, code, body.name, body.kind, body.active)
    return await idem.respond(200, DepartmentOut.model_validate(dept))


@admin_router.post("/{code}/deactivate", response_model=DepartmentOut)
async def deactivate_department(code: str, session: SessionDep, principal: AdminOnly,
                                idem: Idempotency) -> Response:
    """Take a unit out of the directory: nothing new is dispatched to it; its tickets stay."""
    if (replay := await idem.replay()) is not None:
        return replay
    dept = await service.update_department(session, code, None, None, False)
    return await idem.respond(200, DepartmentOut.model_validate(dept))
