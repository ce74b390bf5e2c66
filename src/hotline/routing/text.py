"""One text normalisation for training and inference: segmented training rows and raw tickets
come out looking the same (no spaces between CJK characters, half-width, digits folded).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

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


# --- `model_text` for a whole batch at once, as code points (what the n-gram hashers read) ---
#
# Python's regular expressions test Unicode classes character by character (~60 ns each); the
# router reads ~200,000 characters a batch. The same steps as `normalize` + `model_text`, done
# with numpy over the batch: every code point is looked up once in a table (its lower-case,
# half-width form and its class), then digit runs fold, boundaries go, stop words and stop
# characters go. `tests/routing/test_models.py` holds it equal to `model_text`.

_DIGIT, _BOUNDARY_CHAR, _LATIN, _STOP_CHAR, _STOP_FIRST, _COMPLEX, _KNOWN = (1, 2, 4, 8, 16, 32, 128)
_PAGE = 8  # the table fills 256 code points at a time, as batches meet them
_MAP = np.zeros(0x110000, dtype=np.uint32)
_FLAGS = np.zeros(0x110000, dtype=np.uint8)
_STOP_WORD_LIST = tuple(_STOP_WORDS.pattern.split("|"))
_STOP_CHAR_SET = frozenset(_STOP_CHARS.pattern[1:-1])
_SPACE, _ZERO = ord(" "), ord("0")


def _fill_pages(pages: np.ndarray) -> None:
    firsts = {w[0] for w in _STOP_WORD_LIST}
    for page in pages.tolist():
        for c in range(page << _PAGE, (page + 1) << _PAGE):
            ch = chr(c)
            low = _FULL_WIDTH.sub(_half_width, ch).lower()
            flags = _KNOWN
            if len(low) != 1 or c == 0x3A3:
                # İ → i̇ (one character becomes two), Σ → σ or ς (by its neighbours):
                # such a batch goes through `model_text` itself.
                flags |= _COMPLEX
                _MAP[c] = c
            else:
                _MAP[c] = ord(low)
                if _DIGITS.match(low):
                    flags |= _DIGIT | _LATIN  # folds to "0"
                elif _BOUNDARY.match(low):
                    flags |= _BOUNDARY_CHAR
                elif low in _ASCII_WORD:
                    flags |= _LATIN
                if low in _STOP_CHAR_SET:
                    flags |= _STOP_CHAR
                if low in firsts:
                    flags |= _STOP_FIRST
            _FLAGS[c] = flags


def _shift_right(a: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    out[:1] = False
    out[1:] = a[:-1]
    return out


def model_codes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`model_text` of every text, as one uint32 array of code points and each text's length."""
    n_docs = len(texts)
    raw = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n_docs)
    if raw.size == 0:
        return raw.copy(), lengths * 0
    flags = _FLAGS[raw]
    if ((flags & (_KNOWN | _COMPLEX)) != _KNOWN).any():  # a character not seen yet, or İ/Σ
        pages = np.unique(raw[(flags & _KNOWN) == 0] >> _PAGE)
        if pages.size:
            _fill_pages(pages)
            flags = _FLAGS[raw]
        if (flags & _COMPLEX).any():
            return _codes_of([model_text(t) for t in texts])
    codes = _MAP[raw]
    owner = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    first = np.zeros(raw.size, dtype=bool)  # the first character of its text
    first[(np.cumsum(lengths) - lengths)[lengths > 0]] = True
    # \d+ → "0"
    digit = (flags & _DIGIT).astype(bool)
    drop = digit & _shift_right(digit) & ~first
    codes[digit] = _ZERO
    # [\W_]+ → " " between two latin letters/digits, else nothing
    boundary = (flags & _BOUNDARY_CHAR).astype(bool)
    latin = (flags & _LATIN).astype(bool)
    starts = np.flatnonzero(boundary & ~(_shift_right(boundary) & ~first))
    last = np.empty_like(first)
    last[:-1] = first[1:]
    last[-1] = True  # the last character of its text
    ends = np.flatnonzero(boundary & ~(np.append(boundary[1:], False) & ~last))
    before = starts - 1
    after = np.minimum(ends + 1, raw.size - 1)
    space = ~first[starts] & latin[before] & ~last[ends] & latin[after]
    drop |= boundary
    drop[starts[space]] = False
    codes[starts[space]] = _SPACE
    keep = ~drop
    codes, owner, stop = codes[keep], owner[keep], (flags[keep] & _STOP_CHAR).astype(bool)
    # Stop words: leftmost match, first alternative wins, no overlaps (what `re.sub` does).
    cand = np.flatnonzero(_FLAGS[codes] & _STOP_FIRST)
    if cand.size:
        stop |= _stop_word_spans(codes, owner, cand)
    keep = ~stop
    codes, owner = codes[keep], owner[keep]
    return codes, np.bincount(owner, minlength=n_docs).astype(np.int64)


