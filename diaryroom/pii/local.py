"""An organisation's own lists: local names always redacted (hostels, day centres, streets,
staff) and phrases never redacted (the organisation's own name, "Diary Room").

Both are matched the same forgiving way, because Whisper spells a phrase as it hears it:
case is ignored, and words may be joined by any spaces or punctuation or none at all
("Hope House", "hope-house", "hopehouse"; "St Mungo's", "saint mungos"). Matches are whole
words: "Ann" is not found inside "Annual".
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from diaryroom.domain.redaction import Span

LOCAL_TYPES = ("NAME", "PLACE", "ORGANISATION")
LOCAL_SCORE = 1.0

_WORD = re.compile(r"[^\W_]+")
_SAME = {"st": "(?:st|saint)", "saint": "(?:st|saint)", "and": "(?:and)?"}


@dataclass(frozen=True, slots=True)
class LocalName:
    """A phrase one organisation always redacts, with the type it is redacted as."""

    text: str
    type: str  # NAME | PLACE | ORGANISATION

    def __post_init__(self) -> None:
        if self.type not in LOCAL_TYPES:
            raise ValueError(f"local name type must be one of {LOCAL_TYPES}, not {self.type!r}")
        if not _WORD.search(self.text):
            raise ValueError(f"local name {self.text!r} has no letters or digits")


def phrase_pattern(phrase: str) -> str:
    """A regular expression for ``phrase`` as Whisper might write it.

    >>> bool(re.fullmatch(phrase_pattern("St Mungo's"), "saint mungos", re.IGNORECASE))
    True
    >>> bool(re.search(phrase_pattern("Ann"), "Annual report", re.IGNORECASE))
    False
    """
    words = _WORD.findall(phrase.replace("&", " and ").lower())
    body = r"[\W_]*".join(_SAME.get(w, re.escape(w)) for w in words)
    return rf"(?<![^\W_]){body}(?![^\W_])"


def find_local_names(text: str, names: Sequence[LocalName]) -> list[Span]:
    """Every place ``names`` occur in ``text`` as ``local`` spans; where two overlap the
    longer wins ("Hope House" over "Hope").

    >>> t = "staying at hope-house, sandra said"
    >>> [(t[s.start:s.end], s.type, s.source) for s in find_local_names(
    ...     t, [LocalName("Hope", "NAME"), LocalName("Hope House", "PLACE"),
    ...         LocalName("Sandra", "NAME")])]
    [('hope-house', 'PLACE', 'local'), ('sandra', 'NAME', 'local')]
    """
    found = sorted(((m.start(), m.end(), name.type) for name, m in _matches(text, names)),
                   key=lambda f: (f[0] - f[1], f[0]))
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in found:
        if all(end <= s or e <= start for s, e, _ in kept):
            kept.append((start, end, kind))
    return [Span(s, e, k, LOCAL_SCORE, "local") for s, e, k in sorted(kept)]


def allowed_ranges(text: str, allow: Iterable[str]) -> list[tuple[int, int]]:
    """Where the allowed phrases occur in ``text``."""
    names = [LocalName(p, "ORGANISATION") for p in allow if _WORD.search(p)]
    return [(m.start(), m.end()) for _, m in _matches(text, names)]


def drop_allowed(text: str, spans: Iterable[Span], allow: Sequence[str]) -> list[Span]:
    """``spans`` less those inside an occurrence of an allowed phrase, or whose words are
    an allowed phrase. A span reaching past the allowed phrase is kept (fail closed).

    >>> t = "welcome to the Diary Room, Sandra"
    >>> [t[s.start:s.end] for s in drop_allowed(t, [Span(15, 25, "ORGANISATION"),
    ...  Span(15, 20, "NAME"), Span(27, 33, "NAME")], ["diary room"])]
    ['Sandra']
    """
    spans = list(spans)
    if not allow:
        return spans
    ranges = allowed_ranges(text, allow)
    exact = {_normal(p) for p in allow}
    return [s for s in spans
            if not any(a <= s.start and s.end <= b for a, b in ranges)
            and _normal(text[s.start:s.end]) not in exact]


def _normal(phrase: str) -> str:
    return " ".join(_WORD.findall(phrase.lower()))


def _matches(text: str, names: Iterable[LocalName]) -> Iterable[tuple[LocalName, re.Match]]:
    """Each name's matches. A cheap substring test on the name's first word skips most
    names, so hundreds of local names cost little on a short transcript."""
    lowered = text.lower()
    for name in dict.fromkeys(names):
        needles, pattern = _compiled(name.text)
        if any(n in lowered for n in needles):
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    yield name, m


@lru_cache(maxsize=4096)
def _compiled(phrase: str) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """The first words a match can start with, and the phrase's pattern."""
    first = _WORD.findall(phrase.replace("&", " and ").lower())[0]
    needles = ("st", "saint") if first in ("st", "saint") else (first,)
    return needles, re.compile(phrase_pattern(phrase), re.IGNORECASE)
