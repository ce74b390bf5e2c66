"""Prometheus metrics: the named series, an ASGI middleware, and database-backed gauges.

The middleware also gives every request its id (`X-Request-ID`, echoed) and, when tracing is
on, its server span. Its per-request cost is a clock read, one histogram observation and a
header: no body buffering (it is plain ASGI, not BaseHTTPMiddleware).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hotline.kit import tracing
from hotline.kit.logging import channel_var, request_id_var, tracking_number_var

# --- intake (gateway) -------------------------------------------------------------------------
MESSAGES_RECEIVED = Counter(
    "hotline_messages_received", "Citizen messages accepted and made durable, per channel",
    ["channel"])
MESSAGES_REJECTED = Counter(
    "hotline_messages_rejected", "Channel requests refused with a 4xx, per channel and reason",
    ["channel", "reason"])

# --- HTTP -------------------------------------------------------------------------------------
HTTP_DURATION = Histogram(
    "hotline_http_request_duration_seconds", "HTTP request latency by route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

# --- router -----------------------------------------------------------------------------------
ROUTER_BATCH_SIZE = Histogram(
    "hotline_router_batch_size", "Intake records per router batch",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500))
ROUTER_BATCH_SECONDS = Histogram(
    "hotline_router_batch_duration_seconds",
    "Time to turn one batch into tickets (one database transaction)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
ROUTER_MESSAGES = Counter(
    "hotline_router_messages", "Intake records the router handled, by outcome",
    ["outcome"])  # created | duplicate | undecodable
ROUTER_BATCH_FAILURES = Counter(
    "hotline_router_batch_failures", "Batches that failed and will be retried")

REJECT_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 409: "conflict", 413: "too_large",
                  415: "unsupported_media_type", 422: "unprocessable", 429: "rate_limited"}

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_TICKET_PATH = re.compile(r"/api/v1/tickets/([A-Z0-9]{6,40})(?:/|$)")
# Label values come from a closed set, so a client cannot grow the number of series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ConsumerLag(Collector):
    """`hotline_kafka_consumer_lag{topic,partition}`: records not yet fetched by this router.

    The router replaces the snapshot from the consumer's own fetch positions (no broker round
    trip); a scrape in the metrics thread only reads it.
    """

    def __init__(self) -> None:
        self.snapshot: dict[tuple[str, int], int] = {}
        self.group = ""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("hotline_kafka_consumer_lag",
                              "Messages on the partition not yet consumed by this router "
                              "(high-water mark minus position)",
                              labels=["group", "topic", "partition"])
        for (topic, partition), lag in sorted(self.snapshot.items()):
            g.add_metric([self.group, topic, str(partition)], lag)
        yield g


@dataclass
class GaugeFamily:
    """One database-backed gauge: name, help, labels and the latest samples."""

    name: str
    help: str
    labels: Sequence[str] = ()
    samples: list[tuple[Sequence[str], float]] = field(default_factory=list)


class DatabaseGauges(Collector):
    """Gauges read from the database by a cheap query on scrape, cached for a few seconds.

    The /metrics endpoint refreshes the snapshot (async, on the request's loop) when it is
    older than the cache time; `collect` only reads it.
    """

    def __init__(self) -> None:
        self.families: dict[str, GaugeFamily] = {}
        self.refreshed_at = 0.0

    def stale(self, max_age: float) -> bool:
        return time.monotonic() - self.refreshed_at > max_age

    def replace(self, families: Iterable[GaugeFamily]) -> None:
        self.families = {f.name: f for f in families}
        self.refreshed_at = time.monotonic()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for f in list(self.families.values()):
            g = GaugeMetricFamily(f.name, f.help, labels=list(f.labels))
            for labels, value in f.samples:
                g.add_metric(list(labels), value)
            yield g


CONSUMER_LAG = ConsumerLag()
DATABASE_GAUGES = DatabaseGauges()
REGISTRY.register(CONSUMER_LAG)
REGISTRY.register(DATABASE_GAUGES)


# Set by `hotline api --workers N` (cli.py) for its workers: each writes its counters and histograms
# to files there, and a scrape of any worker answers for all of them (prometheus_client's
# multiprocess mode). Without it, each worker would answer for the requests it served alone.
MULTIPROCESS_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"


def render() -> tuple[bytes, str]:
    """The exposition text, and its content type: this process's registry, or, for the workers of
    one server, every worker's series summed plus the database gauges."""
    if os.environ.get(MULTIPROCESS_DIR_VAR):
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(DATABASE_GAUGES)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def new_request_id(incoming: str | None) -> str:
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _channel_of(route: Any, template: str) -> str:
    # Gateway routes are named "<channel>:<METHOD>:<path>" (gateway/endpoints.py).
    name = getattr(route, "name", "") or ""
    if ":" in name:
        return name.split(":", 1)[0]
    return template.removeprefix("/channels/").split("/", 1)[0] or "unknown"


_DURATIONS: dict[tuple[str, str, int], Any] = {}


def _duration(method: str, template: str, status: int) -> Any:
    """The histogram child for one label set, looked up once: `labels()` takes a lock and builds
    a tuple on every call. Bounded like the series themselves (closed methods and templates)."""
    key = (method, template, status)
    child = _DURATIONS.get(key)
    if child is None:
        child = _DURATIONS[key] = HTTP_DURATION.labels(method, template, str(status))
    return child


class ObservabilityMiddleware:
    """Request id, HTTP latency histogram, rejected-message counter and the server span."""

    def __init__(self, app: Callable[..., Any], metrics: bool = True) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        traceparent = None
        for key, value in scope.get("headers") or ():
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
            elif key == b"traceparent":
                traceparent = value.decode("latin-1")
        request_id = new_request_id(incoming)
        token = request_id_var.set(request_id)
        # Webhook paths name their channel (/channels/<name>/…): every log line of the request says it.
        path = scope.get("path", "")
        channel = path.split("/", 3)[2] or None if path.startswith("/channels/") else None
        channel_token = channel_var.set(channel) if channel else None
        # Requests about one ticket (/api/v1/tickets/<tracking number>/…) log its number.
        ticket = _TICKET_PATH.match(path)
        ticket_token = tracking_number_var.set(ticket.group(1)) if ticket else None
        status = 500
        raw_id = request_id.encode()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", raw_id)]
            await send(message)

        start = time.perf_counter()
        try:
            if tracing.is_enabled():
                carrier = {"traceparent": traceparent} if traceparent else None
                # Named by route template once matched: raw paths can carry secrets (CTI token).
                with tracing.span(f"{scope['method']}", kind="server",
                                  parent_headers=carrier,
                                  attributes={"http.request.method": scope["method"],
                                              "hotline.request_id": request_id}) as span:
                    await self.app(scope, receive, send_with_id)
                    route = scope.get("route")
                    if route is not None:
                        span.update_name(f"{scope['method']} {route.path}")
                    span.set_attribute("http.response.status_code", status)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            if channel_token is not None:
                channel_var.reset(channel_token)
            if ticket_token is not None:
                tracking_number_var.reset(ticket_token)
            if self.metrics:
                route = scope.get("route")
                template = getattr(route, "path", None) or "<unmatched>"
                method = scope["method"] if scope["method"] in _METHODS else "OTHER"
                _duration(method, template, status).observe(time.perf_counter() - start)
                if 400 <= status < 500 and template.startswith("/channels/"):
                    MESSAGES_REJECTED.labels(_channel_of(route, template),
                                             REJECT_REASONS.get(status, f"http_{status}")).inc()


def serve_process_metrics(port: int, alive: Callable[[], bool], addr: str = "0.0.0.0") -> Any:
    """prometheus_client's own threaded server for a process without HTTP (the router).

    `/metrics` is the exposition; `/healthz` answers 200 while `alive()` is true (the router's
    event loop is turning), 503 otherwise, so a liveness probe catches a stuck loop.
    Returns the server; call `.shutdown()` to stop it.
    """
    import threading
    from wsgiref.simple_server import make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

    metrics_app = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = alive()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json")])
            return [b'{"status":"ok"}' if ok else b'{"status":"stuck"}']
        return metrics_app(environ, start_response)  # type: ignore[no-any-return]

    httpd = make_server(addr, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    threading.Thread(target=httpd.serve_forever, name="metrics", daemon=True).start()
    return httpd
