"""The Open311 service list (GeoReport v2 `services.json`): a small default shipped as package data.

A city replaces it by pointing HOTLINE_OPEN311_SERVICES_PATH at its own JSON list of the same shape.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson


@lru_cache
def load_services(path: Path | None = None) -> tuple[dict[str, Any], ...]:
    """Each service as GeoReport v2 describes it (metadata false, type realtime)."""
    raw = path.read_bytes() if path else (
        resources.files("hotline.channels").joinpath("open311_services.json").read_bytes())
    out = []
    for s in orjson.loads(raw):
        out.append({"service_code": s["service_code"], "service_name": s["service_name"],
                    "description": s.get("description", ""), "metadata": False, "type": "realtime",
                    "keywords": s.get("keywords", ""), "group": s.get("group", "")})
    return tuple(out)


def services_by_code(path: Path | None = None) -> dict[str, dict[str, Any]]:
    return {s["service_code"]: s for s in load_services(path)}
