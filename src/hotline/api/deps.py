"""`Annotated` dependency aliases shared by every endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from hotline.kit.db import Database
from hotline.kit.settings import Settings


# `async def`, though they await nothing: FastAPI runs a plain `def` dependency in its thread pool,
# a thread hop on every request.
async def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


READ_ONLY = "hotline.read_only"


async def read_only(request: Request) -> None:
    """For a route that only reads (`dependencies=[ReadOnly]`): its session runs each statement on
    its own (autocommit), so a poll costs no BEGIN and no COMMIT round trip. Reads are not less
    consistent for it: under READ COMMITTED every statement takes its own snapshot anyway."""
    request.scope[READ_ONLY] = True


def read_gate(state: State, db: Database) -> asyncio.Semaphore:
    """Read-only requests take the pool's connections in arrival order.

    The pool's own wait queue is not fair: a connection handed back wakes the oldest waiter, but a
    request arriving meanwhile takes it first and the waiter queues again at the back. Under a
    steady stream of polls some waited the whole run (p50 0.1 s, p95 8 s at 200 pollers). A FIFO
    semaphore as large as the pool's kept connections keeps the pool from having waiters, and
    polls off its overflow: an overflow connection is closed when handed back, so every poll
    beyond pool_size paid a new connection (TLS attempt, login, codec set-up), most of its CPU.

    `state`: the application's state (`app.state`), where the one gate of the process is kept.
    """
    gate: asyncio.Semaphore | None = getattr(state, "read_gate", None)
    if gate is None:
        pool = db.engine.sync_engine.pool
        size = pool.size() if hasattr(pool, "size") else 1
        gate = state.read_gate = asyncio.Semaphore(max(1, size))
    return gate


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit on success, roll back on error."""
    db: Database = request.app.state.db
    if request.scope.get(READ_ONLY):
        async with read_gate(request.app.state, db), db.sessions() as session:
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        return
    async with db.unit_of_work() as session:
        yield session


DbDep = Annotated[Database, Depends(get_db)]
# scope="function": the unit of work commits when the endpoint returns, before the response is sent.
# FastAPI's default ("request") ends a yield dependency after the response: a client was answered
# 200 before its write was committed (or when the commit then failed), and a read it sent next could
# miss the write — the console showed a replied ticket as still signed for (已签收).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ReadOnly = Depends(read_only)
