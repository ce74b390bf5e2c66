"""The dispatch catalogue (派单目录): (topic × area × type) → lead unit + co-handling units.

Versioned data, not code: a CSV or JSON table an administrator edits. This module parses and
validates it (every fault names its line) and matches a message against it; storage is in
`routing.repository`. `@town` in `lead`/`co` means "the town government of the message's place".
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from hotline.kit.errors import HotlineError
from hotline.routing.text import Lexicon, RawBatch, leftmost_longest

TOWN = "@town"
ANY = "*"
REQUIRED_COLUMNS = ("rule", "topic", "area", "type", "lead", "co", "keywords")
TYPES = ("consultation", "help", "complaint", "report", "suggestion", "praise", "other")
# The catalogue may say the type in Chinese; it is stored in the API's words.
TYPE_ALIASES = {"咨询": "consultation", "求助": "help", "投诉": "complaint", "举报": "report",
                "建议": "suggestion", "表扬": "praise", "其他": "other"}
AREA_KINDS = ("town", "street", "park")


class InvalidCatalogue(HotlineError):
    status_code = 422
    title = "Invalid dispatch catalogue"


@dataclass(frozen=True)
class CatalogueRow:
    rule: str
    topic: str
    area: str
    type: str
    lead: str
    co: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "topic": self.topic, "area": self.area, "type": self.type,
                "lead": self.lead, "co": list(self.co), "keywords": list(self.keywords), "note": self.note}


@dataclass(frozen=True)
class RowMatch:
    row: CatalogueRow
    score: float
    keywords: tuple[str, ...]
    reasons: tuple[str, ...]


@lru_cache
def known_topics() -> tuple[str, ...]:
    data = json.loads(resources.files("hotline.routing").joinpath("data/topics.json").read_text("utf-8"))
    return tuple(data["topics"])


def _split(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(p.strip() for p in re.split(r"[|;；、]", str(value)) if p.strip())


def _row(raw: dict[str, Any], where: str, units: Collection[str], areas: Collection[str],
         topics: Collection[str]) -> CatalogueRow:
    missing = [c for c in REQUIRED_COLUMNS if c not in raw]
    if missing:
        raise InvalidCatalogue(f"{where}: missing column {', '.join(missing)}", line=where)
    rule = str(raw["rule"] or "").strip()
    if not rule:
        raise InvalidCatalogue(f"{where}: the rule id is empty", line=where)
    topic = str(raw["topic"] or "").strip() or ANY
    if topic != ANY and topic not in topics:
        raise InvalidCatalogue(f"{where}: unknown topic {topic!r} (known: {', '.join(topics)}, or *)", line=where)
    area = str(raw["area"] or "").strip() or ANY
    if area != ANY and area not in areas:
        raise InvalidCatalogue(f"{where}: unknown area {area!r}: not a town, street or park code", line=where)
    type_ = str(raw["type"] or "").strip() or ANY
    type_ = TYPE_ALIASES.get(type_, type_)
    if type_ != ANY and type_ not in TYPES:
        raise InvalidCatalogue(f"{where}: unknown type {type_!r} (known: {', '.join(TYPES)}, or *)", line=where)
    lead = str(raw["lead"] or "").strip()
    if not lead:
        raise InvalidCatalogue(f"{where}: no lead unit", line=where)
    co = _split(raw["co"])
    for code in (lead, *co):
        if code != TOWN and code not in units:
            raise InvalidCatalogue(f"{where}: unknown unit code {code!r}", line=where)
    keywords = _split(raw["keywords"])
    for kw in keywords:
        text, sep, w = kw.partition("^")
        if not text or (sep and not _is_weight(w)):
            raise InvalidCatalogue(f"{where}: keyword {kw!r}: write a weight as 小区^0.5", line=where)
    if not keywords and topic == ANY:
        raise InvalidCatalogue(f"{where}: a rule without keywords must name its topic", line=where)
    return CatalogueRow(rule, topic, area, type_, lead, co, keywords, str(raw.get("note") or "").strip())


def _is_weight(w: str) -> bool:
    try:
        return 0 < float(w) <= 10
    except ValueError:
        return False


def parse_rows(records: Iterable[tuple[str, dict[str, Any]]], units: Collection[str],
               areas: Collection[str], topics: Collection[str] | None = None) -> list[CatalogueRow]:
    topics = tuple(topics or known_topics())
    rows: list[CatalogueRow] = []
    seen: dict[str, str] = {}
    for where, raw in records:
        row = _row(raw, where, units, areas, topics)
        if row.rule in seen:
            raise InvalidCatalogue(f"{where}: rule id {row.rule!r} already used on {seen[row.rule]}", line=where)
        seen[row.rule] = where
        rows.append(row)
    if not rows:
        raise InvalidCatalogue("the catalogue has no rows")
    return rows


def parse_csv(text: str, units: Collection[str], areas: Collection[str],
              topics: Collection[str] | None = None) -> list[CatalogueRow]:
    """Rows of a CSV catalogue; the header is line 1, faults name the file's line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidCatalogue(f"line 1: missing column {', '.join(missing)} in the header", line="line 1")
    reader.fieldnames = header

    def records() -> Iterable[tuple[str, dict[str, Any]]]:
        for raw in reader:
            where = f"line {reader.line_num}"
            if None in raw:
                raise InvalidCatalogue(f"{where}: more fields than the header has", line=where)
            if all(not (v or "").strip() for v in raw.values()):
                continue
            if any(raw.get(c) is None for c in REQUIRED_COLUMNS):
                absent = [c for c in REQUIRED_COLUMNS if raw.get(c) is None]
                raise InvalidCatalogue(f"{where}: missing column {', '.join(absent)}", line=where)
            yield where, raw

    return parse_rows(records(), units, areas, topics)


