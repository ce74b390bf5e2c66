"""Urgency and hand-off: life-safety → 110/119/120/122, utilities outages, matters to refuse.

A keyword counts only if its own clause does not negate it ("没有起火", "无人受伤") or speak
of a risk rather than an event ("火灾隐患", "防止火灾").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hotline.routing.text import Lexicon, RawBatch

Urgency = Literal["normal", "utilities", "emergency"]

# (hand-off target, why, keywords). Order = priority when several fire: a fire outranks the rest.
EMERGENCY_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    ("119", "fire (火警)", ("起火", "着火", "失火", "发生火灾", "火灾现场", "大火", "烧起来", "火势", "发生爆炸",
                            "爆炸了")),
    ("119", "gas leak (燃气泄漏)", ("煤气泄漏", "煤气泄露", "燃气泄漏", "燃气泄露", "天然气泄漏",
                                    "天然气泄露", "液化气泄漏", "液化气泄露", "煤气味很重", "闻到煤气味")),
    ("119", "someone trapped (被困)", ("被困", "困在电梯", "困在里面", "关在电梯", "有人落水", "溺水")),
    ("110", "crime in progress (正在发生的违法犯罪)", ("正在打架", "打起来了", "正在打人", "持刀", "拿刀砍", "砍人",
                                                     "正在抢劫", "抢劫了", "正在偷", "正在撬门", "有人闹事",
                                                     "正在斗殴", "家暴")),
    ("120", "someone injured or ill (伤病)", ("受伤了", "人受伤", "受了伤", "受重伤", "流血", "昏迷", "晕倒",
                                              "不省人事", "中毒了", "心脏病发", "抽搐", "伤者")),
]
TRAFFIC_ACCIDENT = ("车祸", "交通事故", "撞车", "撞人", "被车撞", "追尾", "翻车")
INJURY = ("受伤", "受了伤", "流血", "昏迷", "伤者", "受重伤", "死亡", "伤亡")

# Outages, not bills: "燃气费太贵" is a price complaint, "燃气停了" is an outage.
UTILITIES: tuple[str, ...] = ("停水", "断水", "没水", "没有水", "水压低", "水压不足", "爆管", "水管爆裂",
                              "停电", "断电", "没电", "没有电", "跳闸", "停气", "没有燃气", "燃气停",
                              "燃气中断", "燃气供应中断", "没有煤气", "煤气停", "天然气停")

# Matters a 12345 centre does not take (不予受理): already before a court or arbitrator, or 信访.
# Only phrases that say the matter is *already* there: asking how to sue is a consultation.
REFUSAL_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("already before a court (涉诉事项): 不予受理, the citizen should follow the court proceedings",
     ("已起诉", "已经起诉", "起诉了", "已向法院", "已经向法院", "提起诉讼", "正在诉讼", "诉讼中", "法院已",
      "已经判决", "已判决", "法院判决", "法院立案", "正在审理", "已开庭")),
    ("already in arbitration (仲裁中): 不予受理 while the arbitration runs",
     ("仲裁中", "已申请仲裁", "已经申请仲裁", "正在仲裁", "提起仲裁", "仲裁委已")),
    ("a 信访 matter: 不予受理 here, it belongs to the 信访 channel",
     ("已信访", "已经信访", "信访局已", "信访部门已", "信访事项", "正在信访", "信访件", "正在上访")),
]

_NEGATORS = ("没有", "没", "未", "无", "不是", "并非", "不会", "不要", "防止", "预防", "以防", "避免",
             "差点", "险些", "是否", "会不会", "有没有",
             # past, habitual or hypothetical: not happening now
             "曾", "过", "以前", "去年", "上次", "次", "经常", "有时", "多次", "常常", "时常", "总是", "如果", "如",
             "一旦", "万一", "担心", "可能", "容易", "将会", "引起", "导致", "造成")
# Words after the keyword that make it a risk or a rule, not an event happening now.
_AFTER_NOT_EVENT = ("隐患", "风险", "预防", "防范", "演练", "保险", "险", "报警器", "通道", "设施",
                    "灾", "车站")  # 3起火灾 (a count), 看着火车站 (a train)
# For refusals: an intention or a question is not "already in court".
_INTENT = ("想", "准备", "打算", "如何", "怎么", "怎样", "能否", "可以", "是否", "要不要", "需要")
_CLAUSE = re.compile(r"[，。！？；,.!?;\n]")


@dataclass(frozen=True)
class UrgencyFlags:
    urgency: Urgency = "normal"
    handoff: dict[str, object] | None = None  # {"target": "119", "also": [...], "reason", "keyword"}
    refusal: dict[str, str] | None = None  # {"reason", "keyword"}
    reasons: list[str] = field(default_factory=list)


def _clause_prefix(text: str, start: int) -> str:
    """The text of the keyword's clause before the keyword."""
    cut = max((m.end() for m in _CLAUSE.finditer(text, 0, start)), default=0)
    return text[cut:start]


