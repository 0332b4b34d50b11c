"""The anonymisation pipeline's steps, on files and plain data: no database, no web.

The entry job (``processing``) and the ``diaryroom anonymise`` command both run them:

    transcript = transcribe_file(src, workdir, transcriber=t)   # 16 kHz decode + Whisper
    check_transcript(transcript)                                 # fail closed, early
    concerns = find_concerns(words)                              # safeguarding
    redactions = find_redactions(words, language=..., ...)       # Presidio + UK recognisers
    redactions = sweep_plan(words, redactions, language=..., ...) # leftovers; fail closed
    document = redacted_document(transcript, redactions)         # words, placeholders, times
    render_audio(src, transcript, redactions, ...)               # tone over every redaction,
                                                                 # then heard again (relisten)

Every step either proves its output or raises ``PipelineError`` (or a media /
transcription error) whose message is the reason staff see; nothing is ever passed on
half-redacted.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .asr import Transcriber, Transcript
from .domain.redaction import (
    PlanError,
    Redaction,
    TimedWord,
    join_words,
    plan_redactions,
    redacted_words,
    time_ranges,
)
from .domain.sweep import sweep
from .errors import PipelineError
from .media import decode, render, tools
from .media.probe import probe
from .media.redact import redact_audio
from .media.validate import GRACE_SECONDS  # the same allowance intake gives
from .relisten import relisten

DEFAULT_PAD = 0.12  # seconds of audio hidden either side of each redacted word
SOUNDS = ("tone", "silence")
LOCAL_TYPES = ("NAME", "PLACE", "ORGANISATION")
# Below this, Whisper is guessing the language; its words cannot be trusted to redact.
MIN_LANGUAGE_PROBABILITY = 0.5
# Whisper writes "♪", "[Music]" or "(upbeat music)" for sound that is not speech.
_NOT_SPEECH = re.compile(r"^\W*$|^\W*[\[(][^\])]*[\])]\W*$")


@dataclass(frozen=True)
class Settings:
    pad: float = DEFAULT_PAD
    sound: str = "tone"  # what replaces a redacted word: tone | silence
    local_names: tuple = ()  # diaryroom.pii.LocalName: always redact
    allow: tuple[str, ...] = ()  # never redact (the organisation's own name, say)
    max_seconds: float | None = None  # refuse longer recordings
    relisten: bool = True  # hear the shared audio again (off only to measure speed)

    def __post_init__(self) -> None:
        if self.sound not in SOUNDS:
            raise ValueError(f"sound must be one of {', '.join(SOUNDS)}")


def decode_timeout(max_seconds: float | None) -> float | None:
    """Seconds any one ffmpeg reading a recording of at most ``max_seconds`` (plus the
    grace intake gives) may run; None: judged from the length the file states."""
    return None if max_seconds is None else tools.decode_seconds(max_seconds + GRACE_SECONDS)


def decode_speech(src: Path, workdir: Path, *, max_seconds: float | None = None) -> Path:
    """Decode any supported upload to 16 kHz mono with ffmpeg, for Whisper.

    Decoding first means one decoder (ffmpeg) judges every file, and a damaged one is
    refused with ffmpeg's reason before the model is involved; a file that is not a
    container we take (an original stored before the allow-list, say) is refused
    unread. Decoding stops just past the limit, so a two-hour file is refused in the
    time it takes to read the limit, and ffmpeg is killed if it runs past
    ``decode_timeout``.
    """
    wav = workdir / "speech16k.wav"
    cap = max_seconds + GRACE_SECONDS if max_seconds is not None else None
    decoded = decode.decode_for_asr(src, wav, max_seconds=cap + 1 if cap else None,
                                    timeout=decode_timeout(max_seconds))
    if cap is not None and decoded > cap:
        length = max(probe(src).duration, decoded)  # the header says how long, if it can
        raise PipelineError(
            f"this recording is {_clock(length)} long, over the {_clock(max_seconds)} "
            "limit for automatic processing; the original is kept. Raise "
            "DIARYROOM_MAX_RECORDING_SECONDS and run it again, or review it by hand.")
    return wav


@dataclass(frozen=True)
class LoadingAudio:
    """The sound for the shared audio, being decoded (and disguised or not) meanwhile."""

    future: Future
    disguise: bool


def transcribe_file(src: Path, workdir: Path, *, transcriber: Transcriber,
                    disguise: bool, max_seconds: float | None = None,
                    on_progress: Callable[[float], None] | None = None
                    ) -> tuple[Transcript, LoadingAudio]:
    """Transcribe ``src``; meanwhile ffmpeg decodes (and disguises) the sound for the
    shared audio in another process, so rendering later waits for nothing but the
    encoders. Returns the transcript and the loading samples (``render_audio`` takes
    them)."""
    wav = decode_speech(src, workdir, max_seconds=max_seconds)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-audio")
    loading = pool.submit(render.load_samples, src, disguise=disguise,
                          timeout=decode_timeout(max_seconds))
    pool.shutdown(wait=False)  # the future outlives the pool; its thread ends by itself
    try:
        return (transcriber.transcribe(wav, on_progress=on_progress),
                LoadingAudio(loading, disguise))
    except BaseException:
        loading.cancel()
        raise


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def is_speech(word: str) -> bool:
    """False for what Whisper writes for music and noise.

    >>> [is_speech(w) for w in (" hello", " ♪", " [Music]", " (laughs)", " 42")]
    [True, False, False, False, True]
    """
    return not _NOT_SPEECH.match(word.strip())


def check_transcript(transcript: Transcript, *, multilingual: bool = True) -> None:
    """Refuse a transcript the pipeline cannot stand behind."""
    words = transcript.words
    if not any(is_speech(w.text) for w in words):
        what = "music or noise" if words else "silence"
        raise PipelineError(f"no speech was recognised (it may be {what}, or too quiet); "
                            "listen to the original before deciding what to do")
    if multilingual and transcript.language_probability < MIN_LANGUAGE_PROBABILITY:
        raise PipelineError(
            f"the language could not be identified (best guess {transcript.language!r} "
            f"at {transcript.language_probability:.0%}); the words may be wrong, so nothing "
            "was redacted automatically")


def timed_words(transcript: Transcript) -> list[TimedWord]:
    return [TimedWord(w.start, w.end, w.text) for w in transcript.words]


def find_redactions(words: Sequence[str], *, language: str, detector,
                    settings: Settings = Settings()) -> list[Redaction]:
    """Whole-word redactions for the personal data in ``words``."""
    text, offsets = join_words(words)
    spans = detector.detect(text, language=language, local_names=list(settings.local_names),
                            allow=list(settings.allow))
    return plan_redactions(spans, offsets)


def sweep_plan(words: Sequence[str], plan: Sequence[Redaction], *, language: str | None,
               probabilities: Sequence[float | None] | None = None) -> list[Redaction]:
    """The plan with what the sweep after redaction found added (``source="sweep"``,
    which review highlights), before anything is rendered; see
    :mod:`diaryroom.domain.sweep`. Where the sweep cannot decide, ``PipelineError``: the
    entry waits for the team, and nothing is shared."""
    result = sweep(words, plan, probabilities=probabilities, language=language)
    if result.undecided:
        raise PipelineError("the check after redaction could not decide what to hide ("
                            + "; ".join(result.undecided) + "), so nothing was shared; "
                            "listen to the original before deciding what to do")
    return list(result.plan)


def text_hash(words: Sequence[str], redaction: Redaction, key: bytes) -> str:
    """A keyed hash of the redacted words: it tells two redactions apart without storing
    them, and unlike a plain hash cannot be reversed by hashing a list of names."""
    said = " ".join(w.strip().lower() for w in words[redaction.first:redaction.last + 1])
    return hmac.new(key, said.encode(), hashlib.sha256).hexdigest()


def redaction_list(words: Sequence[TimedWord], redactions: Sequence[Redaction], *,
                   key: bytes | None = None) -> list[dict]:
    out = []
    for r in redactions:
        item = {"type": r.type, "source": r.source, "first_word": r.first,
                "last_word": r.last}
        if words and words[r.first].start is not None:
            item.update(start=words[r.first].start, end=words[r.last].end)
        if key is not None:
            item["text_hash"] = text_hash([w.text for w in words], r, key)
        out.append(item)
    return out


def redacted_document(transcript: Transcript, redactions: Sequence[Redaction], *,
                      key: bytes | None = None) -> dict:
    """The redacted transcript as stored and shared: words with times, placeholders in
    place of redacted words, segments for captions, and the redaction list (no text)."""
    words = timed_words(transcript)
    out_words = redacted_words(words, redactions)
    # A placeholder belongs to the segment of its first word.
    segment_of = [i for i, s in enumerate(transcript.segments) for _ in s.words]
    segments: list[dict] = [{"start": s.start, "end": s.end, "text": ""}
                            for s in transcript.segments]
    by_first = {r.first: r for r in redactions}
    index = 0
    for word in out_words:
        segments[segment_of[index]]["text"] += word["text"]
        index = by_first[index].last + 1 if index in by_first else index + 1
    for s in segments:
        s["text"] = s["text"].strip()
    return {
        "language": transcript.language,
        "duration": transcript.duration,
        "text": " ".join(s["text"] for s in segments if s["text"]),
        "segments": [s for s in segments if s["text"]],
        "words": out_words,
        "redactions": redaction_list(words, redactions, key=key),
    }


def to_vtt(document: dict) -> str:
    """WebVTT captions of the redacted text, a cue per segment.

    >>> print(to_vtt({"segments": [{"start": 0, "end": 1.5, "text": "hi [NAME] <3"}]}))
    WEBVTT
    <BLANKLINE>
    1
    00:00:00.000 --> 00:00:01.500
    hi [NAME] &lt;3
    <BLANKLINE>
    """
    lines = ["WEBVTT", ""]
    for n, seg in enumerate(document["segments"], 1):
        text = seg["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines += [str(n), f"{_vtt_time(seg['start'])} --> {_vtt_time(seg['end'])}", text, ""]
    return "\n".join(lines)


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def written_words(text: str) -> list[str]:
    """A written entry's words, each with the spacing before it, so joining them gives
    back the text (newlines included) and redaction can work on them like speech."""
    return re.findall(r"\s*\S+", text)


def redact_written(words: Sequence[str], redactions: Sequence[Redaction]) -> str:
    """A written entry with each redaction replaced by its placeholder, layout kept."""
    untimed = [TimedWord(None, None, w) for w in words]  # type: ignore[arg-type]
    return "".join(w["text"] for w in redacted_words(untimed, redactions))


def render_audio(src: Path, transcript: Transcript, redactions: Sequence[Redaction], *,
                 disguise: bool, out_mp3: Path | None, out_opus: Path | None,
                 settings: Settings = Settings(), samples: LoadingAudio | None = None,
                 transcriber: Transcriber | None = None) -> dict:
    """The shareable audio: disguised if asked, every redaction replaced by tone or
    silence (padded), loudness-normalised. A redacted word without timing raises.
    ``samples``: the sound already loading (from ``transcribe_file``), else loaded here.

    With ``transcriber`` (and ``settings.relisten``) the written audio is heard again
    around every redaction, widened and rendered again where one is still heard
    (:mod:`diaryroom.relisten`); the report's ``relisten`` has the counts. Where one is
    heard even then, ``PipelineError`` and the files written are deleted."""
    words = timed_words(transcript)
    try:
        ranges = time_ranges(words, redactions, pad=settings.pad,
                             duration=transcript.duration)
    except PlanError as e:
        raise PipelineError(f"a redaction could not be placed in the audio: {e}") from e

    reports: list[dict] = []  # of each render; re-listening may render again

    def render_ranges(hide: Sequence[tuple[float, float]]) -> dict:
        if samples is None or samples.disguise != disguise:  # consent changed meanwhile
            report = render.render_redacted(src, hide, out_mp3=out_mp3, out_opus=out_opus,
                                            mode=settings.sound, disguise=disguise,
                                            timeout=decode_timeout(settings.max_seconds))
        else:
            hidden = redact_audio(samples.future.result(), render.WORK_RATE, hide,
                                  mode=settings.sound)
            report = render.render_shareable(hidden, render.WORK_RATE, out_mp3, out_opus)
        reports.append(report)
        return report

    render_ranges(ranges)
    rendered = out_mp3 or out_opus
    if transcriber is None or not settings.relisten or rendered is None:
        return reports[-1]
    try:
        heard = relisten(render_ranges, rendered, words, redactions, ranges,
                         transcriber=transcriber, language=transcript.language,
                         duration=transcript.duration)
    except BaseException:
        for path in (out_mp3, out_opus):
            if path is not None:
                path.unlink(missing_ok=True)  # what was heard must not be shared
        raise
    return {**reports[-1], "relisten": heard}


def load_local_names(path: Path) -> tuple[tuple, tuple[str, ...]]:
    """Local names from a file: JSON ``[{"text", "type"}]`` (type ``ALLOW`` for the
    allow-list), or lines ``TYPE: text`` / plain ``text`` (a place), ``#`` comments.

    Returns ``(local_names, allow)``.
    """
    from .pii import LocalName

    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        items = [(str(i.get("type", "PLACE")).upper(), str(i["text"])) for i in json.loads(raw)]
    else:
        items = []
        for line in raw.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, sep, text = line.partition(":")
            items.append((kind.strip().upper(), text.strip()) if sep and kind.strip().upper()
                         in LOCAL_TYPES + ("ALLOW",) else ("PLACE", line))
    bad = sorted({k for k, _ in items} - set(LOCAL_TYPES) - {"ALLOW"})
    if bad:
        raise PipelineError(f"{path.name}: unknown type {bad[0]!r}; use "
                            f"{', '.join(LOCAL_TYPES)} or ALLOW")
    names = tuple(LocalName(t, k) for k, t in items if k != "ALLOW" and t)
    allow = tuple(t for k, t in items if k == "ALLOW" and t)
    return names, allow


def anonymise_file(src: Path, out: Path, *, transcriber: Transcriber, detector,
                   disguise: bool, settings: Settings = Settings(),
                   keep_original: bool = False) -> dict:
    """The whole pipeline on one file, for batch work and checking: writes
    ``redacted.mp3``, ``transcript.json`` (redacted) and ``transcript.vtt`` into ``out``
    and returns a summary. Unredacted words are written only with ``keep_original``."""
    from .safeguarding import find_concerns

    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    with tempfile.TemporaryDirectory() as tmp:
        transcript, samples = transcribe_file(src, Path(tmp), transcriber=transcriber,
                                              disguise=disguise,
                                              max_seconds=settings.max_seconds)
    lap("transcribe")
    check_transcript(transcript, multilingual=getattr(transcriber, "multilingual", True))
    words = [w.text for w in transcript.words]
    concerns = find_concerns(words)
    lap("safeguarding")
    plan = find_redactions(words, language=transcript.language, detector=detector,
                           settings=settings)
    plan = sweep_plan(words, plan, language=transcript.language,
                      probabilities=[w.probability for w in transcript.words])
    document = redacted_document(transcript, plan)
    lap("detect")
    out.mkdir(parents=True, exist_ok=True)
    report = render_audio(src, transcript, plan, disguise=disguise,
                          out_mp3=out / "redacted.mp3", out_opus=None, settings=settings,
                          samples=samples, transcriber=transcriber)
    lap("render")
    relistened = report.get("relisten")
    if relistened is not None:  # its seconds out of the render's: a step of its own
        timings["relisten"] = relistened.pop("seconds")
        timings["render"] = round(timings["render"] - timings["relisten"], 3)
    (out / "transcript.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    (out / "transcript.vtt").write_text(to_vtt(document), encoding="utf-8")
    if keep_original:
        (out / "original.json").write_text(json.dumps(transcript.to_dict(), indent=1),
                                           encoding="utf-8")
    counts: dict[str, int] = {}
    for r in plan:
        counts[r.type] = counts.get(r.type, 0) + 1
    swept = sum(r.source == "sweep" for r in plan)
    return {"duration": round(transcript.duration, 3), "language": transcript.language,
            "words": len(words), "redactions": counts, "swept": swept,
            "safeguarding": sorted({c.category for c in concerns}),
            "relisten": relistened,
            "seconds": round(time.perf_counter() - started, 3), "steps": timings}
