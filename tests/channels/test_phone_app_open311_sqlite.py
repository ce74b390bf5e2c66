"""The embedded default (SQLite, router in-process): calls, app messages and Open311 read-back work there too."""

from __future__ import annotations

import argparse
import re

import pytest

from hotline.api.app import create_app
from hotline.intake.cli import app_key
from tests.conftest import agent_headers_for, client_for, settings_for

CTI = "cti-token-sqlite"


async def test_calls_app_and_open311_on_sqlite(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert app_key(argparse.Namespace(action="create", name="app"), settings_for(sqlite_url)) == 0
    out = capsys.readouterr().out
    key = re.search(r"^\s+(hak_\S+)$", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    keys = re.search(r"HOTLINE_APP_KEYS=(\S+)", out).group(1)  # type: ignore[union-attr]
    async with client_for(create_app(settings_for(sqlite_url, cti_token=CTI, app_keys=keys))) as c:
        for event in ({"event": "newCall", "callId": "s-1", "from": "13800138000", "to": "12345"},
                      {"event": "hangup", "callId": "s-1", "from": "13800138000", "to": "12345",
                       "cause": "noAnswer"}):
            assert (await c.post(f"/channels/phone/{CTI}", data=event)).status_code == 200
        h = {"X-Hotline-App-Key": key}
        text = await c.post("/channels/app", headers=h, json={"client_message_id": "a-1", "user_id": "u",
                                                              "text": "长安镇锦厦路口井盖丢失"})
        await c.post("/channels/app", headers=h, json={"client_message_id": "a-2", "user_id": "u",
                                                       "kind": "location", "location": {"lat": 22.8, "lng": 113.8}})
        srid = (await c.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "streetlight", "address_string": "塘厦镇迎宾大道",
            "description": "路灯不亮"})).json()[0]["service_request_id"]

        c.headers.update(await agent_headers_for(sqlite_url))
        [call] = (await c.get("/api/v1/calls", params={"missed": "true"})).json()["items"]
        assert (call["call_id"], call["caller"]) == ("s-1", "+8613800138000")
        ticket = (await c.get(f"/api/v1/tickets/{text.json()['tracking_number']}")).json()
        assert (ticket["lat"], ticket["lng"]) == (22.8, 113.8)  # the location joined the text's ticket
        [req] = (await c.get("/open311/v2/requests.json", params={"service_code": "streetlight"})).json()
        assert req["service_request_id"] == srid and req["status"] == "open"
