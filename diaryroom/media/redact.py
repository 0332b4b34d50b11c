"""Hiding personal data in audio: each redacted time range becomes a steady tone or silence.

Pure numpy over mono float samples, so it is fast and can be tested without ffmpeg.

Where the fades go (the safety design): a hard cut from speech to tone clicks, so each
edge has a short raised-cosine fade, and *both* fades of an edge sit where they cannot
let personal data through:

    original ... fades out ─┐ [ tone fades in ── steady tone ── tone fades out ] ┌─ fades in
                 (outside)  │ start                                          end │ (outside)

The original fades out over the ``fade_ms`` just *before* the range and back in just
*after* it; inside the range there is only tone (or silence), never a scaled-down
original. So no sample of what was said inside the range survives, at any level. The
caller's padding (``domain.redaction.time_ranges``) already reaches well past the words,
so the fades only ever soften padding. Range edges are rounded outwards to whole
samples. Two ranges closer than two fades are joined, gap included: a few milliseconds
of speech between two names cannot be faded in and out cleanly and is not worth keeping.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MODES = ("tone", "silence")
FADE_MS = 10.0  # ms: long enough not to click, short enough to keep neighbouring words
TONE_HZ = 1000.0  # Hz: the broadcast "bleep"
TONE_DBFS = -18.0  # dBFS, peak of the sine (AES17): clearly heard, not startling


def _ramp(n: int, dtype: np.dtype) -> np.ndarray:
    """Raised cosine from just above 0 to just below 1 over ``n`` samples (no 0 or 1
    endpoints, so the samples on both sides of a fade differ from it)."""
    k = np.arange(1, n + 1, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(np.pi * k / (n + 1))).astype(dtype)


def sample_ranges(ranges: Sequence[tuple[float, float]], sample_rate: int, length: int,
                  fade: int) -> list[tuple[int, int]]:
    """Seconds to ``[start, end)`` sample indices: rounded outwards, clipped to the audio,
    sorted, and merged where they overlap or leave less than two fades between them.

    >>> sample_ranges([(0.5, 0.6), (0.1, 0.2), (0.61, 2.0)], 100, 150, fade=1)
    [(10, 20), (50, 150)]
    """
    spans: list[tuple[int, int]] = []
    for start, end in ranges:
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise ValueError(f"bad redaction range {start}..{end}: audio cannot be hidden")
        a = max(0, math.floor(start * sample_rate))
        b = min(length, math.ceil(end * sample_rate))
        if b > a:
            spans.append((a, b))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] < 2 * fade:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def redact_audio(samples: np.ndarray, sample_rate: int,
                 ranges: Sequence[tuple[float, float]], *, mode: str = "tone",
                 fade_ms: float = FADE_MS, tone_hz: float = TONE_HZ,
                 tone_dbfs: float = TONE_DBFS, copy: bool = True) -> np.ndarray:
    """``samples`` (mono float, -1..1) with every range in ``ranges`` (seconds) replaced
    by a steady tone (``mode="tone"``) or silence (``mode="silence"``).

    Everything outside the ranges and their outer fades is returned bit-identical. With
    no ranges the input itself is returned. ``copy=False`` works in place (the array
    must be writeable) to spare one copy of a long recording.
    """
    if mode not in MODES:
        raise ValueError(f"unknown redaction mode {mode!r}: use one of {MODES}")
    if samples.ndim != 1:
        raise ValueError("redact_audio takes mono samples (a 1-D array)")
    fade = max(1, round(fade_ms * sample_rate / 1000))
    spans = sample_ranges(ranges, sample_rate, len(samples), fade)
    if not spans:
        return samples
    out = samples.copy() if copy else samples
    down = _ramp(fade, out.dtype)[::-1]
    amplitude = 10 ** (tone_dbfs / 20) if mode == "tone" else 0.0
    for a, b in spans:
        before = slice(max(0, a - fade), a)
        out[before] *= down[fade - (before.stop - before.start):]
        after = slice(b, min(len(out), b + fade))
        out[after] *= down[::-1][:after.stop - after.start]
        out[a:b] = _tone(a, b, sample_rate, tone_hz, amplitude, fade, out.dtype)
    return out


def _tone(a: int, b: int, sample_rate: int, hz: float, amplitude: float, fade: int,
          dtype: np.dtype) -> np.ndarray:
    """The replacement for samples ``a..b``: a sine in phase with absolute time (so joined
    ranges sound like one bleep), faded in and out inside the range."""
    if amplitude == 0.0:
        return np.zeros(b - a, dtype=dtype)
    n = np.arange(a, b, dtype=np.float64)
    tone = (amplitude * np.sin(2 * np.pi * hz * n / sample_rate)).astype(dtype)
    edge = min(fade, (b - a) // 2)
    if edge:
        up = _ramp(edge, dtype)
        tone[:edge] *= up
        tone[len(tone) - edge:] *= up[::-1]
    return tone
