"""The normalized intake message (schema version 1): what every channel adapter produces.

It is the only thing a channel adapter knows of hotline. Version it: a router must be able to
read every version still on the topic.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

SCHEMA_VERSION: Literal[1] = 1
# Crockford base32: no I, L, O, U, so a number read out over the phone is not misheard.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# C0 control characters a citizen never means to send (NUL above all: PostgreSQL cannot store it
# in text or JSON, so one such message would stop a router batch); tab and newlines are kept.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))
# One C-level scan of a string, not a Python loop over its characters.
_HAS_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]").search
# JSON cannot carry a raw control character in a string (orjson refuses one): only an escape
# makes one, \b, \f or \u0000-\u001f. Bytes without any such escape decode to clean strings.
# (A false alarm, as an escaped backslash before "b" or \u000a, only costs the clean-up.)
_ESCAPED_CONTROL = re.compile(rb"\\(?:[bf]|u00[01][0-9A-Fa-f])").search
# The validation context of a value already cleaned as a whole (`IntakeMessage.from_bytes`).
_CLEANED: dict[str, bool] = {"hotline.intake.cleaned": True}


def clean_text(value: Any) -> Any:
    """Strip control characters from every string in a value (str, list, dict), keeping structure."""
    if isinstance(value, (list, dict)):
        # Nearly every value is clean: one C-level serialisation says so (JSON escapes each control
        # character), instead of a Python call per string of a platform's nested payload (`raw`).
        # Objects orjson cannot write (a nested model, already cleaned at its own construction)
        # are written as null; what orjson refuses as a whole is walked.
        try:
            if not _ESCAPED_CONTROL(orjson.dumps(value, default=_opaque, option=orjson.OPT_NON_STR_KEYS)):
                return value
        except orjson.JSONEncodeError:
            pass
    return _strip(value)


def _opaque(_: Any) -> None:
    return None


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_CONTROL) if _HAS_CONTROL(value) else value
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, dict):
        return {_strip(k): _strip(v) for k, v in value.items()}
    return value


class _Clean(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any, info: ValidationInfo) -> Any:
        # At the one boundary every channel passes through, so no adapter can forget it.
        if info.context is _CLEANED:  # cleaned once as a whole (from_bytes), nested models included
            return data
        return clean_text(data) if isinstance(data, dict) else data


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    APP = "app"
    SMS = "sms"
    WEIBO = "weibo"
    WECHAT = "wechat"
    OPEN311 = "open311"


class IdentityKind(StrEnum):
    PHONE = "phone"
    WECHAT_OPENID = "wechat_openid"
    WEIBO_UID = "weibo_uid"
    APP_USER = "app_user"
    EMAIL = "email"
    ANONYMOUS = "anonymous"


class Citizen(_Clean):
    """Who sent the message, as the channel knows them."""

    model_config = ConfigDict(frozen=True)

    identity_kind: IdentityKind
    identity: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=32, description="E.164")
    email: str | None = Field(None, max_length=200)
    confidential: bool = Field(False, description="the citizen asked not to be named (保密)")


class Location(_Clean):
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)
    label: str | None = Field(None, max_length=500)


class Attachment(_Clean):
    kind: Literal["image", "voice", "video", "link", "file", "location"]
    url: str | None = Field(None, max_length=2000)
    media_id: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=500)
    content_type: str | None = None
    text: str | None = Field(None, description="speech recognition or link description")


class IntakeMessage(_Clean):
    """One citizen message, normalized. `(channel, external_id)` identifies it for ever."""

    schema_version: Literal[1] = SCHEMA_VERSION
    channel: Channel
    external_id: str = Field(min_length=1, max_length=200)
    tracking_number: str = Field(min_length=4, max_length=40)
    citizen: Citizen
    text: str = Field(max_length=20_000)
    subject: str | None = Field(None, max_length=500)
    location: Location | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    received_at: datetime
    raw: Any = Field(None, description="the platform's payload as received, kept for audit")
    meta: dict[str, Any] = Field(default_factory=dict, description="channel specifics (account id, call id)")

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("received_at must carry a time zone")
        return v.astimezone(UTC)

    @property
    def partition_key(self) -> bytes:
        """One citizen's messages stay on one partition, so they stay in order."""
        return f"{self.citizen.identity_kind}:{self.citizen.identity}".encode()

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, data: bytes) -> IntakeMessage:
        """The message a record on the intake topic carries; the same validation as
        `model_validate`, with the control characters stripped once for the whole value rather
        than once per nested model, and not at all when the bytes hold no escape making one."""
        value = orjson.loads(data)
        if _ESCAPED_CONTROL(data.encode() if isinstance(data, str) else data):
            value = clean_text(value)
        return cls.model_validate(value, context=_CLEANED)


def tracking_number_for(channel: str, external_id: str, prefix: str = "DG") -> str:
    """The public tracking number, derived from the message identity.

    Deterministic so that a gateway (which has no database) answers a re-sent message with the
    same number it gave the first time; 60 bits, so collisions are negligible at a province's
    volume (the database's unique constraint still guards them).
    """
    digest = hashlib.sha256(f"{channel}\x1f{external_id}".encode()).digest()
    n = int.from_bytes(digest[:8], "big") >> 4  # 60 bits
    chars = []
    for _ in range(12):
        chars.append(_CROCKFORD[n & 31])
        n >>= 5
    return prefix + "".join(reversed(chars))


def content_key(*parts: str | None) -> str:
    """A stable id for messages whose platform gives none (hash of who + when + what)."""
    h = hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).digest()
    return "h:" + base64.b32encode(h[:20]).decode().rstrip("=").lower()
