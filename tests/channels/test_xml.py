"""WeChat's flat XML: our expat reader gives what defusedxml's tree gave, and refuses what it refused."""

from __future__ import annotations

import random
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
import pytest
from defusedxml import DefusedXmlException

from hotline.channels.base import BadPayload
from hotline.channels.xml import parse_flat_xml

PUSH = ("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[噪音]]></Content>"
        "<MsgId>1</MsgId></xml>").encode()
EDGES = [
    b"<xml><A>1</A><B><![CDATA[ x ]]></B></xml>",
    b"<xml><A>1<C>2</C></A><A>3</A></xml>",  # a repeated name: the last wins
    b"<xml><A>1<C>2</C></A></xml>",  # a child with children reads as ""
    b"<xml><A>a<!-- c -->b</A>tail<B/><?pi x?></xml>",
    b"<xml><A><![CDATA[a]]>b<![CDATA[c]]>&amp;&lt;</A></xml>",
    b'<xml xmlns="urn:x"><A>1</A></xml>',
    b'<xml><n:A xmlns:n="urn:y">1</n:A></xml>',
    '<?xml version="1.0" encoding="GBK"?><xml><A>中文</A></xml>'.encode("gbk"),
    '<?xml version="1.0" encoding="UTF-16"?><xml><A>v</A></xml>'.encode("utf-16"),
    b"<root/>", b"", b"<xml>", b"<xml><A>&foo;</A></xml>", b"<xml><A>\xff\xfe</A></xml>",
    b"<xml><A>1</A></xml><xml/>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
    b'<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml/>',
    b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>',
]


def defused_reading(body: bytes) -> tuple[str, object]:
    """What parse_flat_xml answered when it read defusedxml's tree (before it read expat directly)."""
    try:
        doc = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return "refused", type(exc).__name__
    except (ParseError, ValueError):  # ValueError: a GBK declaration (a 500 then, a 400 now)
        return "malformed", None
    if doc.tag != "xml":
        return "root", doc.tag
    return "ok", {c.tag: (c.text or "").strip() if len(c) == 0 else "" for c in doc}


def our_reading(body: bytes) -> tuple[str, object]:
    try:
        return "ok", parse_flat_xml(body)
    except BadPayload as exc:
        if "reason" in exc.extra:
            return "refused", exc.extra["reason"]
        if "root element" in exc.detail:
            return "root", exc.detail.rsplit("<", 1)[1].rstrip(">")
        assert "not well-formed" in exc.detail
        return "malformed", None


def mutants(n: int) -> list[bytes]:
    rnd = random.Random(12345)
    out = []
    for _ in range(n):
        b = bytearray(PUSH)
        for _ in range(rnd.randint(1, 4)):
            p = rnd.randrange(len(b))
            op = rnd.random()
            if op < 0.4:
                b[p] = rnd.choice(b"<>/![]&;x\x00\xff \n")
            elif op < 0.7:
                del b[p]
            else:
                b[p:p] = rnd.choice([b"<A>", b"</A>", b"<!--", b"-->", b"<![CDATA[", b"]]>", b"&amp;",
                                     b"<!DOCTYPE x>", b"\xe4\xb8", b'<!ENTITY a "b">'])
        out.append(bytes(b))
    return out


@pytest.mark.parametrize("body", [PUSH, *EDGES], ids=range(len(EDGES) + 1))
def test_edge_cases_read_as_defusedxml_read_them(body: bytes) -> None:
    assert our_reading(body) == defused_reading(body)


def test_mangled_pushes_read_as_defusedxml_read_them() -> None:
    differ = [m for m in mutants(3000) if our_reading(m) != defused_reading(m)]
    assert differ == []


def test_dtds_and_entities_are_refused_before_anything_is_read() -> None:
    for body in EDGES[-3:]:
        with pytest.raises(BadPayload) as exc:
            parse_flat_xml(body)
        assert exc.value.extra["reason"] == "DTDForbidden"
