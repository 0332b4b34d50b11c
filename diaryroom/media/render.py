"""Shareable audio: decode (and disguise), redact, normalise loudness, encode MP3 and Opus.

Three ffmpeg processes per render (one to read, two encoders at once), numpy between:

    load_samples        ffmpeg: decode any upload (video too: sound only) -> disguise
                        filter -> raw float mono PCM on a pipe (never on disk)
    redact_audio        numpy: tone or silence over the ranges
    render_shareable    numpy: loudness (BS.1770), gain, peak guard
                        ffmpeg x2: the PCM on stdin -> MP3 | Opus

Why redaction comes *after* the disguise: then what is inside each range in the file
people hear is exactly the tone (or silence) that ``redact_audio`` put there. Nothing
processed afterwards can move sound into it (only the codecs, by milliseconds at the
edges), and the tone stays steady instead of pitch-shifted and time-scaled. The
disguise's time-scaling smears sound by up to ~20 ms (measured: onsets up to 20 ms
early, ends up to 10 ms late), so a redacted word can reach ~20 ms past its original
edges before it is replaced; the caller's pad (120 ms) covers that several times over.

Everything runs at 24 kHz mono (``WORK_RATE``): speech needs no more than 12 kHz of
bandwidth, and it halves the cost of the disguise and of both encoders. For 60 s of
speech, ``render_redacted`` takes ~0.43 s wall (~0.65 s CPU) on a 2-core machine with
the disguise, ~0.37 s without: decode + disguise 0.19 s, redaction 1 ms, loudness and
peak guard 0.05 s, both encoders together 0.19 s. Whisper tiny.en takes ~3.5 s.
"""
from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import MediaError
from . import tools
from .decode import explain_failure, open_recording, run_ffmpeg
from .disguise import WORK_RATE, disguise_filter
from .loudness import integrated_loudness, limit_peaks
from .redact import redact_audio
from .tools import FFMPEG, stderr_tail

TARGET_LUFS = -16.0  # LUFS: the usual loudness for spoken-word podcasts (Apple, Spotify)
MAX_GAIN_DB = 30.0  # dB: never lift a near-silent recording further (it would be noise)
PEAK_CEILING_DBFS = -2.0  # dBFS sample peak: room for inter-sample and codec overshoot
GAIN_PASSES = 4  # gain -> peak guard -> measure rounds, at most
GAIN_TOLERANCE_LU = 0.2  # LU: close enough to the target to stop
# LU of loudness gained per dB of gain once the peak guard acts: 0.4-0.6 measured on
# espeak and three real recordings. A first guess; then measured (secant) if still off.
GUARDED_SLOPE = 0.5
MP3_BITRATE = "64k"  # bits/s, CBR mono: plenty for speech
# dB: LAME's output decodes 0.45 dB quieter than its input (measured with ebur128 on
# sine, espeak and real speech at these settings), so the MP3 is fed that much louder.
MP3_LEVEL_DB = 0.45
MP3_QUALITY = "7"  # libmp3lame -q: 7 is ~40% faster than the default 5 at this bitrate
OPUS_BITRATE = "32k"  # bits/s, VBR mono: transparent for speech
OPUS_COMPLEXITY = "4"  # of 10: a third of the CPU of the default 10; fine for speech
OPUS_FRAME_MS = "60"  # ms: long frames suit speech at this bitrate and cut CPU by ~20%


def load_samples(src: Path, *, sample_rate: int = WORK_RATE, disguise: bool,
                 timeout: float | None = None) -> np.ndarray:
    """The first sound track of ``src`` (any format we take; video is fine, only its
    sound is read) as mono float32 samples at ``sample_rate``, disguised if asked.

    One ffmpeg process decodes and filters; the samples come back on a pipe, never on
    disk. The array is read-only (it shares the pipe's buffer): copy it to change it.
    ``timeout``: seconds (default ``tools.decode_seconds`` of the length the file states).
    """
    info = open_recording(Path(src))
    mono = "aformat=sample_fmts=flt:channel_layouts=mono"
    if disguise:
        # atempo drops up to ~30 ms of a recording's trailing silence. To keep the length
        # exact, the disguised branch is padded with endless silence and merged with the
        # plain one, which ends the stream on the input's last sample; then only the
        # disguised channel is kept (a copy: no mixing of the two).
        graph = (f"[0:a:0]aresample={sample_rate},{mono},asplit[plain][voice];"
                 f"[voice]{disguise_filter(sample_rate=sample_rate)},apad,{mono}[disguised];"
                 f"[plain]{mono}[clock];[clock][disguised]amerge=inputs=2,pan=mono|c0=c1[out]")
        route = ["-filter_complex", graph, "-map", "[out]"]
    else:
        route = ["-map", "0:a:0", "-af", f"aresample={sample_rate},{mono}"]
    try:
        raw = run_ffmpeg([*tools.reading(src, info.demuxer), *route, "-f", "f32le", "-ac",
                          "1", "-ar", str(sample_rate), "pipe:1"],
                         what="decoding the recording",
                         timeout=timeout or tools.decode_seconds(info.duration))
    except MediaError as e:
        raise explain_failure(info, e) from e
    return np.frombuffer(raw, dtype="<f4")


