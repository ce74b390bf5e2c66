"""Principals, keys and logins: creating them, checking a bearer credential, revoking.

Machine keys are checked with a keyed digest (HMAC-SHA256 with `HOTLINE_SECRET_KEY`), which costs
microseconds; only a console login runs the password hasher (argon2id), once per session.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth import repository
from hotline.auth.models import ApiKey, PrincipalRecord
from hotline.auth.principal import Principal, Role
from hotline.departments import repository as departments
from hotline.kit.clock import utcnow
from hotline.kit.errors import Conflict, HotlineError, NotFound, Unauthorized

KEY_PREFIX = "hlk_"  # API keys
SESSION_PREFIX = "hls_"  # console session tokens
DISPLAY_PREFIX_LEN = 12
# Writing last_used_at on every request would turn every read into a write; once a minute is enough.
TOUCH_EVERY = timedelta(seconds=60)

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class NotAuthenticated(Unauthorized):
    """401 with the challenge header RFC 9110 asks for."""

    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="hotline"'}


class InvalidPrincipal(HotlineError):
    status_code = 422
    title = "Invalid principal"


@dataclass(frozen=True)
class Credential:
    """How the caller proved who they are (a key or a console session)."""

    kind: str  # "api_key" | "session"
    id: int
    expires_at: datetime | None


def digest(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def as_principal(row: PrincipalRecord) -> Principal:
    return Principal(row.id, row.name, Role(row.role), row.department_code)


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)  # 256 bits of randomness


async def create_principal(
    session: AsyncSession,
    *,
    name: str,
    role: Role | str,
    secret_key: str,
    department_code: str | None = None,
    password: str | None = None,
    key_expires_at: datetime | None = None,
    with_key: bool = True,
) -> tuple[PrincipalRecord, str | None]:
    """A new principal and (by default) its first API key, which is returned once and never stored."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidPrincipal(f"unknown role {role!r}; one of agent, supervisor, department, channel, admin") from exc
    if role == Role.SYSTEM:
        raise InvalidPrincipal("the system role belongs to hotline's own processes")
    name = name.strip()
    if not name or name.isdigit():
        raise InvalidPrincipal("a principal needs a name that is not only digits (digits mean an id)")
    if role == Role.DEPARTMENT:
        if not department_code:
            raise InvalidPrincipal("a department principal needs --department CODE")
        dept = await departments.get_by_code(session, department_code)
        if dept is None or not dept.active:
            raise InvalidPrincipal(f"no active department with code {department_code!r}")
    elif department_code:
        raise InvalidPrincipal("only a department principal is bound to a department")
    if await repository.find_principal(session, name) is not None:
        raise Conflict(f"a principal named {name!r} exists already")
    password_hash = await asyncio.to_thread(_hasher.hash, password) if password else None
    try:
        row = await repository.add_principal(session, name=name, role=role.value, department_code=department_code,
                                             password_hash=password_hash, active=True)
    except IntegrityError as exc:  # a concurrent create with the same name
        raise Conflict(f"a principal named {name!r} exists already") from exc
    key = None
    if with_key:
        _, key = await issue_key(session, row.id, secret_key, key_expires_at)
    return row, key


