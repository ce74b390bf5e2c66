"""The city's web form: JSON posted by the website (or a channel bot)."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, Field, ValidationError, field_validator

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.phone_numbers import normalize_phone
from hotline.intake.schema import (
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


class WebLocation(BaseModel):
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)


class WebForm(BaseModel):
    name: str | None = Field(None, max_length=100)
    phone: str = Field(min_length=3, max_length=32)
    text: str = Field(min_length=1, max_length=10_000)
    subject: str | None = Field(None, max_length=500)
    client_message_id: str | None = Field(None, min_length=1, max_length=128)
    location: WebLocation | None = None
    confidential: bool = False

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text must not be blank")
        return v.strip()


def parse_json_object(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadPayload(f"the body is not valid JSON: {exc}") from exc


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]


class WebAdapter:
    name: ClassVar[str] = "web"
    routes: ClassVar[tuple[Route, ...]] = (Route("POST", "/channels/web"),)
    public: ClassVar[bool] = True  # no platform signs it: rate-limited per sender and per address

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        data = parse_json_object(request.body)
        if not isinstance(data, dict):
            raise BadPayload("the body must be a JSON object")
        try:
            form = WebForm.model_validate(data)
        except ValidationError as exc:
            raise Unprocessable("the form is missing fields or has wrong ones",
                                errors=validation_errors(exc)) from exc
        phone = normalize_phone(form.phone)
        external_id = form.client_message_id or content_key(phone, form.subject, form.text)
        msg = IntakeMessage(
            channel=Channel.WEB,
            external_id=external_id,
            tracking_number=tracking_number_for(Channel.WEB, external_id, self.settings.tracking_prefix),
            citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, name=form.name,
                            phone=phone, confidential=form.confidential),
            subject=form.subject,
            text=form.text,
            location=Location(**form.location.model_dump()) if form.location else None,
            received_at=utcnow(),
            raw=data,
        )
        return Parsed([msg], ack=lambda tns: Reply(202, orjson.dumps({"tracking_number": tns[0]}),
                                                   "application/json"),
                      meta={"rate_limit_key": phone})
