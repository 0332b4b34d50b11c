"""Redacting audio samples: only tone or silence inside a range, nothing changed outside."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from diaryroom.media import disguise, redact, tools
from diaryroom.media.redact import redact_audio

RATE = 16_000  # Hz
FADE = 160  # samples: the default 10 ms at 16 kHz
AMPLITUDE = 10 ** (-18 / 20)  # the default tone's peak


def noise(seconds: float = 3.0, seed: int = 1) -> np.ndarray:
    """Loud white noise: every sample differs from its neighbours and from other seeds."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.9, 0.9, round(seconds * RATE)).astype(np.float32)


def outside(length: int, *spans: tuple[int, int]) -> np.ndarray:
    """Mask of the samples outside every span widened by a fade each side."""
    mask = np.ones(length, dtype=bool)
    for a, b in spans:
        mask[max(0, a - FADE):b + FADE] = False
    return mask


@pytest.mark.parametrize("mode", ["tone", "silence"])
def test_nothing_of_the_original_survives_inside_a_range(mode):
    # Two different recordings give the very same samples inside the range: whatever is
    # there cannot carry anything of what was said, at any level.
    a = redact_audio(noise(seed=1), RATE, [(1.0, 1.5)], mode=mode)
    b = redact_audio(noise(seed=2), RATE, [(1.0, 1.5)], mode=mode)
    assert np.array_equal(a[16_000:24_000], b[16_000:24_000])
    inside, original = a[16_000:24_000], noise(seed=1)[16_000:24_000]
    shared = abs(float(np.dot(inside, original)))  # what of the original it still holds
    assert shared <= 0.02 * np.linalg.norm(inside) * np.linalg.norm(original)


def test_a_tone_range_holds_a_steady_tone_at_the_chosen_level():
    out = redact_audio(noise(), RATE, [(1.0, 2.0)], mode="tone", tone_hz=1000, tone_dbfs=-18)
    steady = out[16_000 + FADE:32_000 - FADE]
    assert np.sqrt(np.mean(steady.astype(np.float64) ** 2)) == pytest.approx(
        AMPLITUDE / np.sqrt(2), rel=0.01)
    spectrum = np.abs(np.fft.rfft(steady)) ** 2
    peak_hz = np.argmax(spectrum) * RATE / len(steady)
    assert peak_hz == pytest.approx(1000, abs=2)
    assert np.abs(out[16_000:32_000]).max() <= AMPLITUDE + 1e-6


def test_a_silence_range_is_silent():
    out = redact_audio(noise(), RATE, [(1.0, 2.0)], mode="silence")
    assert not out[16_000:32_000].any()


@pytest.mark.parametrize("mode", ["tone", "silence"])
def test_everything_outside_the_ranges_and_fades_is_bit_identical(mode):
    original = noise()
    out = redact_audio(original, RATE, [(0.5, 0.75), (2.0, 2.25)], mode=mode)
    keep = outside(len(original), (8_000, 12_000), (32_000, 36_000))
    assert np.array_equal(out[keep], original[keep])
    assert not np.array_equal(out[~keep], original[~keep])
    assert np.array_equal(noise(), original)  # the input itself was not touched


def test_the_original_fades_out_before_the_range_and_back_in_after_it():
    original = np.full(3 * RATE, 0.5, dtype=np.float32)
    out = redact_audio(original, RATE, [(1.0, 2.0)], mode="silence")
    before, after = out[16_000 - FADE:16_000], out[32_000:32_000 + FADE]
    assert np.all(np.diff(before) < 0) and before[-1] < 0.001  # down to nearly nothing
    assert np.all(np.diff(after) > 0) and after[0] < 0.001  # and back up
    assert out[16_000 - FADE - 1] == 0.5 and out[32_000 + FADE] == 0.5


def test_edges_are_rounded_outwards_to_whole_samples():
    out = redact_audio(noise(), RATE, [(1.00001, 1.99999)], mode="silence")
    assert not out[16_000:32_000].any()
    assert out[16_000 - 1] != 0 and out[32_000] != 0


def test_ranges_at_the_very_start_and_end_are_clipped_to_the_audio():
    original = noise()
    out = redact_audio(original, RATE, [(0.0, 0.2), (2.8, 9.0), (5.0, 6.0)], mode="silence")
    assert len(out) == len(original)
    assert not out[:3_200].any() and not out[44_800:].any()
    keep = outside(len(original), (0, 3_200), (44_800, 48_000))
    assert np.array_equal(out[keep], original[keep])


def test_overlapping_adjacent_and_unsorted_ranges_are_joined():
    original = noise()
    out = redact_audio(original, RATE, [(1.2, 1.5), (0.5, 1.0), (0.9, 1.2), (1.5, 1.6)],
                       mode="silence")
    assert not out[8_000:25_600].any()
    keep = outside(len(original), (8_000, 25_600))
    assert np.array_equal(out[keep], original[keep])


def test_ranges_closer_than_two_fades_are_joined_gap_and_all():
    out = redact_audio(noise(), RATE, [(1.0, 1.1), (1.11, 1.2)], mode="silence")
    assert not out[16_000:19_200].any()  # the 10 ms between them is hidden too


def test_a_tone_joined_across_ranges_stays_in_phase():
    out = redact_audio(np.zeros(RATE, np.float32), RATE, [(0.1, 0.3), (0.3, 0.5)])
    steady = out[1_600 + FADE:8_000 - FADE]
    t = np.arange(1_600 + FADE, 8_000 - FADE) / RATE
    assert np.allclose(steady, AMPLITUDE * np.sin(2 * np.pi * 1000 * t), atol=1e-6)


def test_no_ranges_returns_the_input_unchanged():
    original = noise()
    assert redact_audio(original, RATE, []) is original
    assert redact_audio(original, RATE, [(5.0, 6.0)]) is original  # wholly past the end


def test_in_place_when_asked():
    samples = noise()
    out = redact_audio(samples, RATE, [(1.0, 1.5)], mode="silence", copy=False)
    assert out is samples and not samples[16_000:24_000].any()


@pytest.mark.parametrize("bad", [(2.0, 1.0), (float("nan"), 1.0), (0.0, float("inf"))])
def test_a_range_that_cannot_be_placed_fails_closed(bad):
    with pytest.raises(ValueError, match="cannot be hidden"):
        redact_audio(noise(), RATE, [bad])


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown redaction mode"):
        redact_audio(noise(), RATE, [(1.0, 1.5)], mode="beep")


@pytest.mark.parametrize("module", [redact, disguise, tools])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted and not result.failed
