"""One text normalisation for training and inference: segmented training rows and raw tickets
come out looking the same (no spaces between CJK characters, half-width, digits folded).
"""

from __future__ import annotations

import re
import unicodedata

# Everything that is neither a letter nor a digit (CJK ideographs count as letters) is a
# boundary: punctuation, symbols, emoji and whitespace alike.
_BOUNDARY = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
# A boundary survives only between two ASCII letters/digits ("sb 12345" stays two tokens);
# anywhere next to a CJK character it disappears, which is what undoes the word segmentation.
_SPACE_NOT_BETWEEN_ASCII = re.compile(r" (?![a-z0-9])|(?<![a-z0-9]) ")


def normalize(text: str) -> str:
    """Raw or word-segmented text → the representation every model sees."""
    t = unicodedata.normalize("NFKC", text).lower()
    # Numbers (dates, amounts, phone numbers, house numbers) say little about the topic and
    # each one would be a new feature: fold every run of digits to one "0".
    t = _DIGITS.sub("0", t)
    t = _BOUNDARY.sub(" ", t).strip()
    return _SPACE_NOT_BETWEEN_ASCII.sub("", t)


def ticket_text(subject: str | None, body: str | None) -> str:
    """The text a model reads for one ticket: subject first, then body."""
    subject = (subject or "").strip()
    body = (body or "").strip()
    if subject and body and not body.startswith(subject):
        return f"{subject}。{body}"
    return subject or body
