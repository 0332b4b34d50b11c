"""Organisations people name: charities, drug and housing services, shops, hotels and
employers (``data/organisations.txt``), in any case.

Naming the charity that runs someone's hostel, the drug service they attend or the shop
they work in narrows down who they are, and spaCy's NER misses most of these names, above
all in Whisper's lower case ("i was at crisis at christmas", "greggs gave me a trial").

Matching forgives how Whisper spells a name: case is ignored, apostrophes are optional
("st mungos"), "&" is "and" and "saint" is "st"; matches are whole words. Names that are
also everyday English ("crisis", "shelter", "mind", "turning point") are marked ``~`` in
the list and count only in an organisation context:

- written with capitals in the middle of a sentence ("I go to Mind on Wednesdays");
- after a preposition of going, coming or being with ("at crisis", "from pathway",
  "with shelter"), unless the words around make it the everyday word ("to mind the
  kids", "comes to mind", "at crisis point");
- after "a charity called" or "the charity", or before a word for what an organisation
  runs or employs ("mind charity shop", "big issue seller", "crisis skylight");
- at the start of a clause doing what organisations do ("shelter helped me", "then
  changing lives got me a room", "riverside are the landlord");
- joined by "and" or "or" to another organisation found ("shelter and crisis").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from diaryroom.domain.redaction import Span
from diaryroom.pii.names import word_list

SCORE = 0.7

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")
_PREPOSITIONS = frozenset("at from with to through via by".split())
_CLAUSE_STARTS = frozenset(
    "and then but so after because cos when until till before honestly yeah well um erm er "
    "uh like anyway basically since".split())
# What organisations do, said right after their name at the start of a clause.
_ORG_VERBS = frozenset(
    "helped help helps wrote writes sorted sorts got gets gave gives took takes found finds "
    "rang rings called phoned referred refers sent sends paid pays offered offers put said "
    "says told tells are were run runs ran do did does have housed provide provided "
    "provides".split())
# Words after a name that show an organisation ("mind charity", "big issue seller").
_ORG_AFTER = frozenset(
    "charity charities shop shops helpline hostel hostels seller sellers vendor vendors "
    "outreach volunteer volunteers adviser advisers advisor advisors skylight cymru "
    "scotland magazine pitch".split())
# Before such a word these make it everyday ("a crisis helpline", "the night shelter staff").
_EVERYDAY_BEFORE = frozenset(
    "a an night emergency winter bus animal dog cat homeless womens mental health".split())
_ORG_NOUNS = frozenset(
    "charity place group organisation organization project service outfit company shop "
    "centre center agency lot people".split())
# After "to": a verb taking an object ("to mind the kids", "to shelter from the rain").
_VERB_OBJECTS = frozenset(
    "the a an my your his her their our its it them me you him us from under in out about "
    "over yourself myself".split())
_TO_MIND = frozenset("come comes came coming spring springs sprang sprung bring brings "
                     "brought call calls called".split())
_EVERYDAY_AFTER = frozenset("point points level levels stage mode management situation "
                            "team meeting loan payment".split())


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    norm: str  # lower case, apostrophes dropped, "&" as "and", "saint" as "st"
    key: str  # norm without a possessive "'s"
    capital: bool  # written with a capital in the middle of a sentence
    pause: bool  # punctuation between the previous word and this one


@cache
def gazetteer() -> dict[str, list[tuple[tuple[str, ...], bool]]]:
    """Entries by first word: ``(words, everyday)``, longest first (read once)."""
    by_first: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
    for line in word_list("organisations.txt"):
        everyday = line.startswith("~")
        words = tuple(_normal(w) for w in _TOKEN.findall(line.lstrip("~")))
        by_first.setdefault(words[0], []).append((words, everyday))
    for entries in by_first.values():
        entries.sort(key=lambda e: -len(e[0]))
    return by_first


def find_organisations(text: str, *, english: bool = True) -> list[Span]:
    """``ORGANISATION`` spans for the listed organisations. Outside English only names
    that are not everyday English words and are written with a capital count.

    >>> t = "shelter helped me, then i got a trial at greggs. it was a crisis"
    >>> [t[s.start:s.end] for s in find_organisations(t)]
    ['shelter', 'greggs']
    """
    toks = _tokens(text)
    found: list[tuple[int, int, bool]] = []  # token range, accepted
    i = 0
    while i < len(toks):
        match = _match_at(toks, i)
        if match is None:
            i += 1
            continue
        end, everyday = match
        if not english:
            accepted = not everyday and text[toks[i].start].isupper()
        else:
            accepted = not everyday or _in_context(toks, i, end)
        found.append((i, end, accepted))
        i = end
    _accept_coordinated(toks, found)
    return [Span(toks[a].start, toks[b - 1].end, "ORGANISATION", SCORE)
            for a, b, ok in found if ok]


def _normal(word: str) -> str:
    low = word.lower().replace("’", "'")
    return {"&": "and", "saint": "st"}.get(low, low.replace("'", ""))


def _tokens(text: str) -> list[_Token]:
    toks: list[_Token] = []
    for m in _TOKEN.finditer(text):
        word = m.group()
        low = word.lower().replace("’", "'")
        key = _normal(low[:-2] if low.endswith("'s") else low)
        gap = text[toks[-1].end if toks else 0:m.start()]
        before = gap.rstrip()[-1:] or ("a" if toks else "")
        capital = word[0].isupper() and before not in ("", *".!?:\"'“")
        pause = bool(toks) and any(c in ",.;:!?" for c in gap)
        toks.append(_Token(m.start(), m.end(), _normal(word), key, capital, pause))
    return toks


def _match_at(toks: list[_Token], i: int) -> tuple[int, bool] | None:
    """The longest entry starting at token ``i``: ``(end token, everyday word)``."""
    entries = gazetteer()
    candidates = entries.get(toks[i].norm, []) + (
        entries.get(toks[i].key, []) if toks[i].key != toks[i].norm else [])
    for words, everyday in candidates:
        n = len(words)
        got = toks[i:i + n]
        if len(got) == n and all(t.norm == w or (k == n - 1 and t.key == w)
                                 for k, (t, w) in enumerate(zip(got, words, strict=True))):
            return i + n, everyday
    return None


def _in_context(toks: list[_Token], i: int, end: int) -> bool:
    """Whether an everyday-word name at tokens ``i..end`` is used as an organisation."""
    prev = toks[i - 1].norm if i and not toks[i].pause else ""
    prev2 = toks[i - 2].norm if i > 1 and not toks[i - 1].pause else ""
    nxt = toks[end].norm if end < len(toks) and not toks[end].pause else ""
    if all(t.capital for t in toks[i:end] if t.norm not in ("the", "and", "at", "of")):
        return True
    if nxt in _EVERYDAY_AFTER:
        return False
    if prev in _PREPOSITIONS:
        return not (prev == "to" and (nxt in _VERB_OBJECTS or prev2 in _TO_MIND))
    if prev in ("called", "named") and prev2 in _ORG_NOUNS or prev == "charity":
        return True
    if prev == "the" and prev2 in ("sell", "sells", "selling", "sold"):
        return True  # "selling the big issue"
    if nxt in _ORG_AFTER:
        return prev not in _EVERYDAY_BEFORE
    clause_start = not prev or prev in _CLAUSE_STARTS
    return clause_start and nxt in _ORG_VERBS


def _accept_coordinated(toks: list[_Token], found: list[tuple[int, int, bool]]) -> None:
    """Accept an everyday-word name joined by "and"/"or" to an accepted one, in place."""
    changed = True
    while changed:
        changed = False
        for k, (a, b, ok) in enumerate(found):
            if ok:
                continue
            for other_a, other_b, other_ok in found:
                joined = (other_b + 1 == a or b + 1 == other_a) and toks[
                    other_b if other_b + 1 == a else b].norm in ("and", "or")
                if other_ok and joined:
                    found[k] = (a, b, True)
                    changed = True
                    break
