"""Recordings made on the fly for the media tests, and the measurements they check.

Speech comes from espeak-ng, tones and pictures from ffmpeg's lavfi sources; every
format is encoded by the real ffmpeg, and outputs are measured with ffmpeg's own
``ebur128`` and ffprobe, not with the code under test.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
SPEECH = ("My name is Sarah Jones and I have been staying at the hostel on Kings Road "
          "for about three weeks now. The staff have been kind to me.")

# How each upload format is made from a source: (suffix, ffmpeg output arguments).
AUDIO_FORMATS = {
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "wav": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
}


def need(*tools: str) -> None:
    """ffmpeg and espeak-ng are run-time dependencies (``make test`` installs them)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} required (make test installs them)")


def ffmpeg(*args: str) -> None:
    subprocess.run([*FFMPEG, *args], check=True, capture_output=True)


def speech_wav(path: Path, text: str = SPEECH, *, words_per_minute: int | None = None
               ) -> Path:
    """``text`` spoken by espeak-ng (British English), as its 22.05 kHz WAV, at its
    default pace or ``words_per_minute``."""
    need("espeak-ng")
    pace = ["-s", str(words_per_minute)] if words_per_minute else []
    subprocess.run(["espeak-ng", "-v", "en-gb", *pace, "-w", str(path), text], check=True,
                   capture_output=True)
    return path


def tone(path: Path, seconds: float, *args: str, hz: int = 440) -> Path:
    """A sine of ``seconds`` encoded with the output ``args`` (suffix picks the format)."""
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}:sample_rate=48000",
           *args, str(path))
    return path


def video(path: Path, seconds: float, *, audio: bool = True, vcodec: str = "libx264",
          acodec: str = "aac") -> Path:
    """A small test-pattern video, with a 440 Hz sound track unless ``audio`` is False."""
    inputs = ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}"]
    streams = ["-c:v", vcodec]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        streams += ["-c:a", acodec, "-shortest"]
    ffmpeg(*inputs, *streams, str(path))
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def decode(path: Path, rate: int = 24_000) -> np.ndarray:
    """Any file's sound as mono float32 at ``rate``, decoded by plain ffmpeg."""
    raw = subprocess.run([*FFMPEG, "-i", str(path), "-f", "f32le", "-ac", "1", "-ar",
                          str(rate), "pipe:1"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4")


def ebur128(path: Path) -> dict[str, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's EBU R128 meter."""
    done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
                           "-af", "ebur128=peak=true", "-f", "null", "-"],
                          check=True, capture_output=True, text=True)
    summary = done.stderr.rsplit("Summary:", 1)[-1]
    return {"lufs": float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1)),
            "true_peak": float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))}


def ffprobe(path: Path) -> dict:
    done = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                           "-show_streams", str(path)], check=True, capture_output=True)
    return json.loads(done.stdout)


def voiced(seconds: float, rate: int, *, f0: float = 150.0) -> np.ndarray:
    """A steady synthetic vowel: harmonics of ``f0`` shaped by three formants (about
    500, 1500 and 2500 Hz), at about -20 dBFS RMS."""
    t = np.arange(round(seconds * rate)) / rate
    out = np.zeros_like(t)
    for k in range(1, int(4000 // f0) + 1):
        f = k * f0
        gain = sum(np.exp(-((f - centre) / 250) ** 2) for centre in (500, 1500, 2500))
        out += (gain + 0.05) / k ** 0.5 * np.sin(2 * np.pi * f * t)
    return (0.1 * out / np.sqrt(np.mean(out ** 2))).astype(np.float32)


def pitch(samples: np.ndarray, rate: int, *, low: float = 80.0, high: float = 300.0,
          skip_tone: float | None = None) -> float:
    """Median fundamental frequency (Hz) by autocorrelation over 100 ms frames, searched
    between ``low`` and ``high`` Hz (narrow enough to exclude octave errors here).

    ``skip_tone`` leaves out frames that are mostly a tone of that frequency: a redaction
    bleep (1 kHz) has autocorrelation peaks every millisecond, so inside the voice's
    search range it reads as 250 Hz and, where Whisper heard a name, would outvote the
    voice."""
    n = rate // 10
    estimates = []
    for start in range(0, len(samples) - n, n):
        frame = samples[start:start + n] - samples[start:start + n].mean()
        if np.sqrt(np.mean(frame ** 2)) < 1e-3:
            continue
        if skip_tone is not None and tone_purity(frame, rate, skip_tone) > 0.3:
            continue
        spectrum = np.fft.rfft(frame, 2 * n)
        corr = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
        lags = np.arange(int(rate / high), int(rate / low) + 1)
        best = lags[np.argmax(corr[lags])]
        # Parabolic interpolation between lags for a sub-sample period.
        a, b, c = corr[best - 1], corr[best], corr[best + 1]
        offset = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
        estimates.append(rate / (best + offset))
    return float(np.median(estimates))


def rms_db(samples: np.ndarray) -> float:
    level = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * np.log10(level) if level > 0 else -np.inf


def tone_purity(samples: np.ndarray, rate: int, hz: float) -> float:
    """Share of the energy within 50 Hz of ``hz`` (1.0: a pure tone there)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(freqs - hz) <= 50].sum() / spectrum.sum())