async def issue_key(
    session: AsyncSession, principal_id: int, secret_key: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    key = new_secret(KEY_PREFIX)
    row = await repository.add_api_key(session, principal_id=principal_id, key_hash=digest(secret_key, key),
                                       prefix=key[:DISPLAY_PREFIX_LEN], expires_at=expires_at,
                                       created_at=utcnow())
    return row, key


async def authenticate(session: AsyncSession, token: str, secret_key: str) -> tuple[Principal, Credential]:
    """The principal behind a bearer API key or console token; 401 if unknown, revoked or expired."""
    now = utcnow()
    h = digest(secret_key, token)
    if token.startswith(SESSION_PREFIX):
        found_s = await repository.principal_by_session_hash(session, h)
        if found_s is None:
            raise NotAuthenticated("the session token is not valid; log in again")
        cs, row = found_s
        if cs.revoked_at is not None:
            raise NotAuthenticated("this session was logged out; log in again")
        if cs.expires_at <= now:
            raise NotAuthenticated("this session has expired; log in again")
        if not row.active:
            raise NotAuthenticated("this principal has been deactivated")
        if cs.last_used_at is None or now - cs.last_used_at > TOUCH_EVERY:
            await repository.touch_console_session(session, cs.id, now)
        return as_principal(row), Credential("session", cs.id, cs.expires_at)
    key: Any = await repository.key_check(session, h)
    principal = key_principal(key, now)  # raises unless the key passes
    if key_needs_touch(key, now):
        await repository.touch_key(session, key["id"], now)
    return principal, Credential("api_key", key["id"], key["expires_at"])


def key_principal(key: Any | None, now: datetime) -> Principal:
    """The principal of a key-check row (`repository.key_check`); 401 if unknown, revoked, expired
    or its principal deactivated. Checked on every request: no process caches a key's state."""
    if key is None:
        raise NotAuthenticated("the API key is not valid")
    if key["revoked_at"] is not None:
        raise NotAuthenticated("this API key has been revoked")
    if key["expires_at"] is not None and key["expires_at"] <= now:
        raise NotAuthenticated("this API key has expired")
    if not key["active"]:
        raise NotAuthenticated("this principal has been deactivated")
    return Principal(key["principal_id"], key["name"], Role(key["role"]), key["department_code"])


def key_needs_touch(key: Any, now: datetime) -> bool:
    """Whether this request should write the key's last_used_at (at most once a minute)."""
    return key["last_used_at"] is None or now - key["last_used_at"] > TOUCH_EVERY


async def login(
    session: AsyncSession, name: str, password: str, secret_key: str, ttl: timedelta
) -> tuple[str, datetime, Principal]:
    """Password → a console token (returned once, stored hashed)."""
    row = await repository.find_principal(session, name) if name and not name.isdigit() else None
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    ok: bool
    try:
        ok = await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or not row.password_hash or not row.active:
        raise NotAuthenticated("wrong name or password")
    token = new_secret(SESSION_PREFIX)
    expires_at = utcnow() + ttl
    await repository.add_console_session(session, principal_id=row.id, token_hash=digest(secret_key, token),
                                         created_at=utcnow(), expires_at=expires_at)
    return token, expires_at, as_principal(row)


async def logout(session: AsyncSession, token: str, secret_key: str) -> None:
    await repository.revoke_console_session(session, digest(secret_key, token), utcnow())


async def revoke(session: AsyncSession, name_or_id: str) -> PrincipalRecord:
    """Deactivate a principal and revoke all its keys and sessions at once."""
    row = await repository.find_principal(session, name_or_id)
    if row is None:
        raise NotFound(f"no principal {name_or_id!r}")
    row.active = False
    row.updated_at = utcnow()
    await repository.revoke_keys_and_sessions(session, row.id, utcnow())
    await session.flush()
    return row


async def list_principals(
    session: AsyncSession, limit: int = 100, after_id: int | None = None
) -> tuple[Sequence[PrincipalRecord], dict[int, Sequence[ApiKey]]]:
    rows = await repository.list_principals(session, limit, after_id)
    keys = await repository.keys_of(session, [r.id for r in rows])
    by_principal: dict[int, list[ApiKey]] = {}
    for k in keys:
        by_principal.setdefault(k.principal_id, []).append(k)
    return rows, by_principal  # type: ignore[return-value]


async def record_identity_views(
    session: AsyncSession, principal: Principal, ticket_ids: Sequence[int], purpose: str
) -> None:
    """Audit each time the centre is shown a protected citizen's identity."""
    now = utcnow()
    await repository.record_identity_views(session, [
        {"ticket_id": tid, "principal_id": principal.id, "actor": principal.actor, "purpose": purpose,
         "viewed_at": now}
        for tid in dict.fromkeys(ticket_ids)
    ])
