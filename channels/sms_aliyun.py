"""SMS uplink from Alibaba Cloud (阿里云短信上行推送): a JSON array, protected by a token in the path."""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.phone_numbers import normalize_phone
from hotline.channels.signing import require_secret
from hotline.channels.web import parse_json_object, validation_errors
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.clock import utcnow
from hotline.kit.errors import Forbidden
from hotline.kit.settings import Settings

# Anything but this answer (and HTTP 200) makes Aliyun push again after 1, 5 and 10 minutes.
RECEIVED = {"code": 0, "msg": "接收成功"}


class AliyunUplink(BaseModel):
    model_config = ConfigDict(extra="allow")

    phone_number: str = Field(min_length=3, max_length=32)
    content: str = Field("", max_length=20_000)
    send_time: str | None = None
    dest_code: str | None = None
    sign_name: str | None = None
    sequence_id: str = Field(min_length=1, max_length=100)

    @field_validator("sequence_id", "phone_number", "dest_code", mode="before")
    @classmethod
    def _number_or_string(cls, v: Any) -> Any:
        # sequence_id comes as a string or a number depending on the API version.
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def received(tracking_numbers: list[str], ignored: int = 0) -> Reply:
    headers = {"X-Hotline-Tracking-Numbers": ",".join(tracking_numbers)} if tracking_numbers else {}
    if ignored:
        headers["X-Hotline-Ignored"] = f"{ignored} empty message(s)"
    return Reply(200, orjson.dumps(RECEIVED), "application/json", headers)


class AliyunSmsAdapter:
    name: ClassVar[str] = "sms_aliyun"
    routes: ClassVar[tuple[Route, ...]] = (Route("POST", "/channels/sms/aliyun/{token}"),)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        secret = require_secret(self.settings.sms_aliyun_token, "sms/aliyun", "HOTLINE_SMS_ALIYUN_TOKEN")
        token = request.path_params.get("token", "")
        if not hmac.compare_digest(token.encode(), secret.encode()):
            raise Forbidden("the token in the URL is wrong: check HOTLINE_SMS_ALIYUN_TOKEN")
        data = parse_json_object(request.body)
        if isinstance(data, dict):  # tolerate a single object; the documented shape is an array
            data = [data]
        if not isinstance(data, list):
            raise BadPayload("an Aliyun SMS push is a JSON array of messages")
        try:
            uplinks = [AliyunUplink.model_validate(item) for item in data]
        except ValidationError as exc:
            raise Unprocessable("an SMS in the push is missing fields or has wrong ones",
                                errors=validation_errors(exc)) from exc
        messages = []
        now = utcnow()
        for up in uplinks:
            text = up.content.strip()
            if not text:
                continue  # nothing to act on; still answered "received" so Aliyun stops retrying
            phone = normalize_phone(up.phone_number)
            external_id = f"aliyun:{up.sequence_id}"
            messages.append(IntakeMessage(
                channel=Channel.SMS,
                external_id=external_id,
                tracking_number=tracking_number_for(Channel.SMS, external_id,
                                                    self.settings.tracking_prefix),
                citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, phone=phone),
                text=text,
                received_at=now,
                raw=up.model_dump(),
                meta={"message_kind": "text", "provider": "aliyun", "sent_at": up.send_time,
                      "dest_code": up.dest_code, "sign_name": up.sign_name},
            ))
        skipped = len(uplinks) - len(messages)
        if not messages:
            return received([], skipped)
        return Parsed(messages, ack=lambda tns: received(tns, skipped))
