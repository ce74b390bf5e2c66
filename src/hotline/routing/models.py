"""Learned classifiers for topic and type: train, predict in batches, save, load.

Pure: no database. A missing or unreadable model file is not fatal: `load_models` returns
None for it, says so in the log, and the router runs on its rules alone.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotline.routing.text import model_text

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
TARGETS = ("topic", "type")
# The order the router and the labelling guideline use; praise and other are rare extras.
TYPE_LABELS = ("consultation", "help", "complaint", "report", "suggestion", "praise", "other")
CORE_TYPE_LABELS = ("consultation", "help", "complaint", "report", "suggestion")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # probability of `label`, calibrated on held-out folds
    top: list[tuple[str, float]] = field(default_factory=list)  # best three, best first


def model_path(model_dir: Path | str, target: str) -> Path:
    return Path(model_dir) / f"{target}.joblib"


def build_pipeline(target: str) -> Any:
    """The model for one target (the choices are measured in bench/routing_bench.py).

    topic: character 1–2-grams of `model_text`, hashed (no vocabulary held in memory),
    TF-IDF, a linear SVM with class weights (C=2), Platt-calibrated on held-out folds so that
    `confidence` is a probability. 5-fold CV macro-F1 0.927 (1–3-grams with C=0.7: 0.922;
    n-grams up to 4 or 5, more hash bits, logistic regression, NB-SVM, complement NB and SGD
    score no better). Adding jieba words scores the same and jieba alone is slower than the
    router's whole budget per message.
    type: a few thousand labelled rows, so fewer features — character 1–2-grams of the whole
    text and, as a block of their own, of its subject (`ticket_subject.TicketSubject`), plus
    the cue words of `features.TYPE_CUES` (subject and body apart) at a quarter weight — and
    logistic regression with class weights. Settings chosen by 5-fold cross-validation on the
    training split of the shipped labels (docs/type-labelling.md), never by a held-out score.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    from hotline.routing.features import CharNgramHasher, TypeCueFeatures
    from hotline.routing.ticket_subject import TicketSubject

    if target == "type":
        chars = Pipeline([("hash", CharNgramHasher((1, 2), bits=16, preprocessor=model_text)),
                          ("tfidf", TfidfTransformer(sublinear_tf=True))])
        subject = Pipeline([("subject", TicketSubject(limit=60)),
                            ("hash", CharNgramHasher((1, 2), bits=16, preprocessor=model_text)),
                            ("tfidf", TfidfTransformer(sublinear_tf=True))])
        features = FeatureUnion([("chars", chars), ("subject", subject),
                                 ("cues", TypeCueFeatures(head=40))],
                                transformer_weights={"cues": 0.25})
        return Pipeline([
            ("features", features),
            ("clf", LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)),
        ])
    chars = Pipeline([("hash", CharNgramHasher((1, 2), bits=18, preprocessor=model_text)),
                      ("tfidf", TfidfTransformer(sublinear_tf=True))])
    svm = LinearSVC(C=2.0, class_weight="balanced")
    return Pipeline([
        ("features", chars),
        ("clf", CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False)),
    ])


def _columns_first(obj: Any, depth: int = 0) -> None:
    """Store every linear model's weights column-major (the same numbers).

    `decision_function` multiplies the sparse features by `coef_.T`; scipy wants that operand
    row-major and would otherwise copy the topic model's 2**18 × labels matrix (15 MB) on
    every batch — most of the classifier's time."""
    if depth > 6 or obj is None:
        return
    coef = getattr(obj, "coef_", None)
    if isinstance(coef, np.ndarray) and coef.ndim == 2 and not coef.flags.f_contiguous:
        obj.coef_ = np.asfortranarray(coef)
    children: list[Any] = []
    for name in ("steps", "transformer_list"):
        children += [step for _, step in getattr(obj, name, None) or ()]
    for name in ("estimator", "calibrated_classifiers_", "estimators_"):
        child = getattr(obj, name, None)
        children += child if isinstance(child, list) else [child]
    for child in children:
        if child is not None and not isinstance(child, str):
            _columns_first(child, depth + 1)


