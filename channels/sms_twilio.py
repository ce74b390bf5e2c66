"""SMS uplink the Twilio way (the de facto webhook): signed form posts, TwiML replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from pydantic import ValidationError

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.phone_numbers import normalize_phone
from hotline.channels.signing import require_secret
from hotline.intake.schema import (
    Attachment,
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    tracking_number_for,
)
from hotline.kit.clock import utcnow
from hotline.kit.errors import Forbidden, Unauthorized
from hotline.kit.settings import Settings

ACK_TEXT = "已受理，您的工单编号 {numbers}。"
TWIML = '<?xml version="1.0" encoding="UTF-8"?>'
# Twilio signs with SHA-1 by default; a webhook shared key may ask for SHA-256 in this header.
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def twilio_signature(token: str, url: str, params: Mapping[str, list[str]],
                     algorithm: str = "HMAC_SHA1") -> str:
    """base64(HMAC(token, url + name1 + value1 + …)) over the parameters sorted by name, then value."""
    s = url + "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), _HASHES[algorithm]).digest()).decode()


def _url_variants(url: str) -> Iterator[str]:
    """Twilio signs the URL it called, with or without the default port: accept both."""
    yield url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    bare = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    yield bare
    yield with_port


def _media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0].lower()
    return {"image": "image", "audio": "voice", "video": "video"}.get(major, "file")


def twiml(message: str | None) -> Reply:
    body = f"{TWIML}<Response><Message>{escape(message)}</Message></Response>" if message else \
        f"{TWIML}<Response/>"
    return Reply(200, body, "application/xml")


class TwilioSmsAdapter:
    name: ClassVar[str] = "sms_twilio"
    routes: ClassVar[tuple[Route, ...]] = (Route("POST", "/channels/sms/twilio"),)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        token = require_secret(self.settings.twilio_auth_token, "sms/twilio",
                               "HOTLINE_TWILIO_AUTH_TOKEN")
        signature = request.header("x-twilio-signature")
        if not signature:
            raise Unauthorized("the request is not signed: X-Twilio-Signature is missing")
        try:
            params = parse_qs(request.body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=False, errors="strict")
        except UnicodeDecodeError as exc:
            raise BadPayload("the form body is not UTF-8") from exc
        algorithm = "HMAC_SHA1"
        for part in (request.header(SETTINGS_HEADER) or "").split(","):
            key, _, value = part.partition("=")
            if key.strip() == "algorithm" and value.strip():
                algorithm = value.strip().upper()
        if algorithm not in _HASHES:
            raise Forbidden(f"unsupported Twilio signature algorithm {algorithm}")
        # The URL as called first: the other spellings only when it does not match.
        expected = (twilio_signature(token, u, params, algorithm) for u in _url_variants(request.url))
        if not any(hmac.compare_digest(e.encode(), signature.encode()) for e in expected):
            raise Forbidden("X-Twilio-Signature does not match: check HOTLINE_TWILIO_AUTH_TOKEN and "
                            "that the webhook URL configured at the provider is the one called")
        form = {k: v[0] for k, v in params.items()}
        try:
            return self._parse(form)
        except ValidationError as exc:
            raise Unprocessable(f"the SMS has fields out of range: {exc}") from exc

    def _parse(self, form: dict[str, str]) -> Parsed | Reply:
        sid = form.get("MessageSid") or form.get("SmsSid")
        sender = form.get("From")
        if not sid or not sender:
            raise BadPayload("an SMS webhook needs MessageSid and From")
        text = form.get("Body", "").strip()
        try:
            num_media = max(0, min(int(form.get("NumMedia") or 0), 10))
        except ValueError as exc:
            raise BadPayload("NumMedia must be a number") from exc
        attachments = [
            Attachment(kind=_media_kind(form.get(f"MediaContentType{i}", "")),  # type: ignore[arg-type]
                       url=form.get(f"MediaUrl{i}") or None,
                       content_type=form.get(f"MediaContentType{i}") or None)
            for i in range(num_media) if form.get(f"MediaUrl{i}")
        ]
        if not text and not attachments:
            return Reply(200, f"{TWIML}<Response/>", "application/xml",
                         {"X-Hotline-Ignored": "empty message"})
        kind = attachments[0].kind if attachments else "text"
        phone = normalize_phone(sender)
        external_id = f"twilio:{sid}"
        msg = IntakeMessage(
            channel=Channel.SMS,
            external_id=external_id,
            tracking_number=tracking_number_for(Channel.SMS, external_id, self.settings.tracking_prefix),
            citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, phone=phone),
            text=text,
            attachments=attachments,
            received_at=utcnow(),
            raw=form,
            meta={"message_kind": kind if kind != "file" else "text", "provider": "twilio",
                  "to": form.get("To"), "account_sid": form.get("AccountSid")},
        )
        return Parsed([msg], ack=lambda tns: twiml(ACK_TEXT.format(numbers="、".join(tns))))
