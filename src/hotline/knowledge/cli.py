"""`hotline knowledge-import`: load demo articles from a CSV of messages with government replies."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hotline.cli import command
from hotline.kit.settings import Settings


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replies", type=Path, default=Path("../shared/data/messages_with_replies.csv"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--publish", action="store_true", help="publish them (default: drafts)")


@command("knowledge-import", "load demo knowledge articles from messages with government replies", _args)
def knowledge_import(a: argparse.Namespace, settings: Settings) -> int:
    from hotline.auth.principal import Principal, Role
    from hotline.kit.db import Database
    from hotline.knowledge import service
    from hotline.knowledge.demo import read_replies
    from hotline.knowledge.schemas import ArticleIn

    async def run() -> int:
        db = Database(settings.database_url)
        who = Principal(None, "knowledge-import", Role.ADMIN)
        n = 0
        try:
            async with db.unit_of_work() as session:
                for art in read_replies(a.replies):
                    out = await service.create(session, who, ArticleIn(
                        title=art.title, questions=[art.title], answer=art.answer,
                        note=f"imported from reply to message {art.source_id}"))
                    if a.publish:
                        await service.set_status(session, who, out.id, "published")
                    n += 1
                    if a.limit and n >= a.limit:
                        break
        finally:
            await db.dispose()
        return n

    n = asyncio.run(run())
    print(f"imported {n} articles")
    return 0
