"""Helpers for the SLA tests: tickets made through the real ingest at a fixed time, and local
stand-ins for the world's providers (an HTTP API for SMS/webhooks/WeChat, an SMTP server)."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from hotline.departments import repository as departments
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.db import Database
from hotline.routing.schemas import RoutingDecision
from hotline.tickets import repository as tickets
from hotline.tickets.models import Ticket
from hotline.tickets.service import ingest


async def make_ticket(db: Database, received_at: datetime, *, type: str = "complaint",
                      urgency: str = "normal", department: str | None = "env", town: str | None = None,
                      topic: str | None = None, channel: Channel = Channel.WEB,
                      identity_kind: IdentityKind = IdentityKind.PHONE, identity: str = "+8613800138000",
                      phone: str | None = "+8613800138000") -> Ticket:
    """A ticket made by the real ingest, routed as told, received at `received_at`."""
    external_id = uuid.uuid4().hex
    msg = IntakeMessage(channel=channel, external_id=external_id,
                        tracking_number=tracking_number_for(channel.value, external_id),
                        citizen=Citizen(identity_kind=identity_kind, identity=identity, phone=phone),
                        text="测试工单", received_at=received_at)

    def route(texts: list[str], *_: Any) -> list[RoutingDecision]:
        return [RoutingDecision(type=type, urgency=urgency, department_code=department, town_code=town,
                                topic=topic) for _ in texts]

    async with db.unit_of_work() as s:
        await ingest(s, [msg], route, await departments.active_codes(s))
    async with db.unit_of_work() as s:
        t = await tickets.get_by_tracking_number(s, msg.tracking_number)
        assert t is not None
        return t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Provider:
    """A local HTTP provider: records every request; `down` makes it answer 503."""

    down: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=lambda: {"ok": True})

    def __post_init__(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if provider.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                provider.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                out = json.dumps(provider.reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json_bodies(self, path_prefix: str = "") -> list[Any]:
        return [json.loads(r["body"]) for r in self.requests if r["path"].startswith(path_prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A local SMTP server (aiosmtpd) that keeps what it receives; stop() it to play 'down'."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[dict[str, Any]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append({"to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8", "replace")})
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
