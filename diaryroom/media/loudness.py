"""Loudness (ITU-R BS.1770-4 / EBU R128) and a peak guard, in numpy.

Measuring here rather than with a second ffmpeg pass saves a process and a decode per
render, and lets the render report the loudness of exactly what it encoded.

The K-weighting filter is applied in the frequency domain, 100 ms at a time: each
100 ms segment's power spectrum is weighted by the filter's squared magnitude response
(the same pre-filter and RLB high-pass coefficients libebur128 and ffmpeg use, designed
for any sample rate). By Parseval that is the segment's K-weighted energy, up to the
filter's few-millisecond memory across segment edges; agreement with ffmpeg's
``ebur128`` on speech is within ~0.1 LU. Blocks of 400 ms with 75% overlap are four
segments, then the absolute (-70 LUFS) and relative (-10 LU) gates apply as specified.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

SEGMENT_S = 0.1  # s: a quarter of a gating block (400 ms blocks, 75% overlap)
SEGMENTS_PER_BLOCK = 4
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
CHUNK_SEGMENTS = 600  # segments per FFT batch (one minute): bounds the memory used
LIMIT_BLOCK_S = 0.0025  # s: peak-guard resolution (2.5 ms)
LIMIT_ATTACK_BLOCKS = 2  # blocks (5 ms) the gain starts falling before a peak
LIMIT_RELEASE_S = 0.05  # s: time constant of the recovery after a peak
LIMIT_CHUNK_BLOCKS = 4_000  # blocks (10 s) of gains applied at a time: bounds memory


def _biquad_power(b: tuple[float, float, float], a: tuple[float, float, float],
                  w: np.ndarray) -> np.ndarray:
    z = np.exp(-1j * w)
    num = b[0] + b[1] * z + b[2] * z * z
    den = a[0] + a[1] * z + a[2] * z * z
    return np.abs(num / den) ** 2


@lru_cache(maxsize=8)
def k_weighting(sample_rate: int, n: int) -> np.ndarray:
    """|H(f)|^2 of the K-weighting filter at the ``n // 2 + 1`` bins of an ``n``-point rfft,
    already scaled so that ``sum(|X|^2 * weights)`` is the segment's mean square."""
    # Pre-filter: a +4 dB high shelf around 1.7 kHz (the head's effect).
    k = math.tan(math.pi * 1681.974450955533 / sample_rate)
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh ** 0.4996667741545416
    q = 0.7071752369554196
    a0 = 1 + k / q + k * k
    shelf = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0)
    shelf_a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    # RLB: a high-pass at 38 Hz.
    k = math.tan(math.pi * 38.13547087602444 / sample_rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    rlb_a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    w = 2 * np.pi * np.arange(n // 2 + 1) / n
    weights = _biquad_power(shelf, shelf_a, w) * _biquad_power((1.0, -2.0, 1.0), rlb_a, w)
    weights[1:(n + 1) // 2] *= 2  # the rfft holds each of these bins once, not twice
    return (weights / (n * n)).astype(np.float32)


def segment_powers(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """K-weighted mean square of each whole 100 ms segment (a trailing part is dropped)."""
    n = round(sample_rate * SEGMENT_S)
    count = len(samples) // n
    weights = k_weighting(sample_rate, n)
    powers = np.empty(count, dtype=np.float64)
    for first in range(0, count, CHUNK_SEGMENTS):
        last = min(count, first + CHUNK_SEGMENTS)
        frames = np.asarray(samples[first * n:last * n], dtype=np.float32).reshape(-1, n)
        spectrum = np.fft.rfft(frames, axis=1)
        power = spectrum.real ** 2 + spectrum.imag ** 2  # |X|^2 without abs()'s sqrt
        powers[first:last] = power @ weights
    return powers


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of mono ``samples`` in LUFS; ``-inf`` when nothing is above the
    absolute gate (silence) or the audio is shorter than one 400 ms block."""
    z = segment_powers(samples, sample_rate)
    if len(z) < SEGMENTS_PER_BLOCK:
        return -math.inf
    blocks = np.lib.stride_tricks.sliding_window_view(z, SEGMENTS_PER_BLOCK).mean(axis=1)
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(blocks)
    kept = blocks[levels > ABSOLUTE_GATE_LUFS]
    if not len(kept):
        return -math.inf
    relative = -0.691 + 10 * math.log10(kept.mean()) + RELATIVE_GATE_LU
    kept = blocks[levels > max(relative, ABSOLUTE_GATE_LUFS)]
    return -0.691 + 10 * math.log10(kept.mean())


def limit_peaks(samples: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray:
    """``samples`` (changed in place) with no sample above ``ceiling`` (linear, > 0).

    A look-ahead peak limiter working on 2.5 ms blocks, vectorised (no Python loop):

    1. each block needs the gain that brings its peak to the ceiling;
    2. a block's gain is the least needed from the block before it to ``LIMIT_ATTACK_BLOCKS``
       ahead, so the gain is already down when a peak arrives;
    3. after a peak the gain recovers exponentially (``LIMIT_RELEASE_S``): the running
       maximum of the gain reduction, decaying, computed as a cumulative max in logs;
    4. a moving average over the attack's blocks turns steps into ramps, and gains are
       interpolated linearly between block centres.

    Every gain averaged or interpolated for a sample was already at most what that
    sample's own block needs, so the ceiling holds exactly, without clipping; a final
    clip only guards against rounding.
    """
    n = max(1, round(sample_rate * LIMIT_BLOCK_S))
    count, full = math.ceil(len(samples) / n), len(samples) // n
    peaks = np.empty(count)
    blocks = samples[:full * n].reshape(full, n)  # a view: no copy of a long recording
    peaks[:full] = np.maximum(blocks.max(axis=1, initial=0), -blocks.min(axis=1, initial=0))
    if count > full:
        peaks[full] = np.abs(samples[full * n:]).max()
    if not count or peaks.max() <= ceiling:
        return samples
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    ahead = np.pad(need, (1, LIMIT_ATTACK_BLOCKS), mode="edge")
    held = np.lib.stride_tricks.sliding_window_view(ahead, LIMIT_ATTACK_BLOCKS + 2).min(axis=1)
    # Release: reduction[k] = max over j <= k of reduction[j] * decay**(k - j).
    step = -LIMIT_BLOCK_S / LIMIT_RELEASE_S  # log of the per-block decay
    k = np.arange(count) * step
    with np.errstate(divide="ignore"):
        log_reduction = np.log(1.0 - held)  # -inf where no reduction is needed
    reduction = np.exp(k + np.maximum.accumulate(log_reduction - k))
    ramp = np.pad(1.0 - reduction, (LIMIT_ATTACK_BLOCKS - 1, 0), mode="edge")
    gains = np.convolve(ramp, np.full(LIMIT_ATTACK_BLOCKS, 1 / LIMIT_ATTACK_BLOCKS), "valid")
    centres = np.arange(count) * n + (n - 1) / 2
    # Applied a few seconds at a time, skipping stretches the guard leaves alone: the
    # per-sample gains of a 15-minute recording would otherwise cost 3 copies of it.
    for first in range(0, count, LIMIT_CHUNK_BLOCKS):
        last = min(count, first + LIMIT_CHUNK_BLOCKS)
        if np.all(gains[max(0, first - 1):last + 1] == 1.0):
            continue
        start, stop = first * n, min(len(samples), last * n)
        chunk = samples[start:stop]
        chunk *= np.interp(np.arange(start, stop), centres, gains).astype(samples.dtype)
        np.clip(chunk, -ceiling, ceiling, out=chunk)  # rounding guard: the ceiling is hard
    return samples
