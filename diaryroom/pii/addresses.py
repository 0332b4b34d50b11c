"""Street addresses: a house number, a street name and a street word ("14 Acacia Avenue",
"flat 3, 22 mill lane", "number forty two church street"), and named streets without a
number when written with capitals ("Mill Lane"), which are places.

Street words (lane, close, way, park, hill...) are everyday words too, so the name
between number and street word must not contain function words or counted things:
"3 days in the park" and "2 years close to" are not addresses.

Whisper writes street names in lower case, so a street without a number is also a place
after "on", "along", "off"... when its street word is never everyday English ("on leeds
road", "down market street") or it is one of the northern "-gate" streets ("on
briggate"). "lane", "way" or "park" are left out of that: "down memory lane", "on my
way", "on the park".
"""
from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

from diaryroom.domain.redaction import Span
from diaryroom.pii.spoken import NUMBER_WORDS, SPOKEN_NUMBER_RE, UNIT_RE

ADDRESS_SCORE = 0.85
STREET_SCORE = 0.6

SUFFIXES = (
    "street st road rd lane avenue ave close drive way crescent gardens place terrace court "
    "square grove hill row walk mews park parade vale wharf embankment broadway circus quay "
    "boulevard passage approach heights rise yard causeway"
).split()
# Only after a capitalised name ("Parsons Green", "Aylesbury Estate"): after a number,
# "one big green" or "a 360 view" would be everyday speech.
NAMED_ONLY = "green gate view estate buildings".split()
# Street words that are not everyday English, for streets without a number written in
# lower case (the name may have been re-cased: "on Leeds road").
LOWER_CASE_SUFFIXES = "street road avenue crescent terrace".split()
# Things people count that can sit between a number and a street word.
_COUNTED = frozenset(
    "year years day days week weeks month months hour hours minute minutes time times mile "
    "miles pound pounds quid pence people kids children night nights bag bags can cans pint "
    "pints beer beers bottle bottles bed beds room rooms flat flats floor floors stop stops "
    "bus buses step steps o'clock am pm".split())

_SUFFIX_RE = "|".join(SUFFIXES)
# Digits, or a spoken number, possibly read digit by digit ("four two two").
_HOUSE = rf"(?:\d{{1,4}}[a-z]?|{SPOKEN_NUMBER_RE}(?:[\s-]+(?:{UNIT_RE}|oh|zero)){{0,3}})"
_ADDRESS = re.compile(
    rf"\b(?P<flat>(?:flat|apartment|apt|unit|room)\s+(?:number\s+)?{_HOUSE}[\s,]+)?"
    rf"(?:number\s+|no\.?\s+)?(?P<house>{_HOUSE}),?\s+"
    rf"(?P<name>(?:[a-z'’]+[\s-]+){{1,3}})(?:{_SUFFIX_RE})\b",
    re.IGNORECASE)
_NAMED_SUFFIX_RE = "|".join(s.title() for s in SUFFIXES + NAMED_ONLY)
_STREET = re.compile(rf"\b(?P<name>(?:[A-Z][a-z'’]+[\s-]+){{1,3}})(?:{_NAMED_SUFFIX_RE})\b")
_LOWER_STREET = re.compile(
    r"\b(?:on|along|off|down|up|onto|near|opposite)\s+"
    rf"(?P<name>(?:[A-Za-z'’]+\s+){{1,2}}(?:{'|'.join(LOWER_CASE_SUFFIXES)})|[a-z]{{3,}}gate)\b")


def find_addresses(text: str) -> list[Span]:
    """Numbered addresses (``ADDRESS``) and capitalised street names (``PLACE``).

    >>> t = "I lived at flat 3, 22 mill lane, then Mill Lane again, 3 days in the park"
    >>> [(t[s.start:s.end], s.type) for s in find_addresses(t)]
    [('flat 3, 22 mill lane', 'ADDRESS'), ('Mill Lane', 'PLACE')]
    """
    spans: list[Span] = []
    pos = 0
    while m := _ADDRESS.search(text, pos):
        if _is_street_name(m.group("name")):
            start = m.start("flat") if m.group("flat") else m.start("house")
            spans.append(Span(start, m.end(), "ADDRESS", ADDRESS_SCORE))
            pos = m.end()
        else:
            pos = m.start() + 1
    for m in _STREET.finditer(text):
        start = _skip_function_words(text, m.start("name"), m.end("name"))
        if start is not None and not any(s.start <= start < s.end for s in spans):
            spans.append(Span(start, m.end(), "PLACE", STREET_SCORE))
    for m in _LOWER_STREET.finditer(text):
        start, end = m.span("name")
        if _is_street_name(text[start:end].rsplit(" ", 1)[0]) and not any(
                s.start <= start < s.end for s in spans):
            spans.append(Span(start, end, "PLACE", STREET_SCORE))
    return spans


def _is_street_name(name: str) -> bool:
    words = re.split(r"[\s-]+", name.strip().lower())
    return all(w not in STOP_WORDS and w not in _COUNTED and w not in NUMBER_WORDS
               for w in words)


def _skip_function_words(text: str, start: int, end: int) -> int | None:
    """Where a capitalised street name starts once "The", "On"... are dropped."""
    for word in re.finditer(r"[^\s-]+", text[start:end]):
        if word.group().lower() not in STOP_WORDS:
            return start + word.start()
    return None
