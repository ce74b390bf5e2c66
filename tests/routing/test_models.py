"""The learned topic and type models: trained on the shared real messages, judged on raw text."""

from __future__ import annotations

import csv
import hashlib
import logging
import random
import re
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.routing.models import (
    CORE_TYPE_LABELS,
    TYPE_LABELS,
    TextClassifier,
    build_pipeline,
    load_models,
    model_path,
)
from hotline.routing.rules import classify_type
from hotline.routing.text import model_text, normalize
from hotline.routing.training import (
    TYPE_HELD_OUT_SPLITS,
    TYPE_SPLITS,
    read_labelled_csv,
    shipped_type_labels,
    shipped_type_splits,
)
from tests.conftest import SHARED

DATA = SHARED / "data"
TRAIN_CSV = DATA / "citizen_messages_train.csv"
needs_data = pytest.mark.skipif(not TRAIN_CSV.is_file(),
                                reason=f"shared training data not found at {DATA}")


def _raw(segmented: str) -> str:
    """What the same message looks like as a citizen typed it: no spaces between words."""
    return re.sub(r"\s+", "", segmented)


@pytest.fixture(scope="module")
def topic_split() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A small, fixed slice of the shared training file: 120 rows a class to train, 30 to test."""
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for ex in read_labelled_csv(TRAIN_CSV):
        by_label[ex.label].append((ex.text, ex.label))
    train, test = [], []
    rng = random.Random(4)
    for rows in by_label.values():
        rng.shuffle(rows)
        train += rows[:120]
        test += rows[120:150]
    return train, test


@pytest.fixture(scope="module")
def topic_model(topic_split: tuple[list, list]) -> TextClassifier:
    train, _ = topic_split
    return TextClassifier.train([t for t, _ in train], [lab for _, lab in train], "topic")


def test_segmented_and_raw_text_look_the_same_to_the_models() -> None:
    assert normalize("A1 区 蔡锷 南路 水箱 长年 不洗") == normalize("A1区蔡锷南路，水箱长年不洗！")
    assert normalize("ＡＢＣ１２３工资") == normalize("abc45工资")  # width, case, digits folded
    assert normalize("sms 12345 热线") == "sms 0热线"  # spaces survive only between latin words
    # Function words the segmented file dropped are dropped from raw text too.
    assert model_text("我们小区的停车费太贵了") == model_text("小区 停车费 太贵")


@needs_data
def test_topic_model_reads_raw_messages(topic_model: TextClassifier,
                                        topic_split: tuple[list, list]) -> None:
    _, test = topic_split
    preds = topic_model.predict([_raw(t) for t, _ in test])
    accuracy = sum(p.label == lab for p, (_, lab) in zip(preds, test)) / len(test)
    assert accuracy > 0.75, f"accuracy {accuracy:.2f} on {len(test)} held-out raw messages"

    wages, school = topic_model.predict([
        "我在东莞塘厦镇一家电子厂打工，老板已经拖欠我们三个月工资了，社保也一直没有交，请问该怎么办？",
        "孩子明年上小学一年级，我们是租房的，没有房产，请问积分入学需要准备哪些材料？学位够不够？",
    ])
    assert wages.label == "劳动和社会保障"
    assert school.label == "教育文体"
    for p in (wages, school):
        assert len(p.top) == 3 and p.top[0] == (p.label, p.confidence)
        probs = [prob for _, prob in p.top]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001


@needs_data
def test_save_and_load_give_the_same_predictions(topic_model: TextClassifier, tmp_path: Path,
                                                 topic_split: tuple[list, list]) -> None:
    texts = [_raw(t) for t, _ in topic_split[1][:20]]
    path = topic_model.save(model_path(tmp_path, "topic"))
    loaded = load_models(tmp_path)
    assert loaded.topic is not None and loaded.type is None
    assert loaded.topic.predict(texts) == topic_model.predict(texts)
    assert path.with_suffix(".joblib.tmp").exists() is False  # written whole, then renamed


@needs_data
def test_a_corrupt_model_file_means_rules_alone_with_a_warning(
        topic_model: TextClassifier, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    topic_model.save(model_path(tmp_path, "topic"))
    model_path(tmp_path, "type").write_bytes(b"\x80\x04 this is not a model")
    with caplog.at_level(logging.WARNING, logger="hotline.routing.models"):
        models = load_models(tmp_path)
    assert models.topic is not None
    assert models.type is None
    assert any("type model" in r.getMessage() and "rules alone" in r.getMessage()
               for r in caplog.records)


def test_no_model_directory_at_all_is_not_an_error(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hotline.routing.models"):
        models = load_models(tmp_path / "never-trained")
    assert models.topic is None and models.type is None
    assert sum("hotline train" in r.getMessage() for r in caplog.records) == 2


@needs_data
def test_hotline_train_then_eval_on_raw_text(tmp_path: Path, topic_split: tuple[list, list],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    train, test = topic_split

    def write(path: Path, rows: list[tuple[str, str]], raw: bool) -> Path:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "subject", "body", "label"])
            for i, (text, label) in enumerate(rows):
                w.writerow([i, "", _raw(text) if raw else text, label])
        return path

    models = tmp_path / "models"
    assert main(["train", "--data", str(write(tmp_path / "train.csv", train, raw=False)),
                 "--target", "topic", "--model-dir", str(models)]) == 0
    assert "saved" in capsys.readouterr().err and model_path(models, "topic").is_file()

    held_out = write(tmp_path / "held_out.csv", test, raw=True)
    assert main(["eval", "--data", str(held_out), "--target", "topic",
                 "--model-dir", str(models)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("judging the topic model")
    assert "confusion matrix" in "\n".join(out) and "劳动和社会保障" in "\n".join(out)
    m = re.fullmatch(r"macro_f1=(\d\.\d{4})", out[-1])
    assert m and float(m.group(1)) > 0.75

    # Without a trained model the rules alone are judged, in the same format.
    assert main(["eval", "--data", str(held_out), "--target", "topic",
                 "--model-dir", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert "rules alone" in out[0]
    assert re.fullmatch(r"macro_f1=\d\.\d{4}", out[-1])


def test_the_type_label_file_holds_ids_and_labels_only() -> None:
    text = resources.files("hotline.routing").joinpath("data/type_labels.csv").read_text("utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["source_file", "id", "label", "split", "labeller"]
    body = rows[1:]
    assert all(len(r) == 5 for r in body)
    assert {r[0] for r in body} <= {"messages_with_replies.csv", "messages_unlabelled.csv"}
    assert {r[2] for r in body} <= set(TYPE_LABELS)
    assert {r[3] for r in body} == set(TYPE_SPLITS)
    assert len({(r[0], r[1]) for r in body}) == len(body), "a message labelled twice"
    assert sum(r[3] == "train" for r in body) >= 1000
    for split in TYPE_HELD_OUT_SPLITS:
        held_out = Counter(r[2] for r in body if r[3] == split)
        assert sum(held_out.values()) == 100, split
        assert all(held_out[t] >= 5 for t in CORE_TYPE_LABELS), (split, held_out)


def test_the_first_held_out_set_is_the_one_the_first_scores_were_measured_on() -> None:
    """The 100 held-out messages of the first label file, same ids and same labels, in order:
    figures from before and after the split column are comparable."""
    text = resources.files("hotline.routing").joinpath("data/type_labels.csv").read_text("utf-8")
    held_out = [f"{r['source_file']},{r['id']},{r['label']}\n"
                for r in csv.DictReader(text.splitlines()) if r["split"] == "heldout"]
    assert len(held_out) == 100
    assert held_out[0] == "messages_unlabelled.csv,273248,suggestion\n"
    assert held_out[-1] == "messages_unlabelled.csv,225777,complaint\n"
    # sha256 of the last 100 rows (source_file,id,label) of the label file before it had splits
    assert hashlib.sha256("".join(held_out).encode()).hexdigest() == (
        "a6515869b550040d7169f6be600fba3c95958ec1ac54575601d6032719affa7b")


@needs_data
def test_training_never_sees_a_held_out_message() -> None:
    splits = shipped_type_splits(DATA)
    train_ids = {e.id for e in splits["train"]}
    for name in TYPE_HELD_OUT_SPLITS:
        assert len(splits[name]) == 100
        assert not train_ids & {e.id for e in splits[name]}, name
    train, held_out = shipped_type_labels(DATA)
    assert train == splits["train"] and len(held_out) == 200

    # Nor a repost of one: the same message posted twice, or present in both raw files.
    def shingles(text: str) -> set[str]:
        t = model_text(text)
        return {t[i:i + 5] for i in range(max(1, len(t) - 4))}

    held = [(e.id, shingles(e.text)) for name in TYPE_HELD_OUT_SPLITS for e in splits[name]]
    for e in splits["train"]:
        mine = shingles(e.text)
        for held_id, theirs in held:
            shared = len(mine & theirs) / max(1, min(len(mine), len(theirs)))
            assert shared <= 0.5, f"training row {e.id} is a repost of held-out {held_id}"


def test_the_type_model_reads_the_subject_apart() -> None:
    from hotline.routing.text import ticket_text
    from hotline.routing.ticket_subject import TicketSubject

    subject = TicketSubject(limit=60)
    assert subject.transform([
        ticket_text("投诉A市物业乱收费", "业主多次反映，至今无人处理。"),
        "请问居住证怎么办理？需要哪些材料",  # no subject: the first sentence stands for it
        "建" * 100,
    ]) == ["投诉A市物业乱收费", "请问居住证怎么办理", "建" * 60]
    steps = dict(build_pipeline("type").named_steps["features"].transformer_list)
    assert isinstance(steps["subject"].named_steps["subject"], TicketSubject)


@pytest.fixture(scope="module")
def type_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`hotline train --target type` on the shipped labels, as `make train` runs it."""
    models = tmp_path_factory.mktemp("type-models")
    assert main(["train", "--target", "type", "--shared-dir", str(DATA),
                 "--model-dir", str(models)]) == 0
    return models


