"""The real `hotline router` process: metrics on its own port, drains and exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from tests.conftest import client_for, settings_for
from tests.support.broker import Broker, free_port
from tests.support.kafka import create_topic, eventually

pytestmark = pytest.mark.kafka

PARTITIONS = 3


def hotline_command() -> list[str]:
    exe = Path(sys.executable).with_name("hotline")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hotline.cli"]


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def lag_by_partition(text: str, topic: str) -> dict[str, float]:
    return {s.labels["partition"]: s.value for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "hotline_kafka_consumer_lag" and s.labels.get("topic") == topic}


async def test_router_serves_metrics_and_exits_0_after_committing_on_sigterm(
    db: Database, pg_url: str, broker: Broker, topic: str, tmp_path: Path
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    group = f"router-{topic}"
    settings = settings_for(pg_url, broker.bootstrap, kafka_intake_topic=topic,
                            kafka_router_group=group)
    n = 12
    async with client_for(create_app(settings, roles=("gateway",))) as gw:
        for i in range(n):
            r = await gw.post("/channels/web", json={"phone": f"1390013{i:04d}",
                                                     "text": f"长安镇路灯坏了（第{i}条）",
                                                     "client_message_id": f"sig-{i}"})
            assert r.status_code == 202, r.text

    port = free_port()
    env = {**os.environ, "HOTLINE_DATABASE_URL": pg_url, "HOTLINE_KAFKA_BOOTSTRAP": broker.bootstrap,
           "HOTLINE_KAFKA_INTAKE_TOPIC": topic, "HOTLINE_KAFKA_ROUTER_GROUP": group,
           "HOTLINE_KAFKA_ENABLE_IDEMPOTENCE": "false", "HOTLINE_ROUTER_METRICS_PORT": str(port),
           "HOTLINE_LOG_JSON": "true", "HOTLINE_ENVIRONMENT": "test"}
    stderr = tmp_path / "router.log"
    err = await asyncio.to_thread(stderr.open, "wb")
    try:
        proc = await asyncio.to_thread(subprocess.Popen, [*hotline_command(), "router"], env=env,
                                       stdout=err, stderr=err, cwd=tmp_path)
    finally:
        err.close()
    try:
        async def all_ticketed() -> bool:
            async with db.sessions() as s:
                return (await s.scalar(select(func.count()).select_from(Ticket))) == n

        await eventually(all_ticketed, timeout=60)

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            async def counted() -> bool:
                text = (await c.get("/metrics")).text
                return metric(text, "hotline_router_messages_total", outcome="created") == n

            await eventually(counted, timeout=20)

            async def lag_reported() -> bool:
                lag = lag_by_partition((await c.get("/metrics")).text, topic)
                return len(lag) == PARTITIONS

            # Every partition this (only) router owns has a lag sample, and it has caught up.
            await eventually(lag_reported, timeout=20)
            text = (await c.get("/metrics")).text
            assert lag_by_partition(text, topic) == {str(p): 0.0 for p in range(PARTITIONS)}
            assert metric(text, "hotline_router_batch_size_count") >= 1
            assert metric(text, "hotline_router_batch_size_sum") == n
            assert metric(text, "hotline_router_batch_duration_seconds_count") >= 1
            assert (await c.get("/healthz")).status_code == 200

        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(proc.wait, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = stderr.read_text()
    assert rc == 0, log
    assert "router stopped" in log
    assert "1390013" not in log  # citizens' numbers never reach the logs

    # Everything the router took was committed to the group: a successor starts after it.
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        committed = [await consumer.committed(TopicPartition(topic, p)) or 0
                     for p in range(PARTITIONS)]
    finally:
        await consumer.stop()
    assert sum(committed) == n


async def test_sigterm_mid_stream_leaves_exactly_the_committed_batches_in_the_database(
    db: Database, pg_url: str, broker: Broker, topic: str, tmp_path: Path
) -> None:
    """Stopped while it works, the router finishes its batch, commits the database, then the
    offsets: no ticket exists whose message a successor would read again, none is missing."""
    await create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    group = f"router-{topic}"
    settings = settings_for(pg_url, broker.bootstrap, kafka_intake_topic=topic,
                            kafka_router_group=group)
    n = 150
    async with client_for(create_app(settings, roles=("gateway",))) as gw:
        for i in range(n):
            r = await gw.post("/channels/web", json={"phone": f"1370013{i % 9:04d}",
                                                     "text": f"东城街道噪音扰民（第{i}条）",
                                                     "client_message_id": f"mid-{i}"})
            assert r.status_code == 202, r.text
    env = {**os.environ, "HOTLINE_DATABASE_URL": pg_url, "HOTLINE_KAFKA_BOOTSTRAP": broker.bootstrap,
           "HOTLINE_KAFKA_INTAKE_TOPIC": topic, "HOTLINE_KAFKA_ROUTER_GROUP": group,
           "HOTLINE_KAFKA_ENABLE_IDEMPOTENCE": "false", "HOTLINE_ROUTER_METRICS_PORT": "0",
           "HOTLINE_KAFKA_BATCH_MAX": "3", "HOTLINE_ENVIRONMENT": "test"}
    log_path = tmp_path / "router.log"
    err = await asyncio.to_thread(log_path.open, "wb")
    try:
        proc = await asyncio.to_thread(subprocess.Popen, [*hotline_command(), "router"], env=env,
                                       stdout=err, stderr=err, cwd=tmp_path)
    finally:
        err.close()

    async def tickets() -> int:
        async with db.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)

    try:
        async def started() -> bool:
            return await tickets() >= 6

        await eventually(started, timeout=60, every=0.05)
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(proc.wait, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0, log_path.read_text()

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        committed = sum([await consumer.committed(TopicPartition(topic, p)) or 0
                         for p in range(PARTITIONS)])
    finally:
        await consumer.stop()
    assert committed == await tickets()
    assert committed > 0
