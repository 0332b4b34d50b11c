"""Redaction planning: from detected character spans to redacted words and time ranges.

Pure functions over plain data, so every step can be tested without audio or a model:

    text, offsets = join_words(words)          # the text the detector reads
    spans = detector.detect(text, ...)         # character spans with a type
    plan = plan_redactions(spans, offsets)     # whole words, merged, typed
    redacted_words(words, plan)                # what anyone outside the team may read
    time_ranges(words, plan, pad=0.12, duration=d)   # what the audio must hide

A word is redacted whole if a span touches any character of it: a half-hidden word can
still be heard. Spans never map to "no words": that is a bug upstream, raised, not hidden.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Our types, each with the placeholder that replaces it in redacted text.
PLACEHOLDERS = {
    "NAME": "[NAME]",
    "PLACE": "[PLACE]",
    "ORGANISATION": "[ORGANISATION]",
    "PHONE": "[PHONE]",
    "EMAIL": "[EMAIL]",
    "POSTCODE": "[POSTCODE]",
    "ADDRESS": "[ADDRESS]",
    "NHS_NUMBER": "[NHS NUMBER]",
    "NI_NUMBER": "[NI NUMBER]",
    "DATE_OF_BIRTH": "[DATE OF BIRTH]",
    "NUMBER": "[NUMBER]",
    "OTHER": "[REDACTED]",
}
TYPES = tuple(PLACEHOLDERS)

# When two spans overlap the more specific type names the merged redaction.
_PRIORITY = {t: i for i, t in enumerate((
    "NHS_NUMBER", "NI_NUMBER", "EMAIL", "PHONE", "POSTCODE", "DATE_OF_BIRTH", "ADDRESS",
    "NUMBER", "NAME", "PLACE", "ORGANISATION", "OTHER"))}


class PlanError(ValueError):
    """A span or redaction that cannot be placed on the words: fail closed upstream."""


@dataclass(frozen=True, slots=True)
class Span:
    """Personal data found in text: characters ``[start, end)`` of the text searched."""

    start: int
    end: int
    type: str
    score: float = 1.0
    source: str = "auto"  # auto | local (an organisation's list) | staff | sweep

    def __post_init__(self) -> None:
        if self.type not in PLACEHOLDERS:
            raise PlanError(f"unknown redaction type {self.type!r}")
        if not 0 <= self.start < self.end:
            raise PlanError(f"empty or negative span {self.start}..{self.end}")


@dataclass(frozen=True, slots=True)
class Redaction:
    """Words ``first..last`` (inclusive indices into the transcript's words) hidden as one."""

    first: int
    last: int
    type: str
    source: str = "auto"

    def __post_init__(self) -> None:
        if self.type not in PLACEHOLDERS:
            raise PlanError(f"unknown redaction type {self.type!r}")
        if not 0 <= self.first <= self.last:
            raise PlanError(f"bad word range {self.first}..{self.last}")

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.type]

    def covers(self, index: int) -> bool:
        return self.first <= index <= self.last


