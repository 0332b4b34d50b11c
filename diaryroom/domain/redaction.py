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
    source: str = "auto"  # auto | local (an organisation's list) | staff

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

    Whisper words carry their own leading space; written words may not, so a space is
    added only where neither side has one.

    >>> join_words([" my", " name is", " Ann."])
    ('my name is Ann.', [(0, 2), (3, 10), (11, 15)])
    >>> join_words(["call", "me"])[0]
    'call me'
    """
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    length = 0
    for raw in words:
        word = raw.strip()
        if parts and word:
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

    >>> merge([Redaction(2, 4, "NAME"), Redaction(3, 6, "PHONE"), Redaction(9, 9, "NAME")])
    [Redaction(first=2, last=6, type='PHONE', source='auto'), Redaction(first=9, last=9, type='NAME', source='auto')]
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
        lead = " " if words[r.first].text[:1].isspace() else ""
        out.append({"start": words[r.first].start, "end": words[r.last].end,
                    "text": lead + r.placeholder, "redaction": r.type})
        i = r.last + 1
    return out


def time_ranges(words: Sequence[TimedWord], redactions: Sequence[Redaction], *,
                pad: float, duration: float) -> list[tuple[float, float]]:
    """Seconds of audio to hide: each redaction's words, padded each side, clipped to the
    recording and merged where they meet. A redacted word without a usable time cannot be
    proven hidden, so it raises ``PlanError`` (the entry then waits for the team).

    >>> ws = [TimedWord(0, .5, "a"), TimedWord(.6, 1.0, "b"), TimedWord(1.1, 1.5, "c")]
    >>> time_ranges(ws, [Redaction(1, 1, "NAME"), Redaction(2, 2, "NAME")], pad=.12, duration=2)
    [(0.48, 1.62)]
    """
    check_within(redactions, len(words))
    ranges: list[tuple[float, float]] = []
    for r in sorted(redactions, key=lambda r: r.first):
        span = words[r.first:r.last + 1]
        for w in span:
            if w.start is None or w.end is None or not w.end > w.start >= 0:
                raise PlanError(f"word {w.text.strip()!r} has no usable timing "
                                f"({w.start}..{w.end}); its audio cannot be redacted")
        start = max(0.0, span[0].start - pad)
        end = min(duration, span[-1].end + pad) if duration > 0 else span[-1].end + pad
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((start, end))
    return [(round(s, 3), round(e, 3)) for s, e in ranges]
