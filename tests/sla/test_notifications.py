"""Notifications through the outbox to real local servers: an SMTP server (aiosmtpd) and an HTTP
provider. A provider that is down keeps the message waiting; when it is back it goes out once."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.intake.schema import Channel, IdentityKind
from hotline.kit.clock import utcnow
from hotline.kit.db import Database
from hotline.notify.models import OutboxMessage
from hotline.notify.outbox import RelayPolicy, build_senders, close_senders, relay_once
from hotline.sla import monitor, repository
from hotline.sla.notifications import notify_citizen, sign
from hotline.tickets import repository as tickets
from tests.conftest import settings_for
from tests.sla.support import Provider, SmtpSink, make_ticket

CST = ZoneInfo("Asia/Shanghai")
POLICY = RelayPolicy(backoff_base=60, backoff_max=600)


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    s = SmtpSink()
    yield s
    try:
        s.stop()
    except (AssertionError, RuntimeError):
        pass  # never started, or already stopped


async def _people_rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as s:
        return list((await s.scalars(select(OutboxMessage).where(OutboxMessage.kind != "ticket_event")
                                     .order_by(OutboxMessage.id))).all())


async def test_unit_reminder_waits_while_providers_are_down_then_goes_out_once(
        db: Database, pg_url: str, provider: Provider, smtp: SmtpSink) -> None:
    async with db.unit_of_work() as s:
        await repository.put_unit_contact(s, "env", {
            "email": "env@dg.gov.cn", "sms_phone": "+8613900000000",
            "webhook_url": f"{provider.url}/hooks/env", "webhook_secret": "s3cret"})
    t = await make_ticket(db, datetime(2026, 9, 28, 10, tzinfo=CST))
    assert (await monitor.run_once(db, now=datetime(2026, 9, 29, 6, tzinfo=CST))).warnings == 1

    settings = settings_for(pg_url, smtp_host="127.0.0.1", smtp_port=smtp.port,
                            sms_api_url=f"{provider.url}/sms", sms_api_token="tok", notify_timeout_seconds=3)
    senders = build_senders(settings)
    try:
        provider.down = True  # the SMS provider and the unit's system answer 503; SMTP is not listening
        t0 = utcnow()
        await relay_once(db, senders, now=t0, policy=POLICY)
        rows = await _people_rows(db)
        assert sorted(r.kind for r in rows) == ["email", "sms", "webhook"]
        assert all(r.sent_at is None and r.attempts == 1 and r.last_error for r in rows)
        assert provider.requests == [] and smtp.messages == []

        provider.down = False
        smtp.start()
        await relay_once(db, senders, now=t0 + timedelta(seconds=1), policy=POLICY)  # still backing off
        assert provider.requests == [] and smtp.messages == []
        await relay_once(db, senders, now=t0 + timedelta(minutes=5), policy=POLICY)
        await relay_once(db, senders, now=t0 + timedelta(minutes=30), policy=POLICY)
    finally:
        await close_senders(senders)

    assert all(r.sent_at is not None for r in await _people_rows(db))
    sms = [r for r in provider.requests if r["path"] == "/sms"]
    assert len(sms) == 1
    assert sms[0]["headers"]["Authorization"] == "Bearer tok"
    body = json.loads(sms[0]["body"])
    assert body["to"] == "+8613900000000" and "时限预警" in body["text"] and t.tracking_number in body["text"]

    hooks = [r for r in provider.requests if r["path"] == "/hooks/env"]
    assert len(hooks) == 1
    assert hooks[0]["headers"]["X-Hotline-Signature"] == sign("s3cret", hooks[0]["body"])
    event = json.loads(hooks[0]["body"])
    assert event["event"] == "sla.warning" and event["tracking_number"] == t.tracking_number
    assert event["stage"] == "accept"

    assert len(smtp.messages) == 1 and smtp.messages[0]["to"] == ["env@dg.gov.cn"]
    mail = email.message_from_string(smtp.messages[0]["data"], policy=email.policy.default)
    assert mail["Subject"] == f"【12345 时限预警】工单 {t.tracking_number}"
    assert "签收时限" in mail.get_content()


async def test_citizens_hear_back_on_wechat_weibo_and_sms(db: Database, pg_url: str, provider: Provider) -> None:
    wx = await make_ticket(db, utcnow(), channel=Channel.WECHAT, identity_kind=IdentityKind.WECHAT_OPENID,
                           identity="oWx-1", phone=None)
    wb = await make_ticket(db, utcnow(), channel=Channel.WEIBO, identity_kind=IdentityKind.WEIBO_UID,
                           identity="5501234567", phone=None)
    phone = await make_ticket(db, utcnow(), channel=Channel.PHONE, identity="+8613800000001",
                              phone="+8613800000001")
    anonymous = await make_ticket(db, utcnow(), identity_kind=IdentityKind.ANONYMOUS, identity="anon-1",
                                  phone=None)
    async with db.unit_of_work() as s:
        kinds = []
        for t in (wx, wb, phone, anonymous):
            ticket = await tickets.get_by_tracking_number(s, t.tracking_number)
            assert ticket is not None
            kinds.append(await notify_citizen(s, ticket, f"工单 {t.tracking_number} 已办结", "reply"))
    assert kinds == ["wechat_message", "weibo_reply", "sms", None]

    provider.reply = {"errcode": 40001, "errmsg": "invalid credential"}  # WeChat refuses at first
    settings = settings_for(pg_url, wechat_api_base=provider.url, wechat_access_token="wx-token",
                            weibo_api_base=provider.url, weibo_access_token="wb-token",
                            sms_api_url=f"{provider.url}/sms")
    senders = build_senders(settings)
    try:
        t0 = utcnow()
        await relay_once(db, senders, now=t0, policy=POLICY)
        first = {r.kind: r for r in await _people_rows(db)}
        assert first["wechat_message"].sent_at is None  # errcode ≠ 0 is a failure, retried later
        assert "invalid credential" in (first["wechat_message"].last_error or "")
        assert first["weibo_reply"].sent_at is not None and first["sms"].sent_at is not None
        provider.reply = {"errcode": 0, "errmsg": "ok"}
        await relay_once(db, senders, now=t0 + timedelta(minutes=5), policy=POLICY)
    finally:
        await close_senders(senders)
    assert all(r.sent_at is not None for r in await _people_rows(db))

    wechat = [r for r in provider.requests if r["path"].startswith("/cgi-bin/message/custom/send")]
    assert wechat[-1]["path"] == "/cgi-bin/message/custom/send?access_token=wx-token"
    assert json.loads(wechat[-1]["body"]) == {"touser": "oWx-1", "msgtype": "text",
                                              "text": {"content": f"工单 {wx.tracking_number} 已办结"}}
    weibo = [r for r in provider.requests if r["path"] == "/2/messages/reply.json"]
    form = parse_qs(weibo[-1]["body"].decode())
    assert form["receiver_id"] == ["5501234567"] and form["access_token"] == ["wb-token"]
    assert json.loads(form["data"][0]) == {"text": f"工单 {wb.tracking_number} 已办结"}
    sms = [json.loads(r["body"]) for r in provider.requests if r["path"] == "/sms"]
    assert [m["to"] for m in sms] == ["+8613800000001"]
