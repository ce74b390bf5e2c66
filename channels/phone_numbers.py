"""Phone numbers in E.164, with China (+86) as the default region (the `phonenumbers` library)."""

from __future__ import annotations

import phonenumbers

from hotline.channels.base import Unprocessable


def normalize_phone(raw: str, region: str = "CN") -> str:
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise Unprocessable(f"'{raw}' is not a phone number", field="phone") from exc
    if not phonenumbers.is_possible_number(num):
        raise Unprocessable(f"'{raw}' is not a possible phone number", field="phone")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
