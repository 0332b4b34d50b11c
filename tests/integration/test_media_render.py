"""Shareable audio, end to end with real ffmpeg: the disguise moves the voice but not the
timing, outputs are at -16 LUFS with no metadata, redacted ranges hold only the tone."""
from __future__ import annotations

import math

import numpy as np
import pytest

from diaryroom.errors import MediaError
from diaryroom.media.disguise import disguise_filter
from diaryroom.media.loudness import integrated_loudness, limit_peaks
from diaryroom.media.render import (
    decode_rendered,
    load_samples,
    render_redacted,
    render_shareable,
)
from tests import media_fixtures as fx

RATE = 24_000  # Hz: the render's working rate


@pytest.fixture(scope="module", autouse=True)
def _tools():
    fx.need("ffmpeg", "ffprobe", "espeak-ng")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """About 7 s of espeak speech as WebM/Opus, tagged with personal metadata."""
    folder = tmp_path_factory.mktemp("speech")
    wav = fx.speech_wav(folder / "speech.wav")
    webm = folder / "speech.webm"
    fx.ffmpeg("-i", str(wav), "-c:a", "libopus", "-b:a", "48k",
              "-metadata", "title=Diary of Sarah Jones", "-metadata", "artist=Sarah Jones",
              "-metadata", "comment=Kings Road hostel, room 12", str(webm))
    return webm


def test_the_disguise_lowers_the_voice_by_4_semitones(tmp_path):
    vowel = fx.write_wav(tmp_path / "vowel.wav", fx.voiced(2.0, RATE, f0=150), RATE)
    plain = fx.pitch(load_samples(vowel, disguise=False), RATE)
    disguised = fx.pitch(load_samples(vowel, disguise=True), RATE)
    assert plain == pytest.approx(150, rel=0.01)
    shift = 12 * math.log2(disguised / plain)
    assert shift == pytest.approx(-4, abs=0.25)  # the setting; at least 3 is the requirement