def parse_json(doc: Any, units: Collection[str], areas: Collection[str],
               topics: Collection[str] | None = None) -> list[CatalogueRow]:
    """Rows of a JSON catalogue: a list of row objects, or `{"rows": [...]}`; faults name the row."""
    items = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InvalidCatalogue("a JSON catalogue is a list of rows or an object with a `rows` list")
    records = []
    for i, raw in enumerate(items, start=1):
        if not isinstance(raw, dict):
            raise InvalidCatalogue(f"row {i}: not an object", line=f"row {i}")
        records.append((f"row {i}", raw))
    return parse_rows(records, units, areas, topics)


def to_csv(rows: Iterable[CatalogueRow]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*REQUIRED_COLUMNS, "note"])
    for r in rows:
        w.writerow([r.rule, r.topic, r.area, r.type, r.lead, "|".join(r.co), "|".join(r.keywords), r.note])
    return out.getvalue()


def rows_from_json(rows: list[dict[str, Any]]) -> list[CatalogueRow]:
    """Rows as stored in the database (already validated when they were saved)."""
    return [CatalogueRow(r["rule"], r["topic"], r["area"], r["type"], r["lead"], tuple(r.get("co") or ()),
                         tuple(r.get("keywords") or ()), r.get("note") or "") for r in rows]


