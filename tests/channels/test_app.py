"""Mobile app channel: JSON with a per-app key (`X-Hotline-App-Key`), keys made by the CLI."""

from __future__ import annotations

import argparse
import re

import pytest
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.intake.cli import app_key
from hotline.intake.models import IntakeRecord
from hotline.kit.db import Database
from hotline.kit.settings import Settings
from hotline.tickets.models import Ticket
from tests.channels.stored import stored_by_number
from tests.conftest import client_for, settings_for

MESSAGE = {"client_message_id": "m-1", "phone": "13800138000", "name": "陈静",
           "text": "长安镇某小区电梯坏了一个星期没人修", "location": {"lat": 22.81, "lng": 113.80}}


def create_key(settings: Settings, name: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """Run `hotline app-key create --name NAME`; return the key and the HOTLINE_APP_KEYS value."""
    assert app_key(argparse.Namespace(action="create", name=name), settings) == 0
    out = capsys.readouterr().out
    key = re.search(r"^\s+(hak_\S+)$", out, re.MULTILINE)
    line = re.search(r"HOTLINE_APP_KEYS=(\S+)", out)
    assert key and line, out
    assert key.group(1) not in line.group(1)  # only the digest is stored
    return key.group(1), line.group(1)


@pytest.fixture
async def app_client(db: Database, pg_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    key, keys = create_key(settings_for(pg_url), "dongguan-app", capsys)
    _, keys = create_key(settings_for(pg_url, app_keys=keys), "partner-app", capsys)
    async with client_for(create_app(settings_for(pg_url, app_keys=keys))) as c:
        yield c, key


async def count(db: Database, model: type) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_app_message_becomes_a_ticket_and_a_resend_gets_the_same_number(
        app_client, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, key = app_client
    r = await c.post("/channels/app", json=MESSAGE, headers={"X-Hotline-App-Key": key})
    assert r.status_code == 202, r.text
    tn = r.json()["tracking_number"]
    again = await c.post("/channels/app", json=MESSAGE, headers={"X-Hotline-App-Key": key})
    assert again.status_code == 202 and again.json()["tracking_number"] == tn

    stored = await stored_by_number(db)
    assert list(stored) == [tn]
    t = stored[tn]
    assert t.channel == "app"
    assert (t.identity_kind, t.identity) == ("phone", "+8613800138000")
    assert (t.lat, t.lng) == (22.81, 113.80)
    assert t.intake["meta"]["app"] == "dongguan-app"  # which app sent it
    assert await count(db, IntakeRecord) == 1


async def test_an_app_user_without_phone_is_known_by_the_apps_user_id(app_client, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, key = app_client
    body = {"client_message_id": "m-2", "user_id": "u-778", "text": "咨询东莞社保转移怎么办理"}
    r = await c.post("/channels/app", json=body, headers={"X-Hotline-App-Key": key})
    assert r.status_code == 202, r.text
    t = (await stored_by_number(db))[r.json()["tracking_number"]]
    assert (t.identity_kind, t.identity) == ("app_user", "dongguan-app:u-778")


async def test_missing_or_wrong_keys_are_refused_and_nothing_is_stored(app_client, db: Database,
                                                                        pg_url: str) -> None:  # type: ignore[no-untyped-def]
    c, key = app_client
    missing = await c.post("/channels/app", json=MESSAGE)
    assert missing.status_code == 401 and "X-Hotline-App-Key" in missing.json()["detail"]
    wrong = await c.post("/channels/app", json=MESSAGE, headers={"X-Hotline-App-Key": key + "x"})
    assert wrong.status_code == 403
    async with client_for(create_app(settings_for(pg_url))) as unconfigured:
        r = await unconfigured.post("/channels/app", json=MESSAGE, headers={"X-Hotline-App-Key": key})
        assert r.status_code == 404 and "HOTLINE_APP_KEYS" in r.json()["detail"]
    assert await count(db, Ticket) == 0


async def test_bad_messages_get_an_error_a_developer_can_act_on(app_client, db: Database) -> None:  # type: ignore[no-untyped-def]
    c, key = app_client
    h = {"X-Hotline-App-Key": key}
    blank = await c.post("/channels/app", json={**MESSAGE, "text": "   "}, headers=h)
    assert blank.status_code == 422 and "non-blank text" in blank.text
    nobody = await c.post("/channels/app", json={"client_message_id": "x", "text": "路灯坏了"}, headers=h)
    assert nobody.status_code == 422 and "user_id or phone" in nobody.text
    no_id = await c.post("/channels/app", json={k: v for k, v in MESSAGE.items() if k != "client_message_id"},
                         headers=h)
    assert no_id.status_code == 422 and "client_message_id" in no_id.text
    garbage = await c.post("/channels/app", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert garbage.status_code == 400
    assert await count(db, Ticket) == 0


async def test_a_key_made_with_another_secret_does_not_open_the_gateway(
        db: Database, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    key, keys = create_key(settings_for(pg_url, secret_key="the-old-secret-key-value"), "old-app", capsys)
    async with client_for(create_app(settings_for(pg_url, app_keys=keys))) as c:
        r = await c.post("/channels/app", json=MESSAGE, headers={"X-Hotline-App-Key": key})
        assert r.status_code == 403


def test_a_malformed_key_setting_is_refused_at_startup(pg_url: str) -> None:
    with pytest.raises(ValueError, match="name:<64 hex digits>"):
        create_app(settings_for(pg_url, app_keys="dongguan-app:not-a-digest"))


async def test_the_cli_refuses_a_name_already_in_use(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, keys = create_key(settings_for(pg_url), "dup", capsys)
    assert app_key(argparse.Namespace(action="create", name="dup"), settings_for(pg_url, app_keys=keys)) == 2
    assert "already" in capsys.readouterr().err
