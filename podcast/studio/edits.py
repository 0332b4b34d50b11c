"""A segment's edit list, pure: check it, turn it into the stretches of the source that
are kept, and give the words, captions and chapters of what is heard.

    edits = parse_edits(segment.edits)            # EditError: a message for co-hosts
    ranges = kept_ranges(edits, words, duration)  # source seconds, for a plan.Clip
    kept_words(words, ranges)                     # what the editor shows after the cuts
    episode_words(plan, words_per_clip)           # episode seconds, for captions
    to_vtt(...), to_srt(...), chapters_json(plan)

How the cuts fall, in source seconds, inside the trim [trim_start, trim_end]:
- Cutting a word removes from its start to the start of the next word that is kept, so
  the pause before it stays and the one after it goes with it: no doubled pause is left.
  A run of cut words is one stretch; the source's last word goes to its own end.
- ``cut_ranges`` go as given (selections on the waveform).
- ``remove_fillers`` cuts filler words (um, uh, er...) exactly as if they were chosen.
- ``shorten_pauses`` takes the middle out of each gap over 1 s between words, keeping
  0.25 s after the word before and 0.25 s before the next (a 0.5 s pause is heard).
Whatever is left is joined; pieces shorter than ``MIN_RANGE_S`` are dropped (a click).
Words with no times (written entries) cannot be cut by word, only by stretch.
"""
from __future__ import annotations

import math
import re
import string
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, groupby
from typing import Any

from diaryroom.domain.redaction import join_words
from diaryroom.errors import InvalidInput
from podcast.studio.plan import MIN_RANGE_S, RenderPlan

MAX_ITEMS = 2000  # cuts of one kind in an edit list; an editor sends dozens
MAX_GAIN_DB = 20.0
MAX_CROSSFADE_S = 5.0
PAUSE_OVER_S = 1.0  # a gap between words longer than this is a pause to shorten
PAUSE_KEEP_S = 0.25  # kept each side of a shortened pause
CUE_GAP_S = 1.5  # a silence this long starts a new caption
CUE_MAX_S = 7.0
CUE_MAX_WORDS = 12
_EPS = 1e-9  # float slack when comparing seconds made by subtraction

NOTHING_LEFT = ("Nothing is left of this part after the cuts. With nothing left to hear, "
                "undo a cut or take the part out of the episode.")
_FILLER = re.compile(r"u+h*m+|u+h+|e+r+m*|h+m+|m{2,}|a+h+")
_SENTENCE_END = re.compile(r"[.?!…][\"'”’)\]]*$")
_PUNCTUATION = string.punctuation + "…“”‘’"


class EditError(InvalidInput, ValueError):
    """The edit list cannot be used as it is; the message says why, for co-hosts."""

    def __init__(self, message: str):
        super().__init__(message, code="invalid_edits")


@dataclass(frozen=True)
class Edits:
    trim_start: float = 0.0
    trim_end: float | None = None  # None: to the end of the source
    cut_words: tuple[tuple[int, int], ...] = ()  # inclusive word-index ranges
    cut_ranges: tuple[tuple[float, float], ...] = ()  # source seconds
    remove_fillers: bool = False
    shorten_pauses: bool = False
    keep_findings: tuple[int, ...] = ()  # co-host recordings: findings kept (H4)
    gain_db: float = 0.0
    crossfade: float = 0.0  # s overlapped with the segment before

    def to_dict(self) -> dict[str, Any]:
        """Every setting, as JSON; ``parse_edits(e.to_dict()) == e``."""
        return {"trim_start": self.trim_start, "trim_end": self.trim_end,
                "cut_words": [list(p) for p in self.cut_words],
                "cut_ranges": [list(p) for p in self.cut_ranges],
                "remove_fillers": self.remove_fillers, "shorten_pauses": self.shorten_pauses,
                "keep_findings": list(self.keep_findings), "gain_db": self.gain_db,
                "crossfade": self.crossfade}


