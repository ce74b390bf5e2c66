"""Scale-out: two router processes in one consumer group share a 6-partition topic; when one is
killed mid-stream the other takes over its partitions, and every message is still exactly one ticket."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from hotline.intake.models import IntakeRecord
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from tests.conftest import ARTIFACTS
from tests.support.broker import Broker, free_port
from tests.support.kafka import create_topic, eventually
from tests.support.ledger import record

pytestmark = [pytest.mark.kafka, pytest.mark.fault]
HOTLINE = str(Path(sys.executable).with_name("hotline"))


def message(topic: str, i: int) -> IntakeMessage:
    ext = f"{topic}-{i}"
    phone = f"+86138{i:08d}"  # a citizen per message: keys spread over all partitions
    return IntakeMessage(channel=Channel.WEB, external_id=ext, tracking_number=tracking_number_for("web", ext),
                         citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, phone=phone),
                         text=f"长安镇路灯坏了（{i}）", received_at=datetime.now(UTC))


def start_router(pg_url: str, broker: Broker, topic: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOTLINE_DATABASE_URL": pg_url, "HOTLINE_KAFKA_BOOTSTRAP": broker.bootstrap,
           "HOTLINE_KAFKA_INTAKE_TOPIC": topic, "HOTLINE_KAFKA_ROUTER_GROUP": f"group-{topic}",
           "HOTLINE_KAFKA_ENABLE_IDEMPOTENCE": "false", "HOTLINE_KAFKA_BATCH_MAX": "20",
           "HOTLINE_LOG_LEVEL": "INFO", "HOTLINE_ROUTER_METRICS_PORT": str(free_port())}
    return subprocess.Popen([HOTLINE, "router"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def routed(log: Path) -> int:
    return sum(int(n) for n in re.findall(r"ingested batch of (\d+)", log.read_text(errors="replace")))


async def test_two_routers_share_partitions_and_survive_losing_one(
    db: Database, pg_url: str, broker: Broker, topic: str, tmp_path: Path
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=6)
    out = ARTIFACTS / "scale_out"
    out.mkdir(parents=True, exist_ok=True)
    logs = [out / "router-a.log", out / "router-b.log"]
    routers = [start_router(pg_url, broker, topic, log) for log in logs]
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()

    async def count(model: type) -> int:
        async with db.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

    try:
        async def send(start: int, stop: int) -> None:
            for i in range(start, stop):
                m = message(topic, i)
                await producer.send_and_wait(topic, m.to_bytes(), key=m.partition_key)

        # Feed both routers until each has done part of the work (the second may join the group
        # after the first has already taken every partition: keep sending until it gets some).
        sent = 0
        deadline = asyncio.get_running_loop().time() + 120
        while not all(routed(log) > 0 for log in logs):
            assert asyncio.get_running_loop().time() < deadline, [routed(log) for log in logs]
            await send(sent, sent + 20)
            sent += 20
            await asyncio.sleep(0.5)
        await send(sent, 200) if sent < 200 else None
        sent = max(sent, 200)
        # Kill one in the middle of the stream; the other must take over its partitions.
        routers[0].send_signal(signal.SIGKILL)
        routers[0].wait(10)
        await send(sent, sent + 200)
        total = sent + 200
        await eventually(lambda: _at_least(count(IntakeRecord), total), timeout=120)
        await asyncio.sleep(1.5)
    finally:
        await producer.stop()
        for r in routers:
            if r.poll() is None:
                r.send_signal(signal.SIGTERM)
                r.wait(20)

    stored, tickets = await count(IntakeRecord), await count(Ticket)
    record(sent=total, lost=total - stored, duplicated=tickets - stored)
    assert tickets == total
    assert stored == total
    a, b = routed(logs[0]), routed(logs[1])
    assert a > 0 and b > 0, (a, b)  # the work was split
    assert b >= 200  # the survivor took over what the killed one left


async def _at_least(c: object, n: int) -> bool:
    return await c >= n  # type: ignore[operator]