@dataclass
class Catalogue:
    """One version of the catalogue, indexed for matching many messages quickly."""

    version: int
    rows: list[CatalogueRow]
    source: str = "database"
    _by_keyword: dict[str, list[int]] = field(init=False, repr=False)
    _weights: dict[str, float] = field(init=False, repr=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False)
    _lexicon: Lexicon | None = field(init=False, repr=False, compare=False, default=None)
    _defaults: dict[str, set[int]] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_keyword = {}
        self._weights = {}
        self._defaults = {}  # topic -> its rows without keywords (the topic's default unit)
        for i, r in enumerate(self.rows):
            if not r.keywords:
                self._defaults.setdefault(r.topic, set()).add(i)
            for raw in r.keywords:
                kw, weight = split_weight(raw)
                self._by_keyword.setdefault(kw, []).append(i)
                # A keyword's weight is its longest-form default unless a row marks it weak (小区^0.5).
                self._weights[kw] = min(self._weights.get(kw, weight), weight)
        words = sorted(self._by_keyword, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(w) for w in words)) if words else None

    def keyword_hits(self, text: str) -> dict[int, list[str]]:
        """Row index → the distinct keywords of that row found in the text (longest match wins)."""
        hits: dict[int, list[str]] = {}
        if self._pattern is None:
            return hits
        for kw in dict.fromkeys(m.group() for m in self._pattern.finditer(text)):
            for i in self._by_keyword[kw]:
                hits.setdefault(i, []).append(kw)
        return hits

    def keyword_hits_batch(self, texts: Sequence[str]) -> list[dict[int, list[str]]]:
        """`keyword_hits` of every text, the whole batch searched at once."""
        if self._pattern is None:
            return [{} for _ in texts]
        if self._lexicon is None:
            self._lexicon = Lexicon(sorted(self._by_keyword, key=len, reverse=True))
        by_keyword = self._by_keyword
        out = []
        for found in self._lexicon.find(RawBatch.of(texts)).per_text():
            hits: dict[int, list[str]] = {}
            if found:
                for kw in dict.fromkeys(w for _, w in leftmost_longest(found)):
                    for i in by_keyword[kw]:
                        hits.setdefault(i, []).append(kw)
            out.append(hits)
        return out

    def topic_votes(self, hits: dict[int, list[str]]) -> dict[str, float]:
        """Topic evidence from keywords alone (the rules' topic when no model is loaded)."""
        votes: dict[str, float] = {}
        for i, kws in hits.items():
            t = self.rows[i].topic
            if t != ANY:
                votes[t] = max(votes.get(t, 0.0), self.weight(kws))
        return votes

    def match(self, hits: dict[int, list[str]], topic: str | None, topic_confidence: float,
              town_code: str | None, type_: str) -> list[RowMatch]:
        """Applicable rows, best first. A model's topic adds to its rows and halves the others."""
        out: list[RowMatch] = []
        candidates = set(hits)
        if topic is not None and topic in self._defaults:
            candidates |= self._defaults[topic]
        rows = self.rows
        for i in candidates:
            r = rows[i]
            if r.area != ANY and r.area != town_code:
                continue
            if r.type != ANY and r.type != type_:
                continue
            kws = tuple(hits.get(i, ()))
            reasons = []
            if kws:
                score = self.weight(kws)
                reasons.append("关键词" + "、".join(f"「{k}」" for k in kws) + f" → rule {r.rule}")
            else:
                score = 1.0 * topic_confidence
                reasons.append(f"topic {topic} ({topic_confidence:.2f}) → default rule {r.rule}")
            if r.area != ANY:
                score += 1.5
                reasons.append(f"area {r.area} has its own rule")
            if r.type != ANY:
                score += 1.0
                reasons.append(f"type {r.type} has its own rule")
            if topic is not None and r.topic != ANY:
                if r.topic == topic:
                    score += 1.5 * topic_confidence if kws else 0.0
                else:
                    score *= 1.0 - 0.5 * topic_confidence
                    reasons.append(f"rule is for topic {r.topic}, the model says {topic}")
            out.append(RowMatch(r, score, kws, tuple(reasons)))
        out.sort(key=lambda m: (-m.score, m.row.rule))
        return out


    def weight(self, kws: Sequence[str]) -> float:
        weights = self._weights
        return sum([weights.get(k, 1.0) for k in kws])


def split_weight(raw: str) -> tuple[str, float]:
    """`小区^0.5` → ("小区", 0.5). Without a weight, a longer keyword is a sharper one:
    违章建筑 (2.0) says more than 违建 (1.0)."""
    text, sep, w = raw.partition("^")
    if sep:
        try:
            return text, float(w)
        except ValueError:
            pass
    return raw, min(len(raw), 4) / 2


@lru_cache
def default_catalogue_text() -> str:
    return resources.files("hotline.routing").joinpath("data/catalogue.csv").read_text("utf-8")


def directory_codes() -> tuple[set[str], set[str]]:
    """(every unit code, area codes) of the shipped directory: validation when no database is at hand."""
    data = json.loads(resources.files("hotline.departments").joinpath("data/dongguan.json").read_text("utf-8"))
    units = {d["code"] for d in data["departments"]}
    areas = {d["code"] for d in data["departments"] if d["kind"] in AREA_KINDS}
    return units, areas


@lru_cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped with hotline: version 0, used until an administrator saves one."""
    units, areas = directory_codes()
    return Catalogue(0, parse_csv(default_catalogue_text(), units, areas), source="shipped default")
