"""Identifiers after a cue, however Whisper garbled them.

"my national insurance is k p seven three..." often comes out of Whisper as "KP7-3561 to
DNA", and "date of birth twenty first of the eleventh" as "on birth 21st on mid-11-992":
no validator can accept those, yet every digit in them is somebody's. When a strong cue
says an identifier follows, the identifier-looking words after it are redacted as that
type, valid or not. This is the fallback behind the validating recognisers, found by
listening to redacted audio again (bench/eval_audio.py).

    >>> text = "my national insurance is KP7-3561 to DNA and i'm still waiting"
    >>> [(text[s.start:s.end], s.type) for s in find_cued(text)]
    [('KP7-3561 to DNA', 'NI_NUMBER')]
"""
from __future__ import annotations

import itertools
import re

from diaryroom.domain.redaction import Span

from .spoken import NUMBER_WORDS

SCORE = 0.6  # below the validators' scores, above the threshold
MAX_WORDS = 14  # an identifier read out is rarely longer (an NHS number: 10 digits)

# cue (regex, matched at word boundaries, lower case) -> type of what follows
CUES: tuple[tuple[str, str], ...] = (
    (r"national\s+insurance(?:\s+number)?|n\.?\s?i\.?\s+number|ni'?s", "NI_NUMBER"),
    (r"nhs\s+number", "NHS_NUMBER"),
    (r"(?:(?:date|day)\s+)?(?:of|on|off)\s+birth|d\.?\s?o\.?\s?b\.?|born(?:\s+on|\s+in)?|"
     r"birthday", "DATE_OF_BIRTH"),
    (r"(?:phone|mobile|landline|contact)(?:\s+number)?|(?:call|ring|text|reach)\s+"
     r"(?:me|her|him|them|us)\s+on|my\s+number", "PHONE"),
    (r"e-?mail(?:\s+address)?", "EMAIL"),
    (r"(?:claim\s+)?reference(?:\s+number)?|sort\s+code|account(?:\s+number)?|(?:reference|crime|claim|case|tenancy|"
     r"customer|membership|passport|licence|license|prison|booking)\s+number", "NUMBER"),
)
_CUE = re.compile(r"\b(?:" + "|".join(f"(?P<c{i}>{c})" for i, (c, _) in enumerate(CUES))
                  + r")\b", re.IGNORECASE)
# Words between a cue and what it introduces: "is", "it's", "was", "number's"...
_LINK = re.compile(r"(?:\s*[:,]?\s*(?:is|was|it'?s|that'?s|are|number'?s|number|"
                   r"'s|be|as|of|the|to|:))*\s*", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s,;!?]+")
MONTHS = set("january february march april may june july august september october "
             "november december jan feb mar apr jun jul aug sep sept oct nov dec".split())
ORDINALS = set("first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
               "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
               "nineteenth twentieth thirtieth".split())
# Short words Whisper writes for digits or that sit inside a number read out.
_GLUE = {"to", "too", "for", "oh", "o", "double", "triple", "and", "of", "on", "the", "-"}


def _part(token: str) -> bool:
    """Whether a word can be part of an identifier read out."""
    word = token.lower().strip(".'\"()")
    if word == "i":  # the pronoun; no identifier read out ends in the letter I
        return False
    return (any(c.isdigit() for c in word) or word in NUMBER_WORDS or word in ORDINALS
            or word in MONTHS or (len(word) == 1 and word.isalpha())
            or (len(word) <= 3 and word.isalpha() and token.strip(".'\"()").isupper())
            or bool(re.fullmatch(r"(?:[a-z]\.){1,3}[a-z]?", word)))


def _strong(tokens: list[str]) -> bool:
    """Enough to be an identifier, not "born in the spring" or "my number one".
    Digits, number words, months and ordinals count; letters and glue do not."""
    digits = sum(sum(c.isdigit() for c in t) for t in tokens)
    said = sum(t.lower().strip(".") in NUMBER_WORDS | ORDINALS | MONTHS for t in tokens)
    return digits + said >= 3


# "k.mencerat example.org": Whisper heard the address but lost the "@".
_DOMAIN = re.compile(r"[\w.-]*\w\.(?:com|org|net|co|uk|io|me|info|biz|gov|ac|nhs)\b",
                     re.IGNORECASE)
EMAIL_WORDS = 4  # an address read out: a name, maybe a second part, the domain


def _email_after(text: str, start: int) -> Span | None:
    """An address Whisper wrote without its "@": the words up to a domain."""
    tokens = list(itertools.islice(_TOKEN.finditer(text, start), EMAIL_WORDS))
    for m in tokens:
        if "@" in m.group() or _DOMAIN.search(m.group()):
            end = m.end() - (len(m.group()) - len(m.group().rstrip(".,'\")")))
            return Span(tokens[0].start(), end, "EMAIL", SCORE)
    return None


