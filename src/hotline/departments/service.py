"""Loading the directory: the demo Dongguan units ship as data."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.departments import repository


def dongguan_directory() -> list[dict[str, str]]:
    text = resources.files("hotline.departments").joinpath("data/dongguan.json").read_text("utf-8")
    return [{"code": d["code"], "name": d["name"], "kind": d["kind"]} for d in json.loads(text)["departments"]]


async def seed_demo(session: AsyncSession) -> int:
    """Load the Dongguan directory (28 towns, 4 streets, 4 parks, city departments); idempotent."""
    rows = dongguan_directory()
    await repository.insert_missing(session, rows)
    return len(rows)
