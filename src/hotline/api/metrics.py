"""`GET /metrics`: Prometheus metrics (text exposition format) of this process, or of all the workers of
`hotline api --workers N`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hotline.kit.metrics import render
from hotline.ops.service import refresh_gauges

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process, with database gauges cached for a few seconds."""
    settings = request.app.state.settings
    # The gateway keeps off the database; the API process reports the database gauges.
    if "api" in request.app.state.roles:
        await refresh_gauges(request.app.state.db, settings.metrics_cache_seconds)
    body, content_type = render()
    return Response(body, media_type=content_type)
