"""Build demo articles from published government replies (../shared/data/messages_with_replies.csv).

Each reply becomes an article: the citizen's subject is its title and first question form, the
reply its answer. Real centres write articles by hand; this gives a realistic base to try.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_GREETING = re.compile(r"^(网友|市民|尊敬的)?[“\"]?[^：:，,]{0,20}[”\"]?(您好|你好)[！!，,。：:]*")


@dataclass(frozen=True)
class DemoArticle:
    source_id: str
    title: str
    question: str
    answer: str


def clean_reply(reply: str) -> str:
    return _GREETING.sub("", reply.strip()).strip()


def read_replies(path: Path) -> Iterator[DemoArticle]:
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("reply") or not row.get("subject"):
                continue
            yield DemoArticle(row["id"], row["subject"].strip()[:300], row["body"].strip(),
                              clean_reply(row["reply"]))


def is_held_out(source_id: str) -> bool:
    """The split never tuned on: every fifth message by id."""
    return int(re.sub(r"\D", "", source_id) or 0) % 5 == 0
