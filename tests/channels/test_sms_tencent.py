"""SMS reply callback from Tencent Cloud, pushed to a URL with a secret token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels.stored import stored_tickets
from tests.conftest import client_for, settings_for

TOKEN = "tencent-reply-secret-91c2"
URL = f"/channels/sms/tencent/{TOKEN}"
OK = {"result": 0, "errmsg": "OK"}


def callback(text: str = "我要投诉塘厦镇工地夜间施工噪音", mobile: str = "13800138000",
             time: int = 1457336869) -> dict[str, Any]:
    return {"extend": "", "mobile": mobile, "nationcode": "86", "sign": "东莞12345", "text": text,
            "time": time}


@pytest.fixture
async def tencent(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(settings_for(pg_url, sms_tencent_token=TOKEN,
                                                  max_body_bytes=8192))) as c:
        yield c


async def test_reply_sms_becomes_a_ticket(tencent: httpx.AsyncClient, db: Database) -> None:
    r = await tencent.post(URL, json=callback())
    assert (r.status_code, r.json()) == (200, OK)
    [t] = await stored_tickets(db)
    assert (t.channel, t.text) == ("sms", "我要投诉塘厦镇工地夜间施工噪音")
    assert (t.identity_kind, t.identity) == ("phone", "+8613800138000")
    assert r.headers["x-hotline-tracking-numbers"] == t.tracking_number


async def test_retry_is_one_ticket_but_a_new_text_is_another(tencent: httpx.AsyncClient, db: Database) -> None:
    a = await tencent.post(URL, json=callback())
    b = await tencent.post(URL, json=callback())
    c = await tencent.post(URL, json=callback(text="请问社保怎么转移"))
    assert a.headers["x-hotline-tracking-numbers"] == b.headers["x-hotline-tracking-numbers"]
    assert c.headers["x-hotline-tracking-numbers"] != a.headers["x-hotline-tracking-numbers"]
    assert len(await stored_tickets(db)) == 2


async def test_empty_text_is_acknowledged_and_ignored(tencent: httpx.AsyncClient, db: Database) -> None:
    r = await tencent.post(URL, json=callback(text=""))
    assert (r.status_code, r.json()) == (200, OK)
    assert r.headers["x-hotline-ignored"] == "empty text"
    assert await stored_tickets(db) == []


async def test_wrong_token_and_bad_bodies_store_nothing(tencent: httpx.AsyncClient, db: Database) -> None:
    assert (await tencent.post("/channels/sms/tencent/guess", json=callback())).status_code == 403
    assert (await tencent.post(URL, content=b"{nope")).status_code == 400
    assert (await tencent.post(URL, json=[callback()])).status_code == 400
    r = await tencent.post(URL, json={"text": "hi"})
    assert r.status_code == 422
    assert "mobile" in r.text
    assert (await tencent.post(URL, json=callback(mobile="12"))).status_code == 422
    assert (await tencent.post(URL, json=callback(text="噪" * 4000))).status_code == 413
    assert await stored_tickets(db) == []


async def test_unconfigured_tencent_takes_nothing(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await c.post(URL, json=callback())
        assert r.status_code == 404
        assert "HOTLINE_SMS_TENCENT_TOKEN" in r.json()["detail"]
    assert await stored_tickets(db) == []
