"""Opaque keyset cursors: a page boundary that inserts and updates can never shift."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from hotline.kit.errors import HotlineError


class InvalidCursor(HotlineError):
    title = "Invalid cursor"


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        return kind, value
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("the cursor is not one this API gave out; start again without it") from exc


def encode_id_cursor(last_id: int) -> str:
    return _encode(f"id:{last_id}")


def decode_id_cursor(cursor: str) -> int:
    kind, value = _decode(cursor)
    try:
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except ValueError as exc:
        raise InvalidCursor("the cursor is not one this API gave out; start again without it") from exc


def encode_time_cursor(at: datetime, last_id: int) -> str:
    """(updated_at, id): microsecond precision, so rows sharing a timestamp are not skipped."""
    return _encode(f"ts:{at.astimezone(UTC).isoformat()}|{last_id}")


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    kind, value = _decode(cursor)
    try:
        if kind != "ts":
            raise ValueError(kind)
        at, last_id = value.rsplit("|", 1)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError(at)
        return parsed, int(last_id)
    except ValueError as exc:
        raise InvalidCursor("the cursor is not one this API gave out; start again without it") from exc
