"""Hotline's statuses seen through Open311's two (open, closed), and the public request shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels.open311_services import services_by_code
from hotline.open311 import repository
from hotline.tickets.public import CLOSED_TO_PUBLIC, public_status

DEFAULT_WINDOW = timedelta(days=90)  # GeoReport v2: without dates, the last 90 days
MAX_REQUESTS = 1000


class BadFilter(ValueError):
    pass


def open311_status(status: str) -> str:
    return "closed" if status in CLOSED_TO_PUBLIC else "open"


def _closed_filter(values: list[str]) -> bool | None:
    bad = [v for v in values if v not in ("open", "closed")]
    if bad:
        raise BadFilter(f"status must be open or closed, not {bad[0]!r}")
    if len(set(values)) != 1:
        return None
    return values[0] == "closed"


def parse_time(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadFilter(f"{name} must be a W3C/ISO 8601 date-time, e.g. 2026-11-28T09:30:00+08:00") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


async def find_requests(
    session: AsyncSession,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    tz: str,
    services_path: Any = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    ids = _csv(service_request_id)
    start, end = parse_time("start_date", start_date), parse_time("end_date", end_date)
    if not ids and start is None:
        start = (end or now or datetime.now(UTC)) - DEFAULT_WINDOW
    f = repository.RequestFilter(tracking_numbers=ids, service_codes=_csv(service_code), start=start,
                                 end=end, closed=_closed_filter(_csv(status)),
                                 closed_statuses=CLOSED_TO_PUBLIC)
    rows = await repository.public_requests(session, f, MAX_REQUESTS)
    services = services_by_code(services_path)
    zone = ZoneInfo(tz)
    return [_public(r, services, zone) for r in rows]


def _iso(t: datetime | None, zone: ZoneInfo) -> str | None:
    return t.astimezone(zone).isoformat(timespec="seconds") if t else None


def _public(r: repository.PublicRequest, services: dict[str, dict[str, Any]], zone: ZoneInfo) -> dict[str, Any]:
    t = r.ticket
    service = services.get(r.service_code or "", {})
    return {
        "service_request_id": t.tracking_number,
        "status": open311_status(t.status),
        "status_notes": public_status(t.status),
        "service_name": service.get("service_name") or t.subject,
        "service_code": r.service_code,
        "description": t.text,
        "agency_responsible": r.agency,
        "service_notice": None,
        "requested_datetime": _iso(t.received_at, zone),
        "updated_datetime": _iso(t.updated_at, zone),
        "expected_datetime": _iso(t.reply_due_at, zone),
        "address": t.location_address,
        "address_id": None,
        "zipcode": None,
        "lat": t.lat,
        "long": t.lng,
        "media_url": r.media_url,
    }
