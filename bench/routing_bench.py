"""Learned routing models: how good, how fast, how big. Prints figures; never fails on them.

    .venv/bin/python -m bench.routing_bench [--folds 5] [--skip-jieba] [--only-type]

Reads ../shared/data (never committed) and the shipped type labels. Prints:
- topic macro-F1, k-fold cross-validated on citizen_messages_train.csv, for character n-grams
  (the shipped model) and for jieba words, on the segmented text as given and on raw-looking
  text (the segmented rows joined without spaces), plus on real raw messages: the rows of the
  two raw files that are also in the training file (matched by text, judged by the folds that
  did not train on them);
- for the same real raw rows, paired: the raw message vs its segmented twin from the training
  file, judged by the same fold (macro-F1, accuracy, rows where the two forms get different
  labels), and a bootstrap 95% interval (1,000 resamples of the pairs, seed 0) for the raw
  macro-F1 and for raw minus segmented — what the raw form costs, apart from how hard the rows are;
- type macro-F1 on each held-out set of the shipped labels (heldout, heldout2: 100 messages each):
  the model vs the keyword rules alone, and k-fold cross-validated on the training split;
- messages/s for topic + type prediction at batch 500 on one core;
- resident memory of a process that has loaded both models (the router's share of its 400 MB).
"""

from __future__ import annotations

import argparse
import os