class TextClassifier:
    """A trained model for one target ("topic" or "type") over raw or segmented text."""

    def __init__(self, target: str, pipeline: Any, meta: dict[str, Any] | None = None) -> None:
        self.target = target
        self.pipeline = pipeline
        self.meta = dict(meta or {})
        _columns_first(pipeline)

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], target: str = "topic",
              progress: Progress | None = None) -> TextClassifier:
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: expected one of {TARGETS}")
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        classes, counts = np.unique(np.asarray(labels), return_counts=True)
        if len(classes) < 2:
            raise ValueError("training needs at least two labels")
        say = progress or (lambda _m: None)
        pipeline = build_pipeline(target)
        clf = pipeline.named_steps["clf"]
        if hasattr(clf, "cv"):
            # Calibration holds out folds of every label: never more folds than the
            # smallest label has rows; a label with a single row cannot be calibrated.
            keep = np.isin(np.asarray(labels), classes[counts >= 2])
            if not keep.all():
                texts = [t for t, k in zip(texts, keep) if k]
                labels = [lab for lab, k in zip(labels, keep) if k]
                say(f"dropped {int((~keep).sum())} rows of labels with a single example")
            clf.set_params(cv=int(min(3, counts[counts >= 2].min())))
        say(f"{target}: {len(texts)} rows, {len(set(labels))} labels; vectorising and fitting "
            f"{type(clf).__name__}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # liblinear convergence chatter on tiny sets
            pipeline.fit(list(texts), list(labels))
        say(f"{target}: fitted")
        return cls(target, pipeline, {"rows": len(texts)})

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per text; the whole batch is vectorised at once."""
        if not texts:
            return []
        proba = self.pipeline.predict_proba(list(texts))
        labels = self.labels
        order = np.argsort(-proba, axis=1)[:, :3].tolist()
        out = []
        for row, idx in zip(proba.tolist(), order, strict=True):
            top = [(labels[j], round(row[j], 4)) for j in idx]
            out.append(Prediction(label=top[0][0], confidence=top[0][1], top=top))
        return out

    def save(self, path: Path | str) -> Path:
        import joblib
        import sklearn

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        joblib.dump({"format": FORMAT_VERSION, "target": self.target, "pipeline": self.pipeline,
                     "meta": self.meta, "sklearn": sklearn.__version__}, tmp, compress=3)
        tmp.replace(p)  # a router loading at the same moment never sees half a file
        return p

    @classmethod
    def load(cls, path: Path | str) -> TextClassifier:
        """Load a model saved by `save`. Raises on a missing or corrupt file.

        The file is a pickle: load only models your own `hotline train` wrote."""
        import joblib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn version-mismatch warnings; checked below
            doc = joblib.load(Path(path))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a hotline model file (format {FORMAT_VERSION})")
        if not hasattr(doc.get("pipeline"), "predict_proba"):
            raise ValueError(f"{path}: model file holds no classifier")
        return cls(doc["target"], doc["pipeline"], doc.get("meta"))


# The two targets share one implementation; the names say which one a caller holds.
TopicModel = TextClassifier
TypeModel = TextClassifier


@dataclass
class Models:
    topic: TextClassifier | None = None
    type: TextClassifier | None = None


def load_model(model_dir: Path | str, target: str) -> TextClassifier | None:
    path = model_path(model_dir, target)
    if not path.exists():
        log.warning("no %s model at %s: routing %s by rules alone (run `hotline train`)",
                    target, path, target)
        return None
    try:
        model = TextClassifier.load(path)
    except Exception as exc:  # noqa: BLE001 — any unreadable file means "rules alone"
        log.warning("%s model at %s cannot be loaded (%s: %s): routing %s by rules alone",
                    target, path, type(exc).__name__, exc, target)
        return None
    if model.target != target:
        log.warning("%s holds a %s model, not %s: ignored", path, model.target, target)
        return None
    log.info("loaded %s model from %s (%d labels)", target, path, len(model.labels))
    return model


def load_models(model_dir: Path | str) -> Models:
    """Both models from `model_dir`; either may be None (then the rules decide)."""
    return Models(topic=load_model(model_dir, "topic"), type=load_model(model_dir, "type"))
