"""`hotline export-training` and `hotline catalogue`: the learning loop and the dispatch catalogue."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path

from hotline.cli import command
from hotline.kit.settings import Settings


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, help="CSV file to write (id,subject,body,label)")
    p.add_argument("--target", choices=("topic", "type", "unit"), default="topic",
                   help="which correction becomes the label (default: topic)")


async def _export(settings: Settings, target: str) -> list[dict[str, str]]:
    from hotline.kit.db import Database
    from hotline.routing.service import training_rows

    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            return await training_rows(session, target)
    finally:
        await db.dispose()


@command("export-training", "export agents' re-dispatches and reclassifications as training data (CSV)",
         _export_args)
def export_training(a: argparse.Namespace, settings: Settings) -> int:
    rows = asyncio.run(_export(settings, a.target))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with a.out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "subject", "body", "label"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} corrected tickets ({a.target} labels) to {a.out}")
    return 0


def _catalogue_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("show", "load"), help="show: print the active catalogue as CSV; "
                                                             "load: save FILE as the new active version")
    p.add_argument("file", nargs="?", type=Path, help="a CSV or JSON catalogue (load)")
    p.add_argument("--note", help="why this change (load)")
    p.add_argument("--by", default="cli", help="who makes the change (load; default: cli)")


async def _catalogue(settings: Settings, a: argparse.Namespace) -> str:
    from hotline.kit.db import Database
    from hotline.routing import service
    from hotline.routing.catalogue import to_csv

    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            if a.action == "load":
                body = a.file.read_bytes()
                kind = "application/json" if a.file.suffix.lower() == ".json" else "text/csv"
                out = await service.save_catalogue(session, body, kind, f"cli:{a.by}", a.note)
                cur = out["current"]
                return f"catalogue version {cur['version']} is active ({len(cur['rows'])} rules)"
            cat = await service.active_catalogue(session)
            return f"# dispatch catalogue version {cat.version} ({cat.source})\n" + to_csv(cat.rows)
    finally:
        await db.dispose()


@command("catalogue", "show or load the dispatch catalogue (派单目录)", _catalogue_args)
def catalogue(a: argparse.Namespace, settings: Settings) -> int:
    from hotline.routing.catalogue import InvalidCatalogue

    if a.action == "load" and a.file is None:
        print("catalogue load needs a FILE", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(_catalogue(settings, a)), end="\n")
    except InvalidCatalogue as exc:
        print(f"rejected: {exc.detail}", file=sys.stderr)
        return 1
    return 0
