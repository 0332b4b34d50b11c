"""Decoding uploads: 16 kHz WAV for speech recognition, and an audio-only copy of video.

Every upload format the kiosk and the API take (WebM/Opus, MP4 with or without video,
M4A, MP3, WAV, FLAC, Ogg) goes through one ffmpeg command. ffmpeg runs with an argv
list, never a shell; when it fails, the file is probed to say *why* in words a member
of staff can act on (no sound track, or damaged), with ffmpeg's own last line attached.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import MediaError
from .probe import probe

ASR_RATE = 16_000  # Hz: what Whisper listens at
# 32-bit float WAV, 64 kB per second at 16 kHz mono. Not 16-bit: Whisper decodes to float
# itself, and tiny.en given the same speech rounded to 16 bits wrote different words and
# took twice as long (temperature fallbacks) in the speed benchmark.
ASR_CODEC = "pcm_f32le"
FLOAT_BYTES = 4  # bytes per sample of ASR_CODEC
AUDIO_COPY_BITRATE = "64k"  # bits/s: Opus at 64 kb/s is transparent for speech
OPUS_SUFFIXES = {".ogg", ".opus", ".webm", ".mka"}
FFMPEG = ("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error")
_NOISE = re.compile(r"\[[^\]]* @ 0x[0-9a-f]+\] |(?:/[^/\s:]+)+/")  # "[mp3 @ 0x5f..] ", dirs


def stderr_tail(stderr: bytes | None, lines: int = 2) -> str:
    """The last lines ffmpeg wrote, without its object addresses or our server's folders:
    enough to name the problem, not a wall of log.

    >>> stderr_tail(b"x\\n[mp3 @ 0x55d1] Header missing\\n/srv/media/a.mp3: Invalid data\\n")
    'Header missing / a.mp3: Invalid data'
    """
    text = (stderr or b"").decode(errors="replace").strip().splitlines()
    return " / ".join(_NOISE.sub("", line) for line in text[-lines:]) or "no message from ffmpeg"


def run_ffmpeg(args: Sequence[str], *, what: str) -> bytes:
    """Run ``ffmpeg <args>`` and return what it wrote to stdout; raise ``MediaError``
    saying ``what`` failed, with ffmpeg's stderr tail.

    stdout is read unbuffered into one growing buffer (``FileIO.readall``), so decoded
    audio (86 MB for 15 minutes at 24 kHz) is held once, not once per chunk and again
    joined; stderr goes to a temporary file, so neither pipe can stall the other.
    """
    argv = [*FFMPEG, *args]
    with tempfile.TemporaryFile() as err:
        try:
            # S603: an argv list of our own making, never a shell.
            proc = subprocess.Popen(argv, bufsize=0, stdin=subprocess.DEVNULL,  # noqa: S603
                                    stdout=subprocess.PIPE, stderr=err)
        except FileNotFoundError as e:
            raise MediaError("ffmpeg is not installed on this server") from e
        with proc:
            out = proc.stdout.read()
            code = proc.wait()
        if code:
            err.seek(0)
            stderr = err.read()
            raise MediaError(f"{what}: {stderr_tail(stderr)}") from \
                subprocess.CalledProcessError(code, argv, stderr=stderr)
    return out


def explain_failure(src: Path, error: MediaError) -> MediaError:
    """Why ffmpeg could not decode ``src``, in staff words (probing only on failure)."""
    try:
        info = probe(src)
    except MediaError:
        info = None
    if info is not None and not info.has_audio:
        return MediaError("the recording has no sound track")
    detail = str(error).split(": ", 1)[-1]
    return MediaError(f"the file is damaged and could not be decoded: {detail}")


def check_not_empty(src: Path) -> None:
    if not src.exists():
        raise MediaError(f"the recording file is missing ({src.name})")
    if src.stat().st_size == 0:
        raise MediaError("the file is empty (0 bytes): nothing was recorded")


def decode_for_asr(src: Path, dst: Path, *, max_seconds: float | None = None) -> float:
    """Decode the first sound track of ``src`` to 16 kHz mono 32-bit float WAV at ``dst``.

    Returns the duration in seconds, counted from the decoded samples (WebM from a
    browser often has no duration in its header). With ``max_seconds`` decoding stops
    there, so a two-hour file costs no more than the limit. Raises ``MediaError`` when the
    file is empty, has no sound track, cannot be decoded, or decodes to no sound at all.
    """
    src, dst = Path(src), Path(dst)
    check_not_empty(src)
    limit = ["-t", f"{max_seconds:.3f}"] if max_seconds is not None else []
    try:
        run_ffmpeg(["-y", "-i", str(src), "-map", "0:a:0", "-vn", "-sn", "-dn", *limit,
                    "-ac", "1", "-ar", str(ASR_RATE), "-c:a", ASR_CODEC,
                    "-map_metadata", "-1", "-f", "wav", str(dst)],
                   what="decoding failed")
    except MediaError as e:
        raise explain_failure(src, e) from e
    frames = _data_bytes(dst) // FLOAT_BYTES
    if frames == 0:
        raise MediaError("the recording has no sound in it: nothing could be decoded")
    return frames / ASR_RATE


def _data_bytes(wav: Path) -> int:
    """Size of a WAV file's sample data (the ``wave`` module reads integer PCM only)."""
    with wav.open("rb") as fh:
        if fh.read(12)[8:12] != b"WAVE":
            raise MediaError("ffmpeg did not write a WAV file")
        while header := fh.read(8):
            size = int.from_bytes(header[4:8], "little")
            if header[:4] == b"data":
                return size
            fh.seek(size + (size & 1), 1)
    raise MediaError("ffmpeg wrote a WAV file without sound data")


def has_video(src: Path) -> bool:
    """True if ``src`` has a picture (cover art in an MP3 does not count)."""
    return probe(src).has_video


def extract_audio_track(src: Path, dst: Path) -> None:
    """Keep the sound of a video entry as an audio-only Opus file (.ogg, .opus or .webm).

    An Opus track is copied as it is (no quality lost, milliseconds); anything else (AAC
    from a phone's MP4) is re-encoded to Opus. Metadata is dropped: phones write the
    place a video was made into it.
    """
    src, dst = Path(src), Path(dst)
    if dst.suffix.lower() not in OPUS_SUFFIXES:
        raise ValueError(f"an audio track is kept as Opus: use one of {sorted(OPUS_SUFFIXES)}")
    check_not_empty(src)
    info = probe(src)
    if not info.has_audio:
        raise MediaError("the recording has no sound track")
    codec = ["-c:a", "copy"] if info.audio_codecs[0] == "opus" else [
        "-c:a", "libopus", "-b:a", AUDIO_COPY_BITRATE]
    try:
        run_ffmpeg(["-y", "-i", str(src), "-map", "0:a:0", "-vn", "-sn", "-dn", *codec,
                    "-map_metadata", "-1", "-map_chapters", "-1", str(dst)],
                   what="the sound track could not be copied")
    except MediaError as e:
        raise explain_failure(src, e) from e
