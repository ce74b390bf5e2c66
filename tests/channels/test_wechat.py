"""The WeChat official account channel, with wechatpy playing WeChat's servers."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, random_string

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels.stored import stored_by_number, stored_tickets
from tests.conftest import client_for, settings_for

TOKEN = "hotline-wechat-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")  # 43 characters, as on the console
APP_ID = "wx5823bf96d3bd56c7"
ACCOUNT = "gh_dongguan12345"
OPENID = "oDG12345citizen0000000000001"
URL = "/channels/wechat"

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""


def push_xml(msg_type: str, msg_id: str | None = "6054768590064713728", openid: str = OPENID,
             **fields: str) -> str:
    """A push as WeChat's servers send it (CDATA strings, epoch CreateTime)."""
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    mid = f"<MsgId>{msg_id}</MsgId>" if msg_id else ""
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{body}{mid}</xml>")


def signed_query(token: str = TOKEN, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = random_string(10)
    signer = WeChatSigner()  # what wechatpy's check_signature verifies
    signer.add_data(token, ts, nonce)
    return {"signature": signer.signature, "timestamp": ts, "nonce": nonce}


def encrypted_push(xml: str, crypto: WeChatCrypto, timestamp: int | None = None) -> tuple[dict[str, str], str]:
    """Safe mode: the body carries only <Encrypt>; msg_signature covers it."""
    q = signed_query(timestamp=timestamp)
    envelope = parse_message_envelope(crypto.encrypt_message(xml, q["nonce"], q["timestamp"]))
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    return {**q, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}, body


def parse_message_envelope(xml: str) -> dict[str, str]:
    import xmltodict

    return dict(xmltodict.parse(xml)["xml"])


def decrypt_reply(reply: str, crypto: WeChatCrypto) -> Any:
    env = parse_message_envelope(reply)
    plain = crypto.decrypt_message(reply, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
    return parse_message(plain)


@pytest.fixture
async def wechat(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An account in plain mode (明文模式): only the token is configured."""
    settings = settings_for(pg_url, wechat_token=TOKEN, max_body_bytes=16_384)
    async with client_for(create_app(settings)) as c:
        yield c


@pytest.fixture
async def safe(db: Database, pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An account in safe mode (安全模式): token, EncodingAESKey and AppID configured."""
    settings = settings_for(pg_url, wechat_token=TOKEN, wechat_encoding_aes_key=AES_KEY,
                            wechat_app_id=APP_ID, max_body_bytes=16_384)
    async with client_for(create_app(settings)) as c:
        yield c


@pytest.fixture
def crypto() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, APP_ID)


async def post(client: httpx.AsyncClient, xml: str | bytes, params: dict[str, str] | None = None
               ) -> httpx.Response:
    return await client.post(URL, params=params or signed_query(), content=xml,
                             headers={"content-type": "text/xml"})


async def test_url_check_echoes_echostr(wechat: httpx.AsyncClient) -> None:
    r = await wechat.get(URL, params={**signed_query(), "echostr": "5837397520665436492"})
    assert r.status_code == 200
    assert r.text == "5837397520665436492"

    bad = await wechat.get(URL, params={**signed_query(token="wrong"), "echostr": "x"})
    assert bad.status_code == 403
    assert "signature" in bad.json()["detail"]


async def test_plain_text_push_becomes_a_ticket_and_the_reply_carries_its_number(
    wechat: httpx.AsyncClient, db: Database
) -> None:
    text = "我要投诉塘厦镇某工地夜间施工噪音扰民"
    r = await post(wechat, push_xml("text", Content=text))
    assert r.status_code == 200, r.text
    reply = parse_message(r.text)
    assert reply.type == "text"
    assert reply.source == ACCOUNT and reply.target == OPENID  # addressed back to the citizen
    assert reply.content.startswith("已受理，您的工单编号 DG")

    [ticket] = await stored_tickets(db)
    assert ticket.tracking_number in reply.content
    assert ticket.channel == "wechat"
    assert ticket.text == text
    assert (ticket.identity_kind, ticket.identity) == ("wechat_openid", OPENID)
    assert ticket.intake["meta"]["message_kind"] == "text"


async def test_safe_mode_push_gets_an_encrypted_reply_with_the_ticket_number(
    safe: httpx.AsyncClient, db: Database, crypto: WeChatCrypto
) -> None:
    params, body = encrypted_push(push_xml("text", msg_id="7000000000000000001",
                                           Content="东城街道某小区电梯坏了三天没人修"), crypto)
    r = await post(safe, body, params)
    assert r.status_code == 200, r.text
    assert "<Encrypt>" in r.text and "已受理" not in r.text  # nothing in clear
    reply = decrypt_reply(r.text, crypto)
    assert reply.target == OPENID
    [ticket] = await stored_tickets(db)
    assert ticket.tracking_number in reply.content
    assert ticket.text == "东城街道某小区电梯坏了三天没人修"
    assert ticket.intake["meta"]["encrypted"] is True


async def test_a_retried_push_gets_the_same_number_and_makes_one_ticket(
    wechat: httpx.AsyncClient, safe: httpx.AsyncClient, db: Database, crypto: WeChatCrypto
) -> None:
    xml = push_xml("text", msg_id="7000000000000000002", Content="长安镇某路段路灯坏了")
    first = parse_message((await post(wechat, xml)).text).content
    again = parse_message((await post(wechat, xml)).text).content
    # the account switched to safe mode between two retries: still the same message
    params, body = encrypted_push(xml, crypto)
    third = decrypt_reply((await post(safe, body, params)).text, crypto).content
    params, body = encrypted_push(xml, crypto)
    fourth = decrypt_reply((await post(safe, body, params)).text, crypto).content
    assert first == again == third == fourth
    assert len(await stored_tickets(db)) == 1


@pytest.mark.parametrize(
    ("msg_type", "fields", "kind", "check"),
    [
        ("image", {"PicUrl": "http://mmbiz.qpic.cn/abc.jpg", "MediaId": "media-img-1"}, "image",
         lambda m: m["attachments"] == [{"kind": "image", "url": "http://mmbiz.qpic.cn/abc.jpg",
                                         "media_id": "media-img-1", "title": None,
                                         "content_type": None, "text": None}]),
        ("voice", {"MediaId": "media-voice-1", "Format": "amr", "Recognition": "厚街镇有工厂偷排废水"},
         "voice",
         lambda m: m["text"] == "厚街镇有工厂偷排废水" and m["attachments"][0]["kind"] == "voice"
         and m["attachments"][0]["media_id"] == "media-voice-1"
         and m["attachments"][0]["content_type"] == "amr"),
        ("video", {"MediaId": "media-video-1", "ThumbMediaId": "thumb-1"}, "video",
         lambda m: m["attachments"][0]["media_id"] == "media-video-1"
         and m["meta"]["thumb_media_id"] == "thumb-1"),
        ("shortvideo", {"MediaId": "media-sv-1", "ThumbMediaId": "thumb-2"}, "video",
         lambda m: m["attachments"][0]["kind"] == "video"),
        ("location", {"Location_X": "23.020536", "Location_Y": "113.751765", "Scale": "20",
                      "Label": "广东省东莞市南城街道鸿福路"}, "location",
         lambda m: m["location"]["lat"] == 23.020536 and m["location"]["lng"] == 113.751765
         and m["location"]["address"] == "广东省东莞市南城街道鸿福路"),
        ("link", {"Title": "小区违建", "Description": "附近违章搭建", "Url": "https://example.org/a"},
         "link",
         lambda m: m["attachments"][0] == {"kind": "link", "url": "https://example.org/a",
                                           "media_id": None, "title": "小区违建",
                                           "content_type": None, "text": "附近违章搭建"}),
    ],
)
async def test_every_non_text_message_is_kept(
    wechat: httpx.AsyncClient, db: Database, msg_type: str, fields: dict[str, str], kind: str,
    check: Any,
) -> None:
    r = await post(wechat, push_xml(msg_type, msg_id=f"8{abs(hash(msg_type)) % 10**15}", **fields))
    assert r.status_code == 200, r.text
    [ticket] = await stored_tickets(db)
    assert ticket.tracking_number in parse_message(r.text).content
    assert ticket.intake["meta"]["message_kind"] == kind
    assert check(ticket.intake), ticket.intake
    if kind == "location":
        assert (ticket.lat, ticket.lng) == (23.020536, 113.751765)


@pytest.mark.parametrize(
    ("event", "extra", "welcome"),
    [("subscribe", {}, True), ("unsubscribe", {}, False), ("CLICK", {"EventKey": "MENU_HELP"}, False),
     ("SCAN", {"EventKey": "123", "Ticket": "t"}, False), ("VIEW", {"EventKey": "https://x"}, False),
     ("LOCATION", {"Latitude": "23.02", "Longitude": "113.75", "Precision": "50"}, False)],
)
async def test_events_are_answered_but_make_no_ticket(
    wechat: httpx.AsyncClient, safe: httpx.AsyncClient, db: Database, crypto: WeChatCrypto, event: str,
    extra: dict[str, str], welcome: bool,
) -> None:
    xml = push_xml("event", msg_id=None, Event=event, **extra)
    r = await post(wechat, xml)
    assert r.status_code == 200
    if welcome:
        assert "12345" in parse_message(r.text).content
        params, body = encrypted_push(xml, crypto)
        assert "12345" in decrypt_reply((await post(safe, body, params)).text, crypto).content
    else:
        assert r.text == "success"
    assert await stored_tickets(db) == []


async def test_empty_text_and_unknown_types_are_accepted_and_ignored(
    wechat: httpx.AsyncClient, db: Database
) -> None:
    for xml in (push_xml("text", Content="   "), push_xml("miniprogrampage", Title="x")):
        r = await post(wechat, xml)
        assert (r.status_code, r.text) == (200, "success")
        assert r.headers["x-hotline-ignored"]
    assert await stored_tickets(db) == []


async def test_bad_signatures_are_refused_and_nothing_is_stored(
    wechat: httpx.AsyncClient, safe: httpx.AsyncClient, db: Database, crypto: WeChatCrypto
) -> None:
    xml = push_xml("text", Content="我要投诉噪音")
    assert (await post(wechat, xml, signed_query(token="not-our-token"))).status_code == 403
    missing = await wechat.post(URL, content=xml)
    assert missing.status_code == 401
    assert "signature" in missing.json()["detail"]
    # safe mode: the URL signature is right but msg_signature does not cover this body
    params, body = encrypted_push(xml, crypto)
    r = await post(safe, body, {**params, "msg_signature": "0" * 40})
    assert r.status_code == 403
    assert "msg_signature" in r.json()["detail"]
    assert await stored_tickets(db) == []


@pytest.mark.parametrize("age", [-301, -3600, +600])
async def test_stale_or_future_timestamps_are_refused(
    wechat: httpx.AsyncClient, db: Database, age: int
) -> None:
    r = await post(wechat, push_xml("text", Content="我要投诉噪音"),
                   signed_query(timestamp=int(time.time()) + age))
    assert r.status_code == 403
    assert "timestamp" in r.json()["detail"]
    assert await stored_tickets(db) == []


async def test_a_message_encrypted_for_another_appid_is_refused(
    safe: httpx.AsyncClient, db: Database
) -> None:
    other = WeChatCrypto(TOKEN, AES_KEY, "wx0000000000000000")
    params, body = encrypted_push(push_xml("text", Content="我要投诉噪音"), other)
    r = await post(safe, body, params)
    assert r.status_code == 403
    assert "AppID" in r.json()["detail"]
    assert await stored_tickets(db) == []


async def test_xml_bombs_and_garbage_are_400(
    wechat: httpx.AsyncClient, safe: httpx.AsyncClient, db: Database, crypto: WeChatCrypto
) -> None:
    r = await post(wechat, XML_BOMB)
    assert r.status_code == 400
    assert "DTD" in r.json()["detail"]
    # the same bomb inside a validly signed, validly encrypted envelope
    params, body = encrypted_push(XML_BOMB.decode(), crypto)
    r = await post(safe, body, params)
    assert r.status_code == 400
    assert "DTD" in r.json()["detail"]
    invalid_utf8 = push_xml("text", Content="x").encode().replace(b"x]]", b"\xff\xfe]]")
    r = await post(wechat, invalid_utf8)
    assert r.status_code == 400
    assert "UTF-8" in r.json()["detail"]
    assert (await post(wechat, b"<xml><unclosed>")).status_code == 400
    assert await stored_tickets(db) == []


async def test_oversized_body_is_413(wechat: httpx.AsyncClient, db: Database) -> None:
    r = await post(wechat, push_xml("text", Content="噪" * 20_000))
    assert r.status_code == 413
    assert await stored_tickets(db) == []


async def test_an_unconfigured_account_takes_nothing(db: Database, pg_url: str) -> None:
    async with client_for(create_app(settings_for(pg_url))) as c:
        r = await post(c, push_xml("text", Content="我要投诉噪音"))
        assert r.status_code == 404
        assert "HOTLINE_WECHAT_TOKEN" in r.json()["detail"]
    # plain mode configured, but a safe-mode push arrives: refused, not read in clear
    async with client_for(create_app(settings_for(pg_url, wechat_token=TOKEN))) as c:
        params, body = encrypted_push(push_xml("text", Content="我要投诉噪音"),
                                      WeChatCrypto(TOKEN, AES_KEY, APP_ID))
        r = await post(c, body, params)
        assert r.status_code == 403
        assert "ENCODING_AES_KEY" in r.json()["detail"]
    assert await stored_tickets(db) == []


async def test_two_citizens_same_second_are_two_tickets(wechat: httpx.AsyncClient, db: Database) -> None:
    a = await post(wechat, push_xml("text", msg_id="9100", Content="南城街道路灯坏了"))
    b = await post(wechat, push_xml("text", msg_id="9101", openid="oDGother", Content="南城街道路灯坏了"))
    numbers = await stored_by_number(db)
    assert len(numbers) == 2
    assert {n for n in numbers if n in a.text} != {n for n in numbers if n in b.text}


async def test_a_safe_mode_account_refuses_plain_pushes(safe: httpx.AsyncClient, db: Database) -> None:
    # The plain signature does not cover the body: a captured one must not carry a forged message.
    r = await post(safe, push_xml("text", Content="伪造的投诉"))
    assert r.status_code == 403
    assert "safe mode" in r.json()["detail"]
    assert await stored_tickets(db) == []


async def test_a_tampered_or_foreign_cipher_text_is_refused_even_when_signed(
    safe: httpx.AsyncClient, db: Database, crypto: WeChatCrypto
) -> None:
    params, body = encrypted_push(push_xml("text", Content="我要投诉噪音"), crypto)
    encrypt = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    raw = base64.b64decode(encrypt)
    foreign = WeChatCrypto(TOKEN, base64.b64encode(os.urandom(32)).decode().rstrip("="), APP_ID)
    foreign_encrypt = parse_message_envelope(foreign.encrypt_message(
        push_xml("text", Content="x"), params["nonce"], params["timestamp"]))["Encrypt"]
    # Refused, never taken: 400 when it cannot be cipher text of ours, 403 when it decrypts to
    # something not addressed to us (a block short can leave valid-looking padding).
    for bad, statuses in ((base64.b64encode(raw[:-5]).decode(), {400}),  # not whole blocks
                          ("not base64 at all!", {400}),
                          (base64.b64encode(raw[:-16]).decode(), {400, 403}),  # a block short
                          (foreign_encrypt, {400, 403})):  # another account's key
        signer = WeChatSigner()
        signer.add_data(TOKEN, params["timestamp"], params["nonce"], bad)
        r = await post(safe, body.replace(encrypt, bad), {**params, "msg_signature": signer.signature})
        assert r.status_code in statuses, (bad[:20], r.text)
    assert await stored_tickets(db) == []
