"""`Annotated` dependency aliases shared by every endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

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


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit on success, roll back on error."""
    db: Database = request.app.state.db
    if request.scope.get(READ_ONLY):
        async with db.sessions() as session:
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        return
    async with db.unit_of_work() as session:
        yield session


DbDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ReadOnly = Depends(read_only)
