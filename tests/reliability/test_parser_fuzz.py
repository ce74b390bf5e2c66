"""Property-based fuzzing of every channel parser (hypothesis): hostile XML, invalid UTF-8, huge
numbers, missing fields and wrong types, all behind a *valid* signature so the parser itself is
reached. Every input ends in an acknowledgement or a 4xx HotlineError, never a crash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.channels.app_keys import app_key_digest
from hotline.channels.base import InboundRequest, Parsed, Reply
from hotline.channels.registry import ADAPTERS
from hotline.kit.errors import HotlineError
from hotline.kit.settings import Settings
from tests.support.ledger import record

TOKEN, SECRET, APP_KEY = "fuzz-token", "fuzz-secret-key", "hak_fuzz-app-key"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")
SETTINGS = Settings(
    environment="test", wechat_token=TOKEN, weibo_app_secret=TOKEN, twilio_auth_token=TOKEN,
    sms_aliyun_token=TOKEN, sms_tencent_token=TOKEN, cti_token=TOKEN, secret_key=SECRET,
    app_keys=f"fuzz:{app_key_digest(SECRET, APP_KEY)}",
)
ADAPTER = {cls.name: cls(SETTINGS) for cls in ADAPTERS}
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats()
    | st.text(max_size=60),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)
FIELDS = ["text", "phone", "name", "client_message_id", "content", "phone_number", "sequence_id", "mobile",
          "time", "type", "sender_id", "created_at", "receiver_id", "data", "event", "from", "callId",
          "location", "user_id", "kind", "send_time", "dest_code", "nationcode", "direction", "cause"]
near_valid = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)
xml_tags = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "Location_X",
            "Location_Y", "Recognition", "PicUrl", "Url", "Encrypt"]
hostile_xml = st.one_of(
    st.just(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<xml><Content>&b;</Content></xml>"),
    st.just(b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml><Content>x</Content></xml>'),
    st.builds(lambda a: b"<xml><Content a='" + b"x" * a + b"'/></xml>", st.integers(0, 5000)),
    st.lists(st.tuples(st.sampled_from(xml_tags), st.text(max_size=40)), max_size=8).map(
        lambda kv: ("<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in kv) + "</xml>").encode(
            "utf-8", "surrogatepass")),
)
bodies = st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=200).map(lambda b: b"\xff\xfe" + b),  # invalid UTF-8
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    near_valid.map(lambda v: json.dumps(v).encode()),
    st.lists(near_valid, max_size=3).map(lambda v: json.dumps(v).encode()),
    near_valid.map(lambda v: urlencode({k: json.dumps(x) for k, x in v.items()}).encode()),
    hostile_xml,
)


def sha1_query(secret: str) -> dict[str, str]:
    ts, nonce = str(int(time.time())), "n0nce"
    sig = hashlib.sha1("".join(sorted([secret, ts, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": ts, "nonce": nonce}


def twilio_request(body: bytes) -> InboundRequest:
    from urllib.parse import parse_qsl

    url = "http://hotline.test/channels/sms/twilio"
    try:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        params = {}
    data = url + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()
    return InboundRequest("POST", url, {}, {}, {"x-twilio-signature": sig,
                                                 "content-type": "application/x-www-form-urlencoded"}, body)


def request_for(name: str, body: bytes) -> InboundRequest:
    base = "http://hotline.test"
    ct = {"content-type": "application/json"}
    if name == "wechat":
        return InboundRequest("POST", f"{base}/channels/wechat", {}, sha1_query(TOKEN), {"content-type": "text/xml"}, body)
    if name == "weibo":
        return InboundRequest("POST", f"{base}/channels/weibo", {}, sha1_query(TOKEN), ct, body)
    if name == "twilio" or name.startswith("sms_twilio") or name == "sms-twilio":
        return twilio_request(body)
    if name == "app":
        return InboundRequest("POST", f"{base}/channels/app", {}, {}, {**ct, "x-hotline-app-key": APP_KEY}, body)
    if name == "open311":
        return InboundRequest("POST", f"{base}/open311/v2/requests.json", {}, {},
                              {"content-type": "application/x-www-form-urlencoded"},
                              body + f"&api_key={APP_KEY}".encode())
    # token-in-path channels (Aliyun, Tencent, CTI) and the web form
    return InboundRequest("POST", f"{base}/channels/{name}/{TOKEN}", {"token": TOKEN}, {}, ct, body)


def check(name: str, body: bytes) -> int:
    """The status the platform would get (the adapter's own, or 202 for parsed messages)."""
    adapter = ADAPTER[name]
    try:
        result: Any = adapter.handle(request_for(name, body))
    except HotlineError as exc:
        assert 400 <= exc.status_code < 500, f"{name}: {exc.status_code} {exc.detail}"
        return exc.status_code
    assert isinstance(result, (Parsed, Reply))
    if isinstance(result, Parsed):
        reply = result.ack([m.tracking_number for m in result.messages])
        assert isinstance(reply, Reply) and reply.status_code < 500
        return reply.status_code
    return result.status_code


@pytest.mark.parametrize("name", sorted(ADAPTER))
def test_no_input_crashes_a_channel_parser(name: str) -> None:
    statuses: list[int] = []

    @EXAMPLES
    @given(bodies)
    def run(body: bytes) -> None:
        statuses.append(check(name, body))

    run()
    record(inputs=len(statuses))
    # The signature was valid, so the fuzz reached the parser: not everything was refused as unsigned.
    assert any(s not in (401, 403, 404) for s in statuses), sorted(set(statuses))


@pytest.mark.parametrize("name", ["wechat", "weibo", "app"])
def test_a_wrong_signature_or_key_never_reaches_the_parser(name: str) -> None:
    good = request_for(name, b'{"text": "hi"}')
    bad = InboundRequest(good.method, good.url, good.path_params,
                         {**good.query, "signature": "0" * 40} if good.query else good.query,
                         {**good.headers, "x-hotline-app-key": "hak_wrong"}, good.body)
    with pytest.raises(HotlineError) as err:
        ADAPTER[name].handle(bad)
    assert err.value.status_code in (401, 403)
