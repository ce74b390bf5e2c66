"""Open311 GeoReport v2 intake: `services.json` and `POST requests.json` (form-encoded, `api_key`).

Errors use GeoReport's own shape, `[{"code": 400, "description": "..."}]`, which Open311 client
libraries show to their users. Reading requests back is the API's job (hotline.open311).
"""

from __future__ import annotations

import math
from typing import ClassVar
from urllib.parse import parse_qs

import orjson
from pydantic import ValidationError

from hotline.channels.app_keys import AppKeyring
from hotline.channels.base import InboundRequest, Parsed, Reply, Route
from hotline.channels.open311_services import load_services, services_by_code
from hotline.channels.phone_numbers import normalize_phone
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
from hotline.kit.errors import HotlineError
from hotline.kit.settings import Settings

MAX_DESCRIPTION = 4000
_JSON = "application/json"


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def reply(self) -> Reply:
        return Reply(self.status, orjson.dumps([{"code": self.status, "description": self.description}]),
                     _JSON)


def _fields(request: InboundRequest) -> dict[str, str]:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Open311Error(400, "the body is not UTF-8") from exc
    if "json" in (request.header("content-type") or ""):
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            raise Open311Error(400, f"the body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise Open311Error(400, "the body must be a JSON object")
        return {k: str(v) for k, v in data.items() if v is not None}
    fields = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    # GeoReport clients may also put api_key in the query string.
    for k, v in request.query.items():
        fields.setdefault(k, v)
    return fields


def _coordinate(fields: dict[str, str], name: str, bound: float) -> float | None:
    raw = fields.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a number in decimal degrees, not {raw[:30]!r}") from exc
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, f"{name} must be between -{bound:g} and {bound:g}")
    return value


class Open311Adapter:
    name: ClassVar[str] = "open311"
    public: ClassVar[bool] = True  # citizens' apps post here directly: limited per address
    routes: ClassVar[tuple[Route, ...]] = (Route("GET", "/open311/v2/services.json"),
                                           Route("POST", "/open311/v2/requests.json"))

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keyring = AppKeyring(settings)
        self.services = services_by_code(settings.open311_services_path)

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        if request.method == "GET":
            return Reply(200, orjson.dumps(list(load_services(self.settings.open311_services_path))),
                         _JSON)
        try:
            return self._request(request)
        except Open311Error as exc:
            return exc.reply()

    def _request(self, request: InboundRequest) -> Parsed:
        fields = _fields(request)
        try:
            app = self.keyring.identify(fields.get("api_key"), "api_key parameter")
        except HotlineError as exc:
            raise Open311Error(403, exc.detail) from exc
        code = fields.get("service_code", "").strip()
        if not code:
            raise Open311Error(400, "service_code is required (see GET /open311/v2/services.json)")
        service = self.services.get(code)
        if service is None:
            raise Open311Error(404, f"service_code {code[:64]!r} not found "
                                    "(see GET /open311/v2/services.json)")
        lat, lng = _coordinate(fields, "lat", 90), _coordinate(fields, "long", 180)
        address = fields.get("address_string", "").strip()[:500] or None
        if (lat is None) != (lng is None):
            raise Open311Error(400, "lat and long must be given together")
        if lat is None and not address:
            raise Open311Error(400, "a location is required: lat and long, or address_string")
        description = fields.get("description", "").strip()
        if len(description) > MAX_DESCRIPTION:
            raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
        citizen = self._citizen(app, fields)
        media_url = fields.get("media_url", "").strip()[:2000] or None
        external_id = content_key(app, citizen.identity, code, description, str(lat), str(lng),
                                  address, media_url)
        try:
            msg = IntakeMessage(
                channel=Channel.OPEN311,
                external_id=external_id,
                tracking_number=tracking_number_for(Channel.OPEN311, external_id,
                                                    self.settings.tracking_prefix),
                citizen=citizen,
                subject=service["service_name"],
                text=description or service["service_name"],
                location=Location(lat=lat, lng=lng, address=address),
                attachments=[Attachment(kind="image", url=media_url)] if media_url else [],
                received_at=utcnow(),
                raw={k: v for k, v in fields.items() if k != "api_key"},
                meta={"message_kind": "text", "service_code": code, "app": app,
                      "address_id": fields.get("address_id") or None,
                      "device_id": fields.get("device_id") or None,
                      "account_id": fields.get("account_id") or None},
            )
        except ValidationError as exc:
            raise Open311Error(400, f"the request has fields out of range: {exc.errors()[0]['msg']}") from exc

        def ack(tns: list[str]) -> Reply:
            return Reply(200, orjson.dumps([{"service_request_id": tns[0], "service_notice": None,
                                             "account_id": None}]), _JSON)

        return Parsed([msg], ack=ack)

    @staticmethod
    def _citizen(app: str, fields: dict[str, str]) -> Citizen:
        name = " ".join(p for p in (fields.get("last_name", "").strip(),
                                    fields.get("first_name", "").strip()) if p)[:100] or None
        email = fields.get("email", "").strip()[:200] or None
        phone_raw = fields.get("phone", "").strip()
        if phone_raw:
            try:
                phone = normalize_phone(phone_raw)
            except HotlineError as exc:
                raise Open311Error(400, exc.detail) from exc
            return Citizen(identity_kind=IdentityKind.PHONE, identity=phone, name=name, phone=phone,
                           email=email)
        if email:
            return Citizen(identity_kind=IdentityKind.EMAIL, identity=email.lower(), name=name,
                           email=email)
        account = fields.get("account_id", "").strip() or fields.get("device_id", "").strip()
        if account:
            return Citizen(identity_kind=IdentityKind.APP_USER, identity=f"{app}:{account[:150]}",
                           name=name)
        return Citizen(identity_kind=IdentityKind.ANONYMOUS, identity="anonymous", name=name)
