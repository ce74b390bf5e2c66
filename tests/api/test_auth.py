"""Signing in: API keys (stored as a keyed digest, revocable, expiring), console logins, the CLI."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from sqlalchemy import select, update

from hotline.auth.models import ApiKey, ConsoleSession, PrincipalRecord
from hotline.calls.models import Call
from hotline.kit.clock import utcnow
from tests.api.conftest import World
from tests.support.auth import bearer, create_key


async def test_console_login_gives_an_expiring_token_and_logout_ends_it(world: World) -> None:
    c = world.client
    await create_key(world.db, "agent", name="xiaowang", password="correct horse battery")
    wrong = await c.post("/api/v1/auth/login", json={"name": "xiaowang", "password": "nope"})
    nobody = await c.post("/api/v1/auth/login", json={"name": "nobody", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["detail"] == nobody.json()["detail"] == "wrong name or password"  # no user probing

    r = await c.post("/api/v1/auth/login", json={"name": "xiaowang", "password": "correct horse battery"})
    assert r.status_code == 200
    token = r.json()["token"]
    me = (await c.get("/api/v1/me", headers=bearer(token))).json()
    assert me["name"] == "xiaowang" and me["role"] == "agent" and me["credential"] == "session"
    assert me["credential_expires_at"] == r.json()["expires_at"]

    assert (await c.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 204
    gone = await c.get("/api/v1/me", headers=bearer(token))
    assert gone.status_code == 401 and "logged out" in gone.json()["detail"]

    # A session past its expiry is refused.
    token2 = (await c.post("/api/v1/auth/login", json={"name": "xiaowang",
                                                       "password": "correct horse battery"})).json()["token"]
    async with world.db.unit_of_work() as s:
        await s.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = await c.get("/api/v1/me", headers=bearer(token2))
    assert late.status_code == 401 and "expired" in late.json()["detail"]


async def test_keys_are_stored_only_as_a_keyed_digest(world: World) -> None:
    key = await create_key(world.db, "department", "env", name="env-bot")
    assert (await world.client.get("/api/v1/me", headers=bearer(key))).status_code == 200
    async with world.db.sessions() as s:
        row = await s.scalar(select(ApiKey).join(PrincipalRecord, PrincipalRecord.id == ApiKey.principal_id)
                             .where(PrincipalRecord.name == "env-bot"))
    assert row is not None
    assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    assert key.startswith(row.prefix)
    assert row.last_used_at is not None  # shown to admins so stale keys can be found


async def test_admin_revokes_a_principal_and_its_keys_stop_at_once(world: World) -> None:
    c, admin = world.client, world.as_("admin")
    created = await c.post("/api/v1/admin/principals", headers=admin,
                           json={"name": "town-bot", "role": "department", "department_code": "town-tangxia"})
    assert created.status_code == 201
    key = created.json()["api_key"]
    assert (await c.get("/api/v1/me", headers=bearer(key))).json()["department_code"] == "town-tangxia"
    listed = (await c.get("/api/v1/admin/principals", headers=admin)).json()["items"]
    assert key not in str(listed)
    assert (await c.post("/api/v1/admin/principals/town-bot/revoke", headers=admin)).status_code == 200
    assert (await c.get("/api/v1/me", headers=bearer(key))).status_code == 401
    bad = await c.post("/api/v1/admin/principals", headers=admin, json={"name": "x", "role": "department"})
    assert bad.status_code == 422 and "department" in bad.json()["detail"]
    dup = await c.post("/api/v1/admin/principals", headers=admin, json={"name": "town-bot", "role": "agent"})
    assert dup.status_code == 409


async def run_cli(db_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "HOTLINE_DATABASE_URL": db_url}
    main = "import sys; from hotline.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", main, *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_prints_the_key_on_its_last_line_and_revokes(world: World, pg_url: str) -> None:
    rc, out, err = await run_cli(pg_url, "principal", "create", "--role", "department", "--department", "env",
                                 "--name", "env-cli")
    assert rc == 0, err
    key = out.strip().splitlines()[-1]
    me = (await world.client.get("/api/v1/me", headers=bearer(key))).json()
    assert (me["name"], me["role"], me["department_code"]) == ("env-cli", "department", "env")
    rc, out, _ = await run_cli(pg_url, "principal", "list")
    assert "env-cli" in out and key not in out
    rc, _, _ = await run_cli(pg_url, "principal", "revoke", "env-cli")
    assert rc == 0
    assert (await world.client.get("/api/v1/me", headers=bearer(key))).status_code == 401
    rc, _, err = await run_cli(pg_url, "principal", "create", "--role", "department", "--name", "no-unit")
    assert rc != 0 and "--department" in err


async def test_a_ticket_from_a_call_is_linked_to_the_call(world: World) -> None:
    async with world.db.unit_of_work() as s:
        s.add(Call(call_id="pbx-777", direction="in", caller="+8613800138000", missed=False))
    agent = world.as_("agent")
    r = await world.client.post("/api/v1/tickets", headers=agent, json={
        "call_id": "pbx-777", "phone": "+8613800138000", "text": "咨询社保转移手续"})
    assert r.status_code == 201, r.text
    call = (await world.client.get("/api/v1/calls/pbx-777", headers=agent)).json()
    assert call["tracking_number"] == r.json()["tracking_number"]


async def test_password_guessing_is_slowed_down(world: World) -> None:
    await create_key(world.db, "agent", name="laoli", password="the right one")
    statuses = [(await world.client.post("/api/v1/auth/login", json={"name": "laoli", "password": f"guess {i}"}))
                for i in range(11)]
    assert [r.status_code for r in statuses[:10]] == [401] * 10
    assert statuses[10].status_code == 429 and int(statuses[10].headers["retry-after"]) > 0
    # Even the right password waits: the limit is on attempts, not on failures.
    r = await world.client.post("/api/v1/auth/login", json={"name": "laoli", "password": "the right one"})
    assert r.status_code == 429