def _hits(text: str, words: tuple[str, ...], negators: tuple[str, ...] = _NEGATORS,
          check_after: bool = True, present: Collection[str] | None = None) -> str | None:
    """The first keyword that occurs affirmatively in the text, or None. `present`: the
    keywords known to occur in the text (the others are not looked for)."""
    for w in words:
        if present is not None and w not in present:
            continue
        start = text.find(w)
        while start != -1:
            prefix = _clause_prefix(text, start)[-6:]
            after = text[start + len(w):start + len(w) + 3]
            negated = any(n in prefix for n in negators)
            not_event = check_after and any(after.startswith(a) for a in _AFTER_NOT_EVENT)
            if not negated and not not_event:
                return w
            start = text.find(w, start + len(w))
    return None


def _all_words() -> list[str]:
    words = [w for _, _, ws in EMERGENCY_RULES for w in ws] + list(INJURY) + list(TRAFFIC_ACCIDENT)
    words += [w for _, ws in REFUSAL_RULES for w in ws] + list(UTILITIES)
    return words


_LEXICON = Lexicon(_all_words())


def assess_batch(texts: Sequence[str]) -> list[UrgencyFlags]:
    """`assess` of every text; the keywords of the whole batch are found at once, and a text
    without any (most of them) is normal at once."""
    out = []
    for text, found in zip(texts, _LEXICON.find(RawBatch.of(texts)).per_text(), strict=True):
        out.append(assess(text, {w for _, w in found}) if found else UrgencyFlags())
    return out


def assess(text: str, present: Collection[str] | None = None) -> UrgencyFlags:
    """Urgency, hand-off and refusal flags of one message. `present`: the keywords known to
    occur in it (as `assess_batch` finds them); None looks for every one."""
    reasons: list[str] = []
    # (target line, why, keyword), plus the other lines to call.
    emergency: tuple[str, str, str] | None = None
    also: list[str] = []
    for target, why, words in EMERGENCY_RULES:
        kw = _hits(text, words, present=present)
        if kw:
            emergency = (target, why, kw)
            break
    injured = _hits(text, INJURY, present=present)
    accident = _hits(text, TRAFFIC_ACCIDENT, present=present)
    # Only an accident with injuries is life-safety; a fender-bender is 122's, not an emergency.
    if accident and injured:
        if emergency is None or emergency[0] == "120":
            emergency = ("122", "traffic accident with injuries (伤人交通事故)", accident)
        else:
            also.append("122")
    if emergency is not None and emergency[0] != "120" and injured:
        also.append("120")
    handoff: dict[str, object] | None = None
    if emergency is not None:
        handoff = {"target": emergency[0], "also": also, "reason": emergency[1], "keyword": emergency[2]}
    refusal = None
    for why, words in REFUSAL_RULES:
        kw = _hits(text, words, _NEGATORS + _INTENT, check_after=False, present=present)
        if kw:
            refusal = {"reason": why, "keyword": kw}
            reasons.append(f"关键词「{kw}」→ {why}")
            break
    if handoff is not None and emergency is not None:
        reasons.insert(0, f"关键词「{emergency[2]}」→ emergency, hand off to {emergency[0]}: {emergency[1]}")
        return UrgencyFlags("emergency", handoff, refusal, reasons)
    kw = _hits(text, UTILITIES, present=present)
    if kw:
        reasons.insert(0, f"关键词「{kw}」→ utilities tier (水电气)")
        return UrgencyFlags("utilities", None, refusal, reasons)
    return UrgencyFlags("normal", None, refusal, reasons)
