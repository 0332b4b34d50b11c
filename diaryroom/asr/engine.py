"""Speech recognition engines behind one small interface.

``faster-whisper`` (CTranslate2, int8 on CPU) is the default and ships with its models.
``openai-whisper`` (PyTorch) is optional: the operator installs the package and supplies a
local ``.pt`` checkpoint. Neither engine ever downloads anything here.

The heavy libraries are imported when a transcriber is built, not when this module is
imported, so the web app can use the types without loading CTranslate2 or torch.

The same file and settings give the same transcript on every run: Whisper's usual retry
of a bad window, *sampling* at rising temperatures, is replaced by deterministic retries
(``RETRIES``), and openai-whisper's sampling is seeded for each file. The thread count
does not change the words (measured: cpu_threads 1, 2 and 4 gave bit-identical words,
times and probabilities, tiny.en and base). The CPU can: CTranslate2, oneDNN and OpenBLAS
pick their code paths (AVX2, AVX-512, VNNI; MKL on Intel only) by machine, and each
choice rounds differently, sometimes enough to change a word. Workers that must agree
run on one CPU type; pinning the paths (CT2_USE_MKL=0, CT2_FORCE_CPU_ISA=AVX2,
ONEDNN_MAX_CPU_ISA=AVX2, OPENBLAS_CORETYPE=Haswell) made base twice as slow here.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from diaryroom.errors import ConfigError, TranscriptionError

from .models import MODEL_FILES, model_path
from .types import Segment, Transcript, Word

ProgressCallback = Callable[[float], None]

ENGINES = ("faster-whisper", "openai-whisper")

# hard-coded audio hyperparameters, as in whisper/audio.py
SAMPLE_RATE = 16000  # Hz; both engines resample every input to this
CHUNK_LENGTH = 30  # seconds of audio the encoder sees at once (language detection window)

DEFAULT_BEAM_SIZE = 5  # hypotheses kept per decoding step
DEFAULT_COMPUTE_TYPE = "int8"  # CTranslate2 weight type on CPU: ~4x smaller than float32
DEFAULT_CPU_THREADS = 0  # intra-op threads per transcription; 0 = CTranslate2 default (4)

PROGRESS_DONE = 1.0  # fraction reported once the whole file has been transcribed

# Whisper checks each 30 s window's beam-search text and decodes it again when the text is
# too repetitive (gzip compression ratio > 2.4: a loop such as "7, 7, 7, ...") or too
# unsure (mean token log-probability < -1), unless the window is silence. Whisper's own
# retries *sample* at temperatures 0.2 ... 1.0, so one file gave different words and
# redactions on each run. CTranslate2 cannot be seeded per call: its generator belongs to
# the decoding thread and is seeded once, so even a fixed seed depends on what that thread
# decoded before. These retries keep Whisper's checks but decode deterministically, each
# tried only if the one before failed. Chosen on the UK set's tuning half (espeak-ng): a
# light repetition penalty stops most loops and keeps the digits; a stronger one stops
# loops of one letter ("I-I-I-I"); greedy search is the last resort.
RETRIES = (
    {"repetition_penalty": 1.1},  # > 1 lowers the score of tokens already written
    {"repetition_penalty": 1.3},
    {"beam_size": 1},
)
# openai-whisper samples with torch's generator, which *can* be reset: its calls are
# serialised, so reseeding before each file makes its sampled retries repeatable.
OPENAI_WHISPER_SEED = 0


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(
        self,
        audio_path: str | Path,
        *,
        on_progress: ProgressCallback | None = None,
        language: str | None = None,
    ) -> Transcript:
        """Transcribe a whole file; ``on_progress`` gets fractions 0..1, ending with 1.0."""
        ...

    def listen(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        """Transcribe mono float32 ``samples`` at ``SAMPLE_RATE`` held in memory, every
        stretch of them: no voice-activity filter drops a faint or clipped syllable.
        Re-listening uses it on what it has just cut from the shared audio."""
        ...


def _clamp(fraction: float) -> float:
    return min(1.0, max(0.0, fraction))


class FasterWhisperTranscriber:
    """faster-whisper on CPU. One instance may be shared by several worker threads."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        cpu_threads: int = DEFAULT_CPU_THREADS,
        compute_type: str = DEFAULT_COMPUTE_TYPE,
        beam_size: int = DEFAULT_BEAM_SIZE,
    ):
        self.model_dir = Path(model_dir)
        # faster-whisper treats a path that is not a directory as a Hub model id and would
        # download it, and fetches a tokenizer.json it cannot find: refuse both up front.
        missing = [n for n in MODEL_FILES if not (self.model_dir / n).is_file()]
        if missing:
            raise ConfigError(
                f"Whisper model directory {self.model_dir} lacks {', '.join(missing)}")
        self.beam_size = beam_size
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:  # pragma: no cover - it is a hard dependency
            raise ConfigError("faster-whisper is not installed; run `pip install "
                              "faster-whisper` or reinstall diaryroom") from e
        try:
            self._model = _deterministic(WhisperModel)(
                str(self.model_dir),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ConfigError(f"could not load the Whisper model in {self.model_dir}: {e}") from e
        self.multilingual: bool = bool(self._model.model.is_multilingual)

    def __repr__(self) -> str:
        return f"FasterWhisperTranscriber({str(self.model_dir)!r}, beam_size={self.beam_size})"

    def transcribe(
        self,
        audio_path: str | Path,
        *,
        on_progress: ProgressCallback | None = None,
        language: str | None = None,
    ) -> Transcript:
        # Silero VAD skips long silences (and the encoder passes they would cost).
        return self._recognise(str(audio_path), Path(audio_path).name, language=language,
                               vad_filter=True, on_progress=on_progress)

    def listen(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        # No VAD: the windows are short and back to back, so it would save no encoder
        # pass, and it costs ~0.15 s and may drop the faint remnant being listened for.
        return self._recognise(np.asarray(samples, dtype=np.float32), "the listening audio",
                               language=language, vad_filter=False)

    def _recognise(self, audio: str | np.ndarray, name: str, *, language: str | None,
                   vad_filter: bool, on_progress: ProgressCallback | None = None
                   ) -> Transcript:
        import av  # faster-whisper's decoder; its errors are what a bad upload raises

        decode_errors = (av.error.FFmpegError, OSError, RuntimeError, ValueError)
        if not self.multilingual:
            language = "en"  # English-only (.en) model: never detect, never anything else
        try:
            segments, info = self._model.transcribe(
                audio,
                language=language,
                beam_size=self.beam_size,
                word_timestamps=True,
                vad_filter=vad_filter,
                temperature=0.0,  # beam search; the retries are ``RETRIES``, not sampling
            )
        except decode_errors as e:
            raise TranscriptionError(f"could not decode audio file {name}: {e}") from e
        duration = float(info.duration)
        if duration <= 0:
            raise TranscriptionError(f"audio file {name} contains no audio")

        # `segments` is a lazy generator: the real decoding happens while we iterate, so it
        # must be consumed here, inside the error handling, not by the caller.
        result: list[Segment] = []
        progress = 0.0
        iterator = iter(segments)
        try:
            while True:
                try:
                    seg = next(iterator)
                except StopIteration:
                    break
                except decode_errors as e:
                    raise TranscriptionError(f"could not transcribe {name}: {e}") from e
                result.append(_segment(seg.start, seg.end, seg.text,
                                       ((w.start, w.end, w.word, w.probability)
                                        for w in seg.words or ())))
                if on_progress is not None:
                    progress = max(progress, _clamp(float(seg.end) / duration))
                    on_progress(progress)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        if on_progress is not None:
            on_progress(PROGRESS_DONE)
        return Transcript(
            language=str(info.language),
            language_probability=float(info.language_probability),
            duration=duration,
            segments=tuple(result),
        )


@functools.cache
def _deterministic(whisper_model: type) -> type:
    """faster-whisper's ``WhisperModel`` with ``RETRIES`` in place of sampled retries.

    Only ``generate_with_fallback`` (one window: decode, check, retry) is replaced; each
    decode is faster-whisper's own, run at temperature 0 with one of the option sets.
    """

    class DeterministicWhisperModel(whisper_model):  # type: ignore[misc, valid-type]
        def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
            parent = super().generate_with_fallback
            tried = []
            for retry in ({}, *RETRIES):
                attempt = dataclasses.replace(options, temperatures=[0.0], **retry)
                decoded = parent(encoder_output, prompt, tokenizer, attempt)
                tried.append(decoded)
                if _passes(decoded, options):
                    return decoded
            # As Whisper does when every try fails: the most confident text that is not a
            # loop, else the most confident of all, reported at Whisper's last temperature
            # (1.0) so that faster-whisper keeps this text out of the next window's prompt.
            loops = options.compression_ratio_threshold
            unlooped = [d for d in tried if loops is None or d[3] <= loops]
            result, logprob, _, ratio = max(unlooped or tried, key=lambda d: d[1])
            return result, logprob, 1.0, ratio

    return DeterministicWhisperModel


def _passes(decoded: tuple[Any, float, float, float], options: Any) -> bool:
    """Whisper's checks on one window's decode (result, mean log-prob, temperature,
    compression ratio), as faster-whisper applies them before it retries."""
    result, logprob, _, ratio = decoded
    looped = options.compression_ratio_threshold is not None \
        and ratio > options.compression_ratio_threshold
    unsure = options.log_prob_threshold is not None and logprob < options.log_prob_threshold
    silence = unsure and options.no_speech_threshold is not None \
        and result.no_speech_prob > options.no_speech_threshold
    return silence or not (looped or unsure)  # silence is skipped later, not retried


def _segment(start: Any, end: Any, text: Any,
             words: Iterable[tuple[Any, Any, Any, Any]]) -> Segment:
    """A Segment with plain Python types (engines hand back numpy scalars)."""
    return Segment(
        start=float(start),
        end=float(end),
        text=str(text),
        words=tuple(Word(start=float(s), end=float(e), text=str(t), probability=float(p))
                    for s, e, t, p in words),
    )


class OpenAIWhisperTranscriber:
    """The reference ``openai-whisper`` implementation on CPU, from a local checkpoint.

    openai-whisper has no per-segment callback, so progress is reported as 0.0 at the start
    and 1.0 at the end. Its decoder installs hooks on the shared model while it runs, so
    calls are serialised with a lock.
    """

    def __init__(self, checkpoint_path: str | Path | None):
        if not checkpoint_path:
            raise ConfigError("DIARYROOM_ASR_CHECKPOINT must name a local openai-whisper .pt "
                              "checkpoint when DIARYROOM_ASR_ENGINE=openai-whisper")
        # Absolute, so whisper.load_model can never mistake it for a model name to download.
        checkpoint = Path(checkpoint_path).expanduser().resolve()
        if not checkpoint.is_file():
            raise ConfigError(f"DIARYROOM_ASR_CHECKPOINT {str(checkpoint)!r} does not exist; "
                              "point it at a local openai-whisper .pt file")
        try:
            import whisper
        except ImportError:
            raise ConfigError(
                "DIARYROOM_ASR_ENGINE=openai-whisper needs the openai-whisper package; run "
                "`pip install 'diaryroom[openai-whisper]'` or use faster-whisper") from None
        self.checkpoint = checkpoint
        self._whisper = whisper
        try:
            self._model = whisper.load_model(str(checkpoint), device="cpu")
        except Exception as e:  # torch raises many types for a bad file
            raise ConfigError(f"could not load openai-whisper checkpoint {checkpoint}: {e}") from e
        self.multilingual = bool(self._model.is_multilingual)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIWhisperTranscriber({str(self.checkpoint)!r})"

    def transcribe(
        self,
        audio_path: str | Path,
        *,
        on_progress: ProgressCallback | None = None,
        language: str | None = None,
    ) -> Transcript:
        name = Path(audio_path).name
        if on_progress is not None:
            on_progress(0.0)
        with self._lock:
            try:
                audio = self._whisper.load_audio(str(audio_path), sr=SAMPLE_RATE)  # ffmpeg
            except (RuntimeError, OSError) as e:
                raise TranscriptionError(f"could not decode audio file {name}: {e}") from e
            transcript = self._recognise(audio, name, language=language)
        if on_progress is not None:
            on_progress(PROGRESS_DONE)
        return transcript

    def listen(self, samples: np.ndarray, *, language: str | None = None) -> Transcript:
        with self._lock:
            return self._recognise(np.asarray(samples, dtype=np.float32),
                                   "the listening audio", language=language)

    def _recognise(self, audio: np.ndarray, name: str, *, language: str | None
                   ) -> Transcript:
        """Whisper on 16 kHz samples; the caller holds ``_lock``."""
        import torch  # openai-whisper's own dependency, loaded with it

        whisper = self._whisper
        if not self.multilingual:
            language = "en"
        duration = len(audio) / SAMPLE_RATE
        if duration <= 0:
            raise TranscriptionError(f"audio file {name} contains no audio")
        try:
            probability = 1.0
            if language is None:
                mel = whisper.log_mel_spectrogram(
                    whisper.pad_or_trim(audio, CHUNK_LENGTH * SAMPLE_RATE),
                    n_mels=self._model.dims.n_mels,
                ).to(self._model.device)
                _, probs = self._model.detect_language(mel)
                language = max(probs, key=probs.get)
                probability = float(probs[language])
            with torch.random.fork_rng(devices=[]):  # leave others' generator as it was
                torch.manual_seed(OPENAI_WHISPER_SEED)
                result = self._model.transcribe(
                    audio, language=language, word_timestamps=True, fp16=False,
                    verbose=None)
        except (RuntimeError, ValueError) as e:
            raise TranscriptionError(f"could not transcribe {name}: {e}") from e
        segments = tuple(
            _segment(s["start"], s["end"], s["text"],
                     ((w["start"], w["end"], w["word"], w["probability"])
                      for w in s.get("words") or ()))
            for s in result["segments"]
        )
        return Transcript(language=str(result.get("language") or language),
                          language_probability=probability, duration=float(duration),
                          segments=segments)


_build_lock = threading.Lock()


@functools.cache
def _build(engine: str, model: str, data_dir: str, checkpoint: str | None,
           threads: int) -> Transcriber:
    if engine == "faster-whisper":
        return FasterWhisperTranscriber(model_path(model, data_dir), cpu_threads=threads)
    if engine == "openai-whisper":
        return OpenAIWhisperTranscriber(checkpoint)
    raise ConfigError(f"DIARYROOM_ASR_ENGINE must be one of {', '.join(ENGINES)}, "
                      f"not {engine!r}")


def build_transcriber(
    engine: str,
    model: str,
    data_dir: str | Path,
    *,
    checkpoint: str | Path | None = None,
    threads: int = 0,
) -> Transcriber:
    """The process-wide transcriber for these settings, loaded on first use.

    Loading a model takes seconds and hundreds of MB, so each distinct combination of
    arguments is built once (``functools.lru_cache``) and shared by all worker threads.
    ``model`` and ``threads`` apply to faster-whisper; openai-whisper uses ``checkpoint``.
    """
    key_dir = os.path.abspath(os.fspath(data_dir))
    key_checkpoint = os.path.abspath(os.fspath(checkpoint)) if checkpoint else None
    with _build_lock:  # two threads starting together must not load two copies
        return _build(engine, model, key_dir, key_checkpoint, int(threads))


build_transcriber.cache_clear = _build.cache_clear  # type: ignore[attr-defined]
build_transcriber.cache_info = _build.cache_info  # type: ignore[attr-defined]
