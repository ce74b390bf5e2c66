"""The city's mobile app: JSON posted with a per-app key in the `X-Hotline-App-Key` header."""

from __future__ import annotations

from typing import ClassVar, Literal

import orjson
from pydantic import BaseModel, Field, ValidationError, model_validator

from hotline.channels.app_keys import AppKeyring
from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.phone_numbers import normalize_phone
from hotline.channels.web import WebLocation, parse_json_object, validation_errors
from hotline.intake.schema import (
    Attachment,
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    Location,
    tracking_number_for,
)
from hotline.kit.clock import utcnow
from hotline.kit.settings import Settings

KEY_HEADER = "X-Hotline-App-Key"


class AppAttachment(BaseModel):
    kind: Literal["image", "voice", "video", "link", "file"]
    url: str | None = Field(None, max_length=2000)
    title: str | None = Field(None, max_length=500)
    content_type: str | None = Field(None, max_length=100)
    text: str | None = Field(None, max_length=10_000, description="speech recognition, caption")


class AppMessage(BaseModel):
    client_message_id: str = Field(min_length=1, max_length=128,
                                   description="the app's own id for this message: re-sends reuse it")
    kind: Literal["text", "image", "voice", "video", "location"] = "text"
    user_id: str | None = Field(None, min_length=1, max_length=128, description="the app's user id")
    phone: str | None = Field(None, min_length=3, max_length=32)
    name: str | None = Field(None, max_length=100)
    text: str = Field("", max_length=10_000)
    subject: str | None = Field(None, max_length=500)
    location: WebLocation | None = None
    attachments: list[AppAttachment] = Field(default_factory=list, max_length=20)
    confidential: bool = False

    @model_validator(mode="after")
    def _something_to_say(self) -> AppMessage:
        self.text = self.text.strip()
        if not self.user_id and not self.phone:
            raise ValueError("give user_id or phone: the citizen must be reachable")
        if self.kind == "text" and not self.text:
            raise ValueError("a text message needs non-blank text")
        if self.kind == "location" and self.location is None:
            raise ValueError("a location message needs location")
        if self.kind in ("image", "voice", "video") and not self.attachments:
            raise ValueError(f"an {self.kind} message needs at least one attachment")
        return self


class AppAdapter:
    name: ClassVar[str] = "app"
    routes: ClassVar[tuple[Route, ...]] = (Route("POST", "/channels/app"),)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keyring = AppKeyring(settings)

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        app = self.keyring.identify(request.header(KEY_HEADER))
        data = parse_json_object(request.body)
        if not isinstance(data, dict):
            raise BadPayload("the body must be a JSON object")
        try:
            form = AppMessage.model_validate(data)
        except ValidationError as exc:
            raise Unprocessable("the message is missing fields or has wrong ones",
                                errors=validation_errors(exc)) from exc
        phone = normalize_phone(form.phone) if form.phone else None
        citizen = (Citizen(identity_kind=IdentityKind.PHONE, identity=phone, name=form.name, phone=phone,
                           confidential=form.confidential)
                   if phone else
                   Citizen(identity_kind=IdentityKind.APP_USER, identity=f"{app}:{form.user_id}",
                           name=form.name, confidential=form.confidential))
        # Two apps may reuse the same message ids: the app's name scopes them.
        external_id = f"{app}:{form.client_message_id}"
        msg = IntakeMessage(
            channel=Channel.APP,
            external_id=external_id,
            tracking_number=tracking_number_for(Channel.APP, external_id, self.settings.tracking_prefix),
            citizen=citizen,
            subject=form.subject,
            text=form.text,
            location=Location(**form.location.model_dump()) if form.location else None,
            attachments=[Attachment(**a.model_dump()) for a in form.attachments],
            received_at=utcnow(),
            raw=data,
            meta={"message_kind": form.kind, "app": app, "user_id": form.user_id},
        )
        return Parsed([msg], ack=lambda tns: Reply(202, orjson.dumps({"tracking_number": tns[0]}),
                                                   "application/json"),
                      meta={"rate_limit_key": phone or citizen.identity})
