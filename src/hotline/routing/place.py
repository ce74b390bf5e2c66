"""Where a message is about: the Dongguan town, street or park, from its text or coordinates.

Full names first, then villages/landmarks, then bare names; a bare name that is also an
ordinary word (长安街, 长安汽车) needs a locative cue ("在长安", "长安那边"). Two places named,
or a weak name without a cue, is reported as `ambiguous` with its candidates, never guessed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

from hotline.routing.text import Lexicon, RawBatch, leftmost_longest

PlaceStatus = Literal["found", "ambiguous", "none"]

# Extra full-name spellings people use for the parks (the directory keeps one official name).
_FULL_VARIANTS = {
    "park-songshanhu": ("松山湖高新区", "松山湖园区", "松山湖片区", "松山湖科技产业园区"),
    "park-binhaiwan": ("东莞滨海湾新区", "滨海湾新区"),
    "park-ecopark": ("东莞生态园",),
    "park-yinping": ("银瓶合作创新区", "银瓶创新区"),
}
_CUES_BEFORE = ("在", "到", "去", "住", "东莞", "位于", "来自", "家住", "东莞市")
_CUES_AFTER = ("那边", "这边", "那里", "这里", "附近", "一带", "辖区", "境内", "片区", "地区", "区域",
               "社区", "村")


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    reason: str


@dataclass(frozen=True)
class PlaceMatch:
    status: PlaceStatus
    code: str | None = None
    name: str | None = None
    via: str | None = None  # full | alias | bare | coordinates | text+coordinates
    reason: str | None = None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "code": self.code, "name": self.name, "via": self.via,
                "reason": self.reason,
                "candidates": [{"code": c.code, "name": c.name, "reason": c.reason} for c in self.candidates]}


NO_PLACE = PlaceMatch("none", reason="no Dongguan place named")


@dataclass(frozen=True)
class _Gazetteer:
    names: dict[str, str]  # unit code -> official name
    terms: dict[str, tuple[str, str]]  # surface form -> (code, tier: full|alias|bare)
    pattern: re.Pattern[str]
    not_places: re.Pattern[str] | None
    # Both word lists for a whole batch at once (`places_from_text`): the terms, then the
    # not-places in their listed order (the first listed that matches wins, as in the regex).
    lexicon: Lexicon
    not_place_rank: dict[str, int]
    weak: frozenset[str]
    points: dict[str, tuple[float, float]]
    radius_km: float
    margin_km: float


def _read(package: str, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(resources.files(package).joinpath(name).read_text("utf-8"))  # type: ignore[no-any-return]


@lru_cache
def gazetteer() -> _Gazetteer:
    directory = _read("hotline.departments", "data/dongguan.json")
    data = _read("hotline.routing", "data/places.json")
    names: dict[str, str] = {}
    terms: dict[str, tuple[str, str]] = {}
    for d in directory["departments"]:
        if d["kind"] not in ("town", "street", "park"):
            continue
        names[d["code"]] = d["name"]
        for full in (d["name"], *_FULL_VARIANTS.get(d["code"], ())):
            terms[full] = (d["code"], "full")
    for alias, code in data["aliases"].items():
        if code not in names:
            raise ValueError(f"places.json: alias {alias} points at unknown unit {code}")
        terms.setdefault(alias, (code, "alias"))
    for d in directory["departments"]:
        bare = d.get("bare")
        if d["kind"] in ("town", "street", "park") and bare and len(bare) >= 2:
            terms.setdefault(bare, (d["code"], "bare"))
    # Longest first, so 大岭山镇 wins over 大岭山 and 虎门高铁站 over 虎门.
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    negatives = data["not_places"]["patterns"]
    not_places = re.compile("|".join(re.escape(p) for p in negatives)) if negatives else None
    centres = data["centres"]
    lexicon = Lexicon([*terms, *negatives])
    return _Gazetteer(
        names=names, terms=terms, pattern=re.compile(alternation), not_places=not_places,
        lexicon=lexicon,
        not_place_rank={p: i for i, p in reversed(list(enumerate(negatives)))},
        weak=frozenset(data["weak_bare_names"]["names"]),
        points={k: (float(v[0]), float(v[1])) for k, v in centres["points"].items()},
        radius_km=float(centres["radius_km"]), margin_km=float(centres["ambiguous_margin_km"]),
    )


def _has_cue(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 3):start]
    after = text[end:end + 2]
    return any(before.endswith(c) for c in _CUES_BEFORE) or any(after.startswith(c) for c in _CUES_AFTER)


_TIER_ORDER = {"full": 0, "alias": 1, "bare": 2}


def places_from_text(texts: Sequence[str]) -> list[PlaceMatch]:
    """`place_from_text` of every text; the place names of the whole batch are found at once."""
    g = gazetteer()
    out = []
    for text, found in zip(texts, g.lexicon.find(RawBatch.of(texts)).per_text(), strict=True):
        if not found:
            out.append(NO_PLACE)
            continue
        terms = [(s, w) for s, w in found if w in g.terms]
        rank = g.not_place_rank
        negatives = sorted(((s, w) for s, w in found if w in rank), key=lambda sw: (sw[0], rank[sw[1]]))
        matches = [(s, s + len(w), w) for s, w in leftmost_longest(terms)]
        blocked = [(s, s + len(w)) for s, w in leftmost_longest(negatives)]
        out.append(_place_of(text, matches, blocked))
    return out


def place_from_text(text: str) -> PlaceMatch:
    g = gazetteer()
    blocked: list[tuple[int, int]] = []
    if g.not_places is not None:
        blocked = [m.span() for m in g.not_places.finditer(text)]
    return _place_of(text, [(*m.span(), m.group()) for m in g.pattern.finditer(text)], blocked)


def _place_of(text: str, matches: list[tuple[int, int, str]], blocked: list[tuple[int, int]]) -> PlaceMatch:
    """The place, from the place names found in the text (start, end, name) and the spans
    where a name does not count ("长安街")."""
    g = gazetteer()
    strong: dict[str, tuple[int, str]] = {}  # code -> (tier rank, reason)
    weak: dict[str, str] = {}
    for s, e, term in matches:
        if any(bs < e and s < be for bs, be in blocked):
            continue
        code, tier = g.terms[term]
        if tier == "bare" and term in g.weak and not _has_cue(text, s, e):
            weak.setdefault(code, f"「{term}」 is also an ordinary word or another place; no locative cue")
            continue
        reason = {"full": f"地名「{term}」", "alias": f"「{term}」 is in {g.names[code]}",
                  "bare": f"简称「{term}」"}[tier]
        rank = _TIER_ORDER[tier]
        if code not in strong or rank < strong[code][0]:
            strong[code] = (rank, reason)
    if len(strong) == 1:
        code, (rank, reason) = next(iter(strong.items()))
        via = {0: "full", 1: "alias", 2: "bare"}[rank]
        return PlaceMatch("found", code, g.names[code], via, reason)
    if len(strong) > 1:
        ordered = sorted(strong.items(), key=lambda kv: kv[1][0])
        cands = tuple(Candidate(c, g.names[c], r) for c, (_, r) in ordered)
        return PlaceMatch("ambiguous", reason="more than one place named: "
                          + ", ".join(g.names[c] for c, _ in ordered), candidates=cands)
    if weak:
        cands = tuple(Candidate(c, g.names[c], r) for c, r in weak.items())
        return PlaceMatch("ambiguous", reason="; ".join(c.reason for c in cands), candidates=cands)
    return NO_PLACE


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    # Equirectangular: plenty at the scale of one city.
    lat = math.radians((a[0] + b[0]) / 2)
    dx = math.radians(b[1] - a[1]) * math.cos(lat)
    dy = math.radians(b[0] - a[0])
    return 6371.0 * math.hypot(dx, dy)


def place_from_point(lat: float, lng: float) -> PlaceMatch:
    """The nearest town centre within the radius (the point table is approximate)."""
    g = gazetteer()
    ranked = sorted((_km((lat, lng), p), code) for code, p in g.points.items())
    if not ranked or ranked[0][0] > g.radius_km:
        return PlaceMatch("none", reason=f"coordinates {lat:.4f},{lng:.4f} are not near any Dongguan town centre")
    (d1, c1) = ranked[0]
    if len(ranked) > 1 and ranked[1][0] - d1 < g.margin_km:
        d2, c2 = ranked[1]
        cands = (Candidate(c1, g.names[c1], f"{d1:.1f} km from its centre"),
                 Candidate(c2, g.names[c2], f"{d2:.1f} km from its centre"))
        return PlaceMatch("ambiguous", reason="coordinates lie between two town centres", candidates=cands)
    return PlaceMatch("found", c1, g.names[c1], "coordinates",
                      f"坐标 {lat:.4f},{lng:.4f} is {d1:.1f} km from the centre of {g.names[c1]} (approximate)")


def extract_place(text: str, lat: float | None = None, lng: float | None = None,
                  by_text: PlaceMatch | None = None) -> PlaceMatch:
    """The place a message is about; the text wins, coordinates settle an ambiguity or fill a gap.
    `by_text`: what `places_from_text` found in the text, if the batch was searched already."""
    if by_text is None:
        by_text = place_from_text(text)
    if lat is None or lng is None:
        return by_text
    by_point = place_from_point(lat, lng)
    if by_text.status == "found":
        return by_text
    if by_text.status == "ambiguous":
        if by_point.status == "found" and by_point.code in {c.code for c in by_text.candidates}:
            return PlaceMatch("found", by_point.code, by_point.name, "text+coordinates",
                              f"{by_text.reason}; the coordinates settle it: {by_point.reason}")
        return by_text
    return by_point
