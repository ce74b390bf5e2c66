"""The batch paths of the router's text handling give what the per-message paths give."""

from __future__ import annotations

import numpy as np

from hotline.routing.features import CharNgramHasher, _NgramBatch
from hotline.routing.text import model_codes, model_text

TRICKY = [
    "我要投诉塘厦镇工地夜间施工噪音扰民！！", "ＡＢＣ１２３工资", "sms 12345 热线", "a..b", "a..中", "..a", "a..",
    "中..中", "_a_b_", "a_中", "x y z", "12 34", "٣ a", "为什么什么", "因为什么我们们", "", "的的的", "我们",
    "a我们b", "1２3", "😀a😀b", "A1 区 蔡锷 南路 水箱 长年 不洗", "我们小区的停车费太贵了\n还有为什么没有人管？",
    "ΑΣ x", "İstanbul 东莞", "\ud800 孤立的代理项",
]


def _texts(codes: np.ndarray, lengths: np.ndarray) -> list[str]:
    out, at = [], 0
    for n in lengths.tolist():
        out.append(codes[at:at + n].tobytes().decode("utf-32-le", "surrogatepass"))
        at += n
    return out


def test_batch_normalisation_is_model_text() -> None:
    plain = [t for t in TRICKY if "Σ" not in t and "İ" not in t]
    assert _texts(*model_codes(plain)) == [model_text(t) for t in plain]
    # Characters whose lower case depends on their neighbours take the per-message path.
    assert _texts(*model_codes(TRICKY)) == [model_text(t) for t in TRICKY]


def test_a_second_hasher_reads_the_first_ones_counts() -> None:
    texts = [t for t in TRICKY if t] * 3
    topic = CharNgramHasher((1, 3), bits=18, preprocessor=model_text)
    type_ = CharNgramHasher((1, 2), bits=16, preprocessor=model_text)
    topic.transform(texts)
    shared = type_.transform(texts)  # derived from the topic hasher's batch
    _NgramBatch._last = None
    alone = type_.transform(texts)
    assert (shared != alone).nnz == 0
    assert np.array_equal(shared.indices, alone.indices) and np.array_equal(shared.indptr, alone.indptr)
    # One message's counts are the same whatever batch it comes in.
    one = topic.transform([texts[0]])
    assert (one != topic.transform(texts)[0]).nnz == 0
    assert one.sum() == sum(max(0, len(model_text(texts[0])) - n + 1) for n in (1, 2, 3))


MESSAGES = [
    "我要投诉塘厦镇工地夜间施工噪音扰民", "长安那边有人正在打架，有人受伤了流血", "虎门和长安都有问题", "家里停水了三天",
    "已经起诉了，法院判决不执行", "松山湖园区路灯坏了", "大岭山镇的违章建筑举报", "厨房着火了！", "没有起火，只是火灾隐患",
    "", "？", "请问如何办理居住证？", "长安街上的长安汽车4S店", "公司拖欠工资三个月，老板跑路了", "违章建筑违建违建",
    "东莞市东城街道和南城街道交界的小区物业乱收费", "车祸，有人受伤", "想起诉开发商，怎么办理", "感谢表扬锦旗",
]


def test_batch_rules_agree_with_the_per_message_rules() -> None:
    from hotline.routing.catalogue import default_catalogue
    from hotline.routing.place import place_from_text, places_from_text
    from hotline.routing.rules import classify_type, classify_types
    from hotline.routing.urgency import assess, assess_batch

    texts = MESSAGES + TRICKY
    cat = default_catalogue()
    assert cat.keyword_hits_batch(texts) == [cat.keyword_hits(t) for t in texts]
    assert assess_batch(texts) == [assess(t) for t in texts]
    assert places_from_text(texts) == [place_from_text(t) for t in texts]
    assert classify_types(texts) == [classify_type(t) for t in texts]
    assert any(cat.keyword_hits(t) for t in texts) and any(assess(t).handoff for t in texts)
    assert {p.status for p in places_from_text(texts)} == {"found", "ambiguous", "none"}


def test_cue_features_mark_every_cue_and_the_ones_in_the_head() -> None:
    from hotline.routing.features import TypeCueFeatures

    cues = TypeCueFeatures(head=8).fit(MESSAGES)
    m = cues.transform(MESSAGES).toarray()
    n = len(cues.words_)
    for i, text in enumerate(MESSAGES):
        assert [bool(x) for x in m[i, :n]] == [w in text for w in cues.words_]
        assert [bool(x) for x in m[i, n:]] == [w in text[:8] for w in cues.words_]


def test_decisions_built_without_validation_are_what_validation_builds() -> None:
    from hotline.routing.engine import Router
    from hotline.routing.schemas import RoutingDecision

    decisions = Router()(MESSAGES + TRICKY)
    for d in decisions:
        assert RoutingDecision.model_validate(d.model_dump()) == d
        assert d.model_fields_set == set(RoutingDecision.model_fields)
    d = decisions[0]
    d.reasons.append("the ticket service may add a reason")  # decisions stay mutable
    d.department_code = None
    assert decisions[1].reasons[-1] != "the ticket service may add a reason"
