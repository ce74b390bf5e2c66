"""Sina Weibo fan-service push (粉丝服务): URL check, signed JSON pushes, JSON replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import orjson
from pydantic import ValidationError

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.signing import (
    require_secret,
    url_check_echo,
    verify_sha1_push,
)
from hotline.channels.web import parse_json_object
from hotline.intake.schema import (
    Attachment,
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    Location,
    content_key,
    tracking_number_for,
)
from hotline.kit.clock import utcnow
from hotline.kit.settings import Settings

ACK_TEXT = "已受理，您的工单编号 {numbers}。请保存编号，可凭编号查询办理进度。"
WELCOME_TEXT = ("您好，这里是12345政务服务便民热线。请直接私信您要咨询、求助、投诉、举报或建议的事项，"
                "我们受理后会回复工单编号。")
WELCOME_SUBTYPES = {"follow", "subscribe", "scan_follow"}


def _uid(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        raise BadPayload(f"a Weibo push needs {field} (the numeric uid)", field=field)
    return str(value).strip()


def reply_text(citizen_uid: Any, account_uid: Any, text: str) -> Reply:
    """Weibo's reply: `data` is a URL-encoded JSON object, addressed back to the citizen."""
    data = quote(orjson.dumps({"text": text}).decode())
    body = {"result": True, "receiver_id": citizen_uid, "sender_id": account_uid, "type": "text",
            "data": data}
    return Reply(200, orjson.dumps(body), "application/json")


def ignored(reason: str) -> Reply:
    # An empty 200 tells Weibo "received" without a reply; the header tells a developer why.
    return Reply(200, b"", "text/plain", {"X-Hotline-Ignored": reason})


class WeiboAdapter:
    name: ClassVar[str] = "weibo"
    routes: ClassVar[tuple[Route, ...]] = (Route("GET", "/channels/weibo"),
                                           Route("POST", "/channels/weibo"))

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        secret = require_secret(self.settings.weibo_app_secret, "weibo", "HOTLINE_WEIBO_APP_SECRET")
        verify_sha1_push(request.query, secret, "Weibo", "HOTLINE_WEIBO_APP_SECRET")
        if request.method == "GET":
            return Reply(200, url_check_echo(request.query), "text/plain")

        push = parse_json_object(request.body)
        if not isinstance(push, dict):
            raise BadPayload("a Weibo push is a JSON object")
        try:
            return self._parse(push)
        except ValidationError as exc:
            raise Unprocessable(f"the Weibo message has fields out of range: {exc}") from exc

    def _parse(self, push: dict[str, Any]) -> Parsed | Reply:
        kind = str(push.get("type") or "").lower()
        sender = _uid(push.get("sender_id"), "sender_id")
        account = push.get("receiver_id")
        raw_data = push.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        text = str(push.get("text") or "").strip()
        created_at = str(push.get("created_at") or "")

        location: Location | None = None
        attachments: list[Attachment] = []
        media_ref = ""
        if kind == "event":
            # Follow/unfollow/menu/scan events are not tickets (not 工单).
            subtype = str(data.get("subtype") or "").lower()
            if subtype in WELCOME_SUBTYPES:
                return reply_text(push.get("sender_id"), account, WELCOME_TEXT)
            return ignored(f"event {subtype or '?'}")
        if kind == "text":
            message_kind = "text"
            if not text:
                return ignored("empty text")
        elif kind == "position":
            message_kind = "location"
            try:
                lat, lng = float(data["latitude"]), float(data["longitude"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadPayload("a position message needs numeric data.latitude and "
                                 "data.longitude") from exc
            location = Location(lat=lat, lng=lng)
            media_ref = f"{lat},{lng}"
        elif kind in ("image", "voice"):
            message_kind = kind
            media_ref = str(data.get("vfid") or "")
            attachments.append(Attachment(kind=kind, media_id=media_ref or None))
        else:
            return ignored(f"message type {kind or '?'}")

        # Weibo gives no message id and retries 3 times: the same who + when + what is one message.
        external_id = content_key(sender, created_at, text, media_ref)
        try:
            sent_at: str | None = datetime.strptime(created_at, "%a %b %d %H:%M:%S %z %Y").isoformat()
        except ValueError:
            sent_at = None
        msg = IntakeMessage(
            channel=Channel.WEIBO,
            external_id=external_id,
            tracking_number=tracking_number_for(Channel.WEIBO, external_id,
                                                self.settings.tracking_prefix),
            citizen=Citizen(identity_kind=IdentityKind.WEIBO_UID, identity=sender),
            text=text,
            location=location,
            attachments=attachments,
            received_at=utcnow(),
            raw=push,
            meta={"message_kind": message_kind, "account": account, "sent_at": sent_at,
                  **({"tovfid": data["tovfid"]} if data.get("tovfid") else {})},
        )
        citizen_uid = push.get("sender_id")
        return Parsed([msg], ack=lambda tns: reply_text(citizen_uid, account,
                                                       ACK_TEXT.format(numbers="、".join(tns))))
