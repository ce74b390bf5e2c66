"""First rule-based router: type by keywords, unit by a keyword table, town by name.

Rules explain themselves: every decision carries the keyword that made it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from hotline.routing.schemas import RoutingDecision
from hotline.routing.text import Lexicon, RawBatch

# Checked in order: a message that reports wrongdoing is a report even if it also complains.
TYPE_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("report", ("举报", "检举", "揭发", "违法行为", "偷排", "非法")),
    ("complaint", ("投诉", "不满", "扰民", "太吵", "拖欠", "不作为", "乱收费", "欺诈", "噪音")),
    ("help", ("求助", "帮忙", "帮助", "救助", "困难", "停水", "停电")),
    ("suggestion", ("建议", "希望增设", "能否增加", "提议")),
    ("praise", ("表扬", "感谢", "点赞", "锦旗")),
    ("consultation", ("咨询", "请问", "怎么办理", "如何", "是否", "能否", "多少", "哪里", "吗", "？", "?")),
]


def classify_type(text: str, present: Collection[str] | None = None) -> tuple[str, str]:
    """The type by keywords; `present`: the keywords known to occur in the text, if known."""
    for type_, words in TYPE_KEYWORDS:
        for w in words:
            if w in (text if present is None else present):
                return type_, f"关键词「{w}」→ {type_}"
    return "other", "no type keyword matched"


_TYPE_LEXICON = Lexicon([w for _, words in TYPE_KEYWORDS for w in words])


def classify_types(texts: Sequence[str]) -> list[tuple[str, str]]:
    """`classify_type` of every text; the keywords of the whole batch are found at once."""
    return [classify_type(t, {w for _, w in found}) if found else ("other", "no type keyword matched")
            for t, found in zip(texts, _TYPE_LEXICON.find(RawBatch.of(texts)).per_text(), strict=True)]


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    bare: str


@lru_cache
def places() -> list[Place]:
    data = json.loads(resources.files("hotline.departments").joinpath("data/dongguan.json").read_text("utf-8"))
    out = []
    for d in data["departments"]:
        if d["kind"] in ("town", "street", "park"):
            out.append(Place(d["code"], d["name"], d.get("bare", d["name"])))
    return out


def find_town(text: str) -> tuple[str | None, str | None]:
    for p in places():
        if p.name in text:
            return p.code, f"地名「{p.name}」"
    for p in places():
        if len(p.bare) >= 2 and p.bare in text:
            return p.code, f"地名「{p.bare}」"
    return None, None


@lru_cache
def keyword_table() -> list[tuple[str, str]]:
    data = json.loads(resources.files("hotline.routing").joinpath("data/keywords.json").read_text("utf-8"))
    return [(kw, code) for code, words in data.items() for kw in words]


def route(text: str) -> RoutingDecision:
    type_, type_reason = classify_type(text)
    town, town_reason = find_town(text)
    reasons = [type_reason]
    if town_reason:
        reasons.append(town_reason)
    for kw, code in keyword_table():
        if kw in text:
            reasons.append(f"关键词「{kw}」→ {code}")
            return RoutingDecision(type=type_, type_reason=type_reason, town_code=town,
                                   department_code=code, confidence=0.8,
                                   rule=f"keyword:{kw}", reasons=reasons)
    if town:
        reasons.append("no department keyword: the town government handles it")
        return RoutingDecision(type=type_, type_reason=type_reason, town_code=town,
                               department_code=town, confidence=0.6, rule="fallback:town",
                               reasons=reasons)
    reasons.append("no keyword and no place: manual dispatch")
    return RoutingDecision(type=type_, type_reason=type_reason, confidence=0.0,
                           rule="fallback:manual", reasons=reasons)


def route_batch(texts: list[str], locations: object = None) -> list[RoutingDecision]:
    """The first keyword router (kept for comparison; the router uses `engine.Router`)."""
    return [route(t) for t in texts]
