"""OpenTelemetry hooks: one trace from the gateway's request through Kafka to the router's
database transaction; off by default; hotline runs without the opentelemetry packages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.kit import tracing
from hotline.kit.db import Database
from hotline.tickets.models import Ticket
from hotline.worker import run_router
from tests.conftest import client_for, settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually

sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    yield exp
    tracing.shutdown_tracing()


@pytest.mark.kafka
async def test_a_message_is_one_trace_from_gateway_through_kafka_to_the_database(
    db: Database, pg_url: str, broker: Broker, topic: str, exporter: InMemorySpanExporter
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=1)
    settings = settings_for(pg_url, broker.bootstrap, kafka_intake_topic=topic,
                            kafka_router_group=f"router-{topic}", otel_enabled=True)
    assert tracing.setup_tracing(settings, "test", exporter=exporter)
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with client_for(create_app(settings, roles=("gateway",))) as gw:
        r = await gw.post("/channels/web", headers={"traceparent": incoming},
                          json={"phone": "13800138000", "text": "长安镇路灯坏了"})
        assert r.status_code == 202
    stop = asyncio.Event()
    router = asyncio.create_task(run_router(settings, stop))
    try:
        async def ticketed() -> bool:
            async with db.sessions() as s:
                return (await s.scalar(select(func.count()).select_from(Ticket))) == 1

        await eventually(ticketed, timeout=30)
    finally:
        stop.set()
        await router

    finished = exporter.get_finished_spans()
    spans = {s.name: s for s in finished}
    by_id = {s.context.span_id: s for s in finished}

    def ancestors(span: object) -> list[int]:
        out, parent = [], span.parent  # type: ignore[attr-defined]
        while parent is not None:
            out.append(parent.span_id)
            parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
        return out

    server = spans["POST /channels/web"]
    publish = spans[f"{topic} publish"]
    process = spans["hotline.intake process"]
    ingest = spans["ingest transaction"]
    trace_id = int(incoming.split("-")[1], 16)
    # The platform's trace continues in the gateway, whose publish span rides the Kafka headers
    # (FastAPI's own spans, if any, sit between the request span and the publish span).
    assert server.context.trace_id == trace_id == publish.context.trace_id
    assert server.context.span_id in ancestors(publish)
    # The router's batch span links to the producer span of each record it took.
    assert [link.context.span_id for link in process.links] == [publish.context.span_id]
    assert process.links[0].context.trace_id == trace_id
    assert ingest.parent is not None and ingest.parent.span_id == process.context.span_id


async def test_tracing_is_off_by_default_and_costs_no_spans(pg_url: str, db: Database) -> None:
    settings = settings_for(pg_url)
    assert not settings.otel_enabled
    assert tracing.setup_tracing(settings, "test") is False
    assert tracing.kafka_headers() == []
    async with client_for(create_app(settings)) as c:
        assert (await c.get("/healthz")).status_code == 200


def test_hotline_runs_without_the_otel_extra() -> None:
    """With the SDK and exporters unimportable, tracing asked for stays off and the app serves.

    (opentelemetry-api itself is a dependency of FastAPI, so only the `otel` extra can be absent.)
    """
    code = """
import sys, importlib.abc, logging, asyncio
HIDDEN = ("opentelemetry.sdk", "opentelemetry.exporter")
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(HIDDEN):
            raise ImportError("hidden: " + name)
        return None
sys.meta_path.insert(0, Hide())
import httpx
from hotline.kit import tracing
from hotline.kit.settings import Settings
s = Settings(environment="test", otel_enabled=True, database_url="sqlite+aiosqlite:///:memory:")
assert tracing.setup_tracing(s, "gateway") is False
assert tracing.kafka_headers() == []
with tracing.span("x"):
    pass
async def main():
    from hotline.api.app import create_app
    app = create_app(s, roles=("api",))
    async with app.router.lifespan_context(app):
        t = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=t, base_url="http://h") as c:
            assert (await c.get("/healthz")).status_code == 200
asyncio.run(main())
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("ok")
