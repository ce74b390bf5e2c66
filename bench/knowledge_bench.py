"""Knowledge retrieval benchmark: top-3 hit rate on a held-out split, self-service precision at a
threshold, and query latency over 50,000 articles on one core.

    python -m bench.knowledge_bench [--data ../shared/data/messages_with_replies.csv]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from hotline.knowledge.demo import is_held_out, read_replies
from hotline.knowledge.search import BM25Index


def doc_text(title: str, answer: str) -> str:
    return " ".join([title, title, answer[:300]])


def evaluate(arts: list, index: BM25Index, queries: list) -> dict:
    top1 = top3 = 0
    scored = []
    for a in queries:
        hits = index.search(a.question, 3)
        ids = [h.doc_id for h in hits]
        key = int(a.source_id)
        top1 += bool(ids) and ids[0] == key
        top3 += key in ids
        if hits:
            scored.append((BM25Index.confidence(hits), ids[0] == key))
    return {"n": len(queries), "top1": top1 / len(queries), "top3": top3 / len(queries), "scored": scored}


def pick_threshold(scored: list, target: float = 0.95) -> tuple[float, float, float]:
    """The lowest confidence threshold whose answered set is at least `target` precise."""
    best = (1.01, 0.0, 0.0)
    for t in sorted({round(c, 3) for c, _ in scored}, reverse=True):
        answered = [ok for c, ok in scored if c >= t]
        if not answered:
            continue
        p = sum(answered) / len(answered)
        if p >= target:
            best = (t, p, len(answered) / len(scored))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/messages_with_replies.csv"))
    ap.add_argument("--articles", type=int, default=50_000)
    a = ap.parse_args()
    arts = list(read_replies(a.data))
    index = BM25Index([(int(x.source_id), doc_text(x.title, x.answer)) for x in arts])
    tune = [x for x in arts if not is_held_out(x.source_id)]
    held = [x for x in arts if is_held_out(x.source_id)]
    t = evaluate(arts, index, tune)
    threshold, p_tune, cov_tune = pick_threshold(t["scored"])
    h = evaluate(arts, index, held)
    answered = [ok for c, ok in h["scored"] if c >= threshold]
    p_held = sum(answered) / len(answered) if answered else float("nan")
    print(f"articles: {len(arts)} (queries: the citizen's own message body; article: subject + reply)")
    print(f"tuning split   n={t['n']:5d}  top-1 {t['top1']:.3f}  top-3 {t['top3']:.3f}")
    print(f"held-out split n={h['n']:5d}  top-1 {h['top1']:.3f}  top-3 {h['top3']:.3f}")
    print(f"self-service threshold chosen on the tuning split: confidence >= {threshold:.3f} "
          f"(tuning precision {p_tune:.3f}, coverage {cov_tune:.3f})")
    print(f"held-out at that threshold: precision {p_held:.3f}, answered {len(answered)}/{len(h['scored'])}")

    # Latency over a larger base: the real articles plus synthetic ones made by shuffling real
    # sentences (realistic vocabulary and lengths; no claim about their meaning).
    rng = random.Random(7)
    sentences = [s for x in arts for s in x.answer.split("。") if len(s) > 8]
    docs = [(int(x.source_id), doc_text(x.title, x.answer)) for x in arts]
    next_id = 10_000_000
    while len(docs) < a.articles:
        docs.append((next_id, "。".join(rng.sample(sentences, 4))))
        next_id += 1
    t0 = time.perf_counter()
    big = BM25Index(docs)
    build = time.perf_counter() - t0
    qs = [x.question for x in rng.sample(arts, 300)]
    lat = []
    for q in qs:
        t0 = time.perf_counter()
        big.search(q, 5)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    print(f"index of {len(docs)} articles built in {build:.1f} s; query latency over 300 real "
          f"questions: mean {statistics.mean(lat):.1f} ms, p50 {lat[150]:.1f} ms, p99 {lat[296]:.1f} ms")


if __name__ == "__main__":
    main()
