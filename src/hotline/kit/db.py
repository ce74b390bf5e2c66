"""Database engine, the declarative base and the unit of work shared by the API and the workers.

Services flush, never commit: `unit_of_work()` commits once on success and rolls back on error.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, TypeDecorator, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL, JSON text elsewhere.
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL and on SQLite (which forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json_dumps(value: Any) -> str:
    """JSON and JSONB columns through orjson (several times faster than json.dumps on the
    router's per-row payloads); json.dumps for what orjson will not take (e.g. a float subclass)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _json_loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN or Infinity, which json.dumps writes and orjson refuses


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    engine = create_async_engine(url, **kwargs)
    if not url.startswith("sqlite"):
        _ping_when_idle(engine)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


# A pooled connection is pinged before use only when it sat idle this long. pool_pre_ping on every
# checkout cost three round trips (BEGIN, ping, ROLLBACK on asyncpg): more than a department poll's
# own two queries. A connection handed back moments ago is as alive as a ping would show; one
# that dies in between fails its statement, and SQLAlchemy then replaces the whole pool.
PING_WHEN_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    @event.listens_for(sync, "checkin")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) < PING_WHEN_IDLE_SECONDS:
            return
        try:
            sync.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure means: not this connection
            raise DisconnectionError("pooled connection failed its ping") from exc


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def insert_ignoring_conflicts(session: AsyncSession, table: Any, index_elements: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT (cols) DO NOTHING for the session's dialect."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    module = sqlite if dialect == "sqlite" else postgresql
    return module.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


def is_outage(exc: BaseException, _depth: int = 0) -> bool:
    """Whether an error means the database (or the network to it) is away, not that the work is bad."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, (OSError, ConnectionError, TimeoutError, OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        text = f"{type(exc.orig).__name__} {exc.orig}".lower()
        return any(w in text for w in ("connection", "connect", "terminat", "shutdown", "shutting down",
                                       "starting up", "cannotconnect", "closed", "too many clients"))
    cause = exc.__cause__ or exc.__context__
    return cause is not None and _depth < 5 and is_outage(cause, _depth + 1)


# ---------------------------------------------------------------------------------------------
# Bulk writes: the router writes hundreds of rows per table per batch. On PostgreSQL they go as one
# `INSERT … SELECT … FROM unnest($1::type[], …)` through asyncpg, in the session's transaction
# (SQLAlchemy's per-row parameter handling was a quarter of the router's time); elsewhere
# (SQLite) through SQLAlchemy, with the same result.


class DriverConnection:
    """The asyncpg connection under a unit of work. A lost connection (the database restarting,
    the network away) is raised as SQLAlchemy's OperationalError, as a statement through the
    session would be, so `is_outage` retries the batch instead of taking a message for poison."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return await self._call(self.raw.fetch(sql, *args))  # type: ignore[no-any-return]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._call(self.raw.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._call(self.raw.execute(sql, *args))

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> Any:
        return await self._call(self.raw.copy_records_to_table(table, **kwargs))

    @staticmethod
    async def _call(awaitable: Any) -> Any:
        from sqlalchemy.exc import OperationalError

        try:
            return await awaitable
        except Exception as exc:
            if _connection_lost(exc):
                raise OperationalError("(asyncpg)", None, exc, connection_invalidated=True) from exc
            raise


def _connection_lost(exc: BaseException) -> bool:
    import asyncpg

    if isinstance(exc, (OSError, ConnectionError, TimeoutError, asyncpg.exceptions.ConnectionDoesNotExistError,
                        asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)):
        return True  # class 08 (connection exception), 57 (admin shutdown, cannot connect now)
    return isinstance(exc, asyncpg.exceptions.InterfaceError) and "closed" in str(exc)


async def driver_connection(session: AsyncSession) -> DriverConnection | None:
    """The asyncpg connection under the session's transaction on PostgreSQL; None elsewhere.

    What is written through it is part of the unit of work (committed or rolled back with it)."""
    bind = session.bind
    if bind is None or bind.dialect.name != "postgresql" or bind.dialect.driver != "asyncpg":
        return None
    conn = await session.connection()
    raw: Any = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # SQLAlchemy's adapter begins lazily, on its first statement: make sure it has.
        await conn.exec_driver_sql("SELECT 1")
    return DriverConnection(raw)


_PG = postgresql.dialect()
_UNNEST_SQL: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def _unnest_insert(table: Any, columns: tuple[str, ...], conflict: tuple[str, ...] | None,
                   returning: tuple[str, ...], ordered: bool) -> tuple[str, tuple[Any, ...]]:
    """The statement and a converter per column (JSON documents are sent as text)."""
    key = (table.name, columns, conflict, returning, ordered)
    if key in _UNNEST_SQL:
        return _UNNEST_SQL[key]
    arrays: list[str] = []
    selected: list[str] = []
    convert: list[Any] = []
    for i, name in enumerate(columns, 1):
        type_ = table.c[name].type.dialect_impl(_PG)
        sql_type = type_.compile(dialect=_PG)
        if isinstance(type_, JSON):
            arrays.append(f"${i}::text[]")
            selected.append(f'u."{name}"::{sql_type}')
            convert.append(_json_dumps)
        else:
            arrays.append(f"${i}::{sql_type}[]")
            selected.append(f'u."{name}"')
            convert.append(None)
    names = ", ".join(f'"{c}"' for c in columns)
    alias = ", ".join(f'"{c}"' for c in columns) + (", __n" if ordered else "")
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {", ".join(selected)} FROM unnest({", ".join(arrays)})'
           f"{' WITH ORDINALITY' if ordered else ''} AS u({alias})")
    if ordered:
        sql += " ORDER BY u.__n"  # ids from the sequence then follow the rows' order
    if conflict is not None:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
    _UNNEST_SQL[key] = (sql, tuple(convert))
    return _UNNEST_SQL[key]


