"""Signing in and out, who am I, and the admin's principals."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hotline.api.deps import SessionDep, SettingsDep
from hotline.api.idempotency import Idempotency
from hotline.auth import service
from hotline.auth.deps import AdminOnly, CurrentPrincipal
from hotline.auth.models import ApiKey, PrincipalRecord
from hotline.auth.schemas import (
    ApiKeyOut,
    LoginIn,
    LoginOut,
    MeOut,
    PrincipalAdminOut,
    PrincipalCreate,
    PrincipalCreated,
    PrincipalOut,
    PrincipalPage,
)
from hotline.kit.cursors import decode_id_cursor, encode_id_cursor
from hotline.kit.errors import TooManyRequests
from hotline.kit.ratelimit import RateLimiter

router = APIRouter(prefix="/api/v1", tags=["auth"])


def _admin_out(row: PrincipalRecord, keys: list[ApiKey]) -> PrincipalAdminOut:
    return PrincipalAdminOut(id=row.id, name=row.name, role=row.role, department_code=row.department_code,
                             active=row.active, has_password=bool(row.password_hash), created_at=row.created_at,
                             keys=[ApiKeyOut.model_validate(k) for k in keys])


def _check_login_rate(request: Request, name: str, per_minute: int) -> None:
    """Guessing passwords costs the guesser a minute per few tries (and spares our CPU: argon2)."""
    limiters = getattr(request.app.state, "login_limiters", None)
    if limiters is None:
        # An address gets ten times a name's budget: a whole shift signs in from one office NAT.
        limiters = request.app.state.login_limiters = (RateLimiter(per_minute), RateLimiter(per_minute * 10))
    client = request.client.host if request.client else "?"
    waits = [w for w in (limiters[0].check(name.lower()), limiters[1].check(client)) if w]
    if waits:
        retry = int(max(waits)) + 1
        raise TooManyRequests(f"too many sign-in attempts; try again in {retry} s", retry_after=retry)


@router.post("/auth/login", response_model=LoginOut)
async def login(request: Request, body: LoginIn, session: SessionDep, settings: SettingsDep) -> LoginOut:
    """Console sign-in: a name and password give a bearer token that expires."""
    _check_login_rate(request, body.name, settings.login_attempts_per_minute)
    token, expires_at, p = await service.login(session, body.name, body.password, settings.secret_key,
                                               timedelta(hours=settings.console_session_hours))
    return LoginOut(token=token, expires_at=expires_at,
                    principal=PrincipalOut(id=p.id, name=p.name, role=p.role, department_code=p.department_code))


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, principal: CurrentPrincipal, session: SessionDep,
                 settings: SettingsDep) -> Response:
    """End this console session (an API key is not ended by logging out: an admin revokes it)."""
    credential = request.state.credential
    if credential.kind == "session":
        token = request.headers["authorization"].split(" ", 1)[1].strip()
        await service.logout(session, token, settings.secret_key)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
async def me(request: Request, principal: CurrentPrincipal) -> MeOut:
    """Who the credential you sent belongs to."""
    c = request.state.credential
    return MeOut(id=principal.id, name=principal.name, role=principal.role,
                 department_code=principal.department_code, credential=c.kind,
                 credential_expires_at=c.expires_at, is_centre=principal.is_centre)


@router.get("/admin/principals", response_model=PrincipalPage)
async def list_principals(
    session: SessionDep, principal: AdminOnly,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> PrincipalPage:
    """Every principal with its keys (prefixes only: a key is never shown again)."""
    after = decode_id_cursor(cursor) if cursor else None
    rows, keys = await service.list_principals(session, limit + 1, after)
    more = len(rows) > limit
    rows = rows[:limit]
    return PrincipalPage(items=[_admin_out(r, list(keys.get(r.id, []))) for r in rows],
                         next_cursor=encode_id_cursor(rows[-1].id) if more else None)


@router.post("/admin/principals", status_code=201, response_model=PrincipalCreated)
async def create_principal(
    body: PrincipalCreate, session: SessionDep, settings: SettingsDep, principal: AdminOnly,
    idem: Idempotency,
) -> Response:
    """A new agent, supervisor, department, channel bot or admin, with its first API key (shown once)."""
    if (replay := await idem.replay()) is not None:
        return replay
    row, key = await service.create_principal(
        session, name=body.name, role=body.role, secret_key=settings.secret_key,
        department_code=body.department_code, password=body.password, key_expires_at=body.key_expires_at)
    _, keys = await service.list_principals(session, 1, row.id - 1)
    out = PrincipalCreated(principal=_admin_out(row, list(keys.get(row.id, []))), api_key=key or "")
    return await idem.respond(201, out)


@router.post("/admin/principals/{name_or_id}/revoke", response_model=PrincipalAdminOut)
async def revoke_principal(name_or_id: str, session: SessionDep, principal: AdminOnly,
                           idem: Idempotency) -> Response:
    """Deactivate a principal and revoke every key and session it has, at once."""
    if (replay := await idem.replay()) is not None:
        return replay
    row = await service.revoke(session, name_or_id)
    _, keys = await service.list_principals(session, 1, row.id - 1)
    return await idem.respond(200, _admin_out(row, list(keys.get(row.id, []))))

