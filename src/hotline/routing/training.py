"""Training data for the learned models: labelled CSV files and the shipped type labels.

The type labels ship as ids only (`data/type_labels.csv`: source_file, id, label, split,
labeller); their text is read from the shared data at training time. Every row says which part
it belongs to: `train`, or one of the held-out sets `TYPE_HELD_OUT_SPLITS` that `hotline eval
--target type` judges and training never sees (see docs/type-labelling.md).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from hotline.kit.errors import HotlineError
from hotline.routing.text import ticket_text

TYPE_LABELS_FILE = "data/type_labels.csv"
TYPE_TRAIN_SPLIT = "train"
# heldout: the first 100, labelled before any model existed; heldout2: 100 more, drawn at random
# from the messages nobody had labelled yet and labelled before they were ever scored.
TYPE_HELD_OUT_SPLITS = ("heldout", "heldout2")
TYPE_SPLITS = (TYPE_TRAIN_SPLIT, *TYPE_HELD_OUT_SPLITS)

# Real messages run to tens of kilobytes; the csv module's default field limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class TrainingDataError(HotlineError):
    status_code = 422
    title = "Unusable training data"


@dataclass(frozen=True)
class Example:
    id: str
    text: str  # subject + body, as `ticket_text` joins them
    label: str


def read_labelled_csv(path: Path | str) -> list[Example]:
    """Rows of a CSV with columns id, subject, body, label (subject may be empty or absent)."""
    p = Path(path)
    if not p.is_file():
        raise TrainingDataError(f"{p}: no such file")
    with p.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"body", "label"} - set(reader.fieldnames or ())
        if missing:
            raise TrainingDataError(f"{p}: missing column(s) {', '.join(sorted(missing))}; "
                                    "expected id, subject, body, label")
        out = []
        for n, row in enumerate(reader, start=2):
            label = (row.get("label") or "").strip()
            text = ticket_text(row.get("subject"), row.get("body"))
            if not label or not text:
                continue  # an unlabelled or empty row teaches nothing
            out.append(Example(str(row.get("id") or f"line{n}"), text, label))
    if not out:
        raise TrainingDataError(f"{p}: no labelled rows")
    return out


def _shipped_label_rows() -> list[dict[str, str]]:
    text = resources.files("hotline.routing").joinpath(TYPE_LABELS_FILE).read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    unknown = {r.get("split") for r in rows} - set(TYPE_SPLITS)
    if unknown:
        raise TrainingDataError(f"{TYPE_LABELS_FILE}: unknown split(s) {sorted(map(str, unknown))}; "
                                f"expected {', '.join(TYPE_SPLITS)}")
    return rows


def shipped_type_splits(shared_dir: Path | str) -> dict[str, list[Example]]:
    """The shipped type labels joined with the shared messages, by split (`TYPE_SPLITS`)."""
    shared = Path(shared_dir)
    texts: dict[tuple[str, str], str] = {}
    rows = _shipped_label_rows()
    for source in sorted({r["source_file"] for r in rows}):
        path = shared / source
        if not path.is_file():
            raise TrainingDataError(f"{path}: not found. The type labels are ids into the shared "
                                    "data: pass --shared-dir or set HOTLINE_SHARED_DATA_DIR")
        with path.open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                texts[(source, r["id"])] = ticket_text(r.get("subject"), r.get("body"))
    out: dict[str, list[Example]] = {s: [] for s in TYPE_SPLITS}
    for r in rows:
        key = (r["source_file"], r["id"])
        if key not in texts:
            raise TrainingDataError(f"{r['source_file']} has no message {r['id']}: "
                                    "is this the shared data the labels were made from?")
        out[r["split"]].append(Example(f"{r['source_file']}:{r['id']}", texts[key], r["label"]))
    return out


def shipped_type_labels(shared_dir: Path | str) -> tuple[list[Example], list[Example]]:
    """(training, held-out) type examples: the `train` split, and every held-out split together."""
    splits = shipped_type_splits(shared_dir)
    return splits[TYPE_TRAIN_SPLIT], [e for s in TYPE_HELD_OUT_SPLITS for e in splits[s]]
