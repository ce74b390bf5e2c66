"""What an operator sees: /metrics after messages flow, redacted logs with request ids, /readyz."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text, update

from hotline.api.app import create_app
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.kit.logging import make_handler, secrets_of
from hotline.kit.metrics import ObservabilityMiddleware
from hotline.kit.migrate import alembic_config, upgrade
from hotline.kit.settings import Settings
from hotline.notify.models import OutboxMessage
from hotline.sla.models import SlaClock
from hotline.tickets.models import Ticket
from tests.conftest import client_for, settings_for
from tests.support.db import create_database, drop_database

PHONE = "13800138000"
COMPLAINT = {"name": "李四", "phone": PHONE, "client_message_id": "obs-1",
             "text": f"我要投诉塘厦镇工地夜间施工噪音扰民，请打{PHONE}回电"}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


async def test_metrics_count_messages_rejections_tickets_and_latency_by_route(
    db: object, pg_url: str
) -> None:
    app = create_app(settings_for(pg_url, metrics_cache_seconds=0))
    async with client_for(app) as c:
        before = await scrape(c)
        r = await c.post("/channels/web", json=COMPLAINT)
        assert r.status_code == 202
        tn = r.json()["tracking_number"]
        bad = await c.post("/channels/web", json={"phone": PHONE, "text": "   "})
        assert bad.status_code == 422
        # Matched by its route whether or not the caller may read it (the API wants a key).
        await c.get(f"/api/v1/tickets/{tn}")
        # A scanner's made-up method and path add no new series.
        await c.request("BREW", "/wp-admin/pot-8f2c1")
        after = await scrape(c)

    received = "hotline_messages_received_total"
    assert value(after, received, channel="web") - value(before, received, channel="web") == 1
    rejected = "hotline_messages_rejected_total"
    assert (value(after, rejected, channel="web", reason="unprocessable")
            - value(before, rejected, channel="web", reason="unprocessable")) == 1
    # The ticket the message made, by status, read from the database.
    by_status = {dict(labels)["status"]: v for (name, labels), v in after.items()
                 if name == "hotline_tickets"}
    assert sum(by_status.values()) == 1 and by_status.get("dispatched") == 1
    # Latency by route template: the tracking number never becomes a label value.
    count = "hotline_http_request_duration_seconds_count"
    routes = {dict(labels).get("route") for (name, labels) in after if name == count}
    assert "/api/v1/tickets/{tracking_number}" in routes
    assert "/channels/web" in routes
    assert not any(tn in (r or "") for r in routes)
    assert value(after, count, method="POST", route="/channels/web", status="202") >= 1
    assert "<unmatched>" in routes and not any("pot-8f2c1" in (r or "") for r in routes)
    methods = {dict(labels).get("method") for (name, labels) in after if name == count}
    assert "BREW" not in methods and "OTHER" in methods


async def test_metrics_report_sla_warnings_breaches_and_outbox_depth(db: Database, pg_url: str) -> None:
    app = create_app(settings_for(pg_url, metrics_cache_seconds=0))
    async with client_for(app) as c:
        r = await c.post("/channels/web", json=COMPLAINT)
        assert r.status_code == 202
        # What the SLA monitor records when clocks run late, and a notification still queued.
        async with db.unit_of_work() as s:
            ticket_id = await s.scalar(select(Ticket.id).where(
                Ticket.tracking_number == r.json()["tracking_number"]))
            await s.execute(update(SlaClock).where(SlaClock.ticket_id == ticket_id,
                                                   SlaClock.stage == "reply")
                            .values(warned_at=utcnow(), breached_at=utcnow()))
            await s.execute(update(SlaClock).where(SlaClock.ticket_id == ticket_id,
                                                   SlaClock.stage == "accept")
                            .values(warned_at=utcnow()))
            s.add(OutboxMessage(kind="sms", destination="+8613800138000", payload={"text": "x"},
                                created_at=utcnow() - timedelta(minutes=5)))
        after = await scrape(c)
    assert value(after, "hotline_sla_breaches", stage="reply") == 1
    assert value(after, "hotline_sla_warnings", stage="accept") == 1
    assert value(after, "hotline_sla_warnings", stage="reply") == 0  # breached, not both
    assert value(after, "hotline_outbox_depth", kind="sms") == 1
    assert value(after, "hotline_outbox_oldest_age_seconds") >= 300


async def test_gateway_process_does_not_query_the_database_for_gauges(pg_url: str) -> None:
    app = create_app(settings_for(pg_url, metrics_cache_seconds=0), roles=("gateway",))
    async with client_for(app) as c:
        assert (await c.get("/metrics")).status_code == 200
        assert app.state.roles == ("gateway",)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Root-logger output as the production JSON handler writes it (with redaction)."""
    stream = io.StringIO()
    handler = make_handler(json_lines=True, secrets=["s3cr3t-wechat-token"], stream=stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_logs_of_a_web_message_carry_the_request_id_and_no_phone_number(
    db: object, pg_url: str, captured_logs: io.StringIO
) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await c.post("/channels/web", json=COMPLAINT, headers={"X-Request-ID": "req-7f3a"})
        assert r.status_code == 202
        assert r.headers["x-request-id"] == "req-7f3a"
        tn = r.json()["tracking_number"]
        # An id is made up when the caller sends none (or a malformed one), and echoed.
        other = await c.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
        assert len(other.headers["x-request-id"]) == 32
        # Any code that logs a citizen's number, even in an exception, is masked too.
        try:
            raise ValueError(f"could not call back {PHONE} (+86 138 0013 8000)")
        except ValueError:
            logging.getLogger("hotline.test").exception("callback to %s failed", PHONE,
                                                        extra={"phone": PHONE})
        logging.getLogger("hotline.test").warning("token s3cr3t-wechat-token rejected")

    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    text = captured_logs.getvalue()
    assert PHONE not in text and "138 0013 8000" not in text
    assert "138****8000" in text
    assert "s3cr3t-wechat-token" not in text and "[redacted]" in text
    accepted = [rec for rec in lines if rec["msg"] == "accepted web message"]
    assert accepted and accepted[0].get("request_id") == "req-7f3a"
    assert accepted[0]["tracking_number"] == tn and accepted[0]["channel"] == "web"
    # The router's log line in the same request (embedded mode) has the request id as well.
    # (and the channel, known from the webhook's path).
    assert any(rec.get("request_id") == "req-7f3a" and rec.get("channel") == "web"
               and rec["logger"] == "hotline.tickets.handlers" for rec in lines)


async def test_logs_of_a_request_about_one_ticket_carry_its_tracking_number(
    captured_logs: io.StringIO
) -> None:
    app = FastAPI()
    app.add_middleware(ObservabilityMiddleware)

    @app.post("/api/v1/tickets/{tracking_number}/accept")
    async def accept(tracking_number: str) -> dict[str, str]:
        logging.getLogger("hotline.tickets.lifecycle").info("accepted by the unit")
        return {}

    async with client_for(app) as c:
        await c.post("/api/v1/tickets/DG0123456789AB/accept", headers={"X-Request-ID": "req-9"})
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    rec = next(r for r in lines if r["msg"] == "accepted by the unit")
    assert rec["tracking_number"] == "DG0123456789AB" and rec["request_id"] == "req-9"


def test_configured_secrets_are_collected_for_redaction() -> None:
    s = Settings(environment="test", wechat_token="wx-token-123456",
                 database_url="postgresql+asyncpg://hotline:pg-pass-9876@db/hotline")
    secrets = secrets_of(s)
    assert "wx-token-123456" in secrets and "pg-pass-9876" in secrets


async def test_readyz_is_503_while_migrations_are_behind_and_200_at_head() -> None:
    url = await create_database("hotline_ready")
    try:
        script = ScriptDirectory.from_config(alembic_config(url))
        head = script.get_current_head()
        assert head is not None
        earlier = script.get_revision(head).down_revision
        if earlier:  # a database one migration behind; with a single migration, an empty one
            await asyncio.to_thread(upgrade, url, str(earlier))
        async with client_for(create_app(settings_for(url))) as c:
            r = await c.get("/readyz")
            assert r.status_code == 503
            assert r.json()["checks"]["migrations"].startswith("behind")
            assert r.json()["checks"]["database"] == "ok"
            await asyncio.to_thread(upgrade, url)
            r = await c.get("/readyz")
            assert r.status_code == 200, r.text
            assert r.json()["checks"] == {"database": "ok", "migrations": "ok"}
            # A newer release's expand migration (unknown to this code): old pods stay ready
            # during a rolling upgrade.
            db = Database(url)
            async with db.unit_of_work() as s:
                await s.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
            await db.dispose()
            r = await c.get("/readyz")
            assert r.status_code == 200 and r.json()["checks"]["migrations"] == "ok"
    finally:
        await drop_database(url)
