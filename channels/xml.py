"""Flat XML documents as WeChat sends them, parsed with defusedxml (no DTD, no entities)."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hotline.channels.base import BadPayload


def parse_flat_xml(body: bytes | str, root: str = "xml") -> dict[str, str]:
    """`<xml><A>1</A><B><![CDATA[x]]></B></xml>` → `{"A": "1", "B": "x"}`.

    A document with a DTD or entity declarations is refused outright (XML bombs, external
    entities): no platform we speak to ever sends one.
    """
    try:
        doc: Element = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True,
                                         forbid_external=True)
    except DefusedXmlException as exc:
        raise BadPayload("XML with a DTD or entity declarations is refused",
                         reason=type(exc).__name__) from exc
    except (ParseError, ValueError) as exc:
        # expat reports bytes that are not UTF-8 as "not well-formed (invalid token)"; a declared
        # encoding it cannot read (GBK) is a ValueError: both are bodies we cannot read.
        raise BadPayload(f"the body is not well-formed UTF-8 XML: {exc}") from exc
    if doc.tag != root:
        raise BadPayload(f"the XML root element must be <{root}>, not <{doc.tag}>")
    out: dict[str, str] = {}
    for child in doc:
        out[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
    return out
