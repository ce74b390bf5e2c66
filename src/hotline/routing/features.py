"""Hand-written features for the type model: cue words a 12345 agent reads a message by.

Stateless transformers (sklearn protocol) so a saved model pickles them by reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

# Cue words per type (see docs/type-labelling.md). They are features, not rules: the model
# learns how much each one counts, and where it appears (the subject — the first characters
# of the ticket text — speaks louder than the body).
TYPE_CUES: dict[str, tuple[str, ...]] = {
    "consultation": ("咨询", "请问", "问一下", "问问", "想问", "想了解", "如何办理", "怎么办理",
                     "如何", "怎么", "是否", "能否", "可否", "可不可以", "能不能", "需要哪些",
                     "什么时候", "何时", "多少", "哪里", "哪些", "什么条件", "政策", "流程",
                     "手续", "规定", "吗", "？", "?"),
    "help": ("求助", "帮忙", "帮帮", "帮助", "救助", "解决", "困难", "请求", "恳请", "盼", "修",
             "硬化", "停水", "停电", "没水", "无水", "通水", "路灯", "泥巴路", "出行难", "安置",
             "补贴", "低保", "贫困", "无法", "不能"),
    "complaint": ("投诉", "不满", "扰民", "噪音", "噪声", "油烟", "太吵", "吵", "拖欠", "不作为",
                  "推诿", "踢皮球", "乱收费", "收费", "强制", "强行", "霸王", "欺诈", "退款",
                  "不退", "质量", "漏水", "开发商", "物业", "不合理", "凭什么", "为什么", "为何",
                  "无果", "多次", "维权", "侵犯", "侵占"),
    "report": ("举报", "检举", "揭发", "违法", "非法", "违规", "违章", "违建", "无证", "偷排",
               "偷税", "漏税", "传销", "赌博", "六合彩", "卖淫", "诈骗", "贪污", "挪用", "腐败",
               "保护伞", "黑车", "盗采", "查处", "取缔", "严查", "彻查", "打击", "猫腻", "内幕",
               "私自", "私搭"),
    "suggestion": ("建议", "希望", "提议", "增设", "增加", "加装", "设置", "开通", "延长", "优化",
                   "完善", "改善", "规划", "能否在", "考虑", "呼吁", "应该", "应当", "加快",
                   "提升", "推动"),
    "praise": ("表扬", "感谢", "点赞", "锦旗", "谢谢", "好评", "为民", "贴心"),
}


class TypeCueFeatures:
    """Binary features: cue word anywhere in the text, and cue word in its first `head`
    characters (where the subject is). Read from the raw text: "？" and "吗" matter here."""

    def __init__(self, head: int = 40) -> None:
        self.head = head

    @property
    def words(self) -> list[str]:
        from hotline.routing.rules import TYPE_KEYWORDS

        cues = {w for ws in TYPE_CUES.values() for w in ws}
        cues |= {w for _, ws in TYPE_KEYWORDS for w in ws}  # the rules' keywords too
        return sorted(cues)

    def fit(self, texts: Sequence[str], y: Any = None) -> TypeCueFeatures:
        self.words_ = self.words  # frozen at training time: the saved model keeps its columns
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        words = self.words_
        n = len(words)
        rows: list[int] = []
        cols: list[int] = []
        for i, text in enumerate(texts):
            head = text[: self.head]
            for j, w in enumerate(words):
                if w in text:
                    rows.append(i)
                    cols.append(j)
                    if w in head:
                        rows.append(i)
                        cols.append(n + j)
        data = np.ones(len(rows), dtype=np.float64)
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), 2 * n))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"head": self.head}

    def set_params(self, **params: Any) -> TypeCueFeatures:
        self.head = params.get("head", self.head)
        return self


class CharNgramHasher:
    """Counts of hashed character n-grams, computed for the whole batch at once in numpy.

    Does what sklearn's `HashingVectorizer(analyzer="char")` does, several times faster: the
    batch becomes one array of code points, every n-gram a rolling hash of it, and n-grams
    that would straddle two messages are dropped. Collisions are as rare as any 2**bits hash.
    """

    _PRIME = np.uint64(0x100000001B3)  # FNV-1a
    _MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads the high bits

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), bits: int = 18,
                 preprocessor: Any = None) -> None:
        self.ngram_range = ngram_range
        self.bits = bits
        self.preprocessor = preprocessor

    @property
    def n_features(self) -> int:
        return 1 << self.bits

    def fit(self, texts: Sequence[str], y: Any = None) -> CharNgramHasher:
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        docs = [self.preprocessor(t) for t in texts] if self.preprocessor else list(texts)
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        codes = np.frombuffer("".join(docs).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        owner = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        shift = np.uint64(64 - self.bits)
        rows, cols = [], []
        lo, hi = self.ngram_range
        with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
            for n in range(lo, hi + 1):
                m = len(codes) - n + 1
                if m <= 0:
                    continue
                h = np.full(m, np.uint64(0xCBF29CE484222325) ^ np.uint64(n), dtype=np.uint64)
                for k in range(n):
                    h = (h ^ codes[k:k + m]) * self._PRIME
                same = owner[:m] == owner[n - 1:n - 1 + m]  # inside one message
                rows.append(owner[:m][same])
                cols.append(((h[same] * self._MIX) >> shift).astype(np.int64))
        r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
        counts = sparse.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)),
                                   shape=(len(docs), self.n_features))
        counts.sum_duplicates()
        return counts

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"ngram_range": self.ngram_range, "bits": self.bits,
                "preprocessor": self.preprocessor}

    def set_params(self, **params: Any) -> CharNgramHasher:
        for k, v in params.items():
            setattr(self, k, v)
        return self