def decode_rendered(path: Path, *, sample_rate: int) -> np.ndarray:
    """The MP3 or Opus that ``render_shareable`` has just written here, as mono float32
    samples at ``sample_rate``: what a listener's player will decode.

    Never for uploads (those are hostile: ``load_samples``, one ffmpeg with allow-lists and
    a time limit, after ffprobe). This file is our own encoder's, a moment old, so PyAV
    (faster-whisper's decoder, in this process) reads it without starting ffprobe and
    ffmpeg: ~0.1 s less on every listen. Samples stay float, as in ``load_samples``.
    """
    import av  # faster-whisper's own dependency: loaded only where audio is heard again

    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(audio=0):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise MediaError(f"could not decode the rendered audio: {e.__class__.__name__}") from e
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _db(value: float) -> float | None:
    return round(20 * math.log10(value), 2) if value > 0 else None


def render_shareable(samples: np.ndarray, sample_rate: int, out_mp3: Path | None,
                     out_opus: Path | None, *, target_lufs: float = TARGET_LUFS) -> dict:
    """Normalise ``samples`` to ``target_lufs`` and write MP3 and/or Opus with no metadata.

    Gain is capped at +``MAX_GAIN_DB``; a peak guard keeps every sample under
    ``PEAK_CEILING_DBFS``. Files appear whole or not at all (written beside, then renamed).
    Returns ``duration`` (s), ``lufs`` (measured after gain and peak guard; None when
    nothing is loud enough to measure, e.g. silence), ``peak_dbfs`` (None for silence),
    ``gain_db`` and ``gain_capped``.
    """
    targets = [(path, fmt, codec) for path, fmt, codec in (
        (out_mp3, "mp3", ["-af", f"volume={MP3_LEVEL_DB}dB", "-c:a", "libmp3lame",
                          "-b:a", MP3_BITRATE, "-compression_level", MP3_QUALITY,
                          "-id3v2_version", "0"]),
        (out_opus, "opus", ["-c:a", "libopus", "-b:a", OPUS_BITRATE,
                            "-compression_level", OPUS_COMPLEXITY,
                            "-frame_duration", OPUS_FRAME_MS]),
    ) if path is not None]
    seconds = len(samples) / sample_rate
    with _encoders(sample_rate, targets, timeout=tools.decode_seconds(seconds)) as feed:
        out, report = _normalise(samples, sample_rate, target_lufs)
        if targets:
            feed(out)
    return report


def _normalise(samples: np.ndarray, sample_rate: int,
               target_lufs: float) -> tuple[np.ndarray, dict]:
    """``samples`` gained to the target loudness under the peak guard, and the report."""
    before = integrated_loudness(samples, sample_rate)
    gain_db = min(target_lufs - before, MAX_GAIN_DB) if math.isfinite(before) else 0.0
    slope, last = GUARDED_SLOPE, None
    out = np.empty(len(samples), dtype=np.float32)  # one buffer for every pass
    for attempt in range(GAIN_PASSES):
        # The peak guard takes loudness off peaky speech, so measure what it left and
        # step the gain by the shortfall over the measured slope (a secant search).
        np.multiply(samples, np.float32(10 ** (gain_db / 20)), out=out, casting="unsafe")
        limit_peaks(out, sample_rate, 10 ** (PEAK_CEILING_DBFS / 20))
        after = integrated_loudness(out, sample_rate)
        shortfall = target_lufs - after
        if not math.isfinite(after) or abs(shortfall) < GAIN_TOLERANCE_LU \
                or gain_db >= MAX_GAIN_DB or attempt == GAIN_PASSES - 1:
            break
        if last is not None and gain_db != last[0]:
            slope = min(1.0, max(0.1, (after - last[1]) / (gain_db - last[0])))
        last = (gain_db, after)
        gain_db = min(gain_db + shortfall / slope, MAX_GAIN_DB)
    peak = max(float(out.max()), -float(out.min())) if len(out) else 0.0
    return out, {"duration": round(len(out) / sample_rate, 3),
                 "lufs": round(after, 2) if math.isfinite(after) else None,
                 "peak_dbfs": _db(peak), "gain_db": round(gain_db, 2),
                 "gain_capped": gain_db >= MAX_GAIN_DB}