@needs_data
def test_the_type_model_beats_the_keyword_rules_on_held_out_messages(type_model_dir: Path) -> None:
    from sklearn.metrics import f1_score

    _, held_out = shipped_type_labels(DATA)
    model = load_models(type_model_dir).type
    assert model is not None and model.meta["rows"] == len(shipped_type_splits(DATA)["train"])
    gold = [e.label for e in held_out]
    learned = [p.label for p in model.predict([e.text for e in held_out])]
    rules = [classify_type(e.text)[0] for e in held_out]
    core = list(CORE_TYPE_LABELS)
    f1_model = f1_score(gold, learned, labels=core, average="macro")
    f1_rules = f1_score(gold, rules, labels=core, average="macro")
    assert f1_model > f1_rules + 0.1, (f1_model, f1_rules)

    complaint, question = model.predict([
        "投诉：楼下烧烤店每天营业到凌晨三点，油烟和噪音严重扰民，多次反映没人管。",
        "请问在东莞办理居住证需要哪些材料？可以在网上申请吗？",
    ])
    assert (complaint.label, question.label) == ("complaint", "consultation")


@needs_data
def test_hotline_eval_type_judges_each_held_out_set_apart(
        type_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["eval", "--target", "type", "--shared-dir", str(DATA),
                 "--model-dir", str(type_model_dir)]) == 0
    out = capsys.readouterr().out
    reports = out.strip().split("\n\njudging ")
    assert len(reports) == 2
    for report, split in zip(reports, TYPE_HELD_OUT_SPLITS):
        lines = report.splitlines()
        assert f"on 100 messages from shipped type labels ({split})" in lines[0]
        assert re.fullmatch(r"macro_f1=\d\.\d{4}", lines[-1])
        assert "help" in report and "praise" not in lines[-8]

    assert main(["eval", "--target", "type", "--split", "heldout2", "--shared-dir", str(DATA),
                 "--model-dir", str(type_model_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count("macro_f1=") == 1 and "(heldout2)" in out
    with pytest.raises(SystemExit):
        main(["eval", "--target", "type", "--split", "test", "--shared-dir", str(DATA)])