# One core: no BLAS threads. Must be set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from hotline.routing.models import CORE_TYPE_LABELS, TextClassifier, build_pipeline
from hotline.routing.rules import classify_type
from hotline.routing.text import model_text, ticket_text
from hotline.routing.training import (
    TYPE_HELD_OUT_SPLITS,
    TYPE_TRAIN_SPLIT,
    read_labelled_csv,
    shipped_type_splits,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RAW_FILES = ("messages_with_replies.csv", "messages_unlabelled.csv")
BATCH = 500


def _raw_rows() -> list[tuple[str, str, str]]:
    out = []
    for name in RAW_FILES:
        with (DATA / name).open(newline="", encoding="utf-8") as f:
            out += [(name, r["id"], ticket_text(r["subject"], r["body"])) for r in csv.DictReader(f)]
    return out


def real_raw_matches(train_texts: list[str], raw: list[tuple[str, str, str]]) -> dict[int, str]:
    """Training row → the same message as a citizen typed it, found in the raw files by
    shared 5-character shingles (the training copy lost its stop words and punctuation)."""
    def shingles(s: str) -> set[str]:
        return {s[i:i + 5] for i in range(max(1, len(s) - 4))}

    index: dict[str, list[int]] = defaultdict(list)
    sizes = []
    for i, t in enumerate(train_texts):
        sh = shingles(model_text(t)[:200])
        sizes.append(len(sh))
        for g in sh:
            index[g].append(i)
    out: dict[int, str] = {}
    for _, _, text in raw:
        votes: dict[int, int] = defaultdict(int)
        for g in shingles(model_text(text)[:260]):
            rows = index.get(g, ())
            if len(rows) < 50:  # a shingle in many rows says nothing
                for i in rows:
                    votes[i] += 1
        if votes:
            best = max(votes, key=votes.__getitem__)
            if votes[best] / sizes[best] > 0.5:
                out[best] = text
    return out


def jieba_pipeline():  # type: ignore[no-untyped-def]
    """The same classifier on jieba words (uni- and bigrams) instead of character n-grams."""
    import jieba
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    jieba.setLogLevel(60)
    words = TfidfVectorizer(preprocessor=model_text, tokenizer=jieba.lcut, token_pattern=None,
                            lowercase=False, ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    svm = LinearSVC(C=0.7, class_weight="balanced")
    return Pipeline([("features", words),
                     ("clf", CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False))])


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """sklearn's macro-F1 (over the labels in either array), fast enough to bootstrap."""
    labels, g = np.unique(np.concatenate((gold, pred)), return_inverse=True)
    k = len(labels)
    g, p = g[:len(gold)], g[len(gold):]
    tp = np.bincount(g[g == p], minlength=k)
    return float(np.mean(2 * tp / (np.bincount(g, minlength=k) + np.bincount(p, minlength=k))))


def bootstrap_interval(gold: np.ndarray, *preds: np.ndarray, resamples: int = 1000,
                       seed: int = 0) -> list[tuple[float, float]]:
    """95% percentile intervals of macro-F1 of each prediction, and of the first minus the
    second when there are two, over the same resamples of the rows (pairs stay together)."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        i = rng.integers(0, len(gold), len(gold))
        scores = [macro_f1(gold[i], p[i]) for p in preds]
        draws.append(scores + ([scores[0] - scores[1]] if len(preds) == 2 else []))
    lo, hi = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    return list(zip(lo.tolist(), hi.tolist()))


def topic_cv(name: str, make, texts: list[str], labels: np.ndarray,  # type: ignore[no-untyped-def]
             matches: dict[int, str], folds: int) -> None:
    started = time.monotonic()
    seg = np.empty(len(labels), dtype=object)
    joined = np.empty(len(labels), dtype=object)
    real_gold: list[str] = []
    real_pred: list[str] = []
    twin_pred: list[str] = []  # the same rows as the training file has them (segmented)
    split = StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, labels)
    for k, (tr, te) in enumerate(split, start=1):
        print(f"  {name}: fold {k}/{folds}", file=sys.stderr, flush=True)
        model = make().fit([texts[i] for i in tr], labels[tr])
        seg[te] = model.predict([texts[i] for i in te])
        joined[te] = model.predict([re.sub(r"\s+", "", texts[i]) for i in te])
        held = [i for i in te if i in matches]
        real_pred += list(model.predict([matches[i] for i in held]))
        twin_pred += list(model.predict([texts[i] for i in held]))
        real_gold += [labels[i] for i in held]
    f1 = lambda g, p: f1_score(g, p, average="macro")
    print(f"topic {name:<16} macro-F1 {folds}-fold: segmented {f1(labels, seg):.4f}, "
          f"raw-looking {f1(labels, joined):.4f}, real raw (n={len(real_gold)}) "
          f"{f1(real_gold, real_pred):.4f} acc {np.mean(np.array(real_gold) == np.array(real_pred)):.4f}"
          f"  [{time.monotonic() - started:.0f} s]", flush=True)
    gold, raw, twin = np.array(real_gold), np.array(real_pred), np.array(twin_pred)
    (raw_lo, raw_hi), _, (d_lo, d_hi) = bootstrap_interval(gold, raw, twin)
    print(f"topic {name:<16} the same {len(gold)} rows paired: real raw macro-F1 "
          f"{macro_f1(gold, raw):.4f} acc {np.mean(gold == raw):.4f} vs segmented twin "
          f"{macro_f1(gold, twin):.4f} acc {np.mean(gold == twin):.4f}; the two forms get "
          f"different labels on {int(np.sum(raw != twin))}; bootstrap 95% (1,000 resamples): "
          f"raw {raw_lo:.3f}–{raw_hi:.3f}, raw − segmented {d_lo:+.3f} to {d_hi:+.3f}", flush=True)


def type_scores(folds: int) -> tuple[TextClassifier, list[str]]:
    splits = shipped_type_splits(DATA)
    train = splits[TYPE_TRAIN_SPLIT]
    core = list(CORE_TYPE_LABELS)
    model = TextClassifier.train([e.text for e in train], [e.label for e in train], "type")
    for name in TYPE_HELD_OUT_SPLITS:
        held_out = splits[name]
        gold = [e.label for e in held_out]
        learned = [p.label for p in model.predict([e.text for e in held_out])]
        rules = [classify_type(e.text)[0] for e in held_out]
        per_type = f1_score(gold, learned, labels=core, average=None, zero_division=0)
        print(f"type  macro-F1 (5 core types) {name} n={len(gold)}: model "
              f"{f1_score(gold, learned, labels=core, average='macro'):.4f}, keyword rules alone "
              f"{f1_score(gold, rules, labels=core, average='macro'):.4f}; per type "
              + ", ".join(f"{t} {f:.2f}" for t, f in zip(core, per_type)), flush=True)
    x = [e.text for e in train]
    y = np.array([e.label for e in train])
    cv_pred = np.empty(len(y), dtype=object)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        fold_model = build_pipeline("type").fit([x[i] for i in tr], y[tr])
        cv_pred[te] = fold_model.predict([x[i] for i in te])
    print(f"type  macro-F1 (5 core types) {folds}-fold CV on the {len(y)} training rows: "
          f"{f1_score(y, cv_pred, labels=core, average='macro'):.4f}", flush=True)
    return model, [e.text for e in splits[TYPE_HELD_OUT_SPLITS[0]]]


MEMORY_PROBE = """
import gc, sys
from hotline.routing.models import load_models
import hotline.worker  # the router process: FastAPI-free, but SQLAlchemy, aiokafka, …
models = load_models(sys.argv[1])
assert models.topic is not None and models.type is not None
texts = sys.argv[2:] * 100
models.topic.predict(texts); models.type.predict(texts)
gc.collect()
status = open("/proc/self/status").read()
print(int([l for l in status.splitlines() if l.startswith("VmRSS")][0].split()[1]) // 1024)
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--skip-jieba", action="store_true", help="the jieba comparison takes minutes")
    p.add_argument("--only-type", action="store_true",
                   help="only the type model's held-out and cross-validated scores (about a minute)")
    a = p.parse_args()
    if not (DATA / "citizen_messages_train.csv").is_file():
        print(f"no shared data at {DATA}: nothing to measure")
        return
    warnings.simplefilter("ignore")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    if a.only_type:
        type_scores(a.folds)
        return
    examples = read_labelled_csv(DATA / "citizen_messages_train.csv")
    texts = [e.text for e in examples]
    labels = np.array([e.label for e in examples])
    raw = _raw_rows()
    matches = real_raw_matches(texts, raw)
    topic_cv("char 1-2-grams", lambda: build_pipeline("topic"), texts, labels, matches, a.folds)
    if not a.skip_jieba:
        topic_cv("jieba words", jieba_pipeline, texts, labels, matches, a.folds)

    type_model, _ = type_scores(a.folds)
    topic_model = TextClassifier.train(texts, list(labels), "topic")

    batches = [[t for _, _, t in raw[i:i + BATCH]] for i in range(0, len(raw) - BATCH + 1, BATCH)]
    topic_model.predict(batches[0])  # warm
    started = time.process_time()
    for b in batches:
        topic_model.predict(b)
    topic_cpu = time.process_time() - started
    started = time.process_time()
    for b in batches:
        type_model.predict(b)
    type_cpu = time.process_time() - started
    started = time.process_time()
    for b in batches:  # as the router does: both models read the same batch (n-grams counted once)
        topic_model.predict(b)
        type_model.predict(b)
    shared_cpu = time.process_time() - started
    n = sum(len(b) for b in batches)
    print(f"speed (batch {BATCH}, one core, {n} raw messages): topic {n / topic_cpu:.0f} msg/s, "
          f"type {n / type_cpu:.0f} msg/s, both {n / (topic_cpu + type_cpu):.0f} msg/s apart, "
          f"{n / shared_cpu:.0f} msg/s on the same batches", flush=True)

    with tempfile.TemporaryDirectory() as d:
        topic_model.save(Path(d) / "topic.joblib")
        type_model.save(Path(d) / "type.joblib")
        sizes = {f.name: f.stat().st_size / 1e6 for f in Path(d).iterdir()}
        rss = subprocess.run([sys.executable, "-c", MEMORY_PROBE, d, *batches[0][:5]],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"memory: a router process with both models loaded holds {rss} MB resident "
          f"(model files: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(sizes.items())) + ")")


if __name__ == "__main__":
    main()
