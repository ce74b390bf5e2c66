"""The router's bulk writes (kit.db.insert_rows): asyncpg on PostgreSQL, SQLAlchemy on SQLite,
the same rows either way, and part of the unit of work (a failed batch leaves nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hotline.kit.db import Database, driver_connection, insert_rows
from hotline.tickets.models import Ticket, TicketEvent


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(request: pytest.FixtureRequest, db: Database, sqlite_url: str):  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        yield db
        return
    d = Database(sqlite_url)
    yield d
    await d.dispose()


def _ticket(tn: str, **kw: object) -> dict[str, object]:
    now = datetime.now(UTC)
    row: dict[str, object] = {"tracking_number": tn, "type": "complaint", "status": "pending_dispatch",
                              "channel": "web", "text": f"路灯坏了 {tn}", "routing": {"rule": None, "reasons": ["规则"]},
                              "received_at": now, "created_at": now, "updated_at": now}
    row.update(kw)
    return row


async def test_existing_rows_are_skipped_and_new_ones_returned(database: Database) -> None:
    async with database.unit_of_work() as s:
        first = await insert_rows(s, Ticket.__table__, [_ticket("DGA1"), _ticket("DGA2")],
                                  skip_conflicts_on=["tracking_number"], returning=("tracking_number", "id"))
    async with database.unit_of_work() as s:
        again = await insert_rows(s, Ticket.__table__, [_ticket("DGA2"), _ticket("DGA3")],
                                  skip_conflicts_on=["tracking_number"], returning=("tracking_number", "id"))
        stored = (await s.execute(select(Ticket.tracking_number, Ticket.routing, Ticket.confidential,
                                         Ticket.urgency, Ticket.return_count).order_by(Ticket.id))).all()
    assert sorted(tn for tn, _ in first) == ["DGA1", "DGA2"]
    assert [tn for tn, _ in again] == ["DGA3"]  # DGA2 was there: not written twice
    assert [r[0] for r in stored] == ["DGA1", "DGA2", "DGA3"]
    # JSON as JSON, and the columns a row leaves out get their defaults.
    assert stored[0][1:] == ({"rule": None, "reasons": ["规则"]}, False, "normal", 0)


async def test_returned_ids_follow_the_rows_order(database: Database) -> None:
    async with database.unit_of_work() as s:
        [(tid,)] = await insert_rows(s, Ticket.__table__, [_ticket("DGB1")], returning=("id",))
        now = datetime.now(UTC)
        rows = [{"ticket_id": tid, "kind": f"k{i}", "from_status": None, "to_status": None, "actor": "test",
                 "reason": None, "data": {"i": i}, "created_at": now} for i in range(50)]
        ids = [i for (i,) in await insert_rows(s, TicketEvent.__table__, rows, returning=("id",))]
        kinds = dict((await s.execute(select(TicketEvent.id, TicketEvent.kind))).all())
    assert [kinds[i] for i in ids] == [f"k{i}" for i in range(50)]


async def test_a_failed_unit_of_work_leaves_no_rows(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.unit_of_work() as s:
            # The first statement of the transaction goes straight to the driver on PostgreSQL.
            await insert_rows(s, Ticket.__table__, [_ticket("DGC1")])
            raise RuntimeError("the batch fails")
    async with database.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 0
        assert (await driver_connection(s) is None) == database.url.startswith("sqlite")


async def test_a_connection_lost_during_a_bulk_write_is_an_outage_not_poison(db: Database) -> None:
    from sqlalchemy import text

    from hotline.kit.db import is_outage

    async with db.unit_of_work() as other:
        with pytest.raises(Exception) as failed:
            async with db.unit_of_work() as s:
                driver = await driver_connection(s)
                assert driver is not None
                pid = await driver.fetchval("SELECT pg_backend_pid()")
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                await insert_rows(s, Ticket.__table__, [_ticket("DGD1")])
    # The router retries the batch (the database is away) instead of skipping its messages.
    assert is_outage(failed.value)
