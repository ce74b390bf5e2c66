"""The gateway's webhook table (in front of the app's other routes): bodies however they arrive,
the size limit, trailing slashes, methods and a proxy prefix, all as a platform would see them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels.stored import stored_by_number
from tests.conftest import client_for, settings_for

FORM = {"phone": "13800138000", "client_message_id": "chunked-1", "text": "长安镇某路段路灯坏了很久没人修"}


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def test_a_body_sent_in_pieces_without_a_length_is_read_whole(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await c.post("/channels/web", content=chunks(orjson.dumps(FORM), 7),
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 202, r.text
        assert "content-length" not in r.request.headers  # it really came in pieces
        stored = await stored_by_number(db)
        assert stored[r.json()["tracking_number"]].text == FORM["text"]


async def test_a_body_past_the_limit_is_refused_even_without_a_declared_length(db: Database,
                                                                               pg_url: str) -> None:
    body = orjson.dumps({**FORM, "text": "噪" * 2000})
    async with client_for(create_app(settings_for(pg_url, max_body_bytes=4096))) as c:
        streamed = await c.post("/channels/web", content=chunks(body, 1000),
                                headers={"Content-Type": "application/json"})
        declared = await c.post("/channels/web", content=body, headers={"Content-Type": "application/json"})
    assert streamed.status_code == declared.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"
    assert await stored_by_number(db) == {}


async def test_slash_method_and_unknown_path_answers(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        slash = await c.post("/channels/web/", json=FORM)
        assert slash.status_code == 307
        assert slash.headers["location"] == "http://hotline.test/channels/web"
        put = await c.put("/channels/wechat", content=b"")
        assert put.status_code == 405 and put.headers["allow"] == "GET, POST"
        assert (await c.post("/channels/nowhere", json=FORM)).status_code == 404
    assert await stored_by_number(db) == {}


async def test_webhooks_are_served_behind_a_proxy_prefix(db: Database, pg_url: str) -> None:
    app = create_app(settings_for(pg_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, root_path="/hotline")
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as c:
            r = await c.post("/hotline/channels/web", json=FORM)
            assert r.status_code == 202, r.text
            slash = await c.post("/hotline/channels/web/", json=FORM)
            assert slash.status_code == 307
            assert slash.headers["location"] == "http://hotline.test/hotline/channels/web"
    assert list(await stored_by_number(db)) == [r.json()["tracking_number"]]