@contextmanager
def _encoders(sample_rate: int, targets: Sequence[tuple[Path, str, list[str]]], *,
              timeout: float) -> Iterator[Callable[[np.ndarray], None]]:
    """Start one ffmpeg encoder per target *now* (their start-up, ~50 ms, then overlaps
    the loudness work) and yield ``feed(samples)``, which writes the same PCM to all of
    them at once: on two cores the encode takes the slowest encoder's time, not the sum.
    Files appear whole or not at all: written as ``.part`` beside, renamed when done.
    Each encoder is killed (``tools.MediaTimeout``) if it runs past ``timeout`` seconds."""
    source = [*tools.PCM_PIPE_IN, "-f", "f32le", "-ar", str(sample_rate), "-ac", "1",
              "-i", "pipe:0"]
    running: list[tuple[subprocess.Popen, IO[bytes], Path, Path]] = []

    def remove_parts() -> None:
        for _, _, part, _ in running:
            part.unlink(missing_ok=True)

    with ExitStack() as stack:
        stack.callback(remove_parts)  # last out: once no encoder is left to write a part
        for path, fmt, codec in targets:
            part = Path(path).with_name(Path(path).name + ".part")
            err = stack.enter_context(tempfile.TemporaryFile())
            proc = stack.enter_context(tools.started(
                [*FFMPEG, "-y", *source, *codec,
                 # No metadata, no chapters, no encoder version: nothing about the person.
                 # bitexact also makes the bytes repeatable: without it the Ogg stream's
                 # serial number is random (with it, the muxer's serial_offset, 0) and the
                 # encoder tag names library versions. Same samples in, same file out.
                 "-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
                 "-flags:a", "+bitexact", "-f", fmt, str(part)],
                timeout=timeout, what="encoding the shareable audio",
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err))
            running.append((proc, err, part, Path(path)))
        yield lambda samples: _feed(running, samples)


def _feed(running: Sequence[tuple[subprocess.Popen, IO[bytes], Path, Path]],
          samples: np.ndarray) -> None:
    pcm = memoryview(np.ascontiguousarray(samples, dtype="<f4")).cast("B")

    def write(proc: subprocess.Popen) -> int:
        try:
            proc.stdin.write(pcm)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the encoder stopped early: its exit status and stderr say why
        return proc.wait()

    with ThreadPoolExecutor(max_workers=len(running)) as pool:
        codes = list(pool.map(write, [proc for proc, *_ in running]))
    for code, (_, err, _, _) in zip(codes, running, strict=True):
        if code != 0:
            err.seek(0)
            raise MediaError(f"the shareable audio could not be encoded: "
                             f"{stderr_tail(err.read())}")
    for _, _, part, path in running:
        os.replace(part, path)


def render_redacted(src: Path, ranges: Sequence[tuple[float, float]], *,
                    out_mp3: Path | None, out_opus: Path | None, mode: str = "tone",
                    disguise: bool, sample_rate: int = WORK_RATE,
                    timeout: float | None = None) -> dict:
    """Load ``src`` (disguised if asked), hide ``ranges`` (seconds of the original, padded
    by the caller, e.g. ``domain.redaction.time_ranges``) and write the shareable files.
    Returns ``render_shareable``'s report. ``timeout``: seconds for reading ``src``.

    At most two copies of the samples are alive at once (loaded, then gained); the
    redaction is made on a copy of the read-only loaded samples, which are then freed.
    """
    samples = load_samples(src, sample_rate=sample_rate, disguise=disguise, timeout=timeout)
    samples = redact_audio(samples, sample_rate, ranges, mode=mode)
    return render_shareable(samples, sample_rate, out_mp3, out_opus)