def edges(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times (s) of each loud stretch: 5 ms frames, smoothed over 25 ms."""
    power = (samples[:len(samples) // 120 * 120].reshape(-1, 120) ** 2).mean(axis=1)
    envelope = np.sqrt(np.convolve(power, np.ones(5) / 5, mode="same"))
    steps = np.diff((envelope > 0.3 * envelope.max()).astype(int))
    return np.flatnonzero(steps == 1) * 0.005, np.flatnonzero(steps == -1) * 0.005


def test_the_disguise_keeps_duration_and_word_timing(tmp_path):
    # Bursts of voice stand for words: after the disguise each must still start and end
    # where it did, since the redaction ranges are planned on the original's timing.
    onsets = (0.5, 1.7, 3.1, 4.0, 5.55)  # the file ends in 50 ms of silence
    samples = np.zeros(6 * RATE, dtype=np.float32)
    burst = fx.voiced(0.4, RATE)
    for onset in onsets:
        samples[round(onset * RATE):round(onset * RATE) + len(burst)] = burst
    bursts = fx.write_wav(tmp_path / "bursts.wav", samples, RATE)
    plain, disguised = load_samples(bursts, disguise=False), load_samples(bursts, disguise=True)
    assert len(disguised) == len(plain) == 6 * RATE  # to the sample
    (starts, ends), (moved_starts, moved_ends) = edges(plain), edges(disguised)
    assert len(starts) == len(moved_starts) == len(moved_ends) == len(onsets)
    assert np.allclose(starts, onsets, atol=0.02)
    # Measured: starts up to ~20 ms early, ends ~5 ms late (the time-scaling's window).
    assert np.allclose(moved_starts, starts, atol=0.025)
    assert np.allclose(moved_ends, ends, atol=0.025)


def test_the_filter_is_a_plain_ffmpeg_filter_string():
    assert "atempo" in disguise_filter() and "rubberband" in disguise_filter(
        formant="preserved")
    with pytest.raises(ValueError):
        disguise_filter(pitch_semitones=-20)


def test_video_gives_its_sound_only(tmp_path):
    clip = fx.video(tmp_path / "clip.mp4", 1.5)
    samples = load_samples(clip, disguise=False)
    assert len(samples) / RATE == pytest.approx(1.5, abs=0.05)
    assert fx.pitch(samples, RATE, low=300, high=600) == pytest.approx(440, rel=0.02)


def test_loading_says_why_a_file_cannot_be_used(tmp_path):
    bad = tmp_path / "bad.webm"
    bad.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(1000))
    with pytest.raises(MediaError, match="damaged and could not be decoded"):
        load_samples(bad, disguise=True)
    with pytest.raises(MediaError, match="no sound track"):
        load_samples(fx.video(tmp_path / "silent.mp4", 1.0, audio=False), disguise=True)


@pytest.mark.parametrize("disguise", [False, True])
def test_outputs_are_at_minus_16_lufs_without_clipping(speech, tmp_path, disguise):
    mp3, opus = tmp_path / "out.mp3", tmp_path / "out.opus"
    report = render_redacted(speech, [], out_mp3=mp3, out_opus=opus, disguise=disguise)
    assert report["lufs"] == pytest.approx(-16, abs=0.25)
    assert report["peak_dbfs"] <= -2.0 + 1e-3
    for path in (mp3, opus):
        measured = fx.ebur128(path)
        # The requirement is -16 +/- 1; both measure within 0.2 of it on this machine.
        assert measured["lufs"] == pytest.approx(-16, abs=0.5), path.name
        assert measured["true_peak"] < -0.5, path.name  # nothing clips once decoded
    assert not list(tmp_path.glob("*.part"))


def test_outputs_carry_no_metadata(speech, tmp_path):
    mp3, opus = tmp_path / "out.mp3", tmp_path / "out.opus"
    render_redacted(speech, [], out_mp3=mp3, out_opus=opus, disguise=False)
    for path, codec in ((mp3, "mp3"), (opus, "opus")):
        info = fx.ffprobe(path)
        assert [s["codec_name"] for s in info["streams"]] == [codec]
        assert info["streams"][0]["channels"] == 1
        tags = {**info["format"].get("tags", {}), **info["streams"][0].get("tags", {})}
        assert set(tags) <= {"encoder"}, tags
        assert b"Sarah" not in path.read_bytes() and b"Kings" not in path.read_bytes()
    assert 56_000 <= int(fx.ffprobe(mp3)["format"]["bit_rate"]) <= 100_000



def test_a_render_decodes_in_process_to_what_ffmpeg_decodes(speech, tmp_path):
    """Re-listening reads the render with PyAV, not ffmpeg: sample for sample the same."""
    mp3, opus = tmp_path / "out.mp3", tmp_path / "out.opus"
    render_redacted(speech, [], out_mp3=mp3, out_opus=opus, disguise=False)
    for path in (mp3, opus):
        ours = decode_rendered(path, sample_rate=16_000)
        theirs = load_samples(path, sample_rate=16_000, disguise=False)
        assert ours.dtype == np.float32 and len(ours) == len(theirs) > 16_000 * 5
        assert np.abs(ours - theirs).max() < 1e-4, path.name
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"ID3" + bytes(range(256)) * 16)
    with pytest.raises(MediaError, match="could not decode the rendered audio") as info:
        decode_rendered(junk, sample_rate=16_000)
    assert str(tmp_path) not in str(info.value)  # no paths in what people read

@pytest.mark.parametrize("mode", ["tone", "silence"])
def test_a_redacted_range_is_tone_or_silence_in_the_rendered_file(speech, tmp_path, mode):
    mp3 = tmp_path / "out.mp3"
    render_redacted(speech, [(1.0, 2.5)], out_mp3=mp3, out_opus=None, mode=mode,
                    disguise=True)
    heard = fx.decode(mp3)
    middle = heard[round(1.1 * RATE):round(2.4 * RATE)]  # codec smear allowed at edges
    speech_before = heard[round(3.0 * RATE):round(4.5 * RATE)]
    assert fx.rms_db(speech_before) > -30
    if mode == "tone":
        assert fx.tone_purity(middle, RATE, 1000) > 0.99
        assert fx.tone_purity(speech_before, RATE, 1000) < 0.2
    else:
        assert fx.rms_db(middle) < -60
    assert len(heard) / RATE == pytest.approx(len(fx.decode(speech)) / RATE, abs=0.05)


def test_silence_renders_without_blowing_up(tmp_path):
    mp3, opus = tmp_path / "out.mp3", tmp_path / "out.opus"
    report = render_shareable(np.zeros(3 * RATE, np.float32), RATE, mp3, opus)
    assert report == {"duration": 3.0, "lufs": None, "peak_dbfs": None, "gain_db": 0.0,
                      "gain_capped": False}
    assert fx.rms_db(fx.decode(mp3)) == -np.inf or fx.rms_db(fx.decode(mp3)) < -90
    assert fx.ffprobe(opus)["format"]["duration"]


def test_a_near_silent_recording_is_lifted_by_at_most_30_db(tmp_path):
    hiss = np.random.default_rng(3).normal(0, 10 ** (-60 / 20), 4 * RATE).astype(np.float32)
    report = render_shareable(hiss, RATE, tmp_path / "out.mp3", None)
    assert report["gain_capped"] and report["gain_db"] == 30.0
    assert report["lufs"] < -16


def test_our_loudness_meter_agrees_with_ffmpegs(speech):
    samples = load_samples(speech, disguise=False)
    ours = integrated_loudness(samples, RATE)
    assert ours == pytest.approx(fx.ebur128(speech)["lufs"], abs=0.2)
    assert integrated_loudness(samples[:RATE // 4], RATE) == -math.inf  # under one block


def test_the_peak_guard_holds_its_ceiling_and_leaves_quiet_audio_alone():
    rng = np.random.default_rng(5)
    loud = rng.normal(0, 0.5, RATE).astype(np.float32)
    limited = limit_peaks(loud.copy(), RATE, 0.5)
    assert np.abs(limited).max() <= 0.5
    assert np.max(np.abs(np.diff(limited))) < 2.5  # ramps, not a square-wave clip
    quiet = rng.normal(0, 0.05, RATE).astype(np.float32)
    assert np.array_equal(limit_peaks(quiet.copy(), RATE, 0.5), quiet)
