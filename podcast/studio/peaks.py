"""The waveform the editor draws, computed once on the server: the browser loads this
small JSON and never decodes the audio itself.

ffmpeg decodes the file to mono float PCM at ``per_second * SAMPLES_PER_PEAK`` Hz on a
pipe; it is read a few seconds at a time (memory stays flat for a two-hour file) and
each run of ``SAMPLES_PER_PEAK`` samples becomes one value: the sample of greatest
magnitude, with its sign, as wavesurfer.js's own ``exportPeaks`` makes them. The shape
is what ``wavesurfer.load(url, peaks, duration)`` takes: ``peaks`` is a list of
channels, here one. 160 samples a peak (8 kHz for 50 a second) keep speech's shape;
the low rate is what makes it fast, as ffmpeg's resampler filters out what a
waveform a few hundred pixels wide could never show.
"""
from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from diaryroom.errors import MediaError
from diaryroom.media import tools
from diaryroom.media.decode import explain_failure, open_recording
from diaryroom.media.tools import FFMPEG

SAMPLES_PER_PEAK = 160
CHUNK_PEAKS = 4_000  # peaks read per pipe read (80 s at 50 a second: 2.5 MB of PCM)
PLACES = 3  # decimals kept: the JSON of an hour at 50 a second is ~1 MB
FLOAT_BYTES = 4


def compute_peaks(path: Path, *, per_second: int = 50, timeout: float | None = None) -> dict:
    """``{"duration": s, "sample_rate": Hz decoded at, "per_second": n,
    "peaks": [[v, ...]]}`` for the first sound track of ``path``, with
    ``ceil(duration * per_second)`` values in -1..1 (the last covering a part-block).

    Raises ``MediaError`` (``tools.MediaTimeout`` past ``timeout`` seconds, default
    ``tools.decode_seconds`` of its stated length) for anything not readable as audio.
    """
    if not 1 <= per_second <= 400:
        raise ValueError("per_second must be 1..400")
    path = Path(path)
    info = open_recording(path)
    if not info.has_audio:
        raise MediaError("the recording has no sound track")
    rate = per_second * SAMPLES_PER_PEAK
    argv = [*FFMPEG, *tools.reading(path, info.demuxer), "-map", "0:a:0", "-vn", "-sn",
            "-dn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"]
    chunk_bytes = CHUNK_PEAKS * SAMPLES_PER_PEAK * FLOAT_BYTES
    out: list[np.ndarray] = []
    frames = 0
    try:
        # stderr to a file: a damaged file's stream of errors must not fill a pipe that
        # nobody reads while stdout is read.
        with tempfile.TemporaryFile() as err, tools.started(
                argv, timeout=timeout or tools.decode_seconds(info.duration),
                what="drawing the waveform", stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=err) as proc:
            while raw := _read_full(proc.stdout, chunk_bytes):
                samples = np.frombuffer(raw[:len(raw) // FLOAT_BYTES * FLOAT_BYTES], "<f4")
                frames += len(samples)
                out.append(_block_peaks(samples))
            if proc.wait():
                err.seek(0)
                raise MediaError(f"decoding the recording: {tools.stderr_tail(err.read())}")
    except MediaError as e:
        raise explain_failure(info, e) from e
    peaks = np.concatenate(out) if out else np.zeros(0, np.float32)
    return {"duration": round(frames / rate, 3), "sample_rate": rate, "per_second": per_second,
            "peaks": [np.round(np.clip(peaks.astype(np.float64), -1.0, 1.0), PLACES).tolist()]}


def _read_full(pipe, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end: a pipe hands out what it has, and a
    chunk must hold whole blocks for every peak but the last to cover a full block."""
    parts, got = [], 0
    while got < size and (part := pipe.read(size - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _block_peaks(samples: np.ndarray) -> np.ndarray:
    """The greatest-magnitude sample, signed, of each run of ``SAMPLES_PER_PEAK``."""
    count = math.ceil(len(samples) / SAMPLES_PER_PEAK)
    if len(samples) % SAMPLES_PER_PEAK:  # the file's last part-block, padded with silence
        samples = np.concatenate([samples, np.zeros(count * SAMPLES_PER_PEAK - len(samples),
                                                    dtype=samples.dtype)])
    blocks = samples.reshape(count, SAMPLES_PER_PEAK)
    where = np.abs(blocks).argmax(axis=1)
    return blocks[np.arange(count), where]
