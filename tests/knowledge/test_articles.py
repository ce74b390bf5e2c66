"""The knowledge base as agents and departments use it: write, publish, search, version, expire."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from hotline.kit.db import Database
from hotline.knowledge.service import INDEX
from tests.support.auth import headers_for

SOCIAL = {"title": "社会保险关系如何转移到东莞", "questions": ["社保怎么转过来", "外地社保转入东莞"],
          "answer": "参保人可通过广东政务服务网或社保经办窗口申请社会保险关系转移接续，"
                    "需提供身份证和原参保地的参保凭证，办理时限为15个工作日。",
          "policy_basis": "《城镇企业职工基本养老保险关系转移接续暂行办法》"}
FUND = {"title": "住房公积金提取条件", "questions": ["公积金怎么取出来"],
        "answer": "购房、租房、退休等情形可申请提取住房公积金，可在住房公积金管理中心网上业务大厅办理。"}
RESIDENCE = {"title": "居住证办理", "questions": ["居住证在哪里办"],
             "answer": "在东莞居住半年以上可到所在镇街派出所或网上申请办理居住证。"}


async def publish(c: httpx.AsyncClient, h: dict[str, str], body: dict) -> dict:
    r = await c.post("/api/v1/knowledge/articles", json=body, headers=h)
    assert r.status_code == 201, r.text
    r = await c.post(f"/api/v1/knowledge/articles/{r.json()['id']}/publish", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def search(c: httpx.AsyncClient, h: dict[str, str], q: str) -> dict:
    INDEX.invalidate()
    r = await c.get("/api/v1/knowledge/search", params={"q": q}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def test_search_understands_citizen_phrasing_and_synonyms(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    agent = await headers_for(db, "agent")
    for body in (SOCIAL, FUND, RESIDENCE):
        await publish(embedded_client, agent, body)
    res = await search(embedded_client, agent, "我的社保怎么转到东莞来？")
    assert res["items"][0]["title"] == SOCIAL["title"]
    assert "<em>" in res["items"][0]["snippet"]
    # 公积金 is written 住房公积金 in the article: the synonym table joins them.
    res = await search(embedded_client, agent, "公积金咋提取")
    assert res["items"][0]["title"] == FUND["title"]
    assert 0 < res["confidence"] <= 1
    assert (await search(embedded_client, agent, "火星移民政策"))["items"] == []


async def test_drafts_expired_and_archived_articles_are_never_served(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    agent = await headers_for(db, "agent")
    draft = await embedded_client.post("/api/v1/knowledge/articles", json=RESIDENCE, headers=agent)
    assert (await search(embedded_client, agent, "居住证在哪里办"))["items"] == []

    yesterday = (date.today() - timedelta(days=2)).isoformat()
    expired = await publish(embedded_client, agent, {**FUND, "valid_until": yesterday})
    assert (await search(embedded_client, agent, "公积金提取"))["items"] == []

    live = await publish(embedded_client, agent, RESIDENCE)
    assert [i["id"] for i in (await search(embedded_client, agent, "居住证"))["items"]] == [live["id"]]
    await embedded_client.post(f"/api/v1/knowledge/articles/{live['id']}/archive", headers=agent)
    assert (await search(embedded_client, agent, "居住证"))["items"] == []
    assert draft.json()["id"] != expired["id"]


async def test_every_edit_is_a_new_version_and_search_serves_the_latest(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    agent = await headers_for(db, "agent", name="王小明")
    art = await publish(embedded_client, agent, SOCIAL)
    r = await embedded_client.put(f"/api/v1/knowledge/articles/{art['id']}", headers=agent,
                                  json={**SOCIAL, "answer": SOCIAL["answer"].replace("15个工作日", "10个工作日"),
                                        "note": "新规缩短时限"})
    assert r.status_code == 200 and r.json()["version"] == 2
    res = await search(embedded_client, agent, "社保转移要多久")
    assert res["items"][0]["version"] == 2
    versions = (await embedded_client.get(f"/api/v1/knowledge/articles/{art['id']}/versions",
                                          headers=agent)).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert "15个工作日" in versions[0]["answer"] and "10个工作日" in versions[1]["answer"]
    assert all("王小明" in v["author"] for v in versions)
    old = await embedded_client.get(f"/api/v1/knowledge/articles/{art['id']}",
                                    params={"version": 1}, headers=agent)
    assert "15个工作日" in old.json()["answer"]


async def test_a_department_edits_only_its_own_articles(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    hrss = await headers_for(db, "department", "hrss")
    env = await headers_for(db, "department", "env")
    agent = await headers_for(db, "agent")
    mine = await embedded_client.post("/api/v1/knowledge/articles", json=SOCIAL, headers=hrss)
    assert mine.status_code == 201 and mine.json()["department_code"] == "hrss"
    aid = mine.json()["id"]
    # Another unit cannot see the draft, nor edit or publish it.
    assert (await embedded_client.get(f"/api/v1/knowledge/articles/{aid}", headers=env)).status_code == 404
    assert (await embedded_client.put(f"/api/v1/knowledge/articles/{aid}", json=SOCIAL,
                                      headers=env)).status_code == 404
    assert (await embedded_client.post(f"/api/v1/knowledge/articles/{aid}/publish",
                                       headers=env)).status_code == 404
    # The owner and the centre can.
    assert (await embedded_client.post(f"/api/v1/knowledge/articles/{aid}/publish",
                                       headers=hrss)).status_code == 200
    assert (await embedded_client.put(f"/api/v1/knowledge/articles/{aid}", json=SOCIAL,
                                      headers=agent)).status_code == 200
    # Once published, every unit may read it.
    assert (await embedded_client.get(f"/api/v1/knowledge/articles/{aid}", headers=env)).status_code == 200
    anonymous = {"Authorization": "Bearer not-a-key"}
    assert (await embedded_client.get("/api/v1/knowledge/search", params={"q": "社保"},
                                      headers=anonymous)).status_code == 401


async def test_articles_past_review_are_flagged_to_their_owner(
    embedded_client: httpx.AsyncClient, db: Database
) -> None:
    hrss = await headers_for(db, "department", "hrss")
    env = await headers_for(db, "department", "env")
    past = (date.today() - timedelta(days=30)).isoformat()
    art = await publish(embedded_client, hrss, {**SOCIAL, "review_on": past})
    await publish(embedded_client, hrss, FUND)
    stale = (await embedded_client.get("/api/v1/knowledge/articles/stale", headers=hrss)).json()
    assert [a["id"] for a in stale] == [art["id"]]
    assert (await embedded_client.get("/api/v1/knowledge/articles/stale", headers=env)).json() == []