_KEYS = frozenset(Edits().to_dict())


def parse_edits(data: Mapping[str, Any] | Edits | None) -> Edits:
    """The edit list checked; missing keys (or ``null``) take their defaults.

    >>> parse_edits({"trim_start": 1, "cut_words": [[3, 5]]}).cut_words
    ((3, 5),)
    >>> try:
    ...     parse_edits({"trim_start": 2, "trim_end": 1})
    ... except EditError as e:
    ...     print(e)
    The end of the trim is before its start.
    """
    if data is None:
        return Edits()
    if isinstance(data, Edits):
        return data
    if not isinstance(data, Mapping):
        raise EditError("The edits must be a set of named settings (a JSON object).")
    unknown = sorted(str(k) for k in data if k not in _KEYS)
    if unknown:
        raise EditError(f"These edit settings are not known: {', '.join(unknown)}.")
    got = {k: v for k, v in data.items() if v is not None}
    trim_start = _number(got.get("trim_start", 0), "The start of the trim must be a number "
                         "of seconds from the beginning.", lo=0)
    trim_end = got.get("trim_end")
    if trim_end is not None:
        trim_end = _number(trim_end, "The end of the trim must be a number of seconds.")
        if trim_end <= trim_start:
            raise EditError("The end of the trim is before its start.")
    for key in ("remove_fillers", "shorten_pauses"):
        if not isinstance(got.get(key, False), bool):
            raise EditError(f"'{key.replace('_', ' ').capitalize()}' must be on or off "
                            "(true or false).")
    findings = _items(got, "keep_findings", "kept findings")
    if not all(map(_is_index, findings)):
        raise EditError("The kept findings must be a list of finding numbers.")
    return Edits(
        trim_start=trim_start, trim_end=trim_end,
        cut_words=tuple(_word_cut(p) for p in _items(got, "cut_words", "cuts of words")),
        cut_ranges=tuple(_range_cut(p) for p in _items(got, "cut_ranges", "cut stretches")),
        remove_fillers=got.get("remove_fillers", False),
        shorten_pauses=got.get("shorten_pauses", False), keep_findings=tuple(findings),
        gain_db=_number(got.get("gain_db", 0), "The volume change must be between -20 and "
                        "+20 dB.", lo=-MAX_GAIN_DB, hi=MAX_GAIN_DB),
        crossfade=_number(got.get("crossfade", 0), "The crossfade must be between 0 and 5 "
                          "seconds.", lo=0, hi=MAX_CROSSFADE_S))


def _number(value: Any, message: str, *, lo: float = -math.inf, hi: float = math.inf) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not lo <= value <= hi):
        raise EditError(message)
    return float(value)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _items(data: Mapping[str, Any], key: str, what: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise EditError(f"The {what} must be a list.")
    if len(value) > MAX_ITEMS:
        raise EditError(f"There are too many {what} (at most {MAX_ITEMS}).")
    return list(value)


def _word_cut(pair: Any) -> tuple[int, int]:
    if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(map(_is_index, pair))):
        raise EditError("Each cut of words needs the numbers of its first and last word.")
    if pair[1] < pair[0]:
        raise EditError("A cut of words ends before it starts.")
    return pair[0], pair[1]


def _range_cut(pair: Any) -> tuple[float, float]:
    if not (isinstance(pair, list | tuple) and len(pair) == 2):
        raise EditError("Each cut stretch needs a start and an end in seconds.")
    start, end = (_number(v, "Each cut stretch needs a start and an end in seconds from "
                             "the beginning.", lo=0) for v in pair)
    if end <= start:
        raise EditError("A cut stretch ends before it starts.")
    return start, end


def is_filler(text: str) -> bool:
    """A word that is only a hesitation (um, uh, er, erm, hmm, mm, ah), however written.

    >>> [is_filler(t) for t in (" Um,", "uh...", "Hmm", "ERM", "umbrella", "a", "[NAME]")]
    [True, True, True, True, False, False, False]
    """
    return _FILLER.fullmatch(text.strip().strip(_PUNCTUATION).lower()) is not None


