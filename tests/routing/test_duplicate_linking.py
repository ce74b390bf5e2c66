"""The duplicate index's links (并单, hot-issue clusters) against the same rules applied the plain way:
candidates found by scanning the kept tickets, likeness computed pair by pair, on a few hundred
generated messages (storms of near-identical ones, citizens writing again, other towns, old ones)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hotline.routing.duplicates import SAME_CITIZEN_OVERLAP, CandidateIndex, Item, Link, shingles

TOWNS = {"town-tangxia": "塘厦镇", "town-changan": "长安镇", "town-houjie": "厚街镇", "town-humen": "虎门镇"}
MATTERS = ["某工地夜间施工噪音扰民，吵得睡不着", "路段路灯坏了很久没人修，晚上很黑", "工厂偷排废水，河水发臭",
           "小区物业乱收停车费", "餐馆食品卫生差，吃了拉肚子", "公司拖欠工资三个月", "化工厂晚上排放刺鼻气味",
           "停水两天了，什么时候恢复供水"]
PLACES = ["林村社区", "新城路", "东门", "工业区", "花园小区", ""]
EXTRAS = ["", "请尽快处理", "麻烦管一管", "已经反映过多次", "希望有关部门重视", "又来反映"]
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
THRESHOLDS = {"duplicate_similarity": 0.6, "hot_similarity": 0.2,
              "duplicate_since": NOW - timedelta(hours=72), "hot_since": NOW - timedelta(hours=168)}


def _messages(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        town = rng.choice([*TOWNS, None])
        matter = rng.randrange(3) if rng.random() < 0.6 else rng.randrange(len(MATTERS))  # storms
        text = (f"{TOWNS.get(town or '', '')}{rng.choice(PLACES)}{MATTERS[matter]}{rng.choice(EXTRAS)}"
                + (f"（{rng.randrange(1000)}）" if rng.random() < 0.5 else ""))
        out.append(Item(i + 1, rng.randrange(40) if rng.random() < 0.7 else None, town,
                        rng.choice([None, "环境保护", "城乡建设"]),
                        NOW - timedelta(hours=rng.choice([0, 1, 5, 80, 100, 200])) + timedelta(seconds=i),
                        shingles(text), tracking_number=f"DG{i + 1:08d}"))
    return out


def _expected(kept: list[Item], new: list[Item], capacity: int) -> list[Link]:
    """Per new ticket: the kept tickets of its town sharing each of its bigrams that no more than
    1% of the town's (at least 20) carry, counted; the 30 most shared (ties: the later ticket) and the
    citizen's 30 latest are compared; the best duplicate, else the most alike of its cluster."""
    kept = list(kept)
    links, roots, dups = [], set(), {}
    for item in new:
        counts: Counter[int] = Counter()
        if item.town_code is not None:
            town = [k for k in kept if k.town_code == item.town_code]
            cap = max(20, len(town) // 100)
            for g in item.shingles:
                having = [k.id for k in town if g in k.shingles]
                if len(having) <= cap:
                    counts.update(having)
        ids = sorted(counts, key=lambda j: (counts[j], j), reverse=True)[:30]
        if item.citizen_id is not None:
            ids += [k.id for k in kept if k.citizen_id == item.citizen_id][-30:]
        by_id = {k.id: k for k in kept}
        best_dup = best_cluster = None
        for other in (by_id[j] for j in dict.fromkeys(ids)):
            a, b = item.shingles, other.shingles
            shared = len(a & b)
            jaccard = shared / len(a | b) if a | b else 0.0
            overlap = shared / (min(len(a), len(b)) or 1)
            same_place = item.town_code is not None and item.town_code == other.town_code
            if other.received_at >= THRESHOLDS["duplicate_since"]:
                why = None
                if (item.citizen_id is not None and item.citizen_id == other.citizen_id
                        and (same_place or None in (item.town_code, other.town_code))
                        and overlap >= SAME_CITIZEN_OVERLAP):
                    why = f"same citizen wrote about the same matter ({overlap:.2f} overlap)"
                elif same_place and jaccard >= THRESHOLDS["duplicate_similarity"]:
                    why = f"near-identical text about the same place ({jaccard:.2f} similar)"
                if why and (best_dup is None or max(jaccard, overlap) > best_dup[0]):
                    best_dup = (max(jaccard, overlap), other, why)
            if (same_place and other.received_at >= THRESHOLDS["hot_since"]
                    and jaccard >= THRESHOLDS["hot_similarity"]
                    and (item.topic is None or other.topic is None or item.topic == other.topic)
                    and (best_cluster is None or jaccard > best_cluster[0])):
                best_cluster = (jaccard, other)
        cluster_of = best_dup[1] if best_dup else best_cluster[1] if best_cluster else None
        if cluster_of is not None:
            if cluster_of.cluster_id is None:
                cluster_of.cluster_id = cluster_of.id
                roots.add(cluster_of.id)
            item.cluster_id = cluster_of.cluster_id
        if best_dup:
            dups[item.id] = best_dup
        kept = [*kept, item][-capacity:]
    for item in new:
        if item.cluster_id is not None or item.id in dups:
            d = dups.get(item.id)
            links.append(Link(item.id, item.cluster_id or item.id, d[1].id if d else None,
                              d[1].tracking_number if d else None, round(d[0], 4) if d else 0.0, d[2] if d else None))
    return links + [Link(r, r) for r in sorted(roots - {i.id for i in new})]


def test_the_index_links_as_the_rules_applied_pair_by_pair() -> None:
    for seed, capacity in ((1, 10_000), (2, 150)):  # the second one forgets its oldest tickets
        messages = _messages(600, seed)
        index, kept = CandidateIndex(capacity), [replace(m) for m in messages[:100]]
        for m in messages[:100]:
            index.add(m)
        for m in messages[5:100:7]:  # merged tickets leave
            index.remove(m.id)
        kept = [k for k in kept if k.id in index]
        decided = []
        for start in range(100, 600, 100):
            batch = messages[start:start + 100]
            expected = _expected(kept, [replace(m) for m in batch], capacity)
            got = index.link(batch, **THRESHOLDS)
            assert got == expected
            decided += got
            kept = [replace(index.items[i]) for i in index.items]
        reasons = Counter((lk.reason or "cluster only").split(" (")[0] for lk in decided)
        # The generated messages exercise every kind of link.
        assert reasons["same citizen wrote about the same matter"] > 5
        assert reasons["near-identical text about the same place"] > 5
        assert reasons["cluster only"] > 5


_LINK_IN_A_FRESH_INTERPRETER = """
import sys
sys.path.insert(0, sys.argv[1])
from test_duplicate_linking import THRESHOLDS, CandidateIndex, _messages
messages = _messages(600, 3)
index = CandidateIndex(10_000)
for m in messages[:300]:
    index.add(m)
print(repr(index.link(messages[300:], **THRESHOLDS)))
"""


def test_every_router_links_a_batch_the_same_way() -> None:
    """Two routers (or one restarted) pick the same probable duplicate for the same tickets, whatever
    the hash seed that orders their sets of bigrams."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = str(Path(__file__).parent)
    runs = {subprocess.run([sys.executable, "-c", _LINK_IN_A_FRESH_INTERPRETER, here], check=True, text=True,
                           capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "3", "4")}
    assert len(runs) == 1 and "DG" in next(iter(runs))
