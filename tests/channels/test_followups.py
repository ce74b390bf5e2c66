"""Follow-ups: a photo, voice note or location right after a text joins that text's ticket."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from hotline.api.app import create_app
from hotline.intake.cli import app_key
from hotline.intake.models import IntakeRecord
from hotline.intake.schema import (
    Attachment,
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    Location,
)
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.tickets.handlers import IntakeHandler
from hotline.tickets.models import Ticket, TicketEvent
from tests.conftest import client_for, settings_for

TEXT = "长安镇锦厦路口的井盖没了，晚上很危险"
PHOTO = {"kind": "image", "attachments": [{"kind": "image", "url": "https://img.example/manhole.jpg"}]}
WHERE = {"kind": "location", "location": {"lat": 22.8163, "lng": 113.8051, "address": "长安镇锦厦路口"}}


@pytest.fixture
async def app_channel(db: Database, pg_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    assert app_key(argparse.Namespace(action="create", name="app"), settings_for(pg_url)) == 0
    out = capsys.readouterr().out
    key = re.search(r"^\s+(hak_\S+)$", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    keys = re.search(r"HOTLINE_APP_KEYS=(\S+)", out).group(1)  # type: ignore[union-attr]
    async with client_for(create_app(settings_for(pg_url, app_keys=keys))) as c:
        c.headers["X-Hotline-App-Key"] = key
        yield c


async def send(c: httpx.AsyncClient, mid: str, user: str = "u-1", **body: object) -> str:
    r = await c.post("/channels/app", json={"client_message_id": mid, "user_id": user, **body})
    assert r.status_code == 202, r.text
    return str(r.json()["tracking_number"])


async def tickets(db: Database) -> list[Ticket]:
    async with db.sessions() as s:
        return list((await s.scalars(select(Ticket).order_by(Ticket.id))).all())


async def events_of(db: Database, ticket_id: int) -> list[TicketEvent]:
    async with db.sessions() as s:
        return list((await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                     .order_by(TicketEvent.id))).all())


async def test_a_photo_and_a_location_after_a_text_join_its_ticket(app_channel, db: Database) -> None:  # type: ignore[no-untyped-def]
    tn = await send(app_channel, "t-1", text=TEXT)
    await send(app_channel, "p-1", **PHOTO)
    await send(app_channel, "l-1", **WHERE)

    [ticket] = await tickets(db)
    assert ticket.tracking_number == tn
    assert (ticket.lat, ticket.lng, ticket.location_address) == (22.8163, 113.8051, "长安镇锦厦路口")
    async with db.sessions() as s:
        inbox = (await s.execute(select(IntakeRecord.external_id, IntakeRecord.ticket_id))).all()
    assert sorted(inbox) == [("app:l-1", ticket.id), ("app:p-1", ticket.id), ("app:t-1", ticket.id)]
    added = [e for e in await events_of(db, ticket.id) if e.kind == "attachment_added"]
    assert [e.data["message_kind"] for e in added] == ["image", "location"]  # type: ignore[index]
    assert added[0].data["attachments"][0]["url"] == "https://img.example/manhole.jpg"  # type: ignore[index]


async def test_a_location_does_not_overwrite_the_place_the_text_gave(app_channel, db: Database) -> None:  # type: ignore[no-untyped-def]
    await send(app_channel, "t-1", text=TEXT, location={"address": "长安镇锦厦社区"})
    await send(app_channel, "l-1", **WHERE)
    [ticket] = await tickets(db)
    assert (ticket.location_address, ticket.lat) == ("长安镇锦厦社区", None)


async def test_late_or_someone_elses_photos_make_tickets_of_their_own(app_channel, db: Database) -> None:  # type: ignore[no-untyped-def]
    await send(app_channel, "t-1", text=TEXT)
    other = await send(app_channel, "p-9", user="u-2", **PHOTO)  # another citizen
    async with db.unit_of_work() as s:  # the text came eleven minutes ago
        await s.execute(update(Ticket).values(received_at=utcnow() - timedelta(minutes=11)))
    late = await send(app_channel, "p-1", **PHOTO)
    spoken = await send(app_channel, "v-1", kind="voice", text="井盖还是没有人来修",  # speech-to-text
                        attachments=[{"kind": "voice", "url": "https://img.example/v.amr"}])
    by_number = {t.tracking_number: t for t in await tickets(db)}
    assert len(by_number) == 4
    assert by_number[other].text == "[图片]" and by_number[late].text == "[图片]"
    assert by_number[spoken].text == "井盖还是没有人来修"


async def test_a_text_and_its_photo_in_one_router_batch_make_one_ticket(db: Database, pg_url: str) -> None:
    citizen = Citizen(identity_kind=IdentityKind.WECHAT_OPENID, identity="oABC123")
    now = utcnow()

    def message(eid: str, kind: str, text: str = "", **kw: object) -> IntakeMessage:
        return IntakeMessage(channel=Channel.WECHAT, external_id=eid, tracking_number=f"DGTEST{eid}",
                             citizen=citizen, text=text, received_at=now, meta={"message_kind": kind}, **kw)

    batch = [message("1", "text", TEXT),
             message("2", "image", attachments=[Attachment(kind="image", url="https://img.example/a.jpg")]),
             message("3", "location", location=Location(lat=22.8, lng=113.8, label="锦厦路口"))]
    handler = IntakeHandler(Database(pg_url), settings=settings_for(pg_url))
    outcomes = await handler(batch)
    await handler(batch)  # redelivered by Kafka: nothing new
    await handler.db.dispose()
    assert {o.tracking_number for o in outcomes} == {"DGTEST1"}
    [ticket] = await tickets(db)
    assert (ticket.tracking_number, ticket.lat, ticket.location_address) == ("DGTEST1", 22.8, "锦厦路口")
    assert [e.kind for e in await events_of(db, ticket.id)].count("attachment_added") == 2
