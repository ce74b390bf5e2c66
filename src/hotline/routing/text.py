"""One text normalisation for training and inference: segmented training rows and raw tickets
come out looking the same (no spaces between CJK characters, half-width, digits folded).
"""

from __future__ import annotations

import re
from functools import lru_cache

# Full-width letters and digits (ＡＢＣ１２３) to half-width: what NFKC does to the characters
# Chinese input methods produce, at a fraction of its cost (full-width punctuation and the
# ideographic space are boundaries anyway).
_FULL_WIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
# Everything that is neither a letter nor a digit (CJK ideographs count as letters) is a
# boundary: punctuation, symbols, emoji and whitespace alike.
_BOUNDARY = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _half_width(m: re.Match[str]) -> str:
    return chr(ord(m.group()) - 0xFEE0)


def _boundary(m: re.Match[str]) -> str:
    # A boundary survives only between two ASCII letters/digits ("sb 12345" stays two
    # tokens); next to a CJK character it disappears, which undoes the word segmentation.
    s, e, t = m.start(), m.end(), m.string
    return " " if 0 < s and e < len(t) and t[s - 1] in _ASCII_WORD and t[e] in _ASCII_WORD else ""


def normalize(text: str) -> str:
    """Raw or word-segmented text → the representation every model sees."""
    t = _FULL_WIDTH.sub(_half_width, text).lower()
    # Numbers (dates, amounts, phone numbers, house numbers) say little about the topic and
    # each one would be a new feature: fold every run of digits to one "0".
    t = _DIGITS.sub("0", t)
    return _BOUNDARY.sub(_boundary, t)


# Function words the training file's segmenter dropped (measured: frequent in raw tickets,
# absent from the segmented file). Raw tickets lose them too, so both sides match; only
# words that are never content on their own are listed.
_STOP_WORDS = re.compile(
    "为什么|我们|没有|他们|作为|不能|本人|但是|什么|这个|这样|就是|有关|任何|还是|不是|如果|自己|"
    "关于|因为|其他|这些|时候|还有|同时|或者|而且|并且|对于|只有|由于|为了|甚至|按照|怎么|你们|"
    "以及|难道|如此|为何|这么"
)
_STOP_CHARS = re.compile("[的了在是我和都也就还与对给被将并这但又而从吗向以于且把此其由们才更均着或因所至之他你您呢跟得]")


@lru_cache(maxsize=2048)  # the topic and the type model read the same batch: work it out once
def model_text(text: str) -> str:
    """What the learned models read: `normalize`, then without the function words the
    segmented training file never contains."""
    return _STOP_CHARS.sub("", _STOP_WORDS.sub("", normalize(text)))


def ticket_text(subject: str | None, body: str | None) -> str:
    """The text a model reads for one ticket: subject first, then body."""
    subject = (subject or "").strip()
    body = (body or "").strip()
    if subject and body and not body.startswith(subject):
        return f"{subject}。{body}"
    return subject or body
