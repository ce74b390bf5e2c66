"""The adapter protocol every channel module implements, and the request it receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from hotline.intake.schema import IntakeMessage
from hotline.kit.errors import HotlineError
from hotline.kit.settings import Settings


class BadPayload(HotlineError):
    """The body is not what this platform sends (400)."""

    status_code = 400
    title = "Malformed message"


class Unprocessable(HotlineError):
    status_code = 422
    title = "Unprocessable message"


class InboundRequest:
    """What an adapter sees of an HTTP request: nothing framework-specific.

    `url` is the full URL the platform called (signatures cover it). The gateway passes a
    function that spells it out from the request, called only if an adapter reads it: most
    platforms do not sign it, and building it costs more than any other field.
    """

    __slots__ = ("_url", "body", "client_ip", "headers", "method", "path_params", "query")

    def __init__(self, method: str, url: str | Callable[[], str], path_params: Mapping[str, str],
                 query: Mapping[str, str], headers: Mapping[str, str], body: bytes,
                 client_ip: str | None = None) -> None:
        self.method = method
        self._url = url
        self.path_params = path_params
        self.query = query
        self.headers = headers  # lower-case names
        self.body = body
        self.client_ip = client_ip

    @property
    def url(self) -> str:
        if not isinstance(self._url, str):
            self._url = self._url()
        return self._url

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"InboundRequest({self.method} {self.url}, {len(self.body)} bytes)"


@dataclass
class Reply:
    status_code: int = 200
    body: bytes | str = b""
    media_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


# Called with the tracking numbers once the messages are durable.
AckBuilder = Callable[[list[str]], Reply]


@dataclass
class Parsed:
    """The messages an adapter found in one request, and how to acknowledge them."""

    messages: list[IntakeMessage]
    ack: AckBuilder
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    path: str


class ChannelAdapter(Protocol):
    name: ClassVar[str]
    routes: ClassVar[tuple[Route, ...]]

    def __init__(self, settings: Settings) -> None: ...

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        """Verify and parse; a `Reply` answers at once (URL checks, ignored events)."""
        ...
