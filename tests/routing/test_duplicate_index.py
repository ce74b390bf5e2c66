"""The router's duplicate index kept between batches: it sees earlier batches, other routers'
tickets (also those committed late), forgets merged tickets and what a rolled-back batch did."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from hotline.intake.schema import Channel, Citizen, IdentityKind, IntakeMessage, tracking_number_for
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.tickets.handlers import IntakeHandler
from hotline.tickets.models import Ticket, TicketEvent
from tests.conftest import settings_for

SMELL = "塘厦镇林村社区旁边的化工厂每天晚上排放刺鼻气味，附近居民晚上都不敢开窗"
SMELL_AGAIN = "塘厦镇林村社区旁边的化工厂每天晚上排放刺鼻的气味，附近居民都不敢开窗户"


def _message(key: str, text: str, phone: str) -> IntakeMessage:
    return IntakeMessage(channel=Channel.WEB, external_id=key, tracking_number=tracking_number_for("web", key),
                         citizen=Citizen(identity_kind=IdentityKind.PHONE, identity=phone, phone=phone),
                         text=text, received_at=datetime.now(UTC))


async def _duplicate_of(database: Database, m: IntakeMessage) -> str | None:
    async with database.unit_of_work() as s:
        ticket = await s.scalar(select(Ticket).where(Ticket.tracking_number == m.tracking_number))
        assert ticket is not None
        ev = await s.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                      TicketEvent.kind == "probable_duplicate"))
    return ev.data["of"] if ev is not None else None


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(request: pytest.FixtureRequest, db: Database, pg_url: str, sqlite_url: str):  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        yield db, pg_url
        return
    d = Database(sqlite_url)
    yield d, sqlite_url
    await d.dispose()


async def test_a_router_sees_its_earlier_batches_and_other_routers_tickets(database) -> None:  # type: ignore[no-untyped-def]
    d, url = database
    a, b = IntakeHandler(d, settings=settings_for(url)), IntakeHandler(d, settings=settings_for(url))
    first, second = _message("i1", SMELL, "+8613800000001"), _message("i2", SMELL_AGAIN, "+8613800000002")
    await a([first])
    await b([second])  # another router (cold start): reads what exists
    assert await _duplicate_of(d, second) == first.tracking_number
    # Router a's index catches up with b's ticket: the identical text is b's, not its own first.
    third = _message("i3", SMELL_AGAIN, "+8613800000003")
    await a([third])
    assert await _duplicate_of(d, third) == second.tracking_number


async def test_a_ticket_committed_after_a_later_one_is_still_a_candidate(database) -> None:  # type: ignore[no-untyped-def]
    d, url = database
    if url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: no transaction commits behind another")
    router = IntakeHandler(d, settings=settings_for(url))
    await router([_message("w0", "东城街道某餐馆食品卫生差", "+8613800000009")])
    async with d.sessions() as slow:  # another router's batch, still open
        now = utcnow()
        late = Ticket(tracking_number="DGLATE0000001", type="complaint", status="dispatched", channel="web",
                      text=SMELL, town_code="town-tangxia", topic=None, urgency="normal",
                      received_at=now, created_at=now, updated_at=now)
        slow.add(late)
        await slow.flush()
        # Meanwhile this router writes a batch whose ids are above the open one's.
        await router([_message("w1", "请问社保怎么转移到东莞", "+8613800000010")])
        await slow.commit()
    again = _message("w2", SMELL_AGAIN, "+8613800000011")
    await router([again])
    assert await _duplicate_of(d, again) == "DGLATE0000001"


async def test_a_merged_ticket_is_no_longer_a_candidate(database) -> None:  # type: ignore[no-untyped-def]
    d, url = database
    router = IntakeHandler(d, settings=settings_for(url))
    first = _message("m1", SMELL, "+8613800000021")
    await router([first])
    async with d.unit_of_work() as s:
        await s.execute(update(Ticket).where(Ticket.tracking_number == first.tracking_number)
                        .values(status="merged"))
    again = _message("m2", SMELL_AGAIN, "+8613800000022")
    await router([again])
    assert await _duplicate_of(d, again) is None


async def test_a_rolled_back_batch_leaves_nothing_behind(database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    d, url = database
    router = IntakeHandler(d, settings=settings_for(url))
    first = _message("r1", SMELL, "+8613800000031")
    await router([first])
    from hotline.knowledge import selfservice

    real = selfservice.after_ingest

    async def fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the batch fails after linking")

    monkeypatch.setattr(selfservice, "after_ingest", fails)
    phantom = _message("r2", SMELL_AGAIN, "+8613800000032")
    with pytest.raises(RuntimeError):
        await router([phantom])
    monkeypatch.setattr(selfservice, "after_ingest", real)
    again = _message("r3", SMELL_AGAIN, "+8613800000033")
    await router([again])
    # Linked to the committed ticket, not to the one that never was.
    assert await _duplicate_of(d, again) == first.tracking_number
    await router([phantom])  # redelivered: made now, once
    assert await _duplicate_of(d, phantom) is not None
