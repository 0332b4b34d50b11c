"""Names and places in text Whisper wrote in lower case, and re-casing for NER.

spaCy's NER leans on capitals, and Whisper often writes none: "i saw sandra in leeds".
This module finds names and places from word lists and name cues, reports them as spans,
and capitalises them (:func:`recase`) so NER also sees them in context. Re-casing only
changes a word's first letter, so every offset stays the same.

Words that are names and everyday words (will, may, grace, brown, reading) count only
with a signal: a name cue before them ("my name is", "my mate", "mr"), a known name
beside them ("will smith", "sandra white"), a capital in the middle of a sentence, or one
of the contexts of :mod:`diaryroom.pii.cues` ("me and grace", "jade rang me", "grew up
in reading").
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from spacy.lang.en.stop_words import STOP_WORDS

from diaryroom.domain.redaction import Span
from diaryroom.pii.cues import (
    MONTHS,
    WORD,
    Token,
    could_be_name,
    cue_before,
    in_name_context,
    place_cue,
    reads_as_name,
    tokens,
)

NAME_SCORE, CUE_SCORE, CAPITAL_SCORE = 0.7, 0.75, 0.6

@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Known first names, surnames and places (phrases as word tuples), lower case."""

    first_names: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[tuple[str, ...]]
    ambiguous: frozenset[str]
    longest_place: int


@cache
def gazetteer() -> Gazetteer:
    """The word lists shipped in ``diaryroom/pii/data`` (read once); places are the UK's
    and the world's countries."""
    places = frozenset(tuple(p.replace("-", " ").replace("'", "").split())
                       for p in [*word_list("places.txt"), *word_list("countries.txt")])
    return Gazetteer(frozenset(word_list("first_names.txt")), frozenset(word_list("surnames.txt")),
                     places, frozenset(word_list("ambiguous.txt")), max(map(len, places)))


def word_list(name: str) -> list[str]:
    """The entries of ``diaryroom/pii/data/<name>``, lower case, comments left out."""
    text = (resources.files("diaryroom.pii") / "data" / name).read_text("utf-8")
    return [ln.strip().lower() for ln in text.splitlines()
            if ln.strip() and not ln.startswith("#")]


def find_names(text: str, *, english: bool = True) -> list[Span]:
    """``NAME`` and ``PLACE`` spans from the word lists and name cues. Outside English
    only capitalised words from the lists count (the cues are English).

    >>> t = "my mate will said sandra white moved to leeds but i will go"
    >>> [(t[s.start:s.end], s.type) for s in find_names(t)]
    [('will', 'NAME'), ('sandra white', 'NAME'), ('leeds', 'PLACE')]
    """
    gaz = gazetteer()
    toks = tokens(text)
    spans: list[Span] = []
    i = 0
    while i < len(toks):
        found = _name_at(toks, i, gaz) if english else _capitalised_at(toks, i, gaz)
        if found:
            end, kind, score = found
            spans.append(Span(toks[i].start, toks[end - 1].end, kind, score))
            i = end
        else:
            i += 1
    return spans


def recase(text: str, spans: list[Span]) -> str:
    """``text`` with the first letter of each lower-case word in ``spans`` capitalised.

    >>> recase("i saw sandra white", [Span(6, 18, "NAME")])
    'i saw Sandra White'
    """
    chars = list(text)
    for span in spans:
        for m in WORD.finditer(text, span.start, span.end):
            if m.group().islower() and len(m.group()[0].upper()) == 1:
                chars[m.start()] = m.group()[0].upper()
    out = "".join(chars)
    assert len(out) == len(text), "re-casing must keep every offset"
    return out


def _name_at(toks: list[Token], i: int, gaz: Gazetteer) -> tuple[int, str, float] | None:
    """A name or place starting at token ``i``: ``(end token, type, score)``."""
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    cue = cue_before(toks, i)
    known_first = tok.key in gaz.first_names
    if cue == "title" and tok.key not in STOP_WORDS and (
            tok.key in gaz.surnames or known_first or could_be_name(tok.key)):
        return _with_surname(toks, i, gaz), "NAME", CUE_SCORE
    if cue in ("strong", "called") and (known_first or could_be_name(tok.key)):
        return _with_surname(toks, i, gaz, cued=cue == "strong"), "NAME", CUE_SCORE
    if cue == "relation" and (tok.capital or (known_first and reads_as_name(toks, i))):
        return _with_surname(toks, i, gaz), "NAME", CUE_SCORE
    if known_first and tok.key in gaz.ambiguous and in_name_context(toks, i, gaz.first_names):
        return _with_surname(toks, i, gaz), "NAME", CUE_SCORE
    if known_first and nxt and not nxt.pause and nxt.key in gaz.surnames and (
            tok.key not in gaz.ambiguous or nxt.key not in gaz.ambiguous
            or (tok.text[0].isupper() and nxt.text[0].isupper())):
        return i + 2, "NAME", NAME_SCORE
    place = _place_at(toks, i, gaz)
    if place:
        return place, "PLACE", NAME_SCORE
    if tok.key in gaz.ambiguous:
        after_possessive = i and not tok.pause and toks[i - 1].low.endswith("'s")
        if tok.capital and tok.key not in MONTHS and not after_possessive and (
                known_first or tok.key in gaz.surnames or (tok.key,) in gaz.places):
            kind = "PLACE" if (tok.key,) in gaz.places else "NAME"
            return _with_surname(toks, i, gaz), kind, CAPITAL_SCORE
        return None
    if known_first or tok.key in gaz.surnames:
        return _with_surname(toks, i, gaz), "NAME", NAME_SCORE
    return None


def _capitalised_at(toks: list[Token], i: int, gaz: Gazetteer) -> tuple[int, str, float] | None:
    """Outside English: a capitalised word from the lists (month names aside)."""
    tok = toks[i]
    if not tok.text[0].isupper() or tok.key in MONTHS:
        return None
    place = _place_at(toks, i, gaz, capitals_only=True)
    if place:
        return place, "PLACE", CAPITAL_SCORE
    if tok.key in gaz.first_names or tok.key in gaz.surnames:
        return _with_surname(toks, i, gaz), "NAME", CAPITAL_SCORE
    return None


def _place_at(toks: list[Token], i: int, gaz: Gazetteer, *, capitals_only: bool = False
              ) -> int | None:
    """End of the longest known place at token ``i``; a one-word place that is also an
    everyday word needs a capital mid-sentence."""
    for n in range(min(gaz.longest_place, len(toks) - i), 0, -1):
        words = toks[i:i + n]
        said = tuple((t.key if k == n - 1 else t.low).replace("'", "") for k, t in enumerate(words))
        if said not in gaz.places:
            continue
        if capitals_only and not all(t.text[0].isupper() or t.low in ("on", "upon", "and",
                                                                    "under", "super")
                                     for t in words):
            continue
        if n == 1 and words[0].key in gaz.ambiguous and not words[0].capital and not (
                not capitals_only and place_cue(toks, i)):
            continue
        return i + n
    return None


def _with_surname(toks: list[Token], i: int, gaz: Gazetteer, *, cued: bool = False) -> int:
    """End of a name at ``i``, taking a following surname ("sandra white") along; after
    "my name is" any word that could be a name is taken ("my name's jade simmons")."""
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if nxt is None or nxt.pause:
        return i + 1
    surname = nxt.key in gaz.surnames or (
        (nxt.text[0].isupper() or (cued and "'" not in nxt.low)) and could_be_name(nxt.key))
    return i + 2 if surname else i + 1
