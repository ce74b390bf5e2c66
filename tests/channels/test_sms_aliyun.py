"""SMS uplink from Alibaba Cloud: a JSON array pushed to a URL with a secret token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels.stored import stored_tickets
from tests.conftest import client_for, settings_for

TOKEN = "aliyun-uplink-secret-7f3a"
URL = f"/channels/sms/aliyun/{TOKEN}"
RECEIVED = {"code": 0, "msg": "接收成功"}


def uplink(seq: Any, content: str, phone: str = "13800138000") -> dict[str, Any]:
    return {"phone_number": phone, "content": content, "send_time": "2017-09-01 00:00:00",
            "dest_code": "1234", "sequence_id": seq, "sign_name": "东莞12345"}


@pytest.fixture
async def aliyun(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(settings_for(pg_url, sms_aliyun_token=TOKEN,
                                                  max_body_bytes=8192))) as c:
        yield c


async def test_several_messages_in_one_push_become_several_tickets(
    aliyun: httpx.AsyncClient, db: Database
) -> None:
    push = [uplink(1234567, "举报厚街镇某工厂偷排废水"),
            uplink("1234568", "请问社保怎么转移到东莞", phone="13900139000"),
            uplink(1234569, "长安镇某路段路灯坏了很久")]
    r = await aliyun.post(URL, json=push)
    assert r.status_code == 200, r.text
    assert r.json() == RECEIVED
    tickets = await stored_tickets(db)
    assert sorted(t.text for t in tickets) == sorted(m["content"] for m in push)
    assert {t.identity for t in tickets} == {"+8613800138000", "+8613900139000"}
    assert {t.intake["external_id"] for t in tickets} == {"aliyun:1234567", "aliyun:1234568",
                                                           "aliyun:1234569"}
    assert r.headers["x-hotline-tracking-numbers"].split(",") == [
        t.tracking_number for t in sorted(tickets, key=lambda t: t.intake["external_id"])]


async def test_a_re_push_makes_no_new_ticket(aliyun: httpx.AsyncClient, db: Database) -> None:
    push = [uplink(42, "东城街道噪音扰民")]
    first = await aliyun.post(URL, json=push)
    # Aliyun re-pushes after 1, 5 and 10 minutes; sequence_id may now come as a string
    again = await aliyun.post(URL, json=[uplink("42", "东城街道噪音扰民")])
    assert first.json() == again.json() == RECEIVED
    assert first.headers["x-hotline-tracking-numbers"] == again.headers["x-hotline-tracking-numbers"]
    assert len(await stored_tickets(db)) == 1


async def test_empty_messages_are_acknowledged_and_ignored(aliyun: httpx.AsyncClient, db: Database) -> None:
    r = await aliyun.post(URL, json=[uplink(1, " "), uplink(2, "南城街道路灯坏了")])
    assert r.json() == RECEIVED
    assert r.headers["x-hotline-ignored"] == "1 empty message(s)"
    assert [t.text for t in await stored_tickets(db)] == ["南城街道路灯坏了"]
    empty = await aliyun.post(URL, json=[])
    assert (empty.status_code, empty.json()) == (200, RECEIVED)


async def test_wrong_token_and_bad_bodies_store_nothing(aliyun: httpx.AsyncClient, db: Database) -> None:
    wrong = await aliyun.post("/channels/sms/aliyun/guess", json=[uplink(1, "我要投诉")])
    assert wrong.status_code == 403
    assert "token" in wrong.json()["detail"]
    assert (await aliyun.post(URL, content=b"[{not json")).status_code == 400
    assert (await aliyun.post(URL, content=b'"a string"')).status_code == 400
    missing = await aliyun.post(URL, json=[{"content": "我要投诉"}])
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} >= {"phone_number", "sequence_id"}
    bad_utf8 = await aliyun.post(URL, content=b'[{"phone_number":"13800138000","content":"\xff",'
                                              b'"sequence_id":1}]')
    assert bad_utf8.status_code == 400
    big = await aliyun.post(URL, json=[uplink(i, "噪音" * 100) for i in range(20)])
    assert big.status_code == 413
    assert await stored_tickets(db) == []


async def test_unconfigured_aliyun_takes_nothing(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await c.post(URL, json=[uplink(1, "我要投诉")])
        assert r.status_code == 404
        assert "HOTLINE_SMS_ALIYUN_TOKEN" in r.json()["detail"]
    assert await stored_tickets(db) == []
