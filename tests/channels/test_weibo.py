"""The Weibo fan-service channel, with pushes built as the reference describes them."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels.stored import stored_tickets
from tests.conftest import client_for, settings_for

SECRET = "weibo-app-secret-1234"
URL = "/channels/weibo"
ACCOUNT = 1902538057
CITIZEN = 2489518277


def signed(secret: str = SECRET, timestamp: int | None = None, nonce: str = "38475") -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = hashlib.sha1("".join(sorted([secret, ts, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": ts, "nonce": nonce}


def push(kind: str = "text", text: str = "", data: dict[str, Any] | None = None,
         sender: int = CITIZEN, created_at: str = "Mon Jul 16 18:09:20 +0800 2012") -> dict[str, Any]:
    return {"type": kind, "receiver_id": ACCOUNT, "sender_id": sender, "created_at": created_at,
            "text": text, "data": data or {}}


def reply_text(r: httpx.Response) -> str:
    body = r.json()
    assert body["result"] is True
    assert body["type"] == "text"
    assert (body["receiver_id"], body["sender_id"]) == (CITIZEN, ACCOUNT)  # back to the citizen
    return str(json.loads(unquote(body["data"]))["text"])


@pytest.fixture
async def weibo(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(pg_url, weibo_app_secret=SECRET, max_body_bytes=8192)
    async with client_for(create_app(settings)) as c:
        yield c


async def post(c: httpx.AsyncClient, body: Any, params: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return await c.post(URL, params=params or signed(), content=content,
                        headers={"content-type": "application/json"})


async def test_url_check(weibo: httpx.AsyncClient) -> None:
    r = await weibo.get(URL, params={**signed(), "echostr": "abc123"})
    assert (r.status_code, r.text) == (200, "abc123")
    assert (await weibo.get(URL, params={**signed("bad"), "echostr": "x"})).status_code == 403


async def test_text_becomes_a_ticket_and_the_json_reply_carries_its_number(
    weibo: httpx.AsyncClient, db: Database
) -> None:
    r = await post(weibo, push(text="举报厚街镇某工厂偷排废水"))
    assert r.status_code == 200, r.text
    text = reply_text(r)
    [t] = await stored_tickets(db)
    assert text.startswith("已受理，您的工单编号 " + t.tracking_number)
    assert (t.channel, t.text) == ("weibo", "举报厚街镇某工厂偷排废水")
    assert (t.identity_kind, t.identity) == ("weibo_uid", str(CITIZEN))
    assert t.intake["meta"]["message_kind"] == "text"
    assert t.intake["meta"]["sent_at"] == "2012-07-16T18:09:20+08:00"


async def test_retries_give_the_same_number_and_one_ticket(weibo: httpx.AsyncClient, db: Database) -> None:
    body = push(text="请问社保怎么转移到东莞")
    first, again = reply_text(await post(weibo, body)), reply_text(await post(weibo, body))
    assert first == again
    # same second, different words: a different message
    other = reply_text(await post(weibo, push(text="另一个问题：长安镇路灯坏了")))
    assert other != first
    assert len(await stored_tickets(db)) == 2


@pytest.mark.parametrize(
    ("kind", "data", "message_kind"),
    [("position", {"longitude": "113.751765", "latitude": "23.020536"}, "location"),
     ("image", {"vfid": 821804459, "tovfid": 821804469}, "image"),
     ("voice", {"vfid": 821804461, "tovfid": 821804471}, "voice")],
)
async def test_non_text_messages_are_kept(
    weibo: httpx.AsyncClient, db: Database, kind: str, data: dict[str, Any], message_kind: str
) -> None:
    r = await post(weibo, push(kind, data=data))
    assert r.status_code == 200, r.text
    [t] = await stored_tickets(db)
    assert t.tracking_number in reply_text(r)
    assert t.intake["meta"]["message_kind"] == message_kind
    if kind == "position":
        assert (t.lat, t.lng) == (23.020536, 113.751765)
    else:
        assert t.intake["attachments"][0]["kind"] == kind
        assert t.intake["attachments"][0]["media_id"] == str(data["vfid"])


@pytest.mark.parametrize("subtype", ["follow", "unfollow", "subscribe", "unsubscribe", "scan",
                                     "scan_follow", "click", "view"])
async def test_events_make_no_ticket(weibo: httpx.AsyncClient, db: Database, subtype: str) -> None:
    r = await post(weibo, push("event", data={"subtype": subtype, "key": "k"}))
    assert r.status_code == 200
    if subtype in ("follow", "subscribe", "scan_follow"):
        assert "12345" in reply_text(r)
    else:
        assert r.content == b""
    assert await stored_tickets(db) == []


async def test_unknown_types_and_empty_text_are_accepted_and_ignored(
    weibo: httpx.AsyncClient, db: Database
) -> None:
    for body in (push("mention", text="@东莞12345"), push("text", text="  ")):
        r = await post(weibo, body)
        assert (r.status_code, r.content) == (200, b"")
        assert r.headers["x-hotline-ignored"]
    assert await stored_tickets(db) == []


async def test_signature_and_timestamp_are_enforced(weibo: httpx.AsyncClient, db: Database) -> None:
    body = push(text="我要投诉噪音")
    assert (await post(weibo, body, signed(secret="guess"))).status_code == 403
    missing = await weibo.post(URL, json=body)
    assert missing.status_code == 401
    stale = await post(weibo, body, signed(timestamp=int(time.time()) - 301))
    assert stale.status_code == 403
    assert "stale" in stale.json()["detail"]
    future = await post(weibo, body, signed(timestamp=int(time.time()) + 600))
    assert future.status_code == 403
    # Weibo may send milliseconds; a fresh one in ms is fine
    ok = await post(weibo, body, signed(timestamp=int(time.time() * 1000)))
    assert ok.status_code == 200
    assert len(await stored_tickets(db)) == 1


async def test_hostile_bodies(weibo: httpx.AsyncClient, db: Database) -> None:
    assert (await post(weibo, b"{not json")).status_code == 400
    r = await post(weibo, b'{"type":"text","sender_id":1,"text":"\xff\xfe"}')
    assert r.status_code == 400
    assert (await post(weibo, b"[1,2]")).status_code == 400
    no_sender = await post(weibo, {"type": "text", "text": "hi"})
    assert no_sender.status_code == 400
    assert "sender_id" in no_sender.json()["detail"]
    assert (await post(weibo, push(text="噪" * 5000))).status_code == 413
    assert await stored_tickets(db) == []


async def test_unconfigured_weibo_takes_nothing(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await post(c, push(text="我要投诉噪音"))
        assert r.status_code == 404
        assert "HOTLINE_WEIBO_APP_SECRET" in r.json()["detail"]
    assert await stored_tickets(db) == []
