"""OpenTelemetry hooks: gateway → Kafka headers (`traceparent`) → router → database. Off by default.

Everything here is a no-op unless `HOTLINE_OTEL_ENABLED=true` and the `otel` extra is installed;
hotline never needs the opentelemetry packages to run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

log = logging.getLogger(__name__)

_tracer: Any = None  # an opentelemetry Tracer once tracing is set up, else None
_provider: Any = None


def is_enabled() -> bool:
    return _tracer is not None


def setup_tracing(settings: Any, process: str, exporter: Any = None) -> bool:
    """Install a tracer provider for this process if tracing is on; True if it is.

    `exporter` (a SpanExporter) overrides the OTLP one: the tests pass an in-memory exporter.
    """
    global _tracer, _provider
    if not settings.otel_enabled:
        _tracer = None
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        log.warning("HOTLINE_OTEL_ENABLED is set but the opentelemetry SDK is not installed "
                    "(pip install 'hotline[otel]'); tracing stays off")
        _tracer = None
        return False
    name = settings.otel_service_name or f"hotline-{process}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = settings.otel_exporter_endpoint
            otlp = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces") if endpoint \
                else OTLPSpanExporter()
            provider.add_span_processor(BatchSpanProcessor(otlp))
        except ImportError:
            log.warning("no OTLP exporter installed; spans are created but not exported")
    # The global provider (which FastAPI's own spans use too) can be set once per process; a
    # test's exporter stays private to hotline's tracer, so the test leaves nothing behind.
    if exporter is None and not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)
    _provider = provider
    _tracer = provider.get_tracer("hotline")
    return True


def shutdown_tracing() -> None:
    """Export what is buffered and stop (on a graceful exit)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def span(name: str, kind: str = "internal", attributes: Mapping[str, Any] | None = None,
         parent_headers: Mapping[str, str] | None = None,
         links_from: Iterable[Mapping[str, str]] = ()) -> Any:
    """A span context manager, or a do-nothing one when tracing is off (the common case)."""
    if _tracer is None:
        return nullcontext()
    return _span(name, kind, attributes, parent_headers, links_from)


@contextmanager
def _span(name: str, kind: str, attributes: Mapping[str, Any] | None,
          parent_headers: Mapping[str, str] | None,
          links_from: Iterable[Mapping[str, str]]) -> Iterator[Any]:
    from opentelemetry import propagate, trace

    context = propagate.extract(parent_headers) if parent_headers else None
    links = []
    for carrier in links_from:
        sc = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if sc.is_valid:
            links.append(trace.Link(sc))
    span_kind = getattr(trace.SpanKind, kind.upper())
    with _tracer.start_as_current_span(name, context=context, kind=span_kind,
                                       attributes=dict(attributes or {}), links=links) as s:
        yield s


def kafka_headers() -> list[tuple[str, bytes]]:
    """The current trace context as Kafka headers (`traceparent`, `tracestate`); [] when off."""
    if _tracer is None:
        return []
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items()]


def carrier_from_kafka(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka record headers → a carrier `span(links_from=…)` can read."""
    out: dict[str, str] = {}
    for key, value in headers or ():
        if key in ("traceparent", "tracestate") and value is not None:
            out[key] = value.decode("latin-1")
    return out