def join_words(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The text of ``words`` and each word's ``(start, end)`` characters in it.

    Whisper marks a new word with a leading space and a continuation ("077", "-0", "-0")
    with none, so when the words carry their own spacing it is kept (collapsed to one
    space): the detector must read "077-0-0", not "077 -0 -0". Words with no spacing at
    all (plain tokens) are joined with single spaces.

    >>> join_words([" my", " number", " is", " 077", "-0", "-0."])
    ('my number is 077-0-0.', [(0, 2), (3, 9), (10, 12), (13, 16), (16, 18), (18, 21)])
    >>> join_words(["call", "me"])
    ('call me', [(0, 4), (5, 7)])
    """
    spaced = any(w[:1].isspace() for w in words[1:])
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    length = 0
    for raw in words:
        word = raw.strip()
        if parts and word and (raw[:1].isspace() or not spaced):
            parts.append(" ")
            length += 1
        offsets.append((length, length + len(word)))
        parts.append(word)
        length += len(word)
    return "".join(parts), offsets


def plan_redactions(spans: Iterable[Span], offsets: Sequence[tuple[int, int]]) -> list[Redaction]:
    """Whole-word redactions covering every span; overlapping or touching spans merge.

    >>> offs = [(0, 2), (3, 7), (8, 11), (12, 17)]          # "my name is Smith"
    >>> plan_redactions([Span(12, 15, "NAME")], offs)
    [Redaction(first=3, last=3, type='NAME', source='auto')]
    """
    placed: list[Redaction] = []
    for span in spans:
        hit = [i for i, (s, e) in enumerate(offsets) if s < span.end and span.start < e]
        if not hit:
            raise PlanError(f"span {span.start}..{span.end} ({span.type}) covers no word")
        placed.append(Redaction(hit[0], hit[-1], span.type, span.source))
    return merge(placed)


def merge(redactions: Iterable[Redaction]) -> list[Redaction]:
    """Sorted redactions with overlapping ones joined (the more specific type wins;
    a staff redaction stays marked as staff so review shows who chose it).

    >>> merged = merge([Redaction(2, 4, "NAME"), Redaction(3, 6, "PHONE"), Redaction(9, 9, "NAME")])
    >>> [(r.first, r.last, r.type) for r in merged]
    [(2, 6, 'PHONE'), (9, 9, 'NAME')]
    """
    out: list[Redaction] = []
    for r in sorted(redactions, key=lambda r: (r.first, r.last)):
        if out and r.first <= out[-1].last:
            prev = out[-1]
            kind = min(prev.type, r.type, key=lambda t: _PRIORITY.get(t, 99))
            source = "staff" if "staff" in (prev.source, r.source) else prev.source
            out[-1] = Redaction(prev.first, max(prev.last, r.last), kind, source)
        else:
            out.append(r)
    return out


def check_within(redactions: Iterable[Redaction], n_words: int) -> None:
    for r in redactions:
        if r.last >= n_words:
            raise PlanError(f"redaction {r.first}..{r.last} is past the last word ({n_words - 1})")


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A word with its time in the original audio (seconds); what planning needs of one."""

    start: float
    end: float
    text: str


def redacted_words(words: Sequence[TimedWord], redactions: Sequence[Redaction]) -> list[dict]:
    """The words anyone outside the team may read: each redaction becomes one placeholder
    word spanning the redacted words' time, carrying ``redaction`` (its type).

    >>> ws = [TimedWord(0, .5, " call"), TimedWord(.5, 1, " Ann"), TimedWord(1, 1.4, " Smith")]
    >>> [w["text"] for w in redacted_words(ws, [Redaction(1, 2, "NAME")])]
    [' call', ' [NAME]']
    """
    check_within(redactions, len(words))
    by_first = {r.first: r for r in redactions}
    out: list[dict] = []
    i = 0
    while i < len(words):
        r = by_first.get(i)
        if r is None:
            w = words[i]
            out.append({"start": w.start, "end": w.end, "text": w.text})
            i += 1
            continue
        first = words[r.first].text
        lead = first[:len(first) - len(first.lstrip())]  # a newline stays a newline
        out.append({"start": words[r.first].start, "end": words[r.last].end,
                    "text": lead + r.placeholder, "redaction": r.type})
        i = r.last + 1
    return out


def time_ranges(words: Sequence[TimedWord], redactions: Sequence[Redaction], *,
                pad: float, duration: float) -> list[tuple[float, float]]:
    """Seconds of audio to hide: each redaction's words, padded each side, clipped to the
    recording and merged where they meet.

    Whisper gives some pieces of a word no length ("077", "-0" at 8.94..8.94). Word times
    only ever move forward, so such a piece was said between the timed words either side
    of it: a redaction that starts or ends on one widens to those neighbours. A time that
    is missing, negative or runs backwards proves nothing, so it raises ``PlanError`` (the
    entry then waits for the team).

    >>> ws = [TimedWord(0, .5, "a"), TimedWord(.6, 1.0, "b"), TimedWord(1.1, 1.5, "c")]
    >>> time_ranges(ws, [Redaction(1, 1, "NAME"), Redaction(2, 2, "NAME")], pad=.12, duration=2)
    [(0.48, 1.62)]
    >>> ws = [TimedWord(0, .5, " ring"), TimedWord(.9, .9, " 077"), TimedWord(1.3, 1.6, " ok")]
    >>> time_ranges(ws, [Redaction(1, 1, "PHONE")], pad=.1, duration=2)
    [(0.4, 1.4)]
    """
    check_within(redactions, len(words))
    for w in words:
        if w.start is None or w.end is None or w.start < 0 or w.end < w.start:
            raise PlanError(f"word {w.text.strip()!r} has no usable timing "
                            f"({w.start}..{w.end}); its audio cannot be redacted")
    ranges: list[tuple[float, float]] = []
    for r in sorted(redactions, key=lambda r: r.first):
        start, end = words[r.first].start, words[r.last].end
        if words[r.first].end <= start:  # a piece with no length: from the word before
            start = next((w.end for w in reversed(words[:r.first]) if w.end > w.start), 0.0)
        if end <= words[r.last].start:  # ... to the word after
            end = next((w.start for w in words[r.last + 1:] if w.end > w.start),
                       duration if duration > 0 else end)
        if not end > start:
            raise PlanError(f"words {r.first}..{r.last} have no usable timing; "
                            "their audio cannot be redacted")
        start = max(0.0, start - pad)
        end = min(duration, end + pad) if duration > 0 else end + pad
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((start, end))
    return [(round(s, 3), round(e, 3)) for s, e in ranges]
