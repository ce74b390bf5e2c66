"""Hand-written features for the type model: cue words a 12345 agent reads a message by.

Stateless transformers (sklearn protocol) so a saved model pickles them by reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
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


@lru_cache(maxsize=8)
def _cue_lexicon(words: tuple[str, ...]) -> Any:
    from hotline.routing.text import Lexicon

    lexicon = Lexicon(words)
    if lexicon.words != words:
        raise ValueError("cue words must be distinct and not empty")
    return lexicon


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
        from hotline.routing.text import RawBatch

        n = len(self.words_)
        occ = _cue_lexicon(tuple(self.words_)).find(RawBatch.of(texts))
        # The first occurrence of each word in each text (occurrences come by position):
        # the earliest to end, so it alone says whether the word lies inside the head.
        key = occ.doc * n + occ.word
        _, first = np.unique(key, return_index=True)
        doc, word = occ.doc[first], occ.word[first]
        start = occ.pos[first] - occ.batch.offsets[doc]
        in_head = start + occ.lexicon.word_length[word] <= self.head
        rows = np.concatenate((doc, doc[in_head]))
        cols = np.concatenate((word, n + word[in_head]))
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
    The topic and the type model read the same batch: the n-grams are counted once for both
    (see `_NgramBatch`).
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
        lo, hi = self.ngram_range
        return _NgramBatch.of(texts, self.preprocessor, hi, self.bits).counts(lo, hi, self.bits)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"ngram_range": self.ngram_range, "bits": self.bits,
                "preprocessor": self.preprocessor}

    def set_params(self, **params: Any) -> CharNgramHasher:
        for k, v in params.items():
            setattr(self, k, v)
        return self


class _NgramBatch:
    """The distinct hashed n-grams of one batch, with their counts, sorted by (text, column, n).

    Kept for the last batch seen, so that a second hasher over the same texts (the type model's
    1–2-grams in 2**16 columns after the topic model's 1–2-grams in 2**18) derives its counts
    from these instead of hashing and sorting again: a column of fewer bits is the same hash
    shifted right.
    """

    _last: _NgramBatch | None = None

    def __init__(self, texts: tuple[str, ...], preprocessor: Any, max_n: int, bits: int) -> None:
        from hotline.routing.text import _codes_of, model_codes, model_text

        self.texts, self.preprocessor, self.max_n, self.bits = texts, preprocessor, max_n, bits
        n_docs = len(texts)
        if preprocessor is model_text:
            codes32, lengths = model_codes(texts)
        else:
            codes32, lengths = _codes_of([preprocessor(t) for t in texts] if preprocessor else texts)
        codes = codes32.astype(np.uint64)
        self.n_docs = n_docs
        n_bits = max(1, (max_n - 1).bit_length())
        width = max(1, n_docs - 1).bit_length() + bits + n_bits
        if width > 64:
            raise ValueError(f"{n_docs} texts × 2**{bits} columns do not fit one sort key")
        dtype: Any = np.uint32 if width <= 32 else np.uint64
        owner = np.repeat(np.arange(n_docs, dtype=dtype), lengths)
        shift = np.uint64(64 - bits)
        keys = []
        with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
            for n in range(1, max_n + 1):
                m = len(codes) - n + 1
                if m <= 0:
                    continue
                h = np.full(m, np.uint64(0xCBF29CE484222325) ^ np.uint64(n), dtype=np.uint64)
                for k in range(n):
                    h = (h ^ codes[k:k + m]) * CharNgramHasher._PRIME
                same = owner[:m] == owner[n - 1:n - 1 + m]  # inside one message
                col = ((h[same] * CharNgramHasher._MIX) >> shift).astype(dtype)
                keys.append((owner[:m][same] << dtype(bits + n_bits)) | (col << dtype(n_bits))
                            | dtype(n - 1))
        key = np.concatenate(keys) if keys else np.empty(0, dtype=dtype)
        key.sort()
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if key.size else key
        self.count = np.diff(np.append(starts, key.size)).astype(np.float32)
        key = key[starts]
        self.n = (key & dtype((1 << n_bits) - 1)).astype(np.int64) + 1
        self.cell = (key >> dtype(n_bits)).astype(np.int64)  # text << bits | column
        self.n_bits = n_bits

    @classmethod
    def of(cls, texts: Sequence[str], preprocessor: Any, max_n: int, bits: int) -> _NgramBatch:
        key = tuple(texts)
        last = cls._last
        if (last is not None and last.preprocessor is preprocessor and max_n <= last.max_n
                and bits <= last.bits and last.texts == key):
            return last
        batch = cls(key, preprocessor, max_n, bits)
        cls._last = batch
        return batch

    def counts(self, lo: int, hi: int, bits: int) -> sparse.csr_matrix:
        """The (texts × 2**bits) count matrix of the lo..hi-grams, canonical CSR, float32."""
        cell, count = self.cell, self.count
        if lo > 1 or hi < self.max_n:
            sel = (self.n >= lo) & (self.n <= hi)
            cell, count = cell[sel], count[sel]
        if bits < self.bits:
            cell = ((cell >> self.bits) << bits) | ((cell & ((1 << self.bits) - 1)) >> (self.bits - bits))
        # Same (text, column) side by side: n-grams of different n, or columns that merge.
        if cell.size:
            same = np.flatnonzero(cell[1:] == cell[:-1]) + 1
            if same.size:
                new = np.ones(cell.size, dtype=bool)
                new[same] = False
                starts = np.flatnonzero(new)
                count = np.add.reduceat(count, starts)
                cell = cell[starts]
        doc, col = cell >> bits, (cell & ((1 << bits) - 1)).astype(np.int32)
        indptr = np.zeros(self.n_docs + 1, dtype=np.int32)
        np.cumsum(np.bincount(doc, minlength=self.n_docs), out=indptr[1:])
        m = sparse.csr_matrix((count, col, indptr), shape=(self.n_docs, 1 << bits))
        m.has_canonical_format = True
        return m
