"""Phone numbers: the mainland-mobile shortcut answers exactly what the phonenumbers library does."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from hotline.channels.base import Unprocessable
from hotline.channels.phone_numbers import normalize_phone


def by_library(raw: str, region: str = "CN") -> str | None:
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def ours(raw: str, region: str = "CN") -> str | None:
    try:
        return normalize_phone(raw, region)
    except Unprocessable:
        return None


def test_mobile_numbers_bare_or_international_agree_with_the_library() -> None:
    rng = random.Random(12345)
    numbers = [f"{prefix}{rng.randrange(10**5):05d}" for prefix in range(130_000, 200_000, 7)]
    numbers += ["17951013800138", "17900138000", "13800138000", "19912345678"]
    for n in numbers:
        for raw in (n, f"+86{n}", f"86{n}", f"+86 {n}", f"{n[:3]}-{n[3:7]}-{n[7:]}"):
            assert ours(raw) == by_library(raw), raw
        assert ours(f"+86{n}", "US") == by_library(f"+86{n}", "US"), n
        assert ours(n, "US") == by_library(n, "US"), n


def test_the_usual_shapes() -> None:
    assert normalize_phone("13800138000") == "+8613800138000"
    assert normalize_phone("+8613800138000") == "+8613800138000"
    assert normalize_phone("0769-22221234") == "+8676922221234"  # a Dongguan landline
    with pytest.raises(Unprocessable):
        normalize_phone("not a phone")
