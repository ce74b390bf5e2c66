"""The router's work ahead (`hotline.worker.Ahead`): records decoded and texts classified before
their batch is handled give the batch exactly what it would have made itself, once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.routing.engine import Router
from hotline.tickets.service import routing_text
from hotline.worker import Ahead, decode


class Rec:
    def __init__(self, value: bytes, offset: int, partition: int = 0) -> None:
        self.value, self.offset, self.partition, self.topic = value, offset, partition, "t"


def _records(n: int) -> list[Rec]:
    out = []
    for i in range(n):
        m = IntakeMessage(channel=Channel.WEB, external_id=f"e{i}", tracking_number=tracking_number_for("web", f"e{i}"),
                          citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=f"+8613800{i:06d}"),
                          text=["公司拖欠工资三个月", "东城街道路灯坏了", "请问社保卡怎么补办"][i % 3],
                          received_at=datetime(2026, 1, 1, tzinfo=UTC))
        out.append(Rec(m.to_bytes(), i))
    out.append(Rec(b"not json", n))
    return out


async def test_what_was_decoded_and_routed_ahead_is_what_the_batch_gets(caplog: pytest.LogCaptureFixture) -> None:
    records = _records(7)
    router = Router()
    ahead = Ahead(router)
    await ahead.prepare(records)
    routed: list[Any] = []
    inner = router._route_batch

    def counted(texts: list[str], locations: Any = None) -> Any:
        routed.append(texts)
        return inner(texts, locations)

    router._route_batch = counted  # type: ignore[method-assign]

    caplog.set_level(logging.ERROR, logger="hotline.worker")
    messages = decode(records, ahead)
    assert messages == decode(records)  # the same messages as decoding then
    assert sum("undecodable intake record" in m for m in caplog.messages) == 2  # logged when handled
    texts = [routing_text(m) for m in messages]
    got = router(texts, [m.location for m in messages])
    assert routed == []  # every decision was made ahead
    assert [d.model_dump() for d in got] == [d.model_dump() for d in Router()(texts, [None] * len(texts))]
    # Taken once: the batch retried decodes and routes afresh.
    assert all(ahead.take(r) is None for r in records)
    router(texts)
    assert routed == [texts]


async def test_a_record_with_other_bytes_at_the_same_offset_is_decoded_afresh() -> None:
    records = _records(2)
    ahead = Ahead(None)
    await ahead.prepare(records)
    other = _records(3)[2]
    other.offset = 0  # the topic re-created: same place, another record
    assert decode([other], ahead)[0].external_id == "e2"


async def test_the_work_ahead_waits_until_the_current_batch_is_routed() -> None:
    import asyncio

    records = _records(4)
    router = Router()
    ahead = Ahead(router)
    with ahead.handling():  # the current batch: its start is short round trips, not to be delayed
        work = asyncio.create_task(ahead.prepare(records))
        await asyncio.sleep(0.05)
        assert not work.done() and router._ahead == []
        router(["东城街道路灯坏了"])  # routed: what is left of it is writing
        await asyncio.wait_for(work, 5)
    assert sum(len(v) for a in router._ahead for v in a.by_key.values()) == 4
    # A batch that ends without routing (all duplicates, a failure) lets the work go on too.
    with ahead.handling():
        work = asyncio.create_task(ahead.prepare(records))
        await asyncio.sleep(0.05)
        assert not work.done()
    await asyncio.wait_for(work, 5)
