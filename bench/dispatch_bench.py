"""Smart dispatch benchmark: classification + place + urgency + catalogue, batches of 500, one core.

    .venv/bin/python -m bench.dispatch_bench [--models DIR] [--train-topic]

Reads ../shared/data (never committed). Prints messages/s for the engine, the share dispatched
automatically, the flags raised, and how often the catalogue keywords alone get the topic right on
the labelled file (the router's day-one quality before a city trains a model).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import Counter
from pathlib import Path

from hotline.routing.engine import Router, load_learned_models
from hotline.routing.models import Models

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BATCH = 500


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _route_all(router: Router, texts: list[str]) -> tuple[list, float]:  # type: ignore[type-arg]
    router.route_batch(texts[:BATCH])  # warm: lazily built tables and lexicons are not the rate
    best = float("inf")
    for _ in range(3):  # the best of three: other processes share the cores
        started = time.process_time()  # CPU time of this process: "one core"
        out = []
        for i in range(0, len(texts), BATCH):
            out += router.route_batch(texts[i:i + BATCH])
        best = min(best, time.process_time() - started)
    return out, best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", type=Path, help="a HOTLINE_MODEL_DIR with topic/type models")
    p.add_argument("--train-topic", action="store_true",
                   help="train a topic model from the labelled file into a temp dir first (slow)")
    a = p.parse_args()

    labelled = _read("citizen_messages_train.csv")
    raw = [f"{r['subject']}\n{r['body']}" for r in _read("messages_unlabelled.csv")]

    rules = Router()
    seg = [r["body"].replace(" ", "") for r in labelled]
    decisions, _ = _route_all(rules, seg)
    given = [(d.topic, r["label"]) for d, r in zip(decisions, labelled, strict=True) if d.topic]
    right = sum(t == lab for t, lab in given)
    print(f"catalogue keywords alone, topic on {len(labelled)} labelled messages: "
          f"coverage {len(given) / len(labelled):.3f}, accuracy where given {right / max(1, len(given)):.3f}")

    decisions, cpu = _route_all(rules, raw)
    print(f"rules alone: {len(raw)} raw messages in {cpu:.2f} s CPU = {len(raw) / cpu:.0f} msg/s (batch {BATCH})")
    _summary(decisions)

    model_dir = a.models
    if a.train_topic:
        from hotline.routing.models import TextClassifier

        model_dir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
        TextClassifier.train([r["body"] for r in labelled], [r["label"] for r in labelled], "topic",
                             progress=print).save(model_dir / "topic.joblib")
    if model_dir:
        models, status = load_learned_models(model_dir)
        if models is not None and models.topic is not None and models.type is not None:
            topic_only = Router(models=Models(topic=models.topic), model_status="topic: model, type: rules")
            _, cpu = _route_all(topic_only, raw)
            print(f"with the topic model alone: {len(raw) / cpu:.0f} msg/s (batch {BATCH})")
        router = Router(models=models, model_status=status)
        decisions, cpu = _route_all(router, raw)
        print(f"with models ({status}): {len(raw) / cpu:.0f} msg/s (batch {BATCH})")
        _summary(decisions)
    print(f"resident memory of this process: {_rss_mb()} MB (peak {_peak_mb()} MB)")


def _rss_mb() -> int:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1]) // 1024


def _peak_mb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _summary(decisions: list) -> None:  # type: ignore[type-arg]
    n = len(decisions)
    rules = Counter((d.rule or "").split(":")[0] for d in decisions)
    places = Counter((d.place or {}).get("status") for d in decisions)
    print(f"  dispatched automatically {sum(d.department_code is not None for d in decisions) / n:.3f}; "
          f"decided by {dict(rules)}; place {dict(places)}; "
          f"emergency {sum(d.urgency == 'emergency' for d in decisions)}, "
          f"utilities {sum(d.urgency == 'utilities' for d in decisions)}, "
          f"refusal flags {sum(d.refusal is not None for d in decisions)}")


if __name__ == "__main__":
    main()
