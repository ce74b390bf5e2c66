"""Ticket events reach the real broker's events topic through the outbox: only after the commit,
never for a rolled-back action, and still (once) after the broker was down."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from hotline.auth.principal import Principal, Role
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.notify.models import OutboxMessage
from hotline.notify.outbox import KafkaSender, build_senders, close_senders, relay_once
from hotline.tickets import actions
from tests.conftest import settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually
from tests.tickets.factories import events

pytestmark = pytest.mark.kafka

AGENT = Principal(1, "li", Role.AGENT)
ENV = Principal(2, "env-desk", Role.DEPARTMENT, "env")


TEXTS = {1: "我要投诉塘厦镇工地夜间施工噪音扰民", 2: "投诉塘厦镇某酒吧深夜噪音很大", 3: "塘厦镇某厂房夜间机器噪音扰民"}


async def dispatched_ticket(c: httpx.AsyncClient, n: int) -> str:
    r = await c.post("/channels/web", json={"phone": f"1390013{n:04d}", "text": TEXTS[n],
                                             "client_message_id": f"ev-{n}-{uuid.uuid4().hex[:6]}"})
    assert r.status_code == 202, r.text
    tn = str(r.json()["tracking_number"])
    t = (await c.get(f"/api/v1/tickets/{tn}")).json()
    assert t["status"] == "dispatched" and t["department_code"] == "env"
    return tn


class Topic:
    """Everything published on one topic so far, read from the start."""

    def __init__(self, bootstrap: str, name: str) -> None:
        self.consumer = AIOKafkaConsumer(name, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                         enable_auto_commit=False, group_id=None)
        self.records: list[dict[str, Any]] = []

    async def __aenter__(self) -> Topic:  # noqa: PYI034
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def read_until(self, done: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        async def check() -> bool:
            batch = await self.consumer.getmany(timeout_ms=200)
            for rs in batch.values():
                for r in rs:
                    self.records.append({"key": r.key.decode(), **json.loads(r.value),
                                         "headers": dict(r.headers)})
            return bool(done(self.records))

        await eventually(check, timeout=timeout, every=0.05)
        return self.records


async def test_events_are_published_after_commit_and_never_for_a_rollback(
    db: Database, pg_url: str, broker: Broker, embedded_client: httpx.AsyncClient
) -> None:
    topic = f"ticket-events-{uuid.uuid4().hex[:8]}"
    await create_topic(broker.bootstrap, topic, partitions=1)  # one partition: one global order
    senders = build_senders(settings_for(pg_url, broker.bootstrap, kafka_events_topic=topic))
    assert isinstance(senders["ticket_event"], KafkaSender)
    a, b = await dispatched_ticket(embedded_client, 1), await dispatched_ticket(embedded_client, 2)
    try:
        # The router's events (received, dispatched) are queued with the tickets it wrote.
        assert await relay_once(db, senders) >= 4
        # An action in an open transaction: its event is not published while it is uncommitted.
        async with db.unit_of_work() as open_tx:
            await actions.accept(open_tx, ENV, a)
            assert await relay_once(db, senders) == 0
        # A rolled-back action on b.
        with pytest.raises(RuntimeError):
            async with db.unit_of_work() as s:
                await actions.add_note(s, AGENT, b, "这条备注会被回滚")
                raise RuntimeError("the request failed after the action")
        async with db.unit_of_work() as s:
            await actions.add_note(s, AGENT, b, "这条备注已提交")
        assert await relay_once(db, senders) == 2
        assert await relay_once(db, senders) == 0  # nothing twice

        async with Topic(broker.bootstrap, topic) as t:
            got = await t.read_until(lambda rs: any(r["key"] == b and r["kind"] == "note_added" for r in rs)
                                     and any(r["key"] == a and r["kind"] == "accepted" for r in rs))
        of_a = [r["kind"] for r in got if r["key"] == a]
        of_b = [r for r in got if r["key"] == b]
        assert of_a[:2] == ["received", "dispatched"] and of_a[-1] == "accepted"
        assert [r["kind"] for r in of_b][:2] == ["received", "dispatched"]
        # One partition, so a published rollback would sit before the committed note: there is none.
        assert [r["reason"] for r in of_b if r["kind"] == "note_added"] == ["这条备注已提交"]
        assert len({r["event_id"] for r in got}) == len(got)  # nothing twice
        got = [r for r in got if r["kind"] in ("accepted", "note_added")]
        # Consumers dedupe on the event id, which is the timeline's.
        for r in got:
            timeline = {e.id: e for e in await events(db, r["key"])}
            assert timeline[r["event_id"]].kind == r["kind"]
            assert r["headers"]["event_id"] == str(r["event_id"]).encode()
        assert got[0]["from_status"] == "dispatched" and got[0]["to_status"] == "accepted"
        assert got[0]["ticket"]["department_code"] == "env"
    finally:
        await close_senders(senders)


async def test_relay_retries_while_the_broker_is_down_and_delivers_once_it_is_back(
    db: Database, pg_url: str, embedded_client: httpx.AsyncClient, tmp_path: Any
) -> None:
    down = Broker(log_dir=tmp_path)  # not started yet: nothing listens on its port
    topic = f"ticket-events-{uuid.uuid4().hex[:8]}"
    senders = build_senders(settings_for(pg_url, down.bootstrap, kafka_events_topic=topic))
    tn = await dispatched_ticket(embedded_client, 3)
    async with db.unit_of_work() as s:
        await actions.accept(s, ENV, tn)
    try:
        assert await relay_once(db, senders) == 0
        async with db.sessions() as s:
            queued = (await s.scalars(select(OutboxMessage).where(OutboxMessage.key == tn)
                                      .order_by(OutboxMessage.id))).all()
        assert [m.payload["kind"] for m in queued] == ["received", "dispatched", "accepted"]
        row = queued[0]  # the oldest is tried; the rest of its key wait behind it, in order
        assert row.sent_at is None and row.attempts == 1 and row.last_error
        assert [m.attempts for m in queued[1:]] == [0, 0]
        assert row.next_attempt_at > utcnow()  # backing off
        assert await relay_once(db, senders) == 0  # not due yet: no attempt
        async with db.sessions() as s:
            assert (await s.get(OutboxMessage, row.id)).attempts == 1  # type: ignore[union-attr]

        down.start()
        await create_topic(down.bootstrap, topic, partitions=1)
        later = row.next_attempt_at + timedelta(seconds=1)
        assert await relay_once(db, senders, now=later) == 3
        assert await relay_once(db, senders, now=later + timedelta(minutes=30)) == 0
        async with Topic(down.bootstrap, topic) as t:
            got = await t.read_until(lambda rs: len(rs) >= 3)
        assert [(r["key"], r["kind"]) for r in got] == [(tn, "received"), (tn, "dispatched"), (tn, "accepted")]
        async with db.sessions() as s:
            sent = await s.get(OutboxMessage, row.id)
            assert sent is not None and sent.sent_at is not None and sent.attempts == 2
    finally:
        await close_senders(senders)
        down.stop()
