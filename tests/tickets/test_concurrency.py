"""Two people acting on one ticket at once: the row lock lets one win and the other see the result."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hotline.auth.principal import Principal, Role
from hotline.kit.db import Database
from hotline.kit.errors import Conflict
from hotline.notify.outbox import OutboxItem, enqueue, relay_once
from hotline.tickets import actions
from tests.tickets.factories import events

ENV = Principal(2, "env-desk", Role.DEPARTMENT, "env")
ENV_2 = Principal(3, "env-desk-2", Role.DEPARTMENT, "env")


async def test_two_concurrent_accepts_make_one_acceptance(db: Database, embedded_client: httpx.AsyncClient) -> None:
    r = await embedded_client.post("/channels/web", json={"phone": "13800138000",
                                                          "text": "我要投诉塘厦镇工地夜间施工噪音扰民"})
    tn = r.json()["tracking_number"]

    async def accept_as(p: Principal) -> None:
        async with db.unit_of_work() as s:
            await actions.accept(s, p, tn)

    first = db.unit_of_work()
    s1 = await first.__aenter__()
    await actions.accept(s1, ENV, tn)  # holds the ticket's row lock until it commits
    second = asyncio.create_task(accept_as(ENV_2))
    await asyncio.sleep(0.2)  # let the second reach the lock (the outcome does not depend on it)
    await first.__aexit__(None, None, None)
    with pytest.raises(Conflict):
        await second
    assert [e.kind for e in await events(db, tn)].count("accepted") == 1


async def test_two_relays_at_once_send_each_message_once(db: Database) -> None:
    got: list[int] = []

    async def slow(item: OutboxItem) -> None:
        await asyncio.sleep(0.01)
        got.append(item.payload["n"])

    async with db.unit_of_work() as s:
        for n in range(60):
            enqueue(s, "sms", {"n": n}, key=f"k{n % 7}")
    sent = await asyncio.gather(relay_once(db, {"sms": slow}), relay_once(db, {"sms": slow}))
    sent_more = await relay_once(db, {"sms": slow})
    assert sum(sent) + sent_more == 60
    assert sorted(got) == list(range(60))
    for k in range(7):  # and each key in order
        mine = [n for n in got if n % 7 == k]
        assert mine == sorted(mine)
