"""Numbers as Whisper writes them: runs of digit groups, however they are joined.

Whisper writes a phone number read aloud in many shapes: "0161 496 0018",
"0161-496-0018", "0161 to 496, 018" (a pause heard as "to", commas where the reader
breathed), "07700 900 416 ,001", "oh one six one four nine six double oh one eight".
A validator that reads only one of those shapes leaves the rest whole, or hides the head
and leaves the tail. So a number here is a *run*: digit groups (written digits, or single
digits said as words) joined by spaces, commas, hyphens, full stops or brackets, or by one
of the words Whisper puts between them ("to", "too", "for", "and"); "double" and
"treble"/"triple" repeat the next digit.

- A run with :data:`MIN_RUN_DIGITS` or more digits is personal data whole
  (:func:`find_number_runs`), unless it is plainly a quantity: money, years side by side,
  a thousands number ("250,000"), a range ("100 and 200"), times ("10.30 to 11.30") or a
  recent date. An old date ("12.03.1985") is hidden as a date of birth.
- A redaction that touches part of a run takes all of it (:func:`widen_to_runs`).
- Postcodes and National Insurance numbers whose letters Whisper spelt as words ("see one
  seven pee bee" for C1 7PB) are read with the letter names the spoken reader leaves out
  on purpose ("see", "you", "are"...), and kept only when the whole shape validates
  (:func:`find_shapes`).

The detector runs both finders as Presidio recognisers (:mod:`diaryroom.pii.recognisers`)
and widens every span with :func:`widen_to_runs`.

Pure functions over text: no model, no Presidio. Words that join ("to", "and") count no
digits, so "20 to 30" is four digits, not five.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from diaryroom.domain.redaction import Span
from diaryroom.pii.identifiers import SCORE, is_nino, is_postcode, kind_of, word_runs
from diaryroom.pii.spoken import UNITS, pieces

MIN_RUN_DIGITS = 5  # a run this long is redacted whole, whatever it is
MAX_SHAPE_WORDS = 12  # pieces; an NI number spelt out is nine, "double" saves one
DIGIT_WORDS = {w: str(v) for w, v in UNITS.items()}  # "oh", "nought", "one" ... "nine"
WORD_JOINERS = {"to": "2", "too": "2", "for": "4", "and": ""}  # what the word may have been
REPEATS = {"double": 2, "treble": 3, "triple": 3}
# Letter names that are also everyday words, so the spoken reader never takes them as
# letters; inside a shape that validates as a whole postcode or NI number they are.
AMBIGUOUS_LETTERS = {"see": "C", "sea": "C", "you": "U", "are": "R", "why": "Y", "eye": "I",
                     "tea": "T", "pea": "P", "be": "B", "queue": "Q", "gee": "G", "jay": "J",
                     "kay": "K", "ex": "X", "aitch": "H", "haitch": "H"}
QUANTITY_AFTER = frozenset(
    "pounds pound quid pence p grand k euros euro dollars dollar percent per cent million "
    "billion thousand hours hour minutes mins days weeks months years people times "
    "miles metres meters calories".split())

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_GAP = re.compile(r"[\s,.()\-–]{0,4}")  # what may sit between two groups of one number
_YEAR = re.compile(r"(?:19|20)\d\d")
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_PLAIN = re.compile(r"[1-9]\d*(?:\.\d+)?|0(?:\.\d+)?")
_TIME = re.compile(r"(?:[01]?\d|2[0-3])\.[0-5]\d")
_DATE = re.compile(r"(0?[1-9]|[12]\d|3[01])\s?([.\-])\s?(0?[1-9]|1[0-2])\s?\2\s?(\d{4}|\d{2})")
RECENT_YEAR = 2016  # a date from this year on is an event, not somebody's birth


@dataclass(frozen=True, slots=True)
class NumberRun:
    """Characters ``[start, end)`` of a text that say one number.

    ``digits``: the digits read, joiners not counted; ``parts``: the text of each stretch
    between joining words; ``joiners``: those words, lower case."""

    start: int
    end: int
    digits: str
    parts: tuple[str, ...]
    joiners: tuple[str, ...] = ()

    @property
    def long(self) -> bool:
        return len(self.digits) >= MIN_RUN_DIGITS


@dataclass(slots=True)
class _Item:
    start: int
    end: int
    word: str
    kind: str  # digits | spoken | repeat | joiner


def number_runs(text: str, *, spoken: bool = True) -> list[NumberRun]:
    """Every run of digit groups in ``text``, long or short. With ``spoken=False``
    (text not in English) only written digits count.

    >>> [(r.digits, r.joiners) for r in number_runs("ring 0161 to 496, 018 or 20 to 30")]
    [('0161496018', ('to',)), ('2030', ('to',))]
    """
    runs: list[NumberRun] = []
    for items in _groups(text, spoken):
        if (run := _run(text, items)) is not None:
            runs.append(run)
    return runs


def find_number_runs(text: str, *, spoken: bool = True) -> list[Span]:
    """Spans for every run of :data:`MIN_RUN_DIGITS` or more digits that is no quantity:
    a phone or NHS number when the digits say so, an old date as a date of birth, else
    ``NUMBER``.

    >>> t = "yeah so it's 0161 to 496, 018 and that's it, 20 to 30 people, £250,000"
    >>> [(t[s.start:s.end], s.type) for s in find_number_runs(t)]
    [('0161 to 496, 018', 'PHONE')]
    """
    spans = []
    for run in number_runs(text, spoken=spoken):
        kind = run_kind(text, run)
        if kind is not None:
            start = run.start - 1 if run.start and text[run.start - 1] == "+" else run.start
            spans.append(Span(start, run.end, kind, SCORE.get(kind, SCORE["NUMBER"])))
    return spans


def run_kind(text: str, run: NumberRun) -> str | None:
    """What a run is, as our type, or ``None`` for a short run or a quantity."""
    if not run.long:
        return None
    said = text[run.start:run.end]
    if (date := _DATE.fullmatch(said)) is not None:
        year = int(date.group(4))
        year += (1900 if year >= 30 else 2000) if year < 100 else 0
        return None if year >= RECENT_YEAR else "DATE_OF_BIRTH"
    if is_quantity(text, run):
        return None
    readings = [run.digits]
    if any(WORD_JOINERS[j] for j in run.joiners):  # "0161 to 496": "to" may be a "two"
        readings.append(with_joiners(said))
    for digits in readings:
        kind = kind_of(digits)
        if kind in ("PHONE", "NHS_NUMBER"):
            return kind
    return "NUMBER"


def is_quantity(text: str, run: NumberRun) -> bool:
    """Money, years, a thousands number, a range or times: counted, not read out.

    >>> [is_quantity(t, number_runs(t)[0]) for t in ("£12,500", "100 and 200 people",
    ...  "2019 2020", "10.30 to 11.30", "0161 to 496", "416 ,001", "12345 quid")]
    [True, True, True, True, False, False, True]
    """
    if text[max(0, run.start - 3):run.start].rstrip().endswith(("£", "$", "€")):
        return True
    after = _TOKEN.match(text, len(text) - len(text[run.end:].lstrip()))
    if after and after.group().lower() in QUANTITY_AFTER:
        return True
    parts = run.parts
    groups = _TOKEN.findall(" ".join(parts))
    if not run.joiners and all(_YEAR.fullmatch(g) for g in groups):
        return True  # "2019 2020"
    if len(parts) == 1 and _THOUSANDS.fullmatch(parts[0]):
        return True  # "250,000", "1,250,000.50"
    if all(_TIME.fullmatch(p) for p in parts):
        return True  # "10.30 to 11.30"
    if len(parts) == 2 and run.joiners in (("to",), ("and",)):  # "100 and 200", "5 to 10k"
        left, right = (p.replace(",", "") for p in parts)
        if all(_PLAIN.fullmatch(x) for x in (left, right)) \
                and not any(p.startswith("0") for p in (left, right)) \
                and float(left) < float(right):
            return True
    return False


def widen_to_runs(text: str, spans: Iterable[Span], *, spoken: bool = True) -> list[Span]:
    """A redaction that touches a digit of a run takes the whole run: a validator that
    accepts eleven of twelve digits must not leave the twelfth (or the first) audible.

    >>> t = "it's 07700 900 416 ,001 thanks"
    >>> [t[s.start:s.end] for s in widen_to_runs(t, [Span(5, 18, "PHONE")])]
    ['07700 900 416 ,001']
    """
    runs = [(r, _digit_spans(text, r, spoken)) for r in number_runs(text, spoken=spoken)]
    out = []
    for span in spans:
        start, end = span.start, span.end
        for run, digits in runs:
            if any(a < end and start < b for a, b in digits):
                start, end = min(start, run.start), max(end, run.end)
        out.append(dataclasses.replace(span, start=start, end=end)
                   if (start, end) != (span.start, span.end) else span)
    return out


def find_shapes(text: str) -> list[Span]:
    """Postcodes and NI numbers spelt with letter names that are also words ("see" for
    C), or regrouped by Whisper ("C17 PB" for C1 7PB): the longest stretch of letters,
    digits and letter names from each word whose whole reading validates.

    >>> t = "we moved to see one seven pee bee last year, and i'll see you at 10"
    >>> [(t[s.start:s.end], s.type) for s in find_shapes(t)]
    [('see one seven pee bee', 'POSTCODE')]
    """
    spans: list[Span] = []
    for run in _shape_runs(text):
        words = [AMBIGUOUS_LETTERS.get(w.lower(), w) for _, _, w in run]
        read = pieces(words)
        a = 0
        while a < len(read):
            found = _shape_from(read, a)
            if found is None:
                a += 1
                continue
            b, kind = found
            first, last = read[a].first, read[b - 1].last  # type: ignore[union-attr]
            spans.append(Span(run[first][0], run[last][1], kind, SCORE[kind]))
            a = b
    return spans


def _shape_from(read: Sequence, a: int) -> tuple[int, str] | None:
    """The longest postcode or NI number from piece ``a``: ``(end piece, type)``."""
    if read[a] is None:
        return None
    for b in range(min(len(read), a + MAX_SHAPE_WORDS), a, -1):
        if any(p is None for p in read[a:b]):
            continue
        said = "".join(p.text for p in read[a:b])
        if is_postcode(said):
            return b, "POSTCODE"
        if is_nino(said):
            return b, "NI_NUMBER"
    return None


def _shape_runs(text: str) -> Iterator[list[tuple[int, int, str]]]:
    """Stretches of words that could spell a postcode or NI number, with a light gap."""
    def ok(m: re.Match) -> bool:
        word, low = m.group(), m.group().lower()
        return word.isascii() and (
            any(c.isdigit() for c in word) or len(word) <= 2 or low in AMBIGUOUS_LETTERS
            or low in DIGIT_WORDS or low in REPEATS or pieces([word])[0] is not None)

    return word_runs(_TOKEN.finditer(text), ok,
                     lambda left, right: bool(_GAP.fullmatch(text[left[1]:right[0]])))


def _kind(word: str, spoken: bool) -> str | None:
    low = word.lower()
    if word.isascii() and word.isdigit():
        return "digits"
    if not spoken:
        return None
    if low in DIGIT_WORDS:
        return "spoken"
    if low in REPEATS:
        return "repeat"
    if low in WORD_JOINERS:
        return "joiner"
    return None


def _groups(text: str, spoken: bool) -> Iterator[list[_Item]]:
    """Items of each run, in order: digits, digit words, "double", joining words."""
    items: list[_Item] = []
    for m in _TOKEN.finditer(text):
        item = _Item(m.start(), m.end(), m.group(), _kind(m.group(), spoken) or "")
        if items and (not item.kind or not _GAP.fullmatch(text[items[-1].end:item.start])
                      or (item.kind == "joiner" and items[-1].kind in ("joiner", "repeat"))
                      or (item.kind != "joiner" and items[-1].kind == "joiner"
                          and _splits_at_joiner(items[-2], item))):
            yield items
            items = []
        if item.kind and (item.kind != "joiner" or items):
            items.append(item)
    yield items


def _splits_at_joiner(left: _Item, right: _Item) -> bool:
    """A written year is never joined to a number by a word: "in 2019 and 2 years on"."""
    return any(i.kind == "digits" and _YEAR.fullmatch(i.word) for i in (left, right))


def _run(text: str, items: list[_Item]) -> NumberRun | None:
    """The run these items make, less joining words and "double" at either end and an
    "oh" that is an exclamation ("oh, 20 quid")."""
    while items and items[-1].kind in ("joiner", "repeat"):
        items = items[:-1]
    while items and (items[0].kind == "joiner" or (
            items[0].word.lower() in ("oh", "o") and len(items) > 1
            and text[items[0].end:items[1].start].strip())):
        items = items[1:]
    if not any(i.kind in ("digits", "spoken") for i in items):
        return None
    digits, parts, joiners, part_start = "", [], [], items[0].start
    for k, item in enumerate(items):
        if item.kind == "digits":
            digits += item.word
        elif item.kind == "spoken":
            digits += DIGIT_WORDS[item.word.lower()]
        elif item.kind == "repeat":
            nxt = items[k + 1]
            single = nxt.word[-1] if nxt.kind == "digits" else DIGIT_WORDS.get(nxt.word.lower(), "")
            digits += single * (REPEATS[item.word.lower()] - 1)
        elif item.kind == "joiner":
            parts.append(text[part_start:items[k - 1].end])
            joiners.append(item.word.lower())
            part_start = items[k + 1].start
    parts.append(text[part_start:items[-1].end])
    return NumberRun(items[0].start, items[-1].end, digits, tuple(parts), tuple(joiners))


def _digit_spans(text: str, run: NumberRun, spoken: bool) -> list[tuple[int, int]]:
    """Where the digits of a run are (not its joining words)."""
    return [(run.start + m.start(), run.start + m.end())
            for m in _TOKEN.finditer(text[run.start:run.end])
            if _kind(m.group(), spoken) in ("digits", "spoken")]


def with_joiners(said: str) -> str:
    """The digits of a run reading "to" as 2 and "for" as 4."""
    return "".join(m.group() if m.group().isdigit() else
                   DIGIT_WORDS.get(m.group().lower(), WORD_JOINERS.get(m.group().lower(), ""))
                   for m in _TOKEN.finditer(said))
