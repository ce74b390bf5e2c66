"""SMS uplink the Twilio way, with twilio's own RequestValidator signing the webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from defusedxml import ElementTree
from twilio.request_validator import RequestValidator

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels.stored import stored_tickets
from tests.conftest import client_for, settings_for

TOKEN = "twilio-auth-token-0123456789abcdef"
URL = "http://hotline.test/channels/sms/twilio"


def sms(sid: str = "SM0123456789abcdef0123456789abcdef", body: str = "我要投诉塘厦镇工地夜间施工噪音",
        sender: str = "+8613800138000", **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC0123456789abcdef", "From": sender,
            "To": "+8676912345", "Body": body, "NumMedia": "0", "NumSegments": "1",
            "FromCountry": "CN", "ApiVersion": "2010-04-01", **extra}


async def send(c: httpx.AsyncClient, params: dict[str, str], token: str = TOKEN,
               url: str = URL) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(url, params)
    return await c.post(url, data=params, headers={"X-Twilio-Signature": signature})


def twiml_message(r: httpx.Response) -> str | None:
    root = ElementTree.fromstring(r.content)
    assert root.tag == "Response"
    msg = root.find("Message")
    return None if msg is None else msg.text


@pytest.fixture
async def twilio(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(settings_for(pg_url, twilio_auth_token=TOKEN,
                                                  max_body_bytes=8192))) as c:
        yield c


async def test_signed_sms_becomes_a_ticket_answered_in_twiml(twilio: httpx.AsyncClient, db: Database) -> None:
    r = await send(twilio, sms())
    assert r.status_code == 200, r.text
    assert "xml" in r.headers["content-type"]
    text = twiml_message(r)
    [t] = await stored_tickets(db)
    assert text is not None and text.startswith("已受理，您的工单编号 " + t.tracking_number)
    assert (t.channel, t.text) == ("sms", "我要投诉塘厦镇工地夜间施工噪音")
    assert (t.identity_kind, t.identity) == ("phone", "+8613800138000")
    assert t.intake["meta"]["message_kind"] == "text"


async def test_retry_of_the_same_message_sid(twilio: httpx.AsyncClient, db: Database) -> None:
    a, b = twiml_message(await send(twilio, sms())), twiml_message(await send(twilio, sms()))
    assert a == b
    assert len(await stored_tickets(db)) == 1


async def test_a_local_number_is_stored_in_e164(twilio: httpx.AsyncClient, db: Database) -> None:
    await send(twilio, sms(sender="138 0013 8001"))
    [t] = await stored_tickets(db)
    assert t.identity == "+8613800138001"


async def test_mms_media_is_kept(twilio: httpx.AsyncClient, db: Database) -> None:
    r = await send(twilio, sms(body="", NumMedia="2",
                               MediaUrl0="https://api.twilio.com/media/ME1",
                               MediaContentType0="image/jpeg",
                               MediaUrl1="https://api.twilio.com/media/ME2",
                               MediaContentType1="audio/amr"))
    assert r.status_code == 200
    [t] = await stored_tickets(db)
    assert t.intake["meta"]["message_kind"] == "image"
    assert [(a["kind"], a["url"]) for a in t.intake["attachments"]] == [
        ("image", "https://api.twilio.com/media/ME1"), ("voice", "https://api.twilio.com/media/ME2")]


async def test_empty_sms_is_accepted_and_ignored(twilio: httpx.AsyncClient, db: Database) -> None:
    r = await send(twilio, sms(body="   "))
    assert r.status_code == 200
    assert twiml_message(r) is None
    assert r.headers["x-hotline-ignored"] == "empty message"
    assert await stored_tickets(db) == []


async def test_bad_signatures_store_nothing(twilio: httpx.AsyncClient, db: Database) -> None:
    assert (await send(twilio, sms(), token="someone-elses-token")).status_code == 403
    # signed for one body, another body sent
    params = sms()
    sig = RequestValidator(TOKEN).compute_signature(URL, params)
    tampered = await twilio.post(URL, data={**params, "Body": "篡改"},
                                 headers={"X-Twilio-Signature": sig})
    assert tampered.status_code == 403
    # signed for another URL (a webhook meant for another service, replayed here)
    elsewhere = RequestValidator(TOKEN).compute_signature("https://other.example/sms", params)
    replayed = await twilio.post(URL, data=params, headers={"X-Twilio-Signature": elsewhere})
    assert replayed.status_code == 403
    missing = await twilio.post(URL, data=sms())
    assert missing.status_code == 401
    assert "X-Twilio-Signature" in missing.json()["detail"]
    assert await stored_tickets(db) == []


async def test_hostile_bodies(twilio: httpx.AsyncClient, db: Database) -> None:
    r = await twilio.post(URL, content=b"Body=\xff\xfe&From=1", headers={
        "X-Twilio-Signature": "x", "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert "UTF-8" in r.json()["detail"]
    assert (await send(twilio, sms(body="噪" * 4000))).status_code == 413
    assert await stored_tickets(db) == []


async def test_unconfigured_twilio_takes_nothing(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await send(c, sms())
        assert r.status_code == 404
        assert "HOTLINE_TWILIO_AUTH_TOKEN" in r.json()["detail"]
    assert await stored_tickets(db) == []


async def test_signature_with_default_port_or_sha256_shared_key(twilio: httpx.AsyncClient, db: Database) -> None:
    # Twilio may sign the URL with the default port spelled out; the validator accepts both.
    params = sms(sid="SMport")
    with_port = RequestValidator(TOKEN).compute_signature("http://hotline.test:80/channels/sms/twilio",
                                                          params)
    r = await twilio.post(URL, data=params, headers={"X-Twilio-Signature": with_port})
    assert r.status_code == 200
    params = sms(sid="SMsha256")
    sha256 = RequestValidator(TOKEN).compute_signature(URL, params, algorithm="HMAC_SHA256")
    r = await twilio.post(URL, data=params, headers={
        "X-Twilio-Signature": sha256,
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"})
    assert r.status_code == 200
    assert len(await stored_tickets(db)) == 2
