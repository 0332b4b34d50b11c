"""Names and places in text Whisper wrote in lower case, and re-casing for NER.

spaCy's NER leans on capitals, and Whisper often writes none: "i saw sandra in leeds".
This module finds names and places from word lists and name cues, reports them as spans,
and capitalises them (:func:`recase`) so NER also sees them in context. Re-casing only
changes a word's first letter, so every offset stays the same.

Words that are names and everyday words (will, may, grace, brown, reading) count only
with a signal: a name cue before them ("my name is", "my mate", "mr"), a known name
beside them ("will smith", "sandra white"), or a capital in the middle of a sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from spacy.lang.en.stop_words import STOP_WORDS

from diaryroom.domain.redaction import Span
from diaryroom.pii.spoken import NUMBER_WORDS

NAME_SCORE, CUE_SCORE, CAPITAL_SCORE = 0.7, 0.75, 0.6

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_MONTHS = frozenset("january february march april may june july august september october "
                    "november december".split())
_POSSESSIVES = frozenset("my our his her their me".split())
_ADJECTIVES = frozenset("little big older younger eldest oldest youngest best old ex".split())
_RELATIONS = frozenset(
    "mate friend pal bro brother sister sis son daughter mum mam mom mother dad father nan "
    "nana nanna gran granny grandma grandad granddad grandpa uncle auntie aunty aunt cousin "
    "partner girlfriend boyfriend wife husband fiance fiancee kid niece nephew stepdad "
    "stepmum stepson stepdaughter neighbour keyworker caseworker worker housemate flatmate "
    "roommate cellmate boss manager landlord landlady".split())
_TWO_WORD_RELATIONS = frozenset(
    ("key worker", "support worker", "case worker", "social worker", "probation officer",
     "housing officer", "outreach worker", "youth worker", "drugs worker"))
# Staff are named after these even when the name is in no list ("my keyworker tommo").
_WORKERS = frozenset(("keyworker", "caseworker", "worker", "officer"))
_PERSON_NOUNS = frozenset(
    "guy lad bloke man woman girl boy fella fellow geezer lady person someone somebody chap "
    "kid dude".split())
_STRONG_CUES = tuple(tuple(c.split()) for c in (
    "my name is", "my name's", "my names", "name is", "i'm called", "im called",
    "i am called", "they call me", "everyone calls me", "people call me", "known as",
    "goes by"))
_TITLES = frozenset("mr mrs ms mx dr".split())
# Verbs among the ambiguous names: after "my mate" they are names only when a verb or the
# end of the clause follows ("my mate will said", not "my mate will help").
_VERB_NAMES = frozenset("will may mark bill rob nick grant chase pat".split())
_NAME_FOLLOWERS = frozenset(
    "said says told is was has had and who came comes went goes got gave did does thinks "
    "thought reckons would could wants wanted rang phoned texted called".split())
# Words that follow a cue but are not names ("my keyworker said", "my name is basically").
_NOT_NAMES = frozenset(
    "said says told came come helped helps gave got rang called phoned texted sorted reckons "
    "thinks thought wants wanted left went goes asked tried made makes took takes put let "
    "brought found knows knew looks sent needs like basically actually literally yeah erm "
    "um uh er right gonna wanna gotta ok okay cos because and but".split())


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
    """The word lists shipped in ``diaryroom/pii/data`` (read once)."""
    places = frozenset(tuple(p.replace("-", " ").split()) for p in word_list("places.txt"))
    return Gazetteer(frozenset(word_list("first_names.txt")), frozenset(word_list("surnames.txt")),
                     places, frozenset(word_list("ambiguous.txt")), max(map(len, places)))


def word_list(name: str) -> list[str]:
    """The entries of ``diaryroom/pii/data/<name>``, lower case, comments left out."""
    text = (resources.files("diaryroom.pii") / "data" / name).read_text("utf-8")
    return [ln.strip().lower() for ln in text.splitlines()
            if ln.strip() and not ln.startswith("#")]


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str
    low: str  # lower case, curly apostrophes straightened
    key: str  # low without a possessive "'s"
    capital: bool  # written with a capital in the middle of a sentence
    pause: bool  # punctuation between the previous word and this one


def find_names(text: str, *, english: bool = True) -> list[Span]:
    """``NAME`` and ``PLACE`` spans from the word lists and name cues. Outside English
    only capitalised words from the lists count (the cues are English).

    >>> t = "my mate will said sandra white moved to leeds but i will go"
    >>> [(t[s.start:s.end], s.type) for s in find_names(t)]
    [('will', 'NAME'), ('sandra white', 'NAME'), ('leeds', 'PLACE')]
    """
    gaz = gazetteer()
    toks = _tokens(text)
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
        for m in _WORD.finditer(text, span.start, span.end):
            if m.group().islower() and len(m.group()[0].upper()) == 1:
                chars[m.start()] = m.group()[0].upper()
    out = "".join(chars)
    assert len(out) == len(text), "re-casing must keep every offset"
    return out


def _tokens(text: str) -> list[_Token]:
    toks: list[_Token] = []
    for m in _WORD.finditer(text):
        word = m.group()
        low = word.lower().replace("’", "'")
        key = low[:-2] if low.endswith("'s") else low
        gap = text[toks[-1].end if toks else 0:m.start()]
        before = gap.rstrip()[-1:] or ("a" if toks else "")  # "a": right after a word
        capital = word[0].isupper() and before not in ("", *".!?:\"'“")
        pause = bool(toks) and any(c in ",.;:!?" for c in gap)
        toks.append(_Token(m.start(), m.end(), word, low, key, capital, pause))
    return toks


def _name_at(toks: list[_Token], i: int, gaz: Gazetteer) -> tuple[int, str, float] | None:
    """A name or place starting at token ``i``: ``(end token, type, score)``."""
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    cue = _cue_before(toks, i)
    known_first = tok.key in gaz.first_names
    if cue == "title" and tok.key not in STOP_WORDS and (
            tok.key in gaz.surnames or known_first or _could_be_name(tok.key)):
        return _with_surname(toks, i, gaz), "NAME", CUE_SCORE
    if cue in ("strong", "called") and (known_first or _could_be_name(tok.key)):
        return _with_surname(toks, i, gaz), "NAME", CUE_SCORE
    if cue == "relation" and (tok.capital or (known_first and _reads_as_name(toks, i))):
        return _with_surname(toks, i, gaz), "NAME", CUE_SCORE
    if known_first and nxt and not nxt.pause and nxt.key in gaz.surnames and (
            tok.key not in gaz.ambiguous or nxt.key not in gaz.ambiguous
            or (tok.text[0].isupper() and nxt.text[0].isupper())):
        return i + 2, "NAME", NAME_SCORE
    place = _place_at(toks, i, gaz)
    if place:
        return place, "PLACE", NAME_SCORE
    if tok.key in gaz.ambiguous:
        if tok.capital and tok.key not in _MONTHS and (
                known_first or tok.key in gaz.surnames or (tok.key,) in gaz.places):
            kind = "PLACE" if (tok.key,) in gaz.places else "NAME"
            return _with_surname(toks, i, gaz), kind, CAPITAL_SCORE
        return None
    if known_first or tok.key in gaz.surnames:
        return _with_surname(toks, i, gaz), "NAME", NAME_SCORE
    return None


def _capitalised_at(toks: list[_Token], i: int, gaz: Gazetteer) -> tuple[int, str, float] | None:
    """Outside English: a capitalised word from the lists (month names aside)."""
    tok = toks[i]
    if not tok.text[0].isupper() or tok.key in _MONTHS:
        return None
    place = _place_at(toks, i, gaz, capitals_only=True)
    if place:
        return place, "PLACE", CAPITAL_SCORE
    if tok.key in gaz.first_names or tok.key in gaz.surnames:
        return _with_surname(toks, i, gaz), "NAME", CAPITAL_SCORE
    return None


def _place_at(toks: list[_Token], i: int, gaz: Gazetteer, *, capitals_only: bool = False
              ) -> int | None:
    """End of the longest known place at token ``i``; a one-word place that is also an
    everyday word needs a capital mid-sentence."""
    for n in range(min(gaz.longest_place, len(toks) - i), 0, -1):
        words = toks[i:i + n]
        if tuple(t.key if k == n - 1 else t.low for k, t in enumerate(words)) not in gaz.places:
            continue
        if capitals_only and not all(t.text[0].isupper() or t.low in ("on", "upon", "and",
                                                                    "under", "super")
                                     for t in words):
            continue
        if n == 1 and words[0].key in gaz.ambiguous and not words[0].capital:
            continue
        return i + n
    return None


def _with_surname(toks: list[_Token], i: int, gaz: Gazetteer) -> int:
    """End of a name at ``i``, taking a following surname ("sandra white") along."""
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if nxt is None or nxt.pause:
        return i + 1
    surname = nxt.key in gaz.surnames or (nxt.text[0].isupper() and _could_be_name(nxt.key))
    return i + 2 if surname else i + 1


def _cue_before(toks: list[_Token], i: int) -> str | None:
    """Which name cue ends just before token ``i``, if any."""
    lows = [t.low for t in toks[max(0, i - 5):i]]
    if lows and lows[-1] in _TITLES:
        return "title"
    if any(tuple(lows[-len(c):]) == c for c in _STRONG_CUES):
        return "strong"
    if len(lows) >= 2 and lows[-1] in ("called", "named") and lows[-2] in _PERSON_NOUNS:
        return "called"
    explicit = bool(lows) and lows[-1] in ("called", "named")
    rest = lows[:-1] if explicit else lows
    if not rest:
        return None
    worker = rest[-1] in _WORKERS
    if len(rest) >= 3 and " ".join(rest[-2:]) in _TWO_WORD_RELATIONS:
        rest = rest[:-2]
    elif rest[-1] in _RELATIONS:
        rest = rest[:-1]
    else:
        return None
    if rest and rest[-1] in _ADJECTIVES:
        rest = rest[:-1]
    if rest and rest[-1] in _POSSESSIVES:
        return "called" if explicit or worker else "relation"
    return None


def _reads_as_name(toks: list[_Token], i: int) -> bool:
    """After "my mate": a verb-like name ("will", "may") must be followed by a verb or
    the end of the clause to be a name."""
    if toks[i].key not in _VERB_NAMES:
        return True
    if i + 1 == len(toks):
        return True
    nxt = toks[i + 1]
    return nxt.pause or nxt.low in _NAME_FOLLOWERS or nxt.low.endswith("ed")


def _could_be_name(word: str) -> bool:
    """An unknown word after a cue may be a name unless it is plainly something else."""
    return (word not in STOP_WORDS and word not in NUMBER_WORDS and word not in _NOT_NAMES
            and not word.endswith(("ing", "ed", "ly", "n't")) and len(word) > 1)
