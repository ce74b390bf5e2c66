"""Phone: the PBX's CTI events (Zammad's generic CTI shape, JSON or form) as calls, not tickets.

A call becomes a ticket only when the agent who took it writes one through the API; here the
PBX tells hotline who called, who answered, when and why it ended (missed calls are called back).
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar
from urllib.parse import parse_qs

import orjson
import phonenumbers
from pydantic import ValidationError

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.clock import utcnow
from hotline.kit.errors import Forbidden, NotFound
from hotline.kit.settings import Settings

EVENTS = ("newCall", "answer", "hangup")
CAUSES = ("normalClearing", "busy", "cancel", "noAnswer", "congestion", "notFound", "forwarded")
ANONYMOUS = "anonymous"
_HIDDEN = {"", "anonymous", "unknown", "restricted", "private", "withheld"}
# Call-detail fields some PBXes add (Asterisk CDR, FreeSWITCH json_cdr): kept with the call.
_DETAIL_FIELDS = ("duration", "billsec", "disposition", "uniqueid", "hangup_cause")
_KNOWN = {"event", "from", "to", "direction", "callId", "call_id", "user", "user[]", "queue",
          "answeringNumber", "cause", "recordingUrl", "recording_url", "recording", "start",
          "answer", "end", "start_stamp", "answer_stamp", "end_stamp"}


class CtiNotConfigured(NotFound):
    title = "Channel not configured"


def phone_or_anonymous(raw: str | None) -> str:
    """E.164 where the number can be read (Chinese numbers by default), else "anonymous"."""
    raw = (raw or "").strip()
    if raw.lower() in _HIDDEN:
        return ANONYMOUS
    candidates = [raw]
    digits = "".join(c for c in raw if c.isdigit())
    if digits and not raw.startswith(("+", "0")):
        candidates.append("+" + digits)  # PBXes often send the country code without a plus
    for candidate in candidates:
        try:
            num = phonenumbers.parse(candidate, "CN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    # An extension or short code (e.g. 12345 itself): keep it as the PBX wrote it.
    return digits if digits else ANONYMOUS


def _form(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload("the body is not UTF-8") from exc
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadPayload(f"the body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise BadPayload("the body must be a JSON object")
        return data
    out: dict[str, Any] = {}
    for key, values in parse_qs(text, keep_blank_values=True).items():
        # `user` may be repeated (user=a&user=b, or PHP-style user[]=a): a list of agents.
        out[key] = values if key in ("user", "user[]") else values[-1]
    return out


def _agents(data: dict[str, Any]) -> list[str]:
    raw = data.get("user", data.get("user[]"))
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [str(v).strip() for v in values if str(v).strip()][:20]


def _text(data: dict[str, Any], *names: str, limit: int = 200) -> str | None:
    for n in names:
        v = data.get(n)
        if v is not None and str(v).strip():
            return str(v).strip()[:limit]
    return None


class PhoneCtiAdapter:
    name: ClassVar[str] = "phone"
    routes: ClassVar[tuple[Route, ...]] = (Route("POST", "/channels/phone/{token}"),)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        expected = self.settings.cti_token
        if not expected:
            raise CtiNotConfigured("the phone channel is not configured: set HOTLINE_CTI_TOKEN")
        given = request.path_params.get("token", "")
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise Forbidden("the CTI token in the URL is wrong: check the PBX's webhook URL")
        data = _form(request.body, request.header("content-type") or "")

        event = _text(data, "event")
        if event not in EVENTS:
            raise Unprocessable(f"unknown CTI event {event!r}: expected one of {', '.join(EVENTS)}",
                                field="event")
        call_id = _text(data, "callId", "call_id")
        if not call_id:
            raise Unprocessable("a CTI event needs a callId", field="callId")
        direction = (_text(data, "direction") or "in").lower()
        if direction not in ("in", "out"):
            raise Unprocessable(f"direction must be 'in' or 'out', not {direction!r}", field="direction")
        cause = _text(data, "cause", limit=32)  # kept verbatim: PBXes add causes beyond CAUSES
        caller = phone_or_anonymous(_text(data, "from"))
        callee = phone_or_anonymous(_text(data, "to"))
        # The citizen is the far end: the caller of an inbound call, the callee of a call-back.
        citizen_number = caller if direction == "in" else callee
        citizen = (Citizen(identity_kind=IdentityKind.PHONE, identity=citizen_number, phone=citizen_number)
                   if citizen_number.startswith("+")
                   else Citizen(identity_kind=IdentityKind.ANONYMOUS, identity=ANONYMOUS))
        # Anything else the PBX sent (CDR fields) is kept with the call, scalars only, bounded.
        details = {k: data[k] for k in _DETAIL_FIELDS if k in data}
        details.update({k[:64]: v for k, v in list(data.items())[:50] if k not in _KNOWN
                        and k not in details and isinstance(v, str | int | float)})
        external_id = f"{call_id}:{event}"
        try:
            msg = IntakeMessage(
                channel=Channel.PHONE,
                external_id=external_id,
                tracking_number=tracking_number_for(Channel.PHONE, external_id,
                                                    self.settings.tracking_prefix),
                citizen=citizen,
                text="",
                received_at=utcnow(),
                raw=data,
                meta={
                    "message_kind": "call_event",
                    "event": event,
                    "call_id": call_id,
                    "direction": direction,
                    "from": caller,
                    "to": callee,
                    "user": _agents(data),
                    "queue": _text(data, "queue", limit=100),
                    "answering_number": _text(data, "answeringNumber", limit=64),
                    "cause": cause,
                    "recording_url": _text(data, "recordingUrl", "recording_url", "recording",
                                           limit=2000),
                    "started_at": _text(data, "start", "start_stamp"),
                    "answered_at": _text(data, "answer", "answer_stamp"),
                    "ended_at": _text(data, "end", "end_stamp"),
                    "details": details,
                },
            )
        except ValidationError as exc:
            raise Unprocessable(f"the CTI event has fields out of range: {exc}") from exc
        # The PBX (py-zammad-cti, Zammad's clients) reads the answer as JSON; `{}` means "go on".
        return Parsed([msg], ack=lambda _tns: Reply(200, b"{}", "application/json"))