def _timed(word: Mapping[str, Any]) -> bool:
    return word.get("start") is not None and word.get("end") is not None


def _word_removals(words: Sequence[Mapping], cut: set[int]) -> list[tuple[float, float]]:
    out = []
    for _, run in groupby(enumerate(sorted(cut)), key=lambda pair: pair[1] - pair[0]):
        indexes = [i for _, i in run]  # consecutive: one stretch
        for i in indexes:
            if not _timed(words[i]):
                raise EditError(f"Word {i + 1} (“{str(words[i].get('text', '')).strip()}”) "
                                "has no time in the recording, so it cannot be cut on its "
                                "own: select its stretch on the waveform instead.")
        run_words = [words[i] for i in indexes]
        end = max(w["end"] for w in run_words)  # never short of a whole word: it may be a name
        after = next((w["start"] for w in words[indexes[-1] + 1:] if _timed(w)), None)
        out.append((min(w["start"] for w in run_words),
                    end if after is None else max(end, after)))
    return out


def _pauses(words: Sequence[Mapping]) -> list[tuple[float, float]]:
    timed = [w for w in words if _timed(w)]
    return [(a["end"] + PAUSE_KEEP_S, b["start"] - PAUSE_KEEP_S)
            for a, b in zip(timed, timed[1:], strict=False)
            if b["start"] - a["end"] > PAUSE_OVER_S + _EPS]


def filler_words(words: Sequence[Mapping]) -> list[int]:
    """Indexes of the timed words that ``remove_fillers`` cuts."""
    return [i for i, w in enumerate(words) if _timed(w) and is_filler(str(w.get("text", "")))]


def _kept(edits: Edits, words: Sequence[Mapping], duration: float) -> list[tuple[float, float]]:
    cut: set[int] = set()
    for first, last in edits.cut_words:
        if last >= len(words):
            raise EditError(f"A cut names words this part does not have (it has {len(words)})."
                            " Reload the page and try again.")
        cut.update(range(first, last + 1))
    if edits.remove_fillers:
        cut.update(filler_words(words))
    removals = _word_removals(words, cut) + list(edits.cut_ranges)
    if edits.shorten_pauses:
        removals += _pauses(words)
    lo = edits.trim_start
    hi = duration if edits.trim_end is None else min(edits.trim_end, duration)
    kept, at = [], lo
    for start, end in sorted(removals):
        if start >= hi:
            break
        if start > at:
            kept.append((at, start))
        at = max(at, end)
    if at < hi:
        kept.append((at, hi))
    return [(round(s, 6), round(e, 6)) for s, e in kept if e - s >= MIN_RANGE_S - _EPS]


def kept_ranges(edits: Edits | Mapping[str, Any] | None, words: Sequence[Mapping],
                duration: float) -> tuple[tuple[float, float], ...]:
    """The stretches of the source heard, in order, apart, each at least ``MIN_RANGE_S``.

    >>> ws = [{"text": "so", "start": 0.5, "end": 0.8}, {"text": " um", "start": 1.0, "end": 1.3},
    ...       {"text": " yes", "start": 1.6, "end": 2.0}]
    >>> kept_ranges({"trim_end": 2.5, "cut_words": [[1, 1]]}, ws, 3.0)
    ((0.0, 1.0), (1.6, 2.5))
    """
    edits = parse_edits(edits)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not duration > 0:
        raise EditError("This part has no length, so it cannot be edited.")
    kept = _kept(edits, words, duration)
    if not kept:
        raise EditError(NOTHING_LEFT)
    return tuple(kept)


