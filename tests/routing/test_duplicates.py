"""Probable duplicates (并单) and hot issues at ingest, batch by batch, on real-style messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from hotline.auth.principal import Role
from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.db import Database
from hotline.routing.duplicates import Item, link_batch, shingles
from hotline.tickets.handlers import IntakeHandler
from tests.conftest import settings_for
from tests.support.auth import headers_for

SMELL = "塘厦镇林村社区旁边的化工厂每天晚上排放刺鼻气味，附近居民晚上都不敢开窗"
SMELL_AGAIN = "塘厦镇林村社区旁边的化工厂每天晚上排放刺鼻的气味，附近居民都不敢开窗户"
SMELL_VARIANTS = [
    "投诉塘厦林村那个化工厂晚上排放刺鼻气味，熏得人头疼",
    "林村社区化工厂夜里排放刺鼻气味，严重影响居民生活，塘厦镇管管吧",
    "塘厦镇林村化工厂晚上排气，气味很刺鼻，居民受不了",
]


async def _post(c: httpx.AsyncClient, text: str, phone: str) -> dict:
    r = await c.post("/channels/web", json={"phone": phone, "text": text})
    assert r.status_code == 202, r.text
    return (await c.get(f"/api/v1/tickets/{r.json()['tracking_number']}")).json()


def _dup_event(t: dict) -> dict | None:
    return next((e for e in t["events"] if e["kind"] == "probable_duplicate"), None)


async def test_same_citizen_writing_again_is_a_probable_duplicate(embedded_client: httpx.AsyncClient) -> None:
    first = await _post(embedded_client, SMELL, "13800138000")
    again = await _post(embedded_client, "又来反映：" + SMELL_VARIANTS[0], "13800138000")
    ev = _dup_event(again)
    assert ev is not None and ev["data"]["of"] == first["tracking_number"]
    assert "same citizen" in ev["reason"] and "并单" in ev["reason"]
    assert _dup_event(first) is None


async def test_near_identical_text_about_the_same_place_is_a_probable_duplicate(
        embedded_client: httpx.AsyncClient) -> None:
    first = await _post(embedded_client, SMELL, "13800138000")
    other = await _post(embedded_client, SMELL_AGAIN, "13900139000")
    ev = _dup_event(other)
    assert ev is not None and ev["data"]["of"] == first["tracking_number"]
    assert "near-identical" in ev["reason"]


async def test_same_text_in_another_town_or_a_different_matter_is_not_a_duplicate(
        embedded_client: httpx.AsyncClient) -> None:
    await _post(embedded_client, SMELL, "13800138000")
    elsewhere = await _post(embedded_client, SMELL.replace("塘厦镇", "长安镇"), "13900139000")
    other_matter = await _post(embedded_client, "塘厦镇林村社区的路灯坏了好几天了，晚上很黑", "13700137000")
    assert _dup_event(elsewhere) is None
    assert _dup_event(other_matter) is None


async def test_many_tickets_on_one_issue_make_a_hot_issue(embedded_client: httpx.AsyncClient, db: Database) -> None:
    first = await _post(embedded_client, SMELL, "13800138000")
    for i, text in enumerate(SMELL_VARIANTS):
        await _post(embedded_client, text, f"1390013900{i}")
    await _post(embedded_client, "塘厦镇林村社区的路灯坏了好几天了，晚上很黑", "13700137000")
    await _post(embedded_client, "长安镇某工厂夜间排放刺鼻气味", "13600136000")

    supervisor = await headers_for(db, Role.SUPERVISOR)
    r = await embedded_client.get("/api/v1/hot-issues", headers=supervisor)
    assert r.status_code == 200, r.text
    [hot] = r.json()["items"]
    assert hot["ticket_count"] == 4
    assert hot["town_code"] == "town-tangxia"
    assert hot["sample_tracking_number"] == first["tracking_number"]
    assert "化工厂" in hot["sample_text"]
    assert len(hot["tracking_numbers"]) == 4
    # A smaller cluster shows when the supervisor lowers the bar; another town's filter hides it.
    assert (await embedded_client.get("/api/v1/hot-issues", headers=supervisor,
                                      params={"town": "town-changan"})).json()["items"] == []
    # Agents see duplicates on tickets, not the supervisors' hot-issue board.
    assert (await embedded_client.get("/api/v1/hot-issues")).status_code == 403


def _message(i: int, text: str, phone: str) -> IntakeMessage:
    ext = f"batch-{i}"
    return IntakeMessage(channel=Channel.WEB, external_id=ext, tracking_number=tracking_number_for("web", ext),
                         citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, phone=phone),
                         text=text, received_at=datetime.now(UTC))


async def test_duplicates_within_one_router_batch_are_linked(db: Database, pg_url: str) -> None:
    handler = IntakeHandler(db, settings=settings_for(pg_url))
    batch = [_message(0, SMELL, "+8613800138000"), _message(1, "你好", "+8613800138001"),
             _message(2, SMELL_AGAIN, "+8613900139000")]
    outcomes = await handler(batch)
    assert [o.created for o in outcomes] == [True, True, True]
    from sqlalchemy import select

    from hotline.tickets.models import Ticket, TicketEvent

    async with db.unit_of_work() as s:
        rows = {t.tracking_number: t for t in (await s.scalars(select(Ticket))).all()}
        events = (await s.scalars(select(TicketEvent).where(TicketEvent.kind == "probable_duplicate"))).all()
    a, lone, b = (rows[m.tracking_number] for m in batch)
    assert b.probable_duplicate_of == a.id and b.issue_cluster_id == a.id == a.issue_cluster_id
    assert lone.probable_duplicate_of is None and lone.issue_cluster_id is None  # on its own
    assert [e.ticket_id for e in events] == [b.id]


def test_window_limits_what_counts_as_a_duplicate() -> None:
    now = datetime.now(UTC)
    old = Item(1, 7, "town-tangxia", None, now - timedelta(days=5), shingles(SMELL))
    new = Item(2, 7, "town-tangxia", None, now, shingles(SMELL_AGAIN))
    links = link_batch([new], [old], duplicate_similarity=0.6, hot_similarity=0.2,
                       duplicate_since=now - timedelta(hours=72), hot_since=now - timedelta(days=7))
    link = next(lk for lk in links if lk.id == 2)
    assert link.duplicate_of is None  # older than the duplicate window …
    assert link.cluster_id == 1  # … but still the same issue for the hot-issue board,
    assert [(lk.id, lk.cluster_id) for lk in links if lk.id == 1] == [(1, 1)]  # whose first it is


def test_unrelated_tickets_need_no_update() -> None:
    now = datetime.now(UTC)
    old = Item(1, 7, "town-tangxia", None, now, shingles(SMELL))
    new = [Item(2, 8, "town-tangxia", None, now, shingles("塘厦镇林村社区的路灯坏了好几天了")),
           Item(3, 9, "town-changan", None, now, shingles(SMELL))]
    assert link_batch(new, [old], duplicate_similarity=0.6, hot_similarity=0.2,
                      duplicate_since=now - timedelta(hours=72), hot_since=now - timedelta(days=7)) == []


async def test_duplicates_and_hot_issues_work_on_the_sqlite_default(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        handler = IntakeHandler(database, settings=settings_for(sqlite_url))
        await handler([_message(0, SMELL, "+8613800138000")])
        await handler([_message(1, SMELL_AGAIN, "+8613900139000"), _message(2, SMELL_VARIANTS[0], "+8613700137000")])
        from datetime import timedelta as td

        from hotline.routing import repository

        async with database.unit_of_work() as s:
            [hot] = await repository.hot_issues(s, datetime.now(UTC) - td(days=1), 3, 10)
        assert hot["ticket_count"] == 3 and hot["town_code"] == "town-tangxia"
    finally:
        await database.dispose()
