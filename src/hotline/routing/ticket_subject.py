"""The subject of a ticket text, as the type model reads it (a block of features of its own).

Stateless (sklearn protocol), so a saved model pickles it by reference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


class TicketSubject:
    """The subject of each ticket text: its first sentence, at most `limit` characters.

    `ticket_text` puts the subject first and ends it with "。"; a message without one starts with
    the sentence that says what it is about. The type model reads it as a block of its own next
    to the whole text: the subject is where the citizen says what they want (投诉…, 请问…,
    建议…, 举报…), and the labelling guideline reads it first (docs/type-labelling.md)."""

    _END = re.compile("[。！？!?\n]")

    def __init__(self, limit: int = 60) -> None:
        self.limit = limit

    def fit(self, texts: Sequence[str], y: Any = None) -> TicketSubject:
        return self

    def transform(self, texts: Sequence[str]) -> list[str]:
        out = []
        for text in texts:
            end = self._END.search(text, 0, self.limit + 1)
            out.append(text[:end.start()] if end else text[:self.limit])
        return out

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"limit": self.limit}

    def set_params(self, **params: Any) -> TicketSubject:
        self.limit = params.get("limit", self.limit)
        return self
