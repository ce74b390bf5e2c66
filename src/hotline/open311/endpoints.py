"""Open311 GeoReport v2 read endpoints (public: no citizen identity, no internal notes)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from hotline.api.deps import SessionDep, SettingsDep
from hotline.open311 import service

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, description: str) -> Response:
    return _json([{"code": status, "description": description}], status)


@router.get("/requests.json")
async def list_requests(
    session: SessionDep,
    settings: SettingsDep,
    service_request_id: Annotated[str | None, Query(description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(description="comma-separated codes")] = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: Annotated[str | None, Query(description="open, closed, or both comma-separated")] = None,
) -> Response:
    """Service requests made through Open311 (the last 90 days unless dated), newest first."""
    try:
        found = await service.find_requests(
            session, service_request_id=service_request_id, service_code=service_code,
            start_date=start_date, end_date=end_date, status=status, tz=settings.timezone,
            services_path=settings.open311_services_path)
    except service.BadFilter as exc:
        return _error(400, str(exc))
    return _json(found)


@router.get("/requests/{service_request_id}.json")
async def get_request(session: SessionDep, settings: SettingsDep, service_request_id: str) -> Response:
    """One service request by its id (the tracking number)."""
    found = await service.find_requests(session, service_request_id=service_request_id,
                                        tz=settings.timezone,
                                        services_path=settings.open311_services_path)
    if not found:
        return _error(404, f"no service request {service_request_id[:40]!r}")
    return _json(found[:1])
