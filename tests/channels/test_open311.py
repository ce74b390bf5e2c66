"""Open311 GeoReport v2: services, form-encoded requests with api_key, and the public read side."""

from __future__ import annotations

import argparse
import re

import httpx
import pytest
from sqlalchemy import update

from hotline.api.app import create_app
from hotline.intake.cli import app_key
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from tests.channels.stored import stored_by_number
from tests.conftest import client_for, settings_for

LAMP = {"service_code": "streetlight", "lat": "22.9601", "long": "113.6602",
        "description": "塘厦镇迎宾大道路灯连续三晚不亮，路口很危险",
        "first_name": "伟", "last_name": "张", "email": "zhangwei@example.cn", "phone": "13800138000"}


@pytest.fixture
async def open311(db: Database, pg_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    assert app_key(argparse.Namespace(action="create", name="partner"), settings_for(pg_url)) == 0
    out = capsys.readouterr().out
    key = re.search(r"^\s+(hak_\S+)$", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    keys = re.search(r"HOTLINE_APP_KEYS=(\S+)", out).group(1)  # type: ignore[union-attr]
    async with client_for(create_app(settings_for(pg_url, app_keys=keys))) as c:
        yield c, key


async def post(c: httpx.AsyncClient, fields: dict[str, str]) -> httpx.Response:
    return await c.post("/open311/v2/requests.json", data=fields)  # form-encoded, as GeoReport says


async def test_services_are_listed(open311) -> None:  # type: ignore[no-untyped-def]
    c, _ = open311
    services = (await c.get("/open311/v2/services.json")).json()
    codes = {s["service_code"]: s for s in services}
    assert codes["streetlight"]["service_name"] == "路灯故障"
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)


async def test_a_request_becomes_a_ticket_and_reads_back_without_the_citizens_identity(
        open311, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, key = open311
    r = await post(c, {**LAMP, "api_key": key, "media_url": "https://img.example/lamp.jpg"})
    assert r.status_code == 200, r.text
    [answer] = r.json()
    srid = answer["service_request_id"]
    assert srid.startswith("DG")
    again = await post(c, {**LAMP, "api_key": key, "media_url": "https://img.example/lamp.jpg"})
    assert again.json()[0]["service_request_id"] == srid  # the same request re-sent

    stored = await stored_by_number(db)
    assert list(stored) == [srid]
    assert (stored[srid].identity_kind, stored[srid].identity) == ("phone", "+8613800138000")

    body = (await c.get(f"/open311/v2/requests/{srid}.json")).text
    [req] = (await c.get(f"/open311/v2/requests/{srid}.json")).json()
    assert req["service_request_id"] == srid
    assert req["status"] == "open"
    assert req["service_code"] == "streetlight" and req["service_name"] == "路灯故障"
    assert req["description"] == LAMP["description"]
    assert (req["lat"], req["long"]) == (22.9601, 113.6602)
    assert req["media_url"] == "https://img.example/lamp.jpg"
    assert req["requested_datetime"].endswith("+08:00")
    for secret in ("13800138000", "zhangwei", "张", "api_key", key):
        assert secret not in body.replace(LAMP["description"], "")


async def test_bad_requests_get_georeport_errors(open311, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, key = open311
    cases = [
        ({**LAMP}, 403, "api_key"),
        ({**LAMP, "api_key": "hak_wrong"}, 403, "not valid"),
        ({**LAMP, "api_key": key, "service_code": "ufo"}, 404, "service_code"),
        ({**LAMP, "api_key": key, "service_code": ""}, 400, "service_code is required"),
        ({k: v for k, v in LAMP.items() if k not in ("lat", "long")} | {"api_key": key}, 400, "location"),
        ({**LAMP, "api_key": key, "lat": "north"}, 400, "lat"),
        ({**LAMP, "api_key": key, "description": "灯" * 4001}, 400, "4000"),
    ]
    for fields, status, words in cases:
        r = await post(c, fields)
        assert r.status_code == status, (fields.get("service_code"), r.text)
        [err] = r.json()
        assert err["code"] == status and words in err["description"]
    assert await stored_by_number(db) == {}
    # An address instead of coordinates is enough.
    ok = await post(c, {"api_key": key, "service_code": "noise", "address_string": "东莞市南城街道鸿福路",
                        "description": "夜间施工噪音"})
    assert ok.status_code == 200, ok.text


async def test_requests_are_filtered_and_only_public_ones_are_shown(open311, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, key = open311
    lamp = (await post(c, {**LAMP, "api_key": key})).json()[0]["service_request_id"]
    noise = (await post(c, {"api_key": key, "service_code": "noise", "address_string": "南城街道鸿福路",
                            "description": "工地夜间施工噪音扰民", "device_id": "d-1"})).json()[0][
        "service_request_id"]
    secret = (await post(c, {"api_key": key, "service_code": "other", "address_string": "厚街镇",
                             "description": "举报某工厂偷排废水"})).json()[0]["service_request_id"]
    web = (await c.post("/channels/web", json={"phone": "13900139000", "text": "塘厦镇路灯坏了"})).json()[
        "tracking_number"]
    async with db.unit_of_work() as s:
        await s.execute(update(Ticket).where(Ticket.tracking_number == noise).values(status="closed"))

    async def ids(**params: str) -> set[str]:
        r = await c.get("/open311/v2/requests.json", params=params)
        assert r.status_code == 200, r.text
        return {x["service_request_id"] for x in r.json()}

    assert {lamp, noise, secret, web} <= set(await stored_by_number(db))
    # The report (举报) is confidential; the web ticket did not come through Open311.
    assert await ids() == {lamp, noise}
    assert secret not in await ids(service_request_id=secret)
    assert web not in await ids(service_request_id=web)
    assert (await c.get(f"/open311/v2/requests/{web}.json")).status_code == 404
    assert await ids(status="closed") == {noise}
    assert await ids(status="open") == {lamp}
    assert await ids(status="open,closed") == {lamp, noise}
    assert await ids(service_code="streetlight") == {lamp}
    assert await ids(service_request_id=f"{lamp},{noise}") == {lamp, noise}
    assert await ids(start_date="2000-01-01T00:00:00Z", end_date="2000-12-31T00:00:00Z") == set()
    bad = await c.get("/open311/v2/requests.json", params={"status": "pending"})
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    missing = await c.get("/open311/v2/requests/DG0000.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
