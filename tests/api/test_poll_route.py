"""The common department poll is answered in front of FastAPI (departments/poll_route.py): it must
answer exactly as the documented route does, errors, metrics and key revocation included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from hotline.api.app import create_app
from hotline.api.deps import get_session
from hotline.auth.models import ApiKey, PrincipalRecord
from hotline.departments import poll_route
from hotline.departments.poll_route import TEMPLATE, PollRoute
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from tests.api.conftest import LEAD, OTHER, World, build_world, make_ticket
from tests.conftest import client_for, settings_for
from tests.support.auth import SECRET, bearer, create_key

QUEUE = f"/api/v1/departments/{LEAD}/tickets"
# Headers that differ between any two responses.
VOLATILE = {"x-request-id", "date"}


@pytest.fixture
async def served(db: Database, pg_url: str) -> AsyncIterator[tuple[World, Any]]:
    app = create_app(settings_for(pg_url, secret_key=SECRET))
    async with client_for(app) as c:
        yield await build_world(db, c), app


async def _by_route(monkeypatch: pytest.MonkeyPatch, c: httpx.AsyncClient, path: str, **kw: Any) -> httpx.Response:
    """The same request answered by the documented FastAPI route alone."""
    async def pass_on(self: PollRoute, scope: dict[str, Any]) -> None:
        return None

    with monkeypatch.context() as m:
        m.setattr(PollRoute, "_answer", pass_on)
        return await c.get(path, **kw)


def _same(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code
    assert [(k, v) for k, v in a.headers.multi_items() if k not in VOLATILE] == \
           [(k, v) for k, v in b.headers.multi_items() if k not in VOLATILE]
    assert a.content == b.content


async def _warm(c: httpx.AsyncClient, headers: dict[str, str]) -> None:
    # The first poll goes through FastAPI (the route is learnt from it), and so does the key's
    # last_used_at write: a key used within the last minute is answered in front.
    assert (await c.get(QUEUE, headers=headers)).status_code == 200


async def test_the_common_poll_is_answered_without_fastapi(served: tuple[World, Any]) -> None:
    world, app = served
    c, dept = world.client, world.as_("department")
    await _warm(c, dept)

    async def no_session() -> None:
        raise AssertionError("the documented route was used")

    app.dependency_overrides[get_session] = no_session
    try:
        first = await c.get(QUEUE, headers=dept, params={"limit": 5})
        assert first.status_code == 200 and first.json()["items"][0]["tracking_number"] == world.lead_ticket
        again = await c.get(QUEUE, headers={**dept, "If-None-Match": first.headers["etag"]}, params={"limit": 5})
        assert again.status_code == 304 and again.content == b""
        resumed = await c.get(QUEUE, headers=dept, params={"cursor": first.json()["resume_cursor"]})
        assert resumed.status_code == 200 and resumed.json()["items"] == []
        # What it does not serve goes on to the documented route (here: the overridden session).
        with pytest.raises(AssertionError, match="documented route"):
            await c.get(QUEUE, headers=dept, params={"status": "dispatched"})
    finally:
        app.dependency_overrides.clear()


@pytest.mark.parametrize("query", [{}, {"limit": 1}, {"limit": 200}])
async def test_answers_byte_for_byte_as_the_documented_route(
        served: tuple[World, Any], monkeypatch: pytest.MonkeyPatch, query: dict[str, Any]) -> None:
    world, _ = served
    c, dept = world.client, world.as_("department")
    await make_ticket(world.db, LEAD, text="普通投诉：噪音", phone="+8613900000003", name="赵六")
    await _warm(c, dept)
    fast = await c.get(QUEUE, headers=dept, params=query)
    slow = await _by_route(monkeypatch, c, QUEUE, headers=dept, params=query)
    _same(fast, slow)
    cond = {**dept, "If-None-Match": fast.headers["etag"]}
    _same(await c.get(QUEUE, headers=cond, params=query), await _by_route(monkeypatch, c, QUEUE, headers=cond,
                                                                          params=query))
    resume = {"cursor": fast.json()["resume_cursor"], **query}
    _same(await c.get(QUEUE, headers=dept, params=resume), await _by_route(monkeypatch, c, QUEUE, headers=dept,
                                                                           params=resume))


@pytest.mark.parametrize(("who", "path", "query", "extra", "status"), [
    ("no_key", QUEUE, {}, {}, 401),
    ("revoked_key", QUEUE, {}, {}, 401),
    ("expired_key", QUEUE, {}, {}, 401),
    ("department", QUEUE, {}, {"Authorization": "Bearer hlk_not-a-key-anyone-has"}, 401),
    ("department", QUEUE, {}, {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    ("channel", QUEUE, {}, {}, 403),
    ("department", f"/api/v1/departments/{OTHER}/tickets", {}, {}, 404),
    ("other_department", QUEUE, {}, {}, 404),
    ("department", QUEUE, {"limit": 0}, {}, 422),
    ("department", QUEUE, {"limit": 201}, {}, 422),
    ("department", QUEUE, {"limit": "many"}, {}, 422),
    ("department", QUEUE, {"cursor": "not-a-cursor"}, {}, 400),
    ("department", QUEUE, {"status": "a\x00b"}, {}, 422),
])
async def test_errors_are_the_documented_routes(
        served: tuple[World, Any], monkeypatch: pytest.MonkeyPatch,
        who: str, path: str, query: dict[str, Any], extra: dict[str, str], status: int) -> None:
    world, _ = served
    c = world.client
    await _warm(c, world.as_("department"))
    headers = {**world.as_(who), **extra}
    fast = await c.get(path, headers=headers, params=query)
    assert fast.status_code == status
    assert fast.headers["content-type"].startswith("application/problem+json") and fast.json()["detail"]
    _same(fast, await _by_route(monkeypatch, c, path, headers=headers, params=query))


async def test_a_revoked_key_stops_at_once(served: tuple[World, Any]) -> None:
    world, _ = served
    c = world.client
    name = f"env-poller-{uuid.uuid4().hex[:6]}"
    key = await create_key(world.db, "department", LEAD, name=name)
    await _warm(c, bearer(key))
    etag = (await c.get(QUEUE, headers=bearer(key))).headers["etag"]
    assert (await c.get(QUEUE, headers={**bearer(key), "If-None-Match": etag})).status_code == 304
    assert (await c.post(f"/api/v1/admin/principals/{name}/revoke", headers=world.as_("admin"))).status_code == 200
    gone = await c.get(QUEUE, headers={**bearer(key), "If-None-Match": etag})
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    assert gone.headers["www-authenticate"] == 'Bearer realm="hotline"'


async def test_a_key_still_records_its_last_use(served: tuple[World, Any]) -> None:
    world, _ = served
    c = world.client
    name = f"env-poller-{uuid.uuid4().hex[:6]}"
    key = await create_key(world.db, "department", LEAD, name=name)
    await _warm(c, bearer(key))
    long_ago = utcnow() - timedelta(hours=1)
    async with world.db.unit_of_work() as s:
        key_id = await s.scalar(select(ApiKey.id).join(PrincipalRecord).where(PrincipalRecord.name == name))
        await s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=long_ago))
    assert (await c.get(QUEUE, headers=bearer(key))).status_code == 200
    async with world.db.sessions() as s:
        used = await s.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))
    assert used is not None and used > long_ago + timedelta(minutes=59)


async def test_polls_are_counted_under_the_route_template(served: tuple[World, Any]) -> None:
    world, _ = served
    c, dept = world.client, world.as_("department")
    await _warm(c, dept)

    def count(status: int) -> float:
        return REGISTRY.get_sample_value("hotline_http_request_duration_seconds_count",
                                         {"method": "GET", "route": TEMPLATE, "status": str(status)}) or 0.0

    before = count(200), count(304)
    first = await c.get(QUEUE, headers=dept)
    again = await c.get(QUEUE, headers={**dept, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["x-request-id"]
    assert (count(200), count(304)) == (before[0] + 1, before[1] + 1)


async def test_a_full_page_changes_its_etag_when_more_arrive(served: tuple[World, Any]) -> None:
    """A page of exactly `limit` tickets says nothing follows; once one more arrives it must say
    there is more (next_cursor), so a conditional poll gets the new page, not 304."""
    world, _ = served
    c, dept = world.client, world.as_("department")
    await _warm(c, dept)
    full = await c.get(QUEUE, headers=dept, params={"limit": 1})
    assert len(full.json()["items"]) == 1 and full.json()["next_cursor"] is None
    await make_ticket(world.db, LEAD, text="又一张投诉")
    after = await c.get(QUEUE, headers={**dept, "If-None-Match": full.headers["etag"]}, params={"limit": 1})
    assert after.status_code == 200 and after.json()["next_cursor"] is not None
    assert after.json()["items"] == full.json()["items"]


async def test_the_poll_is_still_documented(served: tuple[World, Any]) -> None:
    world, _ = served
    doc = (await world.client.get("/openapi.json")).json()
    op = doc["paths"][TEMPLATE]["get"]
    assert "304" in op["responses"] and {p["name"] for p in op["parameters"]} >= {"limit", "cursor", "status"}


async def test_a_failure_in_front_is_answered_by_the_documented_route(
        served: tuple[World, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    world, _ = served
    c, dept = world.client, world.as_("department")
    await _warm(c, dept)
    expected = await c.get(QUEUE, headers=dept)

    async def broken(*_: Any) -> None:
        raise ConnectionResetError("the database went away mid-poll")

    with monkeypatch.context() as m:
        m.setattr(poll_route, "_respond", broken)
        _same(await c.get(QUEUE, headers=dept), expected)
    # The connection it held was discarded, not handed back: polls go on.
    for _ in range(3):
        assert (await c.get(QUEUE, headers={**dept, "If-None-Match": expected.headers["etag"]})).status_code == 304
