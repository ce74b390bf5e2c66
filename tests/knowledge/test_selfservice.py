"""Self-service at intake: clear consultations answered from the knowledge base, a person on
request, status look-ups on any channel, nothing private shown."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.kit.db import Database
from hotline.notify.models import OutboxMessage
from tests.conftest import client_for, settings_for
from tests.knowledge.test_articles import FUND, RESIDENCE, SOCIAL, publish
from tests.support.auth import headers_for

QUESTION = {"phone": "13800138000", "text": "请问社保怎么转移到东莞？外地的社保能转过来吗"}


async def outbox_to(db: Database, to: str) -> list[OutboxMessage]:
    async with db.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [r for r in rows if r.destination == to]


async def knowledge_base(c: httpx.AsyncClient, db: Database) -> dict[str, str]:
    agent = await headers_for(db, "agent")
    for body in (SOCIAL, FUND, RESIDENCE):
        await publish(c, agent, body)
    return agent


async def test_a_clear_consultation_is_answered_at_once_and_recorded(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    await knowledge_base(embedded_client, db)
    r = await embedded_client.post("/channels/web", json=QUESTION)
    assert r.status_code == 202
    t = (await embedded_client.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
    assert t["status"] == "answered_directly"
    ev = next(e for e in t["events"] if e["kind"] == "answered_directly")
    assert ev["actor"] == "system:self-service"
    assert ev["data"]["article_id"]
    sent = await outbox_to(db, "+8613800138000")
    assert len(sent) == 1
    assert "15个工作日" in sent[0].payload["text"] and "回复 1 转人工" in sent[0].payload["text"]


async def test_replying_1_gets_a_person(embedded_client: httpx.AsyncClient, db: Database) -> None:
    await knowledge_base(embedded_client, db)
    first = (await embedded_client.post("/channels/web", json=QUESTION)).json()["tracking_number"]
    r = await embedded_client.post("/channels/web", json={"phone": "13800138000", "text": "1"})
    t = (await embedded_client.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
    assert t["tracking_number"] != first
    assert t["status"] in ("dispatched", "pending_dispatch")  # a person handles it now
    assert "社保" in t["text"]  # the question itself, not "1"
    old = (await embedded_client.get(f"/api/v1/tickets/{first}")).json()
    assert old["status"] == "answered_directly"


async def test_self_service_off_dispatches_as_usual(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url, self_service_threshold=None))) as c:
        c.headers.update(await headers_for(db, "agent"))
        await knowledge_base(c, db)
        r = await c.post("/channels/web", json=QUESTION)
        t = (await c.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
        assert t["status"] != "answered_directly"
        assert await outbox_to(db, "+8613800138000") == []


async def test_a_complaint_is_never_self_served(embedded_client: httpx.AsyncClient, db: Database) -> None:
    await knowledge_base(embedded_client, db)
    r = await embedded_client.post("/channels/web", json={
        "phone": "13800138000", "text": "投诉：单位一直不给我交社保，社保转移也不给办"})
    t = (await embedded_client.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()
    assert t["type"] == "complaint" and t["status"] != "answered_directly"


async def test_status_lookup_answers_the_sender_and_makes_no_ticket(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    r = await embedded_client.post("/channels/web", json={
        "name": "李四", "phone": "13900139000", "text": "举报长安镇某工厂偷排废水，我是附近居民"})
    tn = r.json()["tracking_number"]
    before = (await embedded_client.get("/api/v1/tickets")).json()["items"]
    await embedded_client.post("/channels/web", json={"phone": "13700137000", "text": f"查询 {tn}"})
    after = (await embedded_client.get("/api/v1/tickets")).json()["items"]
    assert len(after) == len(before)
    [reply] = await outbox_to(db, "+8613700137000")
    assert tn in reply.payload["text"] and "当前状态" in reply.payload["text"]
    assert "李四" not in reply.payload["text"] and "13900139000" not in reply.payload["text"]

    public = await embedded_client.get(f"/api/v1/public/tickets/{tn}", headers={"Authorization": ""})
    assert public.status_code == 200
    body = public.json()
    assert body["status_text"] and set(body) == {
        "tracking_number", "status", "status_text", "type", "received_at", "replied_at"}
    assert "李四" not in public.text and "13900139000" not in public.text
    assert (await embedded_client.get("/api/v1/public/tickets/DG000000000000")).status_code == 404
