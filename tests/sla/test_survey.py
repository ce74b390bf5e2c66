"""The citizen answers the callback survey (回访) by replying 1/2/3 on their channel: the answer is
recorded on the ticket they were asked about, and no new ticket is made of a bare digit."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from hotline.auth.principal import Principal, Role
from hotline.kit.db import Database
from hotline.notify.models import OutboxMessage
from hotline.tickets import actions
from hotline.tickets.models import Ticket
from tests.tickets.factories import AGENT

PHONE = "13800138000"


async def replied_ticket(c: httpx.AsyncClient, db: Database, text: str = "莞城街道西城楼附近路灯不亮已经一周了") -> str:
    """A ticket from PHONE that its unit has accepted and answered: it waits for the callback."""
    tn = (await c.post("/channels/web", json={"phone": PHONE, "text": text})).json()["tracking_number"]
    async with db.unit_of_work() as s:
        t = await s.scalar(select(Ticket).where(Ticket.tracking_number == tn))
        assert t is not None
        if t.status == "pending_dispatch":
            await actions.dispatch(s, AGENT, tn, "town-guancheng")
        unit = Principal(None, "desk", Role.DEPARTMENT, t.department_code)
        await actions.accept(s, unit, tn)
        await actions.reply(s, unit, tn, "已安排维修，路灯已恢复照明。")
    return tn


async def tickets_count(db: Database) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_answer_3_reopens_the_ticket_with_its_unit_and_makes_no_ticket(
        embedded_client: httpx.AsyncClient, db: Database) -> None:
    tn = await replied_ticket(embedded_client, db)
    before = await tickets_count(db)
    r = await embedded_client.post("/channels/web", json={"phone": PHONE, "text": " 3 "})
    assert r.status_code == 202
    assert await tickets_count(db) == before

    t = (await embedded_client.get(f"/api/v1/tickets/{tn}")).json()
    assert t["status"] == "reopened"
    assert (t["satisfaction"], t["reopen_count"]) == ("unsatisfied", 1) and t["callback_at"]
    [ev] = [e for e in t["events"] if e["kind"] == "reopened"]
    assert ev["actor"] == "system:callback-survey" and ev["data"]["satisfaction"] == "unsatisfied"
    async with db.sessions() as s:
        texts = [m.payload.get("text", "") for m in (await s.scalars(select(OutboxMessage))).all()
                 if m.payload.get("purpose") == "callback_answer"]
    assert len(texts) == 1 and tn in texts[0] and "重新办理" in texts[0]

    # The same answer sent again (a retrying SMS provider) is the same message: counted once.
    again = await embedded_client.post("/channels/web", json={"phone": PHONE, "text": " 3 "})
    assert again.json()["tracking_number"] == r.json()["tracking_number"]
    t = (await embedded_client.get(f"/api/v1/tickets/{tn}")).json()
    assert [e["kind"] for e in t["events"]].count("reopened") == 1 and await tickets_count(db) == before


async def test_full_width_1_means_satisfied_and_closes_the_callback(
        embedded_client: httpx.AsyncClient, db: Database) -> None:
    tn = await replied_ticket(embedded_client, db)
    await embedded_client.post("/channels/web", json={"phone": PHONE, "text": "１"})
    t = (await embedded_client.get(f"/api/v1/tickets/{tn}")).json()
    assert t["status"] == "called_back" and t["satisfaction"] == "satisfied" and t["reopen_count"] == 0
    [ev] = [e for e in t["events"] if e["kind"] == "called_back"]
    assert ev["data"]["satisfaction"] == "satisfied"


async def test_a_digit_from_someone_with_no_ticket_waiting_is_an_ordinary_message(
        embedded_client: httpx.AsyncClient, db: Database) -> None:
    await replied_ticket(embedded_client, db)
    before = await tickets_count(db)
    r = await embedded_client.post("/channels/web", json={"phone": "13900001111", "text": "2"})
    assert r.status_code == 202
    assert await tickets_count(db) == before + 1  # another citizen's "2" is not this ticket's answer
