"""Chinese retrieval for the knowledge base: jieba segmentation, synonyms, BM25 on a sparse matrix.

Scoring is one sparse column-sum per query (no Python loop over documents), so a query over
tens of thousands of articles costs a few milliseconds on one core.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import sparse

log = logging.getLogger(__name__)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
STOP = frozenset(
    "的 了 是 在 我 你 他 她 它 们 和 与 及 或 就 都 也 还 又 把 被 让 给 对 从 到 向 为 以 "  # noqa: SIM905 - one line of words reads better than 90 quoted strings
    "这 那 哪 什么 怎么 怎样 如何 请问 请 问 吗 呢 吧 啊 呀 嘛 哦 有 没有 没 不 能 可以 可 "
    "会 要 想 需要 一个 一下 个 些 啥 多少 谢谢 您好 你好 市民 领导 政府 相关 部门 问题 情况 "
    "现在 已经 如果 但是 因为 所以 然后 目前 一直 进行 反映 希望 本人 自己 我们 他们".split()
)


@lru_cache
def _synonyms() -> dict[str, str]:
    text = resources.files("hotline.knowledge").joinpath("data/synonyms.txt").read_text("utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        for w in words:
            out[w] = words[0]
    return out


@lru_cache
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for word in _synonyms():
        jieba.add_word(word, freq=20000)
    return jieba


def tokenize(text: str) -> list[str]:
    """Search tokens: segmented words (with their sub-words), synonyms folded, stop words out."""
    syn = _synonyms()
    out = []
    for tok in _jieba().lcut_for_search(text.lower()):
        tok = tok.strip()
        if not tok or _PUNCT.fullmatch(tok) or tok in STOP:
            continue
        out.append(syn.get(tok, tok))
    return out


@dataclass(frozen=True)
class Hit:
    doc_id: int
    score: float
    matched: tuple[str, ...]


class BM25Index:
    """An immutable BM25 index over (doc_id, text) pairs; rebuild it when articles change."""

    def __init__(self, docs: Sequence[tuple[int, str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.doc_ids = np.array([d for d, _ in docs], dtype=np.int64)
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float64)
        for i, (_, text) in enumerate(docs):
            counts: dict[int, int] = {}
            toks = tokenize(text)
            lengths[i] = len(toks)
            for t in toks:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(i)
                cols.append(j)
                vals.append(c)
        self.vocab = vocab
        n = len(docs)
        tf = sparse.csr_matrix((np.array(vals, dtype=np.float64), (rows, cols)), shape=(n, len(vocab)))
        df = np.bincount(np.array(cols, dtype=np.int64), minlength=len(vocab)) if cols else np.zeros(0)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)) if n else np.zeros(0)
        avg = lengths.mean() if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        tf = tf.tocoo()
        w = tf.data * (k1 + 1) / (tf.data + norm[tf.row]) * self.idf[tf.col]
        self.weights = sparse.csc_matrix((w, (tf.row, tf.col)), shape=(n, len(vocab)))
        self.max_score_per_term = self.idf * (k1 + 1)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in self.vocab]
        if not terms or not len(self.doc_ids):
            return []
        cols = [self.vocab[t] for t in terms]
        scores = np.asarray(self.weights[:, cols].sum(axis=1)).ravel()
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        sub = self.weights[:, cols]
        hits = []
        for i in top:
            if scores[i] <= 0:
                break
            row = sub.getrow(i)
            matched = tuple(terms[j] for j in row.indices)
            hits.append(Hit(int(self.doc_ids[i]), float(scores[i]), matched))
        return hits

    @staticmethod
    def confidence(hits: Sequence[Hit]) -> float:
        """How clearly the best article beats the next one (0..1): the relative score margin.

        Measured on real replies, the margin separates right from wrong top answers far better
        than the raw score (see bench/knowledge_bench.py); a lone hit counts as clear.
        """
        if not hits:
            return 0.0
        if len(hits) == 1:
            return 1.0
        return max(0.0, (hits[0].score - hits[1].score) / hits[0].score)


def highlight(text: str, terms: Sequence[str], width: int = 80) -> str:
    """A snippet around the first matched term, matches wrapped in <em>…</em> (text is escaped)."""
    import html

    syn_back: dict[str, list[str]] = {}
    for w, canon in _synonyms().items():
        syn_back.setdefault(canon, []).append(w)
    words = sorted({w for t in terms for w in [t, *syn_back.get(t, [])] if w}, key=len, reverse=True)
    if not words:
        return html.escape(text[:width])
    pattern = re.compile("|".join(re.escape(w) for w in words))
    m = pattern.search(text)
    start = max(0, (m.start() if m else 0) - width // 4)
    snippet = text[start:start + width]
    out, last = [], 0
    for mm in pattern.finditer(snippet):
        out.append(html.escape(snippet[last:mm.start()]))
        out.append(f"<em>{html.escape(mm.group())}</em>")
        last = mm.end()
    out.append(html.escape(snippet[last:]))
    return ("…" if start else "") + "".join(out) + ("…" if start + width < len(text) else "")

