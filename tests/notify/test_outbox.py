"""The outbox relay on PostgreSQL: at least once, in order per key, backing off, surviving a crash."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.api.app import create_app
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.notify import repository
from hotline.notify.models import OutboxMessage
from hotline.notify.outbox import (
    OutboxItem,
    RelayPolicy,
    build_senders,
    enqueue,
    local_only,
    relay_once,
)
from tests.conftest import client_for, settings_for
from tests.support.kafka import eventually


class Provider:
    """A stand-in for an outside provider (the edge of the world): records, or fails while `down`."""

    def __init__(self) -> None:
        self.got: list[tuple[str | None, str]] = []
        self.down: set[str] = set()

    async def __call__(self, item: OutboxItem) -> None:
        if item.payload["text"] in self.down:
            raise ConnectionError("provider unreachable")
        self.got.append((item.key, item.payload["text"]))


async def put(db: Database, *rows: tuple[str | None, str]) -> None:
    async with db.unit_of_work() as s:
        for key, text in rows:
            enqueue(s, "sms", {"text": text}, key=key)


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_a_failed_message_holds_back_its_key_but_not_others(db: Database) -> None:
    p = Provider()
    await put(db, ("13800000001", "a1"), ("13800000002", "b1"), ("13800000001", "a2"), (None, "n1"))
    p.down = {"a1"}
    assert await relay_once(db, {"sms": p}) == 2
    assert sorted(p.got, key=str) == sorted([(None, "n1"), ("13800000002", "b1")], key=str)
    failed = {r.payload["text"]: r for r in await rows(db)}
    assert failed["a1"].attempts == 1 and "provider unreachable" in (failed["a1"].last_error or "")
    assert failed["a2"].attempts == 0 and failed["a2"].sent_at is None  # never tried: a1 goes first

    # Even once a2 is due, it waits while a1 backs off.
    assert await relay_once(db, {"sms": p}) == 0
    p.down = set()
    assert await relay_once(db, {"sms": p}, now=failed["a1"].next_attempt_at + timedelta(seconds=1)) == 2
    assert [t for k, t in p.got if k == "13800000001"] == ["a1", "a2"]
    assert all(r.sent_at is not None for r in await rows(db))


async def test_backoff_doubles_with_each_failure(db: Database) -> None:
    p = Provider()
    p.down = {"x"}
    await put(db, ("k", "x"))
    policy = RelayPolicy(backoff_base=10, backoff_max=1000)
    now = utcnow()
    waits = []
    for _ in range(4):
        assert await relay_once(db, {"sms": p}, now=now, policy=policy) == 0
        (r,) = await rows(db)
        waits.append((r.next_attempt_at - now).total_seconds())
        now = r.next_attempt_at + timedelta(seconds=1)
    # 10, 20, 40, 80 seconds, give or take the 10 % jitter.
    for wait, expected in zip(waits, (10, 20, 40, 80), strict=True):
        assert expected * 0.85 <= wait <= expected * 1.15


async def test_a_relay_that_dies_after_claiming_is_covered_by_the_lease(db: Database) -> None:
    """Crash between send and mark: the row is sent again after the lease (at least once)."""
    p = Provider()
    await put(db, ("k", "once-or-more"))
    now = utcnow()
    async with db.unit_of_work() as s:  # a relay claims the row… and dies before marking it
        assert len(await repository.claim_due(s, now, 10, now + timedelta(seconds=60))) == 1
    assert await relay_once(db, {"sms": p}, now=now + timedelta(seconds=30)) == 0  # still leased
    assert await relay_once(db, {"sms": p}, now=now + timedelta(seconds=61)) == 1
    assert p.got == [("k", "once-or-more")]


async def test_a_kind_without_a_sender_waits_with_a_clear_error(db: Database) -> None:
    await put(db, ("k", "hello"))
    assert await relay_once(db, {}) == 0
    (r,) = await rows(db)
    assert r.sent_at is None and "no sender registered for outbox kind 'sms'" in (r.last_error or "")


async def test_embedded_mode_keeps_ticket_events_local(db: Database, pg_url: str,
                                                     agent_headers: dict[str, str]) -> None:
    """No broker: `hotline dev` runs the relay in-process and ticket events are marked delivered
    locally (they live on the ticket's timeline); nothing piles up."""
    settings = settings_for(pg_url, outbox_poll_seconds=0.05)
    assert build_senders(settings)["ticket_event"] is local_only
    async with client_for(create_app(settings, roles=("api", "gateway", "outbox"))) as c:
        r = await c.post("/channels/web", json={"phone": "13800138000", "text": "你好，咨询一下"})
        tn = r.json()["tracking_number"]
        r = await c.post(f"/api/v1/tickets/{tn}/add_note", json={"text": "来电补充"}, headers=agent_headers)
        assert r.status_code == 200, r.text

        async def delivered() -> bool:
            mine = [m for m in await rows(db) if m.key == tn]
            return bool(mine) and all(m.sent_at is not None for m in mine)

        await eventually(delivered, timeout=20)