def _stop_word_groups() -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Stop words by their first two characters (as one integer), each group in list order."""
    groups: dict[int, list[str]] = {}
    for w in _STOP_WORD_LIST:
        groups.setdefault(ord(w[0]) << 21 | ord(w[1]), []).append(w)
    keys = np.array(sorted(groups), dtype=np.int64)
    return keys, [tuple(groups[k]) for k in keys.tolist()]


_STOP_KEYS, _STOP_GROUPS = _stop_word_groups()


def _stop_word_spans(codes: np.ndarray, owner: np.ndarray, cand: np.ndarray) -> np.ndarray:
    size = codes.size
    cand = cand[cand + 1 < size]
    cand = cand[owner[cand] == owner[cand + 1]]
    key = codes[cand].astype(np.int64) << 21 | codes[cand + 1]
    group = np.minimum(np.searchsorted(_STOP_KEYS, key), _STOP_KEYS.size - 1)
    hit = _STOP_KEYS[group] == key
    pos, group = cand[hit], group[hit]
    length = np.zeros(pos.size, dtype=np.int64)
    for g, words in enumerate(_STOP_GROUPS):
        at = np.flatnonzero(group == g) if len(_STOP_GROUPS) > 1 else np.arange(pos.size)
        if at.size == 0:
            continue
        for w in words:  # the first word of the list that matches here wins, as in the regex
            todo = at[length[at] == 0]
            if len(w) == 2:
                length[todo] = 2
                break
            p = pos[todo]
            ok = p + len(w) <= size
            p, todo = p[ok], todo[ok]
            ok = owner[p] == owner[p + len(w) - 1]
            for k in range(2, len(w)):
                ok &= codes[p + k] == ord(w[k])
            length[todo[ok]] = len(w)
    found = length > 0
    pos, length = pos[found], length[found]
    spans = np.zeros(size, dtype=bool)
    if pos.size == 0:
        return spans
    end = pos + length
    reach = np.maximum.accumulate(end)
    clear = np.empty(pos.size + 1, dtype=bool)  # no earlier match reaches into this one
    clear[0] = clear[-1] = True
    clear[1:-1] = pos[1:] >= reach[:-1]
    alone = clear[:-1] & clear[1:]
    if not alone.all():  # "为什么" holds "什么": the left one wins and the scan goes on after it
        keep = alone.copy()
        last = -1
        for i in np.flatnonzero(~alone).tolist():
            if pos[i] >= last:
                keep[i] = True
                last = end[i]
        pos, length = pos[keep], length[keep]
    for n in np.unique(length).tolist():
        at = pos[length == n]
        for k in range(n):
            spans[at + k] = True
    return spans


def _codes_of(docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    codes = np.frombuffer("".join(docs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return codes.copy(), np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))


# --- Word lists found in a whole batch at once ---
#
# The rules look for a few hundred words (type cues, urgency, places, the catalogue's keywords)
# in every message. Looking for each word in turn costs ~0.3 µs a word a message; one regular
# expression over a long alternation ~30 µs a message. Instead the batch is one array of code
# points: positions whose character can start a word are picked by a table, and for each word
# length the characters there are packed into one integer and looked up among the words'.


class RawBatch:
    """A batch of texts as one array of code points (as typed: no normalisation)."""

    _last: RawBatch | None = None

    def __init__(self, texts: tuple[str, ...]) -> None:
        self.texts = texts
        self.codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"),
                                   dtype=np.uint32).astype(np.int64)
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.offsets[1:])
        self._owner: np.ndarray | None = None
        self._room: np.ndarray | None = None

    @property
    def room(self) -> np.ndarray:
        """How many characters of its text there are from each position on."""
        if self._room is None:
            self._room = self.offsets[1:][self.owner] - np.arange(self.codes.size)
        return self._room

    @property
    def owner(self) -> np.ndarray:
        """The index of the text each position belongs to."""
        if self._owner is None:
            self._owner = np.repeat(np.arange(len(self.texts), dtype=np.int64), self.lengths)
        return self._owner

    @classmethod
    def of(cls, texts: Sequence[str]) -> RawBatch:
        """The batch of these texts; the last one is kept, as every stage reads the same batch."""
        key = tuple(texts)
        last = cls._last
        if last is not None and last.texts == key:
            return last
        cls._last = batch = cls(key)
        return batch


class Lexicon:
    """A fixed list of words; `find` gives every occurrence (overlapping ones too) of every word
    in every text of a batch."""

    _PRIME = np.uint64(0x100000001B3)

    def __init__(self, words: Sequence[str]) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w))
        self.index = {w: i for i, w in enumerate(self.words)}
        self.word_length = np.fromiter(map(len, self.words), dtype=np.int64, count=len(self.words))
        # Per word length: a collision-free hash table of the words' keys (multiplier found
        # by trying), so a lookup is a multiply, a shift and a compare.
        self._by_length: list[tuple[int, np.uint64, np.uint64, np.ndarray, np.ndarray, np.ndarray]] = []
        rng = np.random.default_rng(12345)
        for n in sorted(set(self.word_length.tolist())):
            ids = np.flatnonzero(self.word_length == n)
            chars = np.array([[ord(c) for c in self.words[i]] for i in ids], dtype=np.int64)
            keys = self._keys([chars[:, k] for k in range(n)], n)
            bits, tries = max(4, (len(ids) ** 2).bit_length()), 0
            while True:
                mult = np.uint64(int(rng.integers(1, 1 << 62)) * 2 + 1)
                with np.errstate(over="ignore"):
                    slot = ((keys * mult) >> np.uint64(64 - bits)).astype(np.int64)
                if len(np.unique(slot)) == len(slot):
                    break
                tries += 1
                bits += tries % 8 == 0
            table_keys = np.zeros(1 << bits, dtype=np.uint64)
            table_ids = np.full(1 << bits, -1, dtype=np.int64)
            table_keys[slot] = keys
            table_ids[slot] = ids
            table_chars = np.zeros((1 << bits, n), dtype=np.int64)
            table_chars[slot] = chars
            self._by_length.append((n, mult, np.uint64(64 - bits), table_keys, table_ids, table_chars))
        # Per character: bit n set when a word of n characters starts with it (bit 15: longer).
        # Characters past the last first character read the table's last entry, 0.
        self._first = np.zeros(max((ord(w[0]) for w in self.words), default=0) + 2, dtype=np.uint16)
        for w in self.words:
            self._first[ord(w[0])] |= np.uint16(1 << min(len(w), 15))

    @classmethod
    def _keys(cls, columns: Sequence[np.ndarray], n: int) -> np.ndarray:
        """One integer per n characters: exact (21 bits a character) up to 3, a hash beyond."""
        with np.errstate(over="ignore"):
            if n <= 3:
                key = columns[0].astype(np.uint64)
                for col in columns[1:]:
                    key = (key << np.uint64(21)) | col.astype(np.uint64)
                return key
            key = np.full(len(columns[0]), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
            for col in columns:
                key = (key ^ col.astype(np.uint64)) * cls._PRIME
            return key

    def find(self, batch: RawBatch) -> Occurrences:
        codes = batch.codes
        size = codes.size
        starts: list[np.ndarray] = []
        found: list[np.ndarray] = []
        if size and self.words:
            starting = self._first[np.minimum(codes, self._first.size - 1)]
            cand = np.flatnonzero(starting)
            starting, room = starting[cand], batch.room[cand]
            for n, mult, shift, table_keys, table_ids, table_chars in self._by_length:
                p = cand[(starting & np.uint16(1 << min(n, 15))).astype(bool) & (room >= n)]
                if p.size == 0:
                    continue
                columns = [codes[p + k] for k in range(n)]
                key = self._keys(columns, n)
                with np.errstate(over="ignore"):
                    slot = ((key * mult) >> shift).astype(np.int64)
                hit = table_keys[slot] == key
                if n > 3:  # a hash: check the characters too
                    for k in range(n):
                        hit &= table_chars[slot, k] == columns[k]
                hit &= table_ids[slot] >= 0
                starts.append(p[hit])
                found.append(table_ids[slot[hit]])
        pos = np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)
        word = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
        if len(starts) > 1 and pos.size:
            order = np.lexsort((-self.word_length[word], pos))  # by start, the longest first
            pos, word = pos[order], word[order]
        return Occurrences(self, batch, pos, word)


class Occurrences:
    """Where the words of a lexicon occur in a batch: by position, the longest word first."""

    def __init__(self, lexicon: Lexicon, batch: RawBatch, pos: np.ndarray, word: np.ndarray) -> None:
        self.lexicon, self.batch, self.pos, self.word = lexicon, batch, pos, word
        self.doc = batch.owner[pos] if pos.size else pos

    def only(self, words: np.ndarray) -> Occurrences:
        """The occurrences of the words whose index is True in `words` (a mask over the lexicon)."""
        keep = words[self.word]
        return Occurrences(self.lexicon, self.batch, self.pos[keep], self.word[keep])

    def per_text(self) -> list[list[tuple[int, str]]]:
        """For each text: (start, word) of every occurrence, by start, the longest first."""
        words = self.lexicon.words
        n_texts = len(self.batch.texts)
        if not self.pos.size:
            return [[] for _ in range(n_texts)]
        pairs = list(zip((self.pos - self.batch.offsets[self.doc]).tolist(),
                         [words[i] for i in self.word.tolist()], strict=True))
        b = np.searchsorted(self.doc, np.arange(n_texts + 1)).tolist()
        return [pairs[b[i]:b[i + 1]] for i in range(n_texts)]


def leftmost_longest(occurrences: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The matches `re.finditer` gives for an alternation of these words, longest first:
    scanning on from the end of each match. `occurrences` as `Occurrences.per_text` lists them."""
    out = []
    cursor = 0
    for start, word in occurrences:
        if start >= cursor:
            out.append((start, word))
            cursor = start + len(word)
    return out
