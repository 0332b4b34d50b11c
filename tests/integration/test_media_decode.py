"""Decoding every upload format for recognition, keeping the sound of a video, and the
messages staff see when a file cannot be used. Real ffmpeg on files made here."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from diaryroom.errors import MediaError
from diaryroom.media.decode import decode_for_asr, extract_audio_track, has_video
from diaryroom.media.probe import probe
from tests import media_fixtures as fx

SECONDS = 2.5


@pytest.fixture(scope="module", autouse=True)
def _tools():
    fx.need("ffmpeg", "ffprobe")


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict:
    """One 2.5 s recording of a 440 Hz tone in each format we take, plus a video."""
    folder = tmp_path_factory.mktemp("uploads")
    made = {name: fx.tone(folder / f"tone.{name}", SECONDS, *args)
            for name, args in fx.AUDIO_FORMATS.items()}
    made["mp4"] = fx.video(folder / "video.mp4", SECONDS)
    made["webm-video"] = fx.video(folder / "video.webm", SECONDS, vcodec="libvpx",
                                  acodec="libopus")
    return made


@pytest.mark.parametrize("name", [*fx.AUDIO_FORMATS, "mp4", "webm-video"])
def test_every_format_decodes_to_16_khz_mono_of_the_right_length(uploads, tmp_path, name):
    dst = tmp_path / "asr.wav"
    duration = decode_for_asr(uploads[name], dst)
    assert duration == pytest.approx(SECONDS, abs=0.1)
    stream = probe_stream(dst)
    assert (stream["sample_rate"], stream["channels"], stream["codec_name"]) == (
        "16000", 1, "pcm_f32le")
    samples = np.frombuffer(dst.read_bytes()[-int(duration * 16_000) * 4:], dtype="<f4")
    assert len(samples) / 16_000 == pytest.approx(duration)
    assert fx.pitch(samples.astype(np.float32), 16_000, low=300, high=600) == pytest.approx(
        440, rel=0.02)  # the recording's own sound, not silence or noise


def probe_stream(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         check=True, capture_output=True, timeout=30).stdout
    return json.loads(out)["streams"][0]


def test_speech_decodes_too(tmp_path):
    speech = fx.speech_wav(tmp_path / "speech.wav")
    fx.ffmpeg("-i", str(speech), "-c:a", "libopus", str(tmp_path / "speech.webm"))
    assert decode_for_asr(tmp_path / "speech.webm", tmp_path / "asr.wav") == pytest.approx(
        probe(speech).duration, abs=0.1)


def test_has_video_tells_video_from_sound_only(uploads):
    assert has_video(uploads["mp4"]) and has_video(uploads["webm-video"])
    assert not has_video(uploads["m4a"]) and not has_video(uploads["webm"])


@pytest.mark.parametrize(("name", "suffix"), [("webm-video", ".ogg"), ("mp4", ".webm")])
def test_a_video_keeps_an_audio_only_opus_track(uploads, tmp_path, name, suffix):
    dst = tmp_path / f"sound{suffix}"
    extract_audio_track(uploads[name], dst)
    info = probe(dst)
    assert not info.has_video and info.audio_codecs == ("opus",)
    assert info.duration == pytest.approx(SECONDS, abs=0.1)


def test_an_opus_track_is_copied_not_re_encoded(uploads, tmp_path):
    # A stream copy keeps the Opus packets as they were, so both decode to the same
    # samples (Ogg may keep a few ms more of the last packet than WebM trimmed).
    extract_audio_track(uploads["webm-video"], tmp_path / "sound.ogg")
    original = fx.decode(uploads["webm-video"], rate=48_000)  # Opus's own rate: no resampling
    kept = fx.decode(tmp_path / "sound.ogg", rate=48_000)
    assert len(kept) - len(original) < 0.02 * 48_000
    assert np.array_equal(original, kept[:len(original)])


def test_the_audio_track_is_kept_as_opus_only(uploads, tmp_path):
    with pytest.raises(ValueError, match="Opus"):
        extract_audio_track(uploads["mp4"], tmp_path / "sound.mp3")


def test_corrupt_bytes_are_called_damaged(tmp_path):
    bad = tmp_path / "entry.webm"
    bad.write_bytes(np.random.default_rng(7).bytes(20_000))
    with pytest.raises(MediaError, match="the file is damaged and could not be decoded: .+"):
        decode_for_asr(bad, tmp_path / "asr.wav")


def test_an_empty_file_says_nothing_was_recorded(tmp_path):
    empty = tmp_path / "entry.webm"
    empty.touch()
    with pytest.raises(MediaError, match="empty"):
        decode_for_asr(empty, tmp_path / "asr.wav")
    with pytest.raises(MediaError, match="empty"):
        extract_audio_track(empty, tmp_path / "sound.ogg")


def test_a_video_without_sound_says_so(tmp_path):
    silent = fx.video(tmp_path / "silent.mp4", 1.0, audio=False)
    with pytest.raises(MediaError, match="^the recording has no sound track$"):
        decode_for_asr(silent, tmp_path / "asr.wav")
    with pytest.raises(MediaError, match="^the recording has no sound track$"):
        extract_audio_track(silent, tmp_path / "sound.ogg")


def test_the_error_keeps_ffmpegs_own_words_as_its_cause(tmp_path):
    bad = tmp_path / "entry.mp3"
    bad.write_bytes(b"ID3" + bytes(500))
    with pytest.raises(MediaError) as caught:
        decode_for_asr(bad, tmp_path / "asr.wav")
    assert isinstance(caught.value.__cause__, MediaError)
