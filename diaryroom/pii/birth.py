"""Dates of birth: a date said or written after a birth cue ("born on", "date of birth",
"my birthday is", "d.o.b.", "dob").

Dates said as numbers count too ("nine nine ninety three", "the third of the seventh
seventy nine"). A date alone is not redacted: diaries are full of dates ("on the 3rd I
went to court"), and they matter to the story. Next to a birth cue the same date
identifies the person.
A year alone after a cue ("born in 1985") is not redacted either: it is far less
identifying, and four-digit years are kept everywhere else.

Except after a *form's* cue ("date of birth", "d.o.b.", "birth date"): what follows it
is a whole date, so when Whisper garbles the day and month into words and only the
year comes out clearly ("date of birth, I've made 1999" for "date of birth 5 May
1999"), everything from the cue to the year is the date of birth. Whisper garbles the
cue too ("made on birth"), so "of birth" and "on birth" count ("on birth control" does
not).
"""
from __future__ import annotations

import re

from diaryroom.domain.redaction import Span
from diaryroom.pii.spoken import TEEN_RE, TENS_RE, UNDER_100_RE, UNIT_RE

SCORE = 0.9

_MONTHS = ("january february march april may june july august september october november "
           "december jan feb mar apr jun jul aug sep sept oct nov dec")
_MONTH = "(?:" + "|".join(sorted(_MONTHS.split(), key=len, reverse=True)) + r")\.?"
_ORDINAL_UNIT = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_ORDINAL_TEEN = ("tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|"
                 "seventeenth|eighteenth|nineteenth")
_DAY_WORD = (rf"(?:(?:twenty|thirty)[\s-]+(?:{_ORDINAL_UNIT})|twentieth|thirtieth"
             rf"|{_ORDINAL_TEEN}|{_ORDINAL_UNIT}|(?:twenty|thirty)[\s-]+(?:{UNIT_RE})"
             rf"|{TEEN_RE}|twenty|thirty|{UNIT_RE})")
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{_DAY_WORD})"
_YEAR = (rf"(?:\d{{4}}|'?\d{{2}}"
         rf"|(?:nineteen|twenty)[\s-]+(?:hundred|(?:oh|o|zero)[\s-]+(?:{UNIT_RE})|{UNDER_100_RE})"
         rf"|two\s+thousand(?:\s+and)?(?:\s+{UNDER_100_RE})?"
         rf"|(?:{TENS_RE})(?:[\s-]+(?:{UNIT_RE}))?|(?:oh|o)[\s-]+(?:{UNIT_RE}))")
_NUMERIC = r"\d{1,2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?(?:\d{4}|\d{2})"
# A numeric date said aloud: "nine nine ninety three", "the third of the seventh seventy
# nine" (day, then the month's number, then the year).
_MONTH_NUMBER = rf"(?:{UNIT_RE}|ten|eleven|twelve|\d{{1,2}})"
_MONTH_ORDINAL = rf"(?:{_ORDINAL_UNIT}|tenth|eleventh|twelfth|\d{{1,2}}(?:st|nd|rd|th))"
_SPOKEN_NUMERIC = (rf"(?:the\s+)?{_DAY}\s+of\s+the\s+{_MONTH_ORDINAL},?\s+{_YEAR}"
                   rf"|{_DAY}[\s,]+{_MONTH_NUMBER}[\s,]+{_YEAR}")
_DATE = (rf"(?:{_NUMERIC}|{_SPOKEN_NUMERIC}"
         # Whisper puts a comma where the speaker paused: "5, May 1999".
         rf"|(?:the\s+)?{_DAY},?\s+(?:of\s+)?{_MONTH}(?:,?\s+(?:of\s+)?{_YEAR})?"
         rf"|{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?"
         rf"|{_MONTH}\s+(?:of\s+)?{_YEAR})")
_CUE = (r"(?:born|date\s+of\s+birth|birth\s+date|birthday|b-?day|d\.?\s?o\.?\s?b\.?)"
        r"[\s,:;.\-]*(?:(?:is|was|it's|its|it\s+is|on|in|of|the|'s|’s)[\s,:]+){0,3}")
_BIRTH = re.compile(rf"\b{_CUE}(?P<date>{_DATE})(?![\w])", re.IGNORECASE)
_FORM_CUE = (r"(?:(?:of|on)\s+birth(?!\s+control)|birth\s+date|d\.?\s?o\.?\s?b\.?)"
             r"[\s,:;.\-]*")
_FULL_YEAR = (rf"(?:(?:19|20)\d\d|nineteen[\s-]+(?:{UNDER_100_RE})"
              rf"|two\s+thousand(?:\s+and)?(?:\s+{UNDER_100_RE})?)")
GARBLED_WORDS = 4  # the most words Whisper made of a day and month before the year
_REMNANT = re.compile(
    rf"\b{_FORM_CUE}(?P<date>(?:[\w'’]+[\s,]+){{0,{GARBLED_WORDS}}}?{_FULL_YEAR})(?![\w])",
    re.IGNORECASE)


def find_dates_of_birth(text: str) -> list[Span]:
    """Dates after a birth cue, as ``DATE_OF_BIRTH`` spans over the date only.

    >>> t = "i was born on the twelfth of march nineteen eighty five in leeds"
    >>> [t[s.start:s.end] for s in find_dates_of_birth(t)]
    ['twelfth of march nineteen eighty five']
    >>> find_dates_of_birth("I was born in 1985 and moved on 12/03/2020")
    []
    >>> t = "made on birth, I've made 1999 post code"
    >>> [t[s.start:s.end] for s in find_dates_of_birth(t)]
    ["I've made 1999"]
    """
    spans = [Span(m.start("date"), m.end("date"), "DATE_OF_BIRTH", SCORE)
             for m in _BIRTH.finditer(text)]
    spans += [Span(m.start("date"), m.end("date"), "DATE_OF_BIRTH", SCORE)
              for m in _REMNANT.finditer(text)
              if not any(s.start < m.end("date") and m.start("date") < s.end for s in spans)]
    return sorted(spans, key=lambda s: s.start)
