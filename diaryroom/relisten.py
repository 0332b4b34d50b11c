"""Re-listen before release: the rendered audio is heard again around every redaction.

What people will hear is the proof, not Whisper's word times. After ``render_audio``
writes the shareable file, :func:`relisten`

1. decodes that file (in-process: ``media.render.decode_rendered``) at 16 kHz;
2. cuts a window around every hidden range (:func:`diaryroom.domain.relisten.listening_windows`)
   and plays what each leaves unhidden one after another, short silences where the tone
   and the gaps were, into one file (:func:`~diaryroom.domain.relisten.arrange`), so the
   cost grows with the number of redactions, not with the recording's length;
3. transcribes that file with the same transcriber and asks the pure core what is still
   heard (:func:`~diaryroom.domain.relisten.find_leaks`);
4. if anything is, widens those ranges, renders again and listens again to the windows
   that changed; if something is still heard, raises ``PipelineError`` with the times and
   types (never the words), so the entry goes to the team and nothing is shared.

A window where only the tone or silence is left (nothing outside the hidden ranges above
:data:`QUIET_DBFS`) has nothing to hear and is not transcribed.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .domain.redaction import Redaction, TimedWord
from .domain.relisten import (
    BUDGET,
    Leak,
    Placed,
    Window,
    arrange,
    describe,
    find_leaks,
    listening_windows,
    split_heard,
    unhidden,
    widen,
)
from .errors import PipelineError
from .media.render import decode_rendered

LISTEN_RATE = 16_000  # Hz: what Whisper listens at
QUIET_DBFS = -50.0  # dBFS RMS of a 20 ms frame: below this, in normalised audio, no speech
FRAME_SECONDS = 0.02  # s: the frames measured for QUIET_DBFS
EDGE_SECONDS = 0.05  # s at a hidden range's edge where the codec smears the tone
Ranges = list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Hearing:
    """One listen: the windows cut, those left silent (not transcribed), the leaks."""

    windows: tuple[Window, ...]
    silent: int
    leaks: tuple[Leak, ...]


def relisten(render: Callable[[Ranges], dict], rendered: Path, words: Sequence[TimedWord],
             plan: Sequence[Redaction], hidden: Ranges, *, transcriber, language: str | None,
             duration: float, budget: float = BUDGET) -> dict:
    """Listen to ``rendered`` (just written by ``render(hidden)``) around every range in
    ``hidden``; widen, ``render`` again and listen again where a redaction is still heard.
    Returns the counts and seconds for the summary; raises ``PipelineError`` when a
    redaction is still heard after widening."""
    started = time.perf_counter()
    first = hear(rendered, words, plan, hidden, transcriber=transcriber, language=language,
                 duration=duration)
    summary = {"windows": len(first.windows), "silent": first.silent,
               "heard": len(first.leaks), "widened": 0}
    if first.leaks:
        widened = widen(hidden, first.leaks, duration=duration, budget=budget)
        changed = [r for r in widened if r not in hidden]
        again = first  # nothing could grow (no budget): still heard
        if changed:
            render(widened)
            again = hear(rendered, words, plan, widened, transcriber=transcriber,
                         language=language, duration=duration,
                         only=lambda w: any(a <= w.end and w.start <= b for a, b in changed))
        if again.leaks:
            raise PipelineError(
                "a redacted item can still be heard in the shared audio at "
                f"{describe(again.leaks)}, even after the tone was widened, so nothing was "
                "shared; listen to the original there and widen the redaction by hand")
        summary["widened"] = len(changed)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def hear(rendered: Path, words: Sequence[TimedWord], plan: Sequence[Redaction],
         hidden: Ranges, *, transcriber, language: str | None, duration: float,
         only: Callable[[Window], bool] | None = None) -> Hearing:
    """What is still heard of ``plan`` in the windows of ``rendered`` around ``hidden``
    (those ``only`` keeps)."""
    windows = listening_windows(words, plan, hidden, duration=duration)
    if only is not None:
        windows = [w for w in windows if only(w)]
    if not windows:
        return Hearing((), 0, ())
    samples = decode_rendered(rendered, sample_rate=LISTEN_RATE)
    audible = [w for w in windows if not _quiet(samples, unhidden(w, hidden))]
    if not audible:
        return Hearing(tuple(windows), len(windows), ())
    placed = arrange(audible, hidden)
    transcript = transcriber.listen(_played(samples, placed), language=language)
    heard = split_heard([TimedWord(w.start, w.end, w.text) for w in transcript.words],
                        placed, len(audible))
    leaks = find_leaks(audible, heard, words, plan)
    return Hearing(tuple(windows), len(windows) - len(audible), tuple(leaks))


def _played(samples: np.ndarray, placed: Sequence[Placed]) -> np.ndarray:
    """The listening file's samples: each stretch at its offset, silence between."""
    last = placed[-1]
    out = np.zeros(_at(last.offset + last.end - last.start) + 1, dtype=np.float32)
    for p in placed:
        clip = samples[_at(p.start):_at(p.end)]
        at = _at(p.offset)
        clip = clip[:len(out) - at]
        out[at:at + len(clip)] = clip
    return out


def _at(seconds: float) -> int:
    return round(seconds * LISTEN_RATE)


def _quiet(samples: np.ndarray, stretches: Sequence[tuple[float, float]]) -> bool:
    """Nothing but silence in ``stretches`` (less the codec's smear of the tone at their
    ends): every frame below ``QUIET_DBFS``."""
    frame = _at(FRAME_SECONDS)
    for start, end in stretches:
        clip = samples[_at(start + EDGE_SECONDS):_at(end - EDGE_SECONDS)]
        usable = len(clip) // frame * frame
        if usable and float(np.sqrt(np.mean(np.square(clip[:usable].reshape(-1, frame)),
                                             axis=1)).max()) >= 10 ** (QUIET_DBFS / 20):
            return False
    return True