def removals_preview(edits_or_flags: Edits | Mapping[str, Any] | None,
                     words: Sequence[Mapping]) -> dict[str, Any]:
    """What "remove fillers" and "shorten pauses" would cut, whether or not they are on.

    ``edits_or_flags`` is the segment's edit list (an ``Edits`` or a dict: a dict of the
    two flags alone is an edit list too). Its flags are ignored; its other cuts count, so
    ``seconds_saved`` (both tools), ``filler_seconds`` and ``pause_seconds`` are exactly
    how much shorter the kept audio gets when the tools are turned on, except for a
    piece under ``MIN_RANGE_S`` a cut may leave. ``filler_words`` and ``pauses`` list all
    the tools find in the words, for the editor to show.
    """
    edits = replace(parse_edits(edits_or_flags), remove_fillers=False, shorten_pauses=False)
    ends = [w["end"] for w in words if _timed(w)]
    # Past the last word the tools cut nothing: any length beyond it gives the same sums.
    duration = max(ends + [edits.trim_end or 0.0, edits.trim_start]) + 1.0

    def heard(**flags: bool) -> float:
        return sum(e - s for s, e in _kept(replace(edits, **flags), words, duration))

    base = heard()
    return {"filler_words": filler_words(words),
            "pauses": [[round(s, 3), round(e, 3)] for s, e in _pauses(words)],
            "seconds_saved": round(base - heard(remove_fillers=True, shorten_pauses=True), 3),
            "filler_seconds": round(base - heard(remove_fillers=True), 3),
            "pause_seconds": round(base - heard(shorten_pauses=True), 3)}


def _placed(words: Sequence[Mapping], ranges: Sequence[tuple[float, float]]) -> Iterator[dict]:
    """Each word whose middle is kept, with times counted over the kept stretches only."""
    starts = [s for s, _ in ranges]
    offsets = list(accumulate((e - s for s, e in ranges), initial=0.0))  # clip time of each
    for i, w in enumerate(words):
        if not _timed(w):
            continue
        k = bisect_right(starts, (w["start"] + w["end"]) / 2) - 1
        if k < 0 or (w["start"] + w["end"]) / 2 > ranges[k][1]:
            continue
        s, e = ranges[k]
        yield {**w, "index": i, "start": offsets[k] + max(w["start"], s) - s,
               "end": offsets[k] + min(w["end"], e) - s}


def kept_words(words: Sequence[Mapping], ranges: Sequence[tuple[float, float]]) -> list[dict]:
    """The words heard, timed from the start of the clip after the cuts; each keeps its
    other keys and gains ``index`` (its place in ``words``, what ``cut_words`` names).

    >>> ws = [{"text": "a", "start": 0.0, "end": 0.4}, {"text": "b", "start": 1.0, "end": 1.4}]
    >>> [(w["text"], w["start"], w["end"]) for w in kept_words(ws, [(0.9, 2.0)])]
    [('b', 0.1, 0.5)]
    """
    return [{**w, "start": round(w["start"], 3), "end": round(w["end"], 3)}
            for w in _placed(words, ranges)]


def episode_words(plan: RenderPlan, words_per_clip: Sequence[Sequence[Mapping]]) -> list[dict]:
    """Every word heard in the episode, in episode seconds. ``words_per_clip[i]`` are clip
    i's words in its source seconds, as the editor has them (``[]`` for music)."""
    if len(words_per_clip) != len(plan.clips):
        raise ValueError(f"{len(words_per_clip)} lists of words for {len(plan.clips)} clips")
    return [{"text": w["text"], "start": round(at + w["start"], 3),
             "end": round(at + w["end"], 3), "clip": i}
            for i, (clip, at, words) in enumerate(zip(plan.clips, plan.starts(),
                                                      words_per_clip, strict=True))
            for w in _placed(words, clip.ranges)]


