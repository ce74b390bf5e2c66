"""One generic endpoint per adapter route: read, verify, parse, make durable, acknowledge."""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hotline.channels.base import ChannelAdapter, InboundRequest, Parsed, Reply
from hotline.channels.registry import ADAPTERS
from hotline.intake.bus import IntakeBus
from hotline.kit.errors import PayloadTooLarge, TooManyRequests
from hotline.kit.metrics import MESSAGES_RECEIVED
from hotline.kit.ratelimit import RateLimiter
from hotline.kit.settings import Settings

log = logging.getLogger(__name__)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def to_response(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type,
                    headers=reply.headers)


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["channels"])
    sender_limiter = RateLimiter(settings.web_rate_limit_per_minute)
    # Public intake (no platform signature: the web form, Open311) is also limited per client IP,
    # before the body is even read. Behind a proxy, run uvicorn with --proxy-headers and
    # --forwarded-allow-ips so the client's address is the citizen's, not the proxy's.
    ip_limiter = RateLimiter(settings.public_rate_limit_per_ip_per_minute)

    def endpoint_for(adapter: ChannelAdapter):  # type: ignore[no-untyped-def]
        public = getattr(adapter, "public", False)

        async def endpoint(request: Request) -> Response:
            if public and request.client is not None and request.method == "POST":
                wait = ip_limiter.check(f"{adapter.name}:{request.client.host}")
                if wait is not None:
                    raise TooManyRequests("too many messages from this address; wait and retry",
                                          retry_after=math.ceil(wait))
            body = await read_body(request, settings.max_body_bytes)
            inbound = InboundRequest(
                method=request.method,
                url=str(request.url),
                path_params=dict(request.path_params),
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                client_ip=request.client.host if request.client else None,
            )
            result = adapter.handle(inbound)
            if isinstance(result, Reply):
                return to_response(result)
            assert isinstance(result, Parsed)
            # Public intake (web forms) names a sender to rate-limit; platforms that sign do not.
            sender = result.meta.get("rate_limit_key")
            if sender:
                wait = sender_limiter.check(f"{adapter.name}:{sender}")
                if wait is not None:
                    raise TooManyRequests("too many messages from this sender; wait and retry",
                                          retry_after=math.ceil(wait))
            bus: IntakeBus = request.app.state.bus
            if result.messages:
                await bus.publish(result.messages)
                for m in result.messages:
                    MESSAGES_RECEIVED.labels(m.channel.value).inc()
                    log.info("accepted %s message", m.channel.value,
                             extra={"tracking_number": m.tracking_number, "channel": m.channel.value})
            return to_response(result.ack([m.tracking_number for m in result.messages]))

        endpoint.__name__ = f"channel_{adapter.name}"
        endpoint.__doc__ = f"Webhook for the {adapter.name} channel."
        return endpoint

    for cls in ADAPTERS:
        adapter = cls(settings)
        for route in cls.routes:
            router.add_api_route(route.path, endpoint_for(adapter), methods=[route.method],
                                 name=f"{cls.name}:{route.method}:{route.path}")
    return router
