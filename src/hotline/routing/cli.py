"""`hotline train` and `hotline eval`: the learned topic and type models."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hotline.cli import command
from hotline.kit.settings import Settings


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, help="CSV with columns id, subject, body, label "
                   "(raw or word-segmented text); --target type without it uses the shipped labels")
    p.add_argument("--target", choices=("topic", "type"), default="topic")
    p.add_argument("--model-dir", type=Path, help="default: HOTLINE_MODEL_DIR (./models)")
    p.add_argument("--shared-dir", type=Path,
                   help="the shared data the shipped type labels point into "
                        "(default: HOTLINE_SHARED_DATA_DIR, ../shared/data)")
    p.add_argument("--split", action="append", metavar="NAME",
                   help="with --target type and no --data: the part of the shipped labels to judge "
                        "(heldout, heldout2; repeat for several; default: every held-out set) or "
                        "to train on (default: train)")


def _examples(a: argparse.Namespace, settings: Settings,
              part: str) -> list[tuple[list[str], list[str], str]]:
    """(texts, labels, where they come from) for each set to train on or judge."""
    from hotline.routing.training import (
        TYPE_HELD_OUT_SPLITS,
        TYPE_SPLITS,
        TYPE_TRAIN_SPLIT,
        read_labelled_csv,
        shipped_type_splits,
    )

    def one(ex: list, source: str) -> tuple[list[str], list[str], str]:
        return [e.text for e in ex], [e.label for e in ex], source

    if a.data is not None:
        return [one(read_labelled_csv(a.data), str(a.data))]
    if a.target == "type":
        shared = a.shared_dir or settings.shared_data_dir
        wanted = a.split or ([TYPE_TRAIN_SPLIT] if part == "train" else list(TYPE_HELD_OUT_SPLITS))
        unknown = [s for s in wanted if s not in TYPE_SPLITS]
        if unknown:
            raise SystemExit(f"unknown --split {', '.join(unknown)}: expected {', '.join(TYPE_SPLITS)}")
        splits = shipped_type_splits(shared)
        if part == "train":  # one model from every split asked for
            if held := [s for s in wanted if s in TYPE_HELD_OUT_SPLITS]:
                _say(f"warning: training on the held-out set(s) {', '.join(held)}: "
                     "hotline eval scores on them no longer mean anything")
            return [one([e for s in wanted for e in splits[s]],
                        f"shipped type labels ({'+'.join(wanted)}) joined with {shared}")]
        return [one(splits[s], f"shipped type labels ({s}) joined with {shared}") for s in wanted]
    if part != "train":
        raise SystemExit("hotline eval --target topic needs --data FILE.csv (held-out messages)")
    default = (a.shared_dir or settings.shared_data_dir) / "citizen_messages_train.csv"
    return [one(read_labelled_csv(default), str(default))]


@command("train", "train the topic or type model from labelled messages and save it", _common_args)
def train(a: argparse.Namespace, settings: Settings) -> int:
    from collections import Counter

    from hotline.routing.models import TextClassifier, model_path
    from hotline.routing.training import TrainingDataError

    started = time.monotonic()
    try:
        [(texts, labels, source)] = _examples(a, settings, "train")
    except TrainingDataError as exc:
        _say(f"hotline train: {exc.detail}")
        return 2
    counts = Counter(labels)
    _say(f"[1/3] read {len(texts)} labelled messages from {source}")
    _say("      " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    _say(f"[2/3] training the {a.target} model")
    model = TextClassifier.train(texts, labels, a.target, progress=lambda m: _say(f"      {m}"))
    model.meta.update(source=source, trained_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = model.save(model_path(a.model_dir or settings.model_dir, a.target))
    size = path.stat().st_size / 1e6
    _say(f"[3/3] saved {path} ({size:.1f} MB) in {time.monotonic() - started:.1f} s")
    return 0


def _rules_predict(target: str, texts: Sequence[str]) -> list[str]:
    """What the router decides without a model: the type rules, the catalogue's topic keywords."""
    if target == "type":
        from hotline.routing.rules import classify_type

        return [classify_type(t)[0] for t in texts]
    from hotline.routing.catalogue import default_catalogue

    cat = default_catalogue()
    out = []
    for t in texts:
        votes = cat.topic_votes(cat.keyword_hits(t))
        out.append(max(votes, key=lambda k: (votes[k], k)) if votes else "(none)")
    return out


def report(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Per-label precision/recall/F1, the confusion matrix, and last `macro_f1=` over `labels`."""
    from sklearn.metrics import classification_report, confusion_matrix, f1_score

    lines = [classification_report(gold, predicted, labels=list(labels), digits=4,
                                   zero_division=0).rstrip()]
    shown = list(labels) + sorted(set(predicted) - set(labels))
    matrix = confusion_matrix(gold, predicted, labels=shown)
    width = max(8, *(len(s) + 2 for s in shown))
    lines.append("")
    lines.append("confusion matrix (rows: true label, columns: predicted)")
    lines.append(" " * width + "".join(f"{s[:width - 1]:>{width}}" for s in shown))
    for name, row in zip(shown, matrix):
        if name in labels:
            lines.append(f"{name[:width - 1]:<{width}}" + "".join(f"{v:>{width}}" for v in row))
    macro = f1_score(gold, predicted, labels=list(labels), average="macro", zero_division=0)
    lines.append(f"macro_f1={macro:.4f}")
    return lines


@command("eval", "judge the trained model (or the rules alone) on labelled messages", _common_args)
def evaluate(a: argparse.Namespace, settings: Settings) -> int:
    import logging

    from hotline.routing.models import CORE_TYPE_LABELS, load_model, model_path
    from hotline.routing.training import TrainingDataError

    try:
        sets = _examples(a, settings, "held-out")
    except TrainingDataError as exc:
        _say(f"hotline eval: {exc.detail}")
        return 2
    model_dir = a.model_dir or settings.model_dir
    logging.getLogger("hotline.routing.models").setLevel(logging.ERROR)  # we say it ourselves
    model = load_model(model_dir, a.target)
    for n, (texts, gold, source) in enumerate(sets):
        if n:
            print()
        if model is not None:
            print(f"judging the {a.target} model {model_path(model_dir, a.target)} "
                  f"on {len(texts)} messages from {source}")
            predicted = [p.label for p in model.predict(texts)]
        else:
            print(f"no usable {a.target} model in {model_dir}: judging the rules alone "
                  f"on {len(texts)} messages from {source}")
            predicted = _rules_predict(a.target, texts)
        # Type is judged on the five core types (咨询/求助/投诉/举报/建议) the targets name.
        labels = ([t for t in CORE_TYPE_LABELS if t in set(gold)] if a.target == "type"
                  else sorted(set(gold)))
        for line in report(gold, predicted, labels):
            print(line)
    return 0
