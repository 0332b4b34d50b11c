"""faster-whisper never samples: a window that fails Whisper's checks is decoded again
with ``RETRIES`` (beam search with a repetition penalty, then greedy), never at a
temperature above 0. Checked on what CTranslate2's model is really asked to do."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from diaryroom.asr import FasterWhisperTranscriber, model_path
from diaryroom.asr.engine import RETRIES, _passes
from tests.conftest import shared_file
from tests.media_fixtures import speech_wav

# espeak-ng reading a phone number (the UK set's u044, tuning half): tiny.en loops at
# temperature 0 ("... 7, 7, 7, 7, ...").
LOOPING_SPEECH = "my new number is oh seven seven oh oh nine oh oh four five seven dionne " \
                 "has it as well"
WHISPER_CHECKS = SimpleNamespace(compression_ratio_threshold=2.4, log_prob_threshold=-1.0,
                                 no_speech_threshold=0.6)


def decoded(*, logprob: float = -0.3, ratio: float = 1.2, no_speech: float = 0.01) -> tuple:
    return (SimpleNamespace(no_speech_prob=no_speech), logprob, 0.0, ratio)


@pytest.mark.parametrize(("window", "passes"), [
    (decoded(), True),
    (decoded(ratio=6.6), False),  # a loop
    (decoded(logprob=-1.4), False),  # unsure
    (decoded(logprob=-1.4, no_speech=0.9), True),  # silence: skipped later, not retried
    (decoded(ratio=6.6, logprob=-1.4, no_speech=0.9), True),  # as Whisper: silence wins
    (decoded(ratio=6.6, no_speech=0.9), False),  # sure of a loop is not silence
])
def test_whispers_checks_decide_when_to_retry(window, passes):
    assert _passes(window, WHISPER_CHECKS) is passes


class RecordingModel:
    """CTranslate2's Whisper model, unchanged, noting the options of every decode."""

    def __init__(self, model):
        self._model = model
        self.decodes: list[dict] = []

    def generate(self, *args, **options):
        self.decodes.append(options)
        return self._model.generate(*args, **options)

    def __getattr__(self, name):
        return getattr(self._model, name)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(model_path("tiny.en", tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def looping(tmp_path_factory) -> Path:
    wav = tmp_path_factory.mktemp("speech") / "number.wav"
    return speech_wav(wav, LOOPING_SPEECH, words_per_minute=150)


def sampled(options: dict) -> bool:
    # CTranslate2 samples when sampling_topk is not 1 (0 means the whole vocabulary).
    return options.get("sampling_topk", 1) != 1


@pytest.mark.slow
def test_a_looping_window_is_retried_deterministically(tiny, looping, monkeypatch):
    recorder = RecordingModel(tiny._model.model)
    monkeypatch.setattr(tiny._model, "model", recorder)
    transcript = tiny.transcribe(looping)

    assert recorder.decodes, "the model was never asked to decode"
    assert not any(sampled(o) for o in recorder.decodes), recorder.decodes
    penalties = [o.get("repetition_penalty") for o in recorder.decodes]
    # This speech is here because it fails Whisper's checks: it must be decoded again.
    assert RETRIES[0]["repetition_penalty"] in penalties, recorder.decodes
    assert "7, 7, 7, 7, 7" not in transcript.text, transcript.text  # the loop is gone
    assert "new number" in transcript.text.lower()


@pytest.mark.slow
def test_the_same_file_gives_the_same_transcript(tiny, looping):
    first = tiny.transcribe(looping)
    assert tiny.transcribe(looping) == first  # words, times and probabilities


@pytest.mark.slow
def test_thread_count_does_not_change_the_words(looping, tmp_path):
    # Measured for cpu_threads 1, 2 and 4, tiny.en and base: bit-identical. (What does
    # change the words is the CPU's instruction set and maths library: see the README.)
    one = FasterWhisperTranscriber(model_path("tiny.en", tmp_path), cpu_threads=1)
    four = FasterWhisperTranscriber(model_path("tiny.en", tmp_path), cpu_threads=4)
    for audio in (shared_file("speech/jfk.flac"), looping):
        assert one.transcribe(audio) == four.transcribe(audio)
