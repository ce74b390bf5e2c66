"""A write is committed before its answer leaves the server: a client that got 200 and reads next
sees what it wrote (and a commit that fails is never answered 200). Through a real uvicorn server,
with each commit made slow, so an answer sent before the commit would be caught."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.api.conftest import LEAD, make_ticket
from tests.conftest import settings_for
from tests.support.auth import create_key
from tests.support.server import ServerThread


async def test_an_action_answered_200_is_already_committed(db: Database, pg_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tn = await make_ticket(db, LEAD, text="工地夜间施工噪音扰民")
    unit = {"Authorization": f"Bearer {await create_key(db, 'department', LEAD)}"}
    agent = {"Authorization": f"Bearer {await create_key(db, 'agent')}"}  # another principal reads
    commit = AsyncSession.commit

    async def slow_commit(self: AsyncSession) -> None:
        await asyncio.sleep(0.3)
        await commit(self)

    monkeypatch.setattr(AsyncSession, "commit", slow_commit)
    with ServerThread(create_app(settings_for(pg_url))) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            acted = await c.post(f"/api/v1/tickets/{tn}/accept", headers=unit, json={})
            assert acted.status_code == 200
        # Another connection and another principal, as a browser's next request or a colleague may
        # be (one connection waits for the server to finish the previous request, commit included;
        # the same key's once-a-minute touch could wait on the write's row lock).
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            seen = await c.get(f"/api/v1/tickets/{tn}", headers=agent)
            assert seen.json()["status"] == "accepted"
