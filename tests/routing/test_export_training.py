"""The learning loop: agents' re-dispatches and reclassifications come out of `hotline export-training`."""

from __future__ import annotations

import argparse
import asyncio
import csv
from pathlib import Path

import httpx
from sqlalchemy import update

from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.routing.dispatch_cli import export_training
from hotline.tickets import repository as tickets
from hotline.tickets.models import Ticket
from tests.conftest import settings_for

AGENT = "agent:wang"


async def _ticket(c: httpx.AsyncClient, text: str, phone: str) -> dict:
    r = await c.post("/channels/web", json={"phone": phone, "text": text})
    return (await c.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()


async def _correct(db: Database, tracking_number: str, kind: str, data: dict, **columns: object) -> None:
    """What E1's lifecycle actions write: the ticket's new values and the event saying so."""
    async with db.unit_of_work() as s:
        t = await tickets.get_by_tracking_number(s, tracking_number)
        assert t is not None
        await s.execute(update(Ticket).where(Ticket.id == t.id).values(**columns))
        await tickets.insert_events(s, [{"ticket_id": t.id, "kind": kind, "from_status": t.status,
                                         "to_status": t.status, "actor": AGENT, "reason": "agent's correction",
                                         "data": data, "created_at": utcnow()}])


def _export(pg_url: str, out: Path, target: str) -> list[dict[str, str]]:
    export_training(argparse.Namespace(out=out, target=target), settings_for(pg_url))
    with out.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


async def test_redispatch_and_reclassification_become_training_rows(
        embedded_client: httpx.AsyncClient, db: Database, pg_url: str, tmp_path: Path) -> None:
    # The router sends a food-poisoning complaint about a canteen to health (医院 is in the text);
    # the agent re-dispatches it to market supervision (食品安全 belongs there).
    food = await _ticket(embedded_client, "厚街镇某工厂食堂饭菜变质，几十个工人吃完去医院了", "13800138000")
    await _correct(db, food["tracking_number"], "redispatched",
                   {"from_department": food["department_code"], "department": "market", "co_departments": [],
                    "via": "redispatch"}, department_code="market")
    # A report the rules took for a complaint; the agent reclassifies type and topic.
    drains = await _ticket(embedded_client, "投诉虎门镇有人往河里倒建筑垃圾", "13900139000")
    await _correct(db, drains["tracking_number"], "reclassified",
                   {"from": {"type": drains["type"], "topic": drains["topic"]},
                    "to": {"type": "report", "topic": "环境保护"}}, type="report", topic="环境保护")
    untouched = await _ticket(embedded_client, "长安镇的公交车司机态度很差", "13700137000")

    topic_rows = await asyncio.to_thread(_export, pg_url, tmp_path / "topic.csv", "topic")
    assert {r["id"]: r["label"] for r in topic_rows} == {
        food["tracking_number"]: "商贸旅游",  # market's topic in the catalogue
        drains["tracking_number"]: "环境保护",
    }
    assert topic_rows[0]["body"].startswith("厚街镇某工厂食堂")
    assert list(topic_rows[0]) == ["id", "subject", "body", "label"]

    type_rows = await asyncio.to_thread(_export, pg_url, tmp_path / "type.csv", "type")
    assert [(r["id"], r["label"]) for r in type_rows] == [(drains["tracking_number"], "report")]

    unit_rows = await asyncio.to_thread(_export, pg_url, tmp_path / "unit.csv", "unit")
    assert [(r["id"], r["label"]) for r in unit_rows] == [(food["tracking_number"], "market")]
    assert untouched["tracking_number"] not in {r["id"] for r in topic_rows + type_rows + unit_rows}


async def test_the_routers_own_dispatch_is_not_a_correction(
        embedded_client: httpx.AsyncClient, pg_url: str, tmp_path: Path) -> None:
    await _ticket(embedded_client, "我要投诉塘厦镇某工地夜间施工噪音扰民", "13800138000")
    assert await asyncio.to_thread(_export, pg_url, tmp_path / "t.csv", "unit") == []
