"""The problem-details body (RFC 9457) every error carries, documented once for every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str


_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": Problem, "description": "the request cannot be served as sent", "content": _CONTENT},
    "5XX": {"model": Problem, "description": "a dependency (database, broker) is unavailable",
            "content": _CONTENT},
}
