"""`hotline principal create | revoke | list`: administer who may call the API."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import timedelta

from hotline.auth import service
from hotline.auth.principal import Role
from hotline.cli import command
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.kit.errors import HotlineError
from hotline.kit.settings import Settings

ROLES = [r.value for r in Role if r != Role.SYSTEM]


def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("create", help="a new principal; its API key is printed on the last line")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--name", required=True)
    c.add_argument("--department", help="the unit code a department principal is bound to (e.g. env)")
    c.add_argument("--password-prompt", action="store_true", help="set a console password (asked twice)")
    c.add_argument("--expires-days", type=int, help="the key expires after this many days")
    r = sub.add_parser("revoke", help="deactivate a principal and revoke its keys and sessions")
    r.add_argument("name_or_id")
    sub.add_parser("list", help="every principal, its role, unit and key prefixes")


async def _run(a: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            if a.action == "create":
                password = None
                if a.password_prompt:
                    password = getpass.getpass("password: ")
                    if password != getpass.getpass("again: "):
                        print("the passwords differ", file=sys.stderr)
                        return 2
                expires = utcnow() + timedelta(days=a.expires_days) if a.expires_days else None
                row, key = await service.create_principal(
                    session, name=a.name, role=a.role, department_code=a.department, password=password,
                    secret_key=settings.secret_key, key_expires_at=expires)
                unit = f" of {row.department_code}" if row.department_code else ""
                print(f"created {row.role} {row.name!r}{unit} (id {row.id}); the key is shown once:")
                print(key)
            elif a.action == "revoke":
                row = await service.revoke(session, a.name_or_id)
                print(f"revoked {row.role} {row.name!r} (id {row.id}) and all its keys and sessions")
            else:
                rows, keys = await service.list_principals(session, limit=10_000)
                for r in rows:
                    prefixes = ",".join(k.prefix + "…" + ("(revoked)" if k.revoked_at else "")
                                        for k in keys.get(r.id, []))
                    print(f"{r.id}\t{r.name}\t{r.role}\t{r.department_code or '-'}\t"
                          f"{'active' if r.active else 'revoked'}\t{prefixes}")
        return 0
    except HotlineError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()


@command("principal", "create, revoke and list API principals (agents, departments, bots, admins)", _args)
def principal(a: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(a, settings))


async def ensure_demo_principals(settings: Settings) -> list[tuple[str, str, str]]:
    """For `hotline dev`: a demo admin, agent and department (env) key each, created once.

    Keys are stored hashed, so on later runs the existing demo principals get a fresh key.
    """
    db = Database(settings.database_url)
    out: list[tuple[str, str, str]] = []
    try:
        async with db.unit_of_work() as session:
            for name, role, dept in (("demo-admin", Role.ADMIN, None), ("demo-agent", Role.AGENT, None),
                                     ("demo-env", Role.DEPARTMENT, "env")):
                existing = await service.repository.find_principal(session, name)
                if existing is None:
                    _, key = await service.create_principal(session, name=name, role=role, department_code=dept,
                                                            secret_key=settings.secret_key)
                elif existing.active:
                    _, key = await service.issue_key(session, existing.id, settings.secret_key)
                else:
                    continue
                out.append((name, role.value if dept is None else f"{role.value} ({dept})", key or ""))
    finally:
        await db.dispose()
    return out
