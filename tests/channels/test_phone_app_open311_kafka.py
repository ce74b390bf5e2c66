"""Phone (CTI), the app (with a photo follow-up) and Open311 through gateway → Kafka → router."""

from __future__ import annotations

import argparse
import asyncio
import re

import pytest
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.calls.models import Call
from hotline.intake.cli import app_key
from hotline.intake.models import IntakeRecord
from hotline.kit.db import Database
from hotline.worker import run_router
from tests.channels.stored import stored_by_number
from tests.conftest import client_for, settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually

pytestmark = pytest.mark.kafka
CTI = "cti-token-for-kafka-test"


async def test_calls_app_messages_and_open311_requests_reach_postgresql_through_kafka(
    db: Database, pg_url: str, broker: Broker, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=2)
    assert app_key(argparse.Namespace(action="create", name="app"), settings_for(pg_url)) == 0
    out = capsys.readouterr().out
    key = re.search(r"^\s+(hak_\S+)$", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    keys = re.search(r"HOTLINE_APP_KEYS=(\S+)", out).group(1)  # type: ignore[union-attr]
    settings = settings_for(pg_url, broker.bootstrap, kafka_intake_topic=topic,
                            kafka_router_group=f"router-{topic}", cti_token=CTI, app_keys=keys)
    async with client_for(create_app(settings, roles=("gateway",))) as gw:
        stop = asyncio.Event()
        router = asyncio.create_task(run_router(settings, stop))
        try:
            for event in ({"event": "newCall", "callId": "k-1", "from": "13800138000", "to": "12345",
                           "direction": "in"},
                          {"event": "hangup", "callId": "k-1", "from": "13800138000", "to": "12345",
                           "direction": "in", "cause": "cancel"}):
                r = await gw.post(f"/channels/phone/{CTI}", data=event)
                assert r.status_code == 200, r.text
            h = {"X-Hotline-App-Key": key}
            text = await gw.post("/channels/app", headers=h, json={
                "client_message_id": "a-1", "user_id": "u-1", "text": "长安镇锦厦路口井盖丢失"})
            photo = await gw.post("/channels/app", headers=h, json={
                "client_message_id": "a-2", "user_id": "u-1", "kind": "image",
                "attachments": [{"kind": "image", "url": "https://img.example/m.jpg"}]})
            assert text.status_code == photo.status_code == 202
            o311 = await gw.post("/open311/v2/requests.json", data={
                "api_key": key, "service_code": "streetlight", "lat": "22.96", "long": "113.66",
                "description": "塘厦镇迎宾大道路灯不亮"})
            assert o311.status_code == 200, o311.text

            async def all_in() -> bool:
                async with db.sessions() as s:
                    return int(await s.scalar(select(func.count()).select_from(IntakeRecord)) or 0) >= 5
            await eventually(all_in, timeout=60)
        finally:
            stop.set()
            await router

    tickets = await stored_by_number(db)
    assert set(tickets) == {text.json()["tracking_number"], o311.json()[0]["service_request_id"]}
    async with db.sessions() as s:
        call = await s.scalar(select(Call).where(Call.call_id == "k-1"))
        photo_ticket = await s.scalar(select(IntakeRecord.ticket_id).where(IntakeRecord.external_id == "app:a-2"))
        text_ticket = await s.scalar(select(IntakeRecord.ticket_id).where(IntakeRecord.external_id == "app:a-1"))
    assert call is not None and call.missed and call.caller == "+8613800138000"
    assert photo_ticket == text_ticket is not None  # the photo joined the text's ticket
