"""Probable duplicates (并单) and hot-issue clusters, by character-bigram overlap. Pure.

A new ticket is a probable duplicate of a recent one when the same citizen writes about the
same matter again, or when the text is near-identical about the same place. Tickets on one
issue in one place (looser similarity) share a cluster; a big cluster is a hot issue.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from heapq import nlargest
from itertools import chain
from operator import add
from typing import Any

from hotline.routing.place import gazetteer

_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-zA-Z]+")
# Bigrams in nearly every ticket: they say nothing about which matter it is.
_COMMON = frozenset({"投诉", "举报", "反映", "咨询", "请问", "你好", "您好", "我们", "我要", "希望", "问题", "处理",
                     "相关", "部门", "东莞", "政府", "市民", "谢谢", "感谢", "一下", "现在", "这个", "没有", "已经"})
# A bigram carried by more than 1% of a town's candidates (and more than this many) does not pick
# candidates: it is in too many tickets to say which matter this is. It still counts in the likeness.
_MIN_POSTINGS = 20
# How many of the best-sharing candidates get their exact likeness computed.
_VERIFY = 30
# A citizen writing again about the same place needs less textual likeness to be "again".
SAME_CITIZEN_OVERLAP = 0.35


@lru_cache
def _town_names() -> re.Pattern[str]:
    g = gazetteer()
    names = sorted((t for t, (_, tier) in g.terms.items() if tier in ("full", "bare")), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


# Every batch compares with up to 5,000 recent tickets, most of them a batch's own tickets a moment
# ago: their bigrams are kept, not rebuilt (bounded; a few KB a ticket).
@lru_cache(maxsize=8192)
def shingles(text: str) -> frozenset[str]:
    """Character bigrams of the text without its town names: the place is compared on its own,
    and "塘厦镇" in two texts about different matters must not make them look alike."""
    s = "".join(_KEEP.findall(_town_names().sub(" ", text.lower())))
    return frozenset([g for g in map(add, s, s[1:]) if g not in _COMMON])


@dataclass
class Item:
    id: int
    citizen_id: int | None
    town_code: str | None
    topic: str | None
    received_at: datetime
    shingles: frozenset[str]
    cluster_id: int | None = None
    tracking_number: str | None = None


@dataclass(frozen=True)
class Link:
    id: int
    cluster_id: int
    duplicate_of: int | None = None
    duplicate_tracking_number: str | None = None
    similarity: float = 0.0
    reason: str | None = None


class CandidateIndex:
    """Recent tickets by town and bigram and by citizen, in arrival order, at most `capacity` of
    them (the oldest leave first). A router keeps one between batches, so a batch costs what its
    own tickets cost, not a rebuild over every recent ticket."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: dict[int, Item] = {}  # in the order they came
        self.postings: dict[str, dict[str, deque[int]]] = {}  # town -> bigram -> ids
        self.by_citizen: dict[int, deque[int]] = {}
        self.town_size: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self.items

    def add(self, item: Item) -> None:
        ticket_id = item.id
        items = self.items
        if ticket_id in items:
            return
        items[ticket_id] = item
        if item.citizen_id is not None:
            mine = self.by_citizen.get(item.citizen_id)
            if mine is None:
                self.by_citizen[item.citizen_id] = deque((ticket_id,))
            else:
                mine.append(ticket_id)
        if item.town_code is not None:
            self.town_size[item.town_code] += 1
            town = self.postings.get(item.town_code)
            if town is None:
                town = self.postings[item.town_code] = {}
            for g in item.shingles:
                posting = town.get(g)
                if posting is None:
                    town[g] = deque((ticket_id,))
                else:
                    posting.append(ticket_id)
        while len(items) > self.capacity:
            self.remove(next(iter(items)))

    def remove(self, ticket_id: int) -> None:
        item = self.items.pop(ticket_id, None)
        if item is None:
            return
        if item.citizen_id is not None:
            _drop(self.by_citizen, item.citizen_id, ticket_id)
        if item.town_code is not None:
            self.town_size[item.town_code] -= 1
            town = self.postings[item.town_code]
            for g in item.shingles:
                _drop(town, g, ticket_id)

    def link(self, new: Sequence[Item], *, duplicate_similarity: float, hot_similarity: float,
             duplicate_since: datetime, hot_since: datetime) -> list[Link]:
        """The new tickets (in order) that have a probable duplicate or join a cluster, and the
        earlier tickets that became a cluster's root; unrelated tickets are left out. Each new
        ticket joins the index as it is linked (a batch's later tickets see its earlier ones)."""
        items = self.items
        links: list[Link] = []
        roots: set[int] = set()
        dups: dict[int, tuple[Item, float, str]] = {}
        for item in new:
            mine = item.shingles
            n = len(mine)
            town = item.town_code
            citizen = item.citizen_id
            topic = item.topic
            # Candidates by their rarer shared bigrams (cheap), then the exact likeness of the best few.
            candidates: list[int] = []
            if town is not None and (town_postings := self.postings.get(town)):
                cap = max(_MIN_POSTINGS, self.town_size[town] // 100)
                picked = [p for g in mine if (p := town_postings.get(g)) and len(p) <= cap]
                if picked:
                    counts = Counter(chain.from_iterable(picked))
                    # Ties go to the later ticket, not to the order bigrams come out of a set (which
                    # the interpreter's hash seed decides): every router links a batch the same way.
                    candidates = nlargest(_VERIFY, counts, key=lambda j: (counts[j], j))
            if citizen is not None and (again := self.by_citizen.get(citizen)):
                candidates += list(again)[-_VERIFY:]
            # The best duplicate as (score, ticket, same citizen?, likeness shown); its reason is
            # written once, for the one kept.
            best_dup: tuple[float, Item, bool, float] | None = None
            best_cluster: Item | None = None
            best_jaccard = 0.0
            for j in dict.fromkeys(candidates):
                other = items[j]
                theirs = other.shingles
                m = len(theirs)
                shared = len(mine & theirs)
                size = n + m - shared
                jaccard = shared / size if size else 0.0
                same_place = town is not None and town == other.town_code
                if other.received_at >= duplicate_since:
                    overlap = shared / (min(n, m) or 1)
                    same_citizen = (citizen is not None and citizen == other.citizen_id
                                    and (same_place or town is None or other.town_code is None)
                                    and overlap >= SAME_CITIZEN_OVERLAP)
                    if same_citizen or (same_place and jaccard >= duplicate_similarity):
                        score = max(jaccard, overlap)
                        if best_dup is None or score > best_dup[0]:
                            best_dup = (score, other, same_citizen, overlap if same_citizen else jaccard)
                if (same_place and jaccard >= hot_similarity and other.received_at >= hot_since
                        and (topic is None or other.topic is None or topic == other.topic)
                        and (best_cluster is None or jaccard > best_jaccard)):
                    best_cluster, best_jaccard = other, jaccard
            cluster_of = best_dup[1] if best_dup is not None else best_cluster
            if cluster_of is not None:
                if cluster_of.cluster_id is None:
                    # The first ticket of a new cluster: it becomes the root (stored on it too).
                    cluster_of.cluster_id = cluster_of.id
                    roots.add(cluster_of.id)
                item.cluster_id = cluster_of.cluster_id
            if best_dup is not None:
                score, other, by_citizen, likeness = best_dup
                why = (f"same citizen wrote about the same matter ({likeness:.2f} overlap)" if by_citizen
                       else f"near-identical text about the same place ({likeness:.2f} similar)")
                dups[item.id] = (other, round(score, 4), why)
            self.add(item)
        # Only what changed is written: a ticket on its own keeps no cluster (NULL), so a batch of
        # unrelated tickets costs no UPDATE at all.
        new_ids = {item.id for item in new}
        for item in new:
            dup = dups.get(item.id)
            if item.cluster_id is not None or dup is not None:
                links.append(Link(item.id, item.cluster_id or item.id, dup[0].id if dup else None,
                                  dup[0].tracking_number if dup else None, dup[1] if dup else 0.0,
                                  dup[2] if dup else None))
        links += [Link(r, r) for r in sorted(roots - new_ids)]
        return links


def _drop(index: dict[Any, deque[int]], key: Any, ticket_id: int) -> None:
    posting = index.get(key)
    if not posting:
        return
    if posting[0] == ticket_id:  # the oldest leaves first: nearly always at the front
        posting.popleft()
    else:
        try:
            posting.remove(ticket_id)
        except ValueError:
            pass
    if not posting:
        del index[key]


def link_batch(new: Sequence[Item], recent: Sequence[Item], *, duplicate_similarity: float,
               hot_similarity: float, duplicate_since: datetime, hot_since: datetime) -> list[Link]:
    """The new tickets (in order) that have a probable duplicate or join a cluster, and the
    earlier tickets that became a cluster's root; unrelated tickets are left out."""
    index = CandidateIndex(len(recent) + len(new))
    for it in recent:
        index.add(it)
    return index.link(new, duplicate_similarity=duplicate_similarity, hot_similarity=hot_similarity,
                      duplicate_since=duplicate_since, hot_since=hot_since)
