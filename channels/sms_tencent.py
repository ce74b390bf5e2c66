"""SMS reply callback from Tencent Cloud (腾讯云短信回复回调), protected by a token in the path."""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.phone_numbers import normalize_phone
from hotline.channels.signing import require_secret
from hotline.channels.web import parse_json_object, validation_errors
from hotline.intake.schema import (
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    content_key,
    tracking_number_for,
)
from hotline.kit.clock import utcnow
from hotline.kit.errors import Forbidden
from hotline.kit.settings import Settings

OK = {"result": 0, "errmsg": "OK"}


class TencentReply(BaseModel):
    model_config = ConfigDict(extra="allow")

    mobile: str = Field(min_length=3, max_length=32)
    nationcode: str = Field("86", max_length=6)
    text: str = Field("", max_length=20_000)
    time: int | None = None
    sign: str | None = None
    extend: str | None = None

    @field_validator("mobile", "nationcode", "extend", mode="before")
    @classmethod
    def _number_or_string(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def ok(tracking_numbers: list[str], ignored: str | None = None) -> Reply:
    headers = {"X-Hotline-Tracking-Numbers": ",".join(tracking_numbers)} if tracking_numbers else {}
    if ignored:
        headers["X-Hotline-Ignored"] = ignored
    return Reply(200, orjson.dumps(OK), "application/json", headers)


class TencentSmsAdapter:
    name: ClassVar[str] = "sms_tencent"
    routes: ClassVar[tuple[Route, ...]] = (Route("POST", "/channels/sms/tencent/{token}"),)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        secret = require_secret(self.settings.sms_tencent_token, "sms/tencent",
                                "HOTLINE_SMS_TENCENT_TOKEN")
        token = request.path_params.get("token", "")
        if not hmac.compare_digest(token.encode(), secret.encode()):
            raise Forbidden("the token in the URL is wrong: check HOTLINE_SMS_TENCENT_TOKEN")
        data = parse_json_object(request.body)
        if not isinstance(data, dict):
            raise BadPayload("a Tencent SMS callback is a JSON object")
        try:
            sms = TencentReply.model_validate(data)
        except ValidationError as exc:
            raise Unprocessable("the SMS is missing fields or has wrong ones",
                                errors=validation_errors(exc)) from exc
        text = sms.text.strip()
        if not text:
            return ok([], "empty text")
        nation = sms.nationcode.lstrip("+") or "86"
        phone = normalize_phone(f"+{nation}{sms.mobile}" if not sms.mobile.startswith("+") else sms.mobile)
        # Tencent gives no message id: the same sender + time + text is one message.
        external_id = "tencent:" + content_key(phone, str(sms.time or ""), text)
        msg = IntakeMessage(
            channel=Channel.SMS,
            external_id=external_id,
            tracking_number=tracking_number_for(Channel.SMS, external_id, self.settings.tracking_prefix),
            citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, phone=phone),
            text=text,
            received_at=utcnow(),
            raw=data,
            meta={"message_kind": "text", "provider": "tencent", "sent_at": sms.time,
                  "sign": sms.sign, "extend": sms.extend},
        )
        return Parsed([msg], ack=lambda tns: ok(tns))
