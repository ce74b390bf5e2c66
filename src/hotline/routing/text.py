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


# Function words the training file's segmenter dropped (measured: frequent in raw tickets,
# absent from the segmented file). Raw tickets lose them too, so both sides match; only
# words that are never content on their own are listed, longest first.
_STOP_WORDS = ["为什么", "我们", "没有", "他们", "作为", "不能", "本人", "但是", "什么", "这个", "这样", "就是", "有关", "任何", "还是", "不是", "如果", "自己", "关于", "因为", "其他", "这些", "时候", "还有", "同时", "或者", "而且", "并且", "对于", "只有", "由于", "为了", "甚至", "按照", "怎么", "你们", "以及", "难道", "如此", "为何", "这么"]
_STOP_CHARS = "的了在是我和都也就还与对给被将并这但又而从吗向以于且把此其由们才更均着或因所至之他你您呢跟得"
_STOP = re.compile("|".join(sorted(_STOP_WORDS, key=len, reverse=True)) + f"|[{_STOP_CHARS}]")


def model_text(text: str) -> str:
    """What the learned models read: `normalize`, then without the function words the
    segmented training file never contains."""
    return _STOP.sub("", normalize(text))


def ticket_text(subject: str | None, body: str | None) -> str:
    """The text a model reads for one ticket: subject first, then body."""
    subject = (subject or "").strip()
    body = (body or "").strip()
    if subject and body and not body.startswith(subject):
        return f"{subject}。{body}"
    return subject or body