def transcript_cues(words_or_cues: Sequence[Mapping]) -> list[dict]:
    """Words joined into captions: a cue ends after a sentence, at a silence over 1.5 s,
    where the clip changes, or before it would pass 7 s or 12 words. Cues given back in
    come out the same, so ``to_vtt`` takes either. Sorted by start (crossfades overlap).

    >>> [c["text"] for c in transcript_cues([{"text": " Hi.", "start": 0, "end": .3},
    ...     {"text": " I'm", "start": .4, "end": .6}, {"text": " [NAME]", "start": .6, "end": 1}])]
    ['Hi.', "I'm [NAME]"]
    """
    cues: list[dict] = []
    for w in words_or_cues:
        n = len(str(w.get("text", "")).split())
        if not _timed(w) or not n:  # a blank line would end the cue early
            continue
        cur = cues[-1] if cues else None
        if cur is None or (_SENTENCE_END.search(cur["texts"][-1].strip())
                           or w["start"] - cur["end"] > CUE_GAP_S + _EPS
                           or w.get("clip") != cur["clip"]
                           or w["end"] - cur["start"] > CUE_MAX_S + _EPS
                           or cur["n"] + n > CUE_MAX_WORDS):
            cur = {"start": w["start"], "end": w["end"], "clip": w.get("clip"), "texts": [],
                   "n": 0}
            cues.append(cur)
        cur["texts"].append(str(w["text"]))
        cur["n"] += n
        cur["end"] = max(cur["end"], w["end"])
    return sorted(({"start": c["start"], "end": c["end"], "clip": c["clip"],
                    "text": " ".join(join_words(c["texts"])[0].split())} for c in cues),
                  key=lambda c: c["start"])


def _clock(seconds: float, sep: str = ".") -> str:
    """hh:mm:ss.mmm (VTT) or hh:mm:ss,mmm (SRT).

    >>> _clock(3723.4567), _clock(1.5, ",")
    ('01:02:03.457', '00:00:01,500')
    """
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_vtt(words_or_cues: Sequence[Mapping]) -> str:
    """WebVTT captions of the episode (text HTML-escaped, placeholders as they are)."""
    lines = ["WEBVTT", ""]
    for n, cue in enumerate(transcript_cues(words_or_cues), 1):
        text = cue["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines += [str(n), f"{_clock(cue['start'])} --> {_clock(cue['end'])}", text, ""]
    return "\n".join(lines)


def to_srt(words_or_cues: Sequence[Mapping]) -> str:
    """SubRip captions of the episode: numbered from 1, comma before the milliseconds."""
    return "\n".join(f"{n}\n{_clock(c['start'], ',')} --> {_clock(c['end'], ',')}\n{c['text']}\n"
                     for n, c in enumerate(transcript_cues(words_or_cues), 1))


def chapters_json(plan: RenderPlan, *, titles: Sequence[str | None] | None = None) -> dict:
    """Podcasting 2.0 JSON chapters: one per clip whose ``chapter`` is true, titled by
    ``titles[i]`` (by clip), else the clip's title, else "Part N" (N counts clips, as
    the plan's errors do). A chapter runs until the next one starts, the last to the end.

    >>> from pathlib import Path
    >>> from podcast.studio.plan import Clip
    >>> plan = RenderPlan((Clip(Path("m"), ((0, 5),), chapter=False),
    ...                    Clip(Path("a"), ((0, 20),), crossfade=2, title="Welcome")))
    >>> chapters_json(plan)["chapters"]
    [{'startTime': 3.0, 'endTime': 23.0, 'title': 'Welcome'}]
    """
    starts = plan.starts()
    chosen = [i for i, clip in enumerate(plan.clips) if clip.chapter]
    chapters = []
    for k, i in enumerate(chosen):
        end = starts[chosen[k + 1]] if k + 1 < len(chosen) else plan.duration
        given = titles[i] if titles is not None and i < len(titles) else None
        chapters.append({"startTime": round(starts[i], 3), "endTime": round(end, 3),
                         "title": (given or "").strip() or plan.clips[i].title
                         or f"Part {i + 1}"})
    doc: dict[str, Any] = {"version": "1.2.0", "chapters": chapters}
    if plan.title:
        doc["title"] = plan.title
    return doc
