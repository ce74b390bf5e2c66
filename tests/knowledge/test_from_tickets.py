"""知识沉淀: a unit's answer to a consultation is offered back as a knowledge article."""

from __future__ import annotations

import httpx

from hotline.kit.db import Database
from tests.support.auth import headers_for


async def answered_consultation(c: httpx.AsyncClient, db: Database) -> tuple[str, str, dict[str, str]]:
    r = await c.post("/channels/web", json={"phone": "13800138000", "text": "请问在东莞怎么办理居住证？需要什么材料"})
    tn = r.json()["tracking_number"]
    t = (await c.get(f"/api/v1/tickets/{tn}")).json()
    unit = t["department_code"]
    if t["status"] == "pending_dispatch":
        unit = "police"
        d = await c.post(f"/api/v1/tickets/{tn}/dispatch", json={"department_code": unit})
        assert d.status_code == 200, d.text
    dept = await headers_for(db, "department", unit)
    assert (await c.post(f"/api/v1/tickets/{tn}/accept", json={}, headers=dept)).status_code == 200
    r = await c.post(f"/api/v1/tickets/{tn}/reply", headers=dept,
                     json={"text": "持身份证到居住地派出所或在粤省事申请，满半年可办理。"})
    assert r.status_code == 200, r.text
    return tn, unit, dept


async def test_an_answered_consultation_is_offered_and_becomes_a_draft(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    tn, unit, dept = await answered_consultation(embedded_client, db)
    other = await headers_for(db, "department", "env" if unit != "env" else "hrss")

    offered = (await embedded_client.get("/api/v1/knowledge/candidates", headers=dept)).json()["items"]
    assert [o["tracking_number"] for o in offered] == [tn]
    assert "派出所" in offered[0]["reply"]
    assert (await embedded_client.get("/api/v1/knowledge/candidates", headers=other)).json()["items"] == []
    assert (await embedded_client.post(f"/api/v1/knowledge/articles/from-ticket/{tn}",
                                       headers=other)).status_code == 404

    r = await embedded_client.post(f"/api/v1/knowledge/articles/from-ticket/{tn}", headers=dept)
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["status"] == "draft" and art["department_code"] == unit
    assert "派出所" in art["answer"] and "居住证" in art["questions"][0]
    # Once drawn, it is no longer offered.
    assert (await embedded_client.get("/api/v1/knowledge/candidates", headers=dept)).json()["items"] == []


async def test_an_unanswered_ticket_cannot_become_an_article(embedded_client: httpx.AsyncClient) -> None:
    r = await embedded_client.post("/channels/web", json={"phone": "13800138001", "text": "请问公积金怎么提取"})
    tn = r.json()["tracking_number"]
    assert (await embedded_client.post(f"/api/v1/knowledge/articles/from-ticket/{tn}")).status_code == 409