async def insert_rows(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *,
                      skip_conflicts_on: Sequence[str] | None = None,
                      returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Insert rows (dicts with the same keys) in one statement, in the session's unit of work.

    `skip_conflicts_on`: ON CONFLICT (these columns) DO NOTHING. `returning`: the columns to
    return, one tuple per inserted row; without a conflict clause they come in the rows' order.
    A column a row leaves out gets its Python default (as SQLAlchemy's insert gives it)."""
    if not rows:
        return []
    conflict = tuple(skip_conflicts_on) if skip_conflicts_on is not None else None
    driver = await driver_connection(session)
    if driver is None:
        stmt = (insert_ignoring_conflicts(session, table, conflict) if conflict is not None
                else table.insert())
        if returning:
            stmt = stmt.returning(*(table.c[c] for c in returning), sort_by_parameter_order=conflict is None)
            return [tuple(r) for r in await session.execute(stmt, list(rows))]
        await session.execute(stmt, list(rows))
        return []
    given = tuple(rows[0])
    if conflict is None and returning in ((), ("id",)):
        return await _copy_rows(driver, table, rows, given, with_ids=bool(returning))
    defaults = {c.name: c.default.arg if c.default.is_scalar else c.default.arg(None) for c in table.c
                if c.name not in given and c.default is not None and (c.default.is_scalar or c.default.is_callable)}
    columns = given + tuple(defaults)
    ordered = bool(returning) and conflict is None
    sql, convert = _unnest_insert(table, columns, conflict, tuple(returning), ordered)
    params: list[list[Any]] = []
    for name, conv in zip(given, convert, strict=False):
        values = [r[name] for r in rows]
        params.append(_json_column(values) if conv is not None else values)
    for name, conv in zip(defaults, convert[len(given):], strict=True):
        value = defaults[name]
        params.append([conv(value) if conv is not None else value] * len(rows))
    if not returning:
        await driver.execute(sql, *params)
        return []
    out = [tuple(r) for r in await driver.fetch(sql, *params)]
    if ordered and "id" in returning:
        at = list(returning).index("id")
        out.sort(key=lambda r: r[at])
    return out


def _json_column(values: list[Any]) -> list[str]:
    """JSON text of a column's values; a document shared by many rows (a clock's spec) is
    serialized once."""
    done: dict[int, str] = {}
    out = []
    for v in values:
        key = id(v)
        text = done.get(key)
        if text is None:
            text = done[key] = _json_dumps(v)
        out.append(text)
    return out


_SEQUENCES: dict[str, str] = {}


async def _copy_rows(driver: DriverConnection, table: Any, rows: Sequence[dict[str, Any]], given: tuple[str, ...],
                     with_ids: bool) -> list[tuple[Any, ...]]:
    """Rows that cannot conflict go by COPY (binary; no per-element array encoding), their ids
    taken from the table's sequence first when the caller wants them (in the rows' order)."""
    defaults = {c.name: c.default.arg if c.default.is_scalar else c.default.arg(None) for c in table.c
                if c.name not in given and c.name != "id" and c.default is not None
                and (c.default.is_scalar or c.default.is_callable)}
    columns: list[str] = list(given) + list(defaults)
    values = [[r[name] for r in rows] for name in given] + [[v] * len(rows) for v in defaults.values()]
    for i, name in enumerate(columns):
        if isinstance(table.c[name].type.dialect_impl(_PG), JSON):
            values[i] = _json_column(values[i])
    ids: list[int] = []
    if with_ids:
        seq = _SEQUENCES.get(table.name)
        if seq is None:
            seq = _SEQUENCES[table.name] = await driver.fetchval("SELECT pg_get_serial_sequence($1, 'id')",
                                                                 table.name)
        taken = await driver.fetch("SELECT nextval($1::regclass) FROM generate_series(1, $2)", seq, len(rows))
        ids = sorted(r[0] for r in taken)  # ascending in the rows' order: a timeline reads by id
        columns.insert(0, "id")
        values.insert(0, ids)
    await driver.copy_records_to_table(table.name, records=list(zip(*values, strict=True)), columns=columns)
    return [(i,) for i in ids]
