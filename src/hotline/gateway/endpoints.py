"""One generic endpoint per adapter route: read, verify, parse, make durable, acknowledge.

The webhooks under /channels/ are served by `WebhookRoutes`, a plain ASGI table in front of the
documented FastAPI routes: FastAPI's route matching and dependency solving cost about a fifth of
a webhook's CPU in the gateway, and these endpoints use neither.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Mount, compile_path
from starlette.types import Receive, Scope, Send

from hotline.channels.base import ChannelAdapter, InboundRequest, Parsed, Reply
from hotline.channels.registry import ADAPTERS
from hotline.intake.bus import IntakeBus
from hotline.kit.errors import PayloadTooLarge, TooManyRequests
from hotline.kit.metrics import MESSAGES_RECEIVED
from hotline.kit.ratelimit import RateLimiter
from hotline.kit.settings import Settings

log = logging.getLogger(__name__)


async def receive_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body from the ASGI messages, refused (413) past `limit` bytes: at once when the
    declared length says so, otherwise as soon as what arrived does."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


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

        async def handle(scope: Scope, receive: Receive) -> Reply:
            """Read, verify, parse, make durable; the reply to send (errors are raised)."""
            client = scope.get("client")
            client_ip = client[0] if client else None
            if public and client_ip is not None and scope["method"] == "POST":
                wait = ip_limiter.check(f"{adapter.name}:{client_ip}")
                if wait is not None:
                    raise TooManyRequests("too many messages from this address; wait and retry",
                                          retry_after=math.ceil(wait))
            # Straight from the ASGI scope (names already lower-case), as Starlette would:
            # the last value of a repeated name wins.
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            body = await receive_body(receive, headers.get("content-length"), settings.max_body_bytes)
            query_string = scope["query_string"]
            inbound = InboundRequest(
                method=scope["method"],
                url=lambda: str(URL(scope=scope)),  # spelled out only if the adapter reads it
                path_params=scope.get("path_params") or {},
                query=dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
                if query_string else {},
                headers=headers,
                body=body,
                client_ip=client_ip,
            )
            result = adapter.handle(inbound)
            if isinstance(result, Reply):
                return result
            assert isinstance(result, Parsed)
            # Public intake (web forms) names a sender to rate-limit; platforms that sign do not.
            sender = result.meta.get("rate_limit_key")
            if sender:
                wait = sender_limiter.check(f"{adapter.name}:{sender}")
                if wait is not None:
                    raise TooManyRequests("too many messages from this sender; wait and retry",
                                          retry_after=math.ceil(wait))
            bus: IntakeBus = scope["app"].state.bus
            if result.messages:
                await bus.publish(result.messages)
                for m in result.messages:
                    received(m.channel.value).inc()
                    log.info("accepted %s message", m.channel.value,
                             extra={"tracking_number": m.tracking_number, "channel": m.channel.value})
            return result.ack([m.tracking_number for m in result.messages])

        async def endpoint(request: Request) -> Response:
            return to_response(await handle(request.scope, request.receive))

        endpoint.__name__ = f"channel_{adapter.name}"
        endpoint.__doc__ = f"Webhook for the {adapter.name} channel."
        return endpoint, handle

    webhooks = WebhookRoutes()
    for cls in ADAPTERS:
        adapter = cls(settings)
        endpoint, handle = endpoint_for(adapter)
        for route in cls.routes:
            router.add_api_route(route.path, endpoint, methods=[route.method],
                                 name=f"{cls.name}:{route.method}:{route.path}")
            if route.path.startswith(WEBHOOK_PREFIX + "/"):
                webhooks.add(route.method, router.routes[-1], handle)
    # Matched first; the routes above document the webhooks (OpenAPI) and serve the rest (Open311).
    router.routes.insert(0, Mount(WEBHOOK_PREFIX, app=webhooks, name="channel-webhooks"))
    return router


def install(app: FastAPI, settings: Settings) -> None:
    """The channel routes on the app, the webhook table first of all the app's routes.

    Included routers are matched one after another (the health and metrics routes come first),
    each route's pattern tried in turn; the table in front answers a webhook after one prefix
    match and one dict lookup.
    """
    router = build_router(settings)
    app.include_router(router)
    app.router.routes.insert(0, next(r for r in router.routes if isinstance(r, Mount)))


WEBHOOK_PREFIX = "/channels"
Handler = Callable[[Scope, Receive], Awaitable[Reply]]


class WebhookRoutes:
    """The channel webhooks as a plain ASGI app: the route found by one dict lookup (or a short
    list of patterns for the routes with a token in the path), then the same endpoint as the
    documented route, with the same errors (raised to the app's exception handlers)."""

    def __init__(self) -> None:
        self.exact: dict[str, dict[str, tuple[Any, Handler]]] = {}
        self.patterns: list[tuple[re.Pattern[str], dict[str, tuple[Any, Handler]]]] = []

    def add(self, method: str, route: Any, handle: Handler) -> None:
        if "{" not in route.path:
            self.exact.setdefault(route.path, {})[method] = (route, handle)
            return
        regex = compile_path(route.path)[0]
        for pattern, methods in self.patterns:
            if pattern.pattern == regex.pattern:
                methods[method] = (route, handle)
                return
        self.patterns.append((regex, {method: (route, handle)}))

    def find(self, path: str) -> tuple[dict[str, tuple[Any, Handler]] | None, dict[str, str]]:
        methods = self.exact.get(path)
        if methods is not None:
            return methods, {}
        for pattern, candidates in self.patterns:
            m = pattern.match(path)
            if m:
                return candidates, m.groupdict()
        return None, {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        # Behind a proxy prefix (uvicorn --root-path) the path starts with it: match what follows.
        root = scope.get("app_root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        methods, params = self.find(path)
        if methods is None:
            # As Starlette's router does: the path with or without its trailing slash, redirected.
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            if self.find(other)[0] is not None:
                await RedirectResponse(str(URL(scope={**scope, "path": root + other})))(scope, receive, send)
                return
            raise HTTPException(404)
        found = methods.get(scope["method"])
        if found is None:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(methods))})
        route, handle = found
        scope["route"] = route  # the metrics middleware labels by its template and name
        scope["path_params"] = params
        await to_response(await handle(scope, receive))(scope, receive, send)


_received: dict[str, Any] = {}


def received(channel: str) -> Any:
    """The channel's counter child, looked up once (`labels()` costs a lock and a tuple per call)."""
    child = _received.get(channel)
    if child is None:
        child = _received[channel] = MESSAGES_RECEIVED.labels(channel)
    return child
