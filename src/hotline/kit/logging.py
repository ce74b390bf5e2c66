"""Logging: human-readable in development, one JSON object per line in production.

Every record carries the request id, tracking number and channel known in its context, and
passes a filter that masks phone numbers and configured secrets before any handler sees it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

# Set by the HTTP middleware (request id) and by the code that learns a ticket's identity.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
tracking_number_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tracking_number", default=None)
channel_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("channel", default=None)

CONTEXT_KEYS = ("request_id", "tracking_number", "channel")
_CONTEXT_VARS = {"request_id": request_id_var, "tracking_number": tracking_number_var,
                 "channel": channel_var}

# Chinese mobiles (optionally +86/86, optionally split 3-4-4) and any E.164 number.
_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_E164 = re.compile(r"(?<!\d)\+([1-9]\d{0,2})[-\s]?(\d[\d\s-]{5,13}\d)(?!\d)")
# The attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


def _mask_mobile(m: re.Match[str]) -> str:
    return f"{m.group(1)}****{m.group(3)}"


def _mask_e164(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(2))
    return f"+{m.group(1)}{'*' * max(len(digits) - 4, 0)}{digits[-4:]}"


def redact_phones(text: str) -> str:
    """Mask every phone number in `text`: 13800138000 → 138****8000."""
    if not any(c.isdigit() for c in text):
        return text
    return _E164.sub(_mask_e164, _CN_MOBILE.sub(_mask_mobile, text))


class RedactingFilter(logging.Filter):
    """Masks phone numbers and the given secret values in the message, extras and traceback.

    Attached to the handler, so records from every logger (ours, uvicorn's, libraries') pass it.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        # Short values would mask ordinary words; real secrets are long.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, "[redacted]")
        return redact_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                record.__dict__[key] = self.redact(value)
        return True


class ContextFilter(logging.Filter):
    """Copies the request id, tracking number and channel of the current context onto records."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, var in _CONTEXT_VARS.items():
            if getattr(record, key, None) is None:
                setattr(record, key, var.get())
        return True


@contextmanager
def log_context(tracking_number: str | None = None, channel: str | None = None) -> Iterator[None]:
    """Records logged inside carry this ticket's tracking number and channel."""
    tokens = []
    if tracking_number is not None:
        tokens.append((tracking_number_var, tracking_number_var.set(tracking_number)))
    if channel is not None:
        tokens.append((channel_var, channel_var.set(channel)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """`time LEVEL logger [request id tracking number]: message` — for `hotline dev`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s%(ctx)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [str(v) for k in CONTEXT_KEYS if (v := getattr(record, k, None)) is not None]
        record.ctx = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def make_handler(json_lines: bool = False, secrets: Iterable[str | None] = (),
                 stream: object = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter() if json_lines else HumanFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    return handler


def configure_logging(level: str = "INFO", json_lines: bool = False,
                      secrets: Iterable[str | None] = ()) -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(json_lines, secrets)]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)


def secrets_of(settings: object) -> list[str]:
    """Every configured secret value: tokens, keys, secrets, passwords, the database password."""
    from sqlalchemy.engine import make_url

    out: list[str] = []
    for name in type(settings).model_fields:  # type: ignore[attr-defined]
        if any(w in name for w in ("token", "secret", "password", "aes_key", "api_key")):
            value = getattr(settings, name, None)
            if isinstance(value, str):
                out.append(value)
        elif name.endswith("_keys"):  # "name:digest,name:digest" lists (app keys)
            value = getattr(settings, name, None) or ""
            out += [p.rsplit(":", 1)[-1] for p in str(value).split(",") if p.strip()]
    url = getattr(settings, "database_url", None)
    if url:
        try:
            password = make_url(url).password
        except Exception:  # noqa: BLE001 - a malformed URL fails later, loudly, elsewhere
            password = None
        if password:
            out.append(str(password))
    return out
