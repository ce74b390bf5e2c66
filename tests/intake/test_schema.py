"""`IntakeMessage.from_bytes`: what the router reads off the topic. It cleans control characters
once for the whole value (and skips that when the bytes cannot hold one); it must read, clean and
refuse exactly what `model_validate` of the parsed JSON does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from hotline.intake.schema import (
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    Location,
    tracking_number_for,
)


def _message(**over: Any) -> dict[str, Any]:
    m = IntakeMessage(channel=Channel.WEB, external_id="e-1", tracking_number=tracking_number_for("web", "e-1"),
                      citizen=Citizen(identity_kind=IdentityKind.PHONE, identity="+8613800138000", name="李四"),
                      text="路灯坏了", location=Location(lat=23.0, lng=113.7, address="东城街道"),
                      received_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                      raw={"msg": "路灯坏了", "list": ["a", {"k": "v"}]}, meta={"account": "x"})
    value = m.model_dump(mode="json")
    value.update(over)
    return value


def _both(value: Any) -> tuple[Any, Any]:
    """(from_bytes, model_validate of the parsed JSON): each a message or the error's class."""
    data = orjson.dumps(value)
    out = []
    for read in (IntakeMessage.from_bytes, lambda d: IntakeMessage.model_validate(orjson.loads(d))):
        try:
            out.append(read(data))
        except (ValidationError, ValueError) as exc:
            out.append(type(exc))
    return out[0], out[1]


def test_a_message_reads_back_as_it_was_sent() -> None:
    value = _message()
    fast, slow = _both(value)
    assert fast == slow
    assert fast.model_dump(mode="json") == value


@pytest.mark.parametrize("dirty", ["路灯\u0000坏了\u0007", "a\bb\fc", "\u001fx", "x\u000by"])
def test_control_characters_anywhere_are_stripped_as_before(dirty: str) -> None:
    value = _message(text=dirty, subject=dirty, raw={dirty: [dirty, {"k": dirty}]}, meta={"m": dirty})
    value["citizen"]["name"] = dirty
    value["location"]["address"] = dirty
    value["attachments"] = [{"kind": "image", "title": dirty}]
    fast, slow = _both(value)
    assert isinstance(fast, IntakeMessage)
    assert fast == slow
    clean = fast.text
    assert clean and not any(ord(c) < 32 for c in clean)
    assert fast.citizen.name == clean and fast.location is not None and fast.location.address == clean
    assert fast.attachments[0].title == clean and fast.meta == {"m": clean}
    assert fast.raw == {clean: [clean, {"k": clean}]}


def test_tabs_and_newlines_are_kept() -> None:
    fast, slow = _both(_message(text="第一行\n第二行\t完\r"))
    assert fast == slow and fast.text == "第一行\n第二行\t完\r"


def test_text_that_only_looks_like_an_escape_is_left_as_it_is() -> None:
    fast, slow = _both(_message(text="C:\\bin\\u0001 and \\f"))
    assert fast == slow and fast.text == "C:\\bin\\u0001 and \\f"


@pytest.mark.parametrize("bad", [
    {"channel": "fax"},
    {"external_id": ""},
    {"tracking_number": "DG"},
    {"received_at": "2026-01-02T03:04:05"},  # no time zone
    {"location": {"lat": 123.0}},
    {"citizen": {"identity_kind": "phone", "identity": ""}},
    {"citizen": {"identity_kind": "passport", "identity": "x"}},
    {"attachments": [{"kind": "fax"}]},
    {"schema_version": 2},
    {"text": None},
])
def test_bad_input_is_refused_as_before(bad: dict[str, Any]) -> None:
    fast, slow = _both(_message(**bad))
    assert fast is ValidationError and slow is ValidationError


@pytest.mark.parametrize("data", [b"poison", b"", b"[]", b'"\\u0001"', b"null", b'{"a":"x\x01"}'])
def test_what_is_not_a_message_is_refused(data: bytes) -> None:
    with pytest.raises((ValidationError, ValueError)):
        IntakeMessage.from_bytes(data)


def test_a_message_made_in_process_is_still_cleaned() -> None:
    # Not from bytes: every nested model cleans what it is given, as before.
    c = Citizen(identity_kind=IdentityKind.PHONE, identity="x\u0000y", name="\u0007n")
    assert (c.identity, c.name) == ("xy", "n")


@pytest.mark.parametrize("dirty", ["路灯\u0000坏了", "a\bb", "x\u001f"])
def test_an_adapter_building_a_message_gets_it_cleaned_too(dirty: str) -> None:
    """As the channel adapters build it: nested models given as objects, the platform's payload
    (`raw`) nested, with values JSON cannot hold (a huge integer) beside the strings."""
    m = IntakeMessage(channel=Channel.WEB, external_id="e-1", tracking_number=tracking_number_for("web", "e-1"),
                      citizen=Citizen(identity_kind=IdentityKind.PHONE, identity="+8613800138000", name=dirty),
                      text=dirty, received_at=datetime(2026, 1, 2, tzinfo=UTC),
                      raw={"form": {"text": dirty, "n": [2**70, dirty]}, dirty: 1})
    clean = m.text
    assert clean and not any(ord(c) < 32 for c in clean)
    assert m.citizen.name == clean
    assert m.raw == {"form": {"text": clean, "n": [2**70, clean]}, clean: 1}


def test_a_clean_payload_is_kept_as_it_came() -> None:
    raw = {"form": {"text": "路灯坏了\n", "when": datetime(2026, 1, 2, tzinfo=UTC), "n": [1, 2.5, None]}}
    m = IntakeMessage(channel=Channel.WEB, external_id="e-1", tracking_number=tracking_number_for("web", "e-1"),
                      citizen=Citizen(identity_kind=IdentityKind.PHONE, identity="+8613800138000"),
                      text="路灯坏了", received_at=datetime(2026, 1, 2, tzinfo=UTC), raw=raw)
    assert m.raw == raw
