"""WeChat's flat XML, read through defusedxml: what a push reads as, and what is refused."""

from __future__ import annotations

import pytest

from hotline.channels.base import BadPayload
from hotline.channels.xml import parse_flat_xml

PUSH = ("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[噪音]]></Content>"
        "<MsgId>1</MsgId></xml>").encode()


def test_a_push_reads_as_its_fields() -> None:
    assert parse_flat_xml(PUSH) == {"ToUserName": "gh_x", "FromUserName": "o1", "CreateTime": "1",
                                    "MsgType": "text", "Content": "噪音", "MsgId": "1"}


@pytest.mark.parametrize(("body", "fields"), [
    (b"<xml><A>1</A><B><![CDATA[ x ]]></B></xml>", {"A": "1", "B": "x"}),
    (b"<xml><A>1<C>2</C></A><A>3</A></xml>", {"A": "3"}),  # a repeated name: the last wins
    (b"<xml><A>1<C>2</C></A></xml>", {"A": ""}),  # a child with children reads as ""
    (b"<xml><A><![CDATA[a]]>b<![CDATA[c]]>&amp;&lt;</A></xml>", {"A": "abc&<"}),
    ('<?xml version="1.0" encoding="UTF-16"?><xml><A>v</A></xml>'.encode("utf-16"), {"A": "v"}),
])
def test_edge_cases(body: bytes, fields: dict[str, str]) -> None:
    assert parse_flat_xml(body) == fields


@pytest.mark.parametrize("body", [
    b"", b"<xml>", b"<xml><A>&foo;</A></xml>", b"<xml><A>\xff\xfe</A></xml>", b"<xml><A>1</A></xml><xml/>",
    # A declared encoding expat cannot read was a ValueError out of the handler (a 500): a 400 now.
    '<?xml version="1.0" encoding="GBK"?><xml><A>中文</A></xml>'.encode("gbk"),
])
def test_unreadable_bodies_are_bad_payloads(body: bytes) -> None:
    with pytest.raises(BadPayload) as exc:
        parse_flat_xml(body)
    assert "not well-formed" in exc.value.detail


def test_another_root_is_refused() -> None:
    with pytest.raises(BadPayload, match="root element must be <xml>"):
        parse_flat_xml(b"<root/>")


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
    b'<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml/>',
    b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>',
])
def test_dtds_and_entities_are_refused_before_anything_is_read(body: bytes) -> None:
    with pytest.raises(BadPayload) as exc:
        parse_flat_xml(body)
    assert exc.value.extra["reason"] == "DTDForbidden"