# Read-out codes Whisper writes its own way: single digits joined ("8-2-1-4-6-7",
# "X-5-6-3-0-4-C") or letters and four or more digits in one word ("1467B", "KP7-3561").
# Years ("1990"), decades ("1990s") and amounts never look like this.
_SPELT_DIGITS = re.compile(r"(?<![\w-])\w?(?:\d[-.]){3,}\d(?:[-.]?[A-Za-z])?(?![\w-])")
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*[A-Za-z])(?=(?:[\w-]*?\d){4})[A-Za-z0-9][\w-]*\w"
                   r"(?![\w-])")
# A number with a unit or suffix is a quantity, not a code: "1990s", "1000mg", "2000th".
_QUANTITY = re.compile(r"\d+(?:s|mg|ml|g|kg|km|m|th|st|nd|rd|am|pm|p|k|mb|gb)", re.IGNORECASE)


def find_codes(text: str) -> list[Span]:
    """Digits read out one by one, and mixed letter-and-digit codes, as NUMBER.

    >>> text = "my eyes are 8-2-1-4-6-7B and the 1990s, ref 1467B, 1000mg, mp3 and 2020"
    >>> [text[s.start:s.end] for s in find_codes(text)]
    ['8-2-1-4-6-7B', '1467B']
    """
    found = {m.span() for m in _SPELT_DIGITS.finditer(text)}
    found |= {m.span() for m in _CODE.finditer(text) if not _QUANTITY.fullmatch(m.group())}
    return [Span(a, b, "NUMBER", SCORE) for a, b in sorted(found)]


def find_domains(text: str) -> list[Span]:
    """A word ending in a domain ("Liam.com.com.uk", "example.org") is most likely part
    of an e-mail address Whisper heard without its "@": hidden as EMAIL.

    >>> text = "she said liam.com.com.uk or example.org, not the website"
    >>> [text[s.start:s.end] for s in find_domains(text)]
    ['liam.com.com.uk', 'example.org']
    """
    return [Span(m.start(), m.end(), "EMAIL", SCORE) for m in _DOMAIN.finditer(text)
            if not text[max(0, m.start() - 1):m.start()].strip(" ")]


_DAY = (r"(?:\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|sixth|seventh|"
        r"eighth|ninth|tenth|eleventh|twelfth|\w+teenth|twentieth|thirtieth|"
        r"(?:twenty|thirty)[\s-](?:first|second|third|\w+th))")
_MONTH = ("(?:january|february|march|april|may|june|july|august|september|october|"
          "november|december)")
# A whole date long enough ago to be somebody's birth (not last week's eviction).
_OLD_YEAR = "(?:19[2-9]\\d|200\\d|201[0-5])"
_OLD_DATE = re.compile(
    rf"\b(?:{_DAY}\s+(?:(?:of|on)\s+)?(?:the\s+)?{_MONTH}|{_MONTH}\s+(?:the\s+)?{_DAY}),?"
    rf"\s+{_OLD_YEAR}\b", re.IGNORECASE)


def find_old_dates(text: str) -> list[Span]:
    """A full date in a year long past, as a date of birth, even when Whisper lost the
    "born on" before it ("My D.O. Readings 1st December 1988").

    >>> text = "seen on the 3rd of March 2024, born 1st December 1988, one second on April 1980"
    >>> [text[s.start:s.end] for s in find_old_dates(text)]
    ['1st December 1988', 'second on April 1980']
    """
    return [Span(m.start(), m.end(), "DATE_OF_BIRTH", SCORE) for m in _OLD_DATE.finditer(text)]


def find_cued(text: str) -> list[Span]:
    spans: list[Span] = []
    for cue in _CUE.finditer(text):
        kind = CUES[int(cue.lastgroup[1:])][1]  # the cue's own group, c<i>
        start = _LINK.match(text, cue.end()).end()
        if kind == "EMAIL":
            if (span := _email_after(text, start)) is not None:
                spans.append(span)
            continue
        taken: list[tuple[int, int, str]] = []
        for m in _TOKEN.finditer(text, start):
            word = m.group()
            if len(taken) >= MAX_WORDS:
                break
            if taken and re.search(r"[.,]\s", text[taken[-1][1] - 1:m.start() + 1]) \
                    and not any(c.isdigit() for c in word):
                break  # a sentence or clause ended: "DOB 12/03/1985, NI number..."
            if _part(word):
                taken.append((m.start(), m.end(), word))
            elif word.lower() in _GLUE and taken:
                taken.append((m.start(), m.end(), word))  # kept only if a part follows
            else:
                break
        while taken and not _part(taken[-1][2]):
            taken.pop()
        if taken and _strong([w for _, _, w in taken]):
            end = taken[-1][1] - (len(taken[-1][2]) - len(taken[-1][2].rstrip(".'\")")))
            spans.append(Span(taken[0][0], end, kind, SCORE))
    return spans
