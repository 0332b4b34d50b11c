"""Decoding uploads: 16 kHz WAV for speech recognition, and an audio-only copy of video.

Every upload format the kiosk and the API take (WebM/Opus, MP4 with or without video,
M4A, MP3, WAV, FLAC, Ogg) goes through one ffmpeg command, after ``open_recording`` has
checked by its content that it is one of those containers; ffmpeg then reads it with that
demuxer only, within a time limit (see ``tools``). When decoding fails, the probe says
*why* in words a member of staff can act on (no sound track, or damaged), with ffmpeg's
own last line attached.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import MediaError
from . import tools
from .probe import MediaInfo, probe

ASR_RATE = 16_000  # Hz: what Whisper listens at
# 32-bit float WAV, 64 kB per second at 16 kHz mono. Not 16-bit: Whisper decodes to float
# itself, and tiny.en given the same speech rounded to 16 bits wrote different words and
# took twice as long (temperature fallbacks) in the speed benchmark.
ASR_CODEC = "pcm_f32le"
FLOAT_BYTES = 4  # bytes per sample of ASR_CODEC
AUDIO_COPY_BITRATE = "64k"  # bits/s: Opus at 64 kb/s is transparent for speech
OPUS_SUFFIXES = {".ogg", ".opus", ".webm", ".mka"}


def run_ffmpeg(args: Sequence[str], *, what: str, timeout: float) -> bytes:
    """Run ``ffmpeg <args>`` within ``timeout`` seconds and return what it wrote to
    stdout; raise ``MediaError`` saying ``what`` failed, with ffmpeg's stderr tail, or
    ``tools.MediaTimeout`` (its process group killed) when it runs too long."""
    return tools.run([*tools.FFMPEG, *args], timeout=timeout, what=what).stdout


def explain_failure(info: MediaInfo, error: MediaError) -> MediaError:
    """Why ffmpeg could not decode a file ``probe`` described, in staff words."""
    if isinstance(error, tools.MediaTimeout):
        return tools.MediaTimeout(str(error))  # no reason to look for: it took too long
    if not info.has_audio:
        return MediaError("the recording has no sound track")
    detail = str(error).split(": ", 1)[-1]
    return MediaError(f"the file is damaged and could not be decoded: {detail}")


def check_not_empty(src: Path) -> None:
    if not src.exists():
        raise MediaError("the recording file is missing")
    if src.stat().st_size == 0:
        raise MediaError("the file is empty (0 bytes): nothing was recorded")


def open_recording(src: Path) -> MediaInfo:
    """The door for every decode: the file exists, has bytes, and is a container we take
    (``tools.UnsupportedMedia`` otherwise, a ``MediaError``). Its ``demuxer`` is then the
    only one ffmpeg may use on it."""
    check_not_empty(src)
    try:
        return probe(src)
    except tools.UnsupportedMedia:
        raise tools.UnsupportedMedia(
            "the file is not a kind of recording we take (it may be a playlist or another "
            "file dressed up as a recording); it was not read") from None
    except tools.MediaTimeout:
        raise
    except MediaError as e:
        detail = str(e).split(": ", 1)[-1]
        raise MediaError(f"the file is damaged and could not be decoded: {detail}") from e


def decode_for_asr(src: Path, dst: Path, *, max_seconds: float | None = None,
                   timeout: float | None = None) -> float:
    """Decode the first sound track of ``src`` to 16 kHz mono 32-bit float WAV at ``dst``.

    Returns the duration in seconds, counted from the decoded samples (WebM from a
    browser often has no duration in its header). With ``max_seconds`` decoding stops
    there, so a two-hour file costs no more than the limit. Raises ``MediaError`` when the
    file is empty, not a container we take, has no sound track, cannot be decoded,
    decodes to no sound at all, or takes longer than ``timeout`` seconds (default:
    ``tools.decode_seconds`` of ``max_seconds``, else of the length the file states).
    """
    src, dst = Path(src), Path(dst)
    info = open_recording(src)
    limit = ["-t", f"{max_seconds:.3f}"] if max_seconds is not None else []
    try:
        run_ffmpeg(["-y", *tools.reading(src, info.demuxer), "-map", "0:a:0", "-vn", "-sn",
                    "-dn", *limit, "-ac", "1", "-ar", str(ASR_RATE), "-c:a", ASR_CODEC,
                    "-map_metadata", "-1", "-f", "wav", str(dst)],
                   what="decoding the recording",
                   timeout=timeout or tools.decode_seconds(
                       info.duration if max_seconds is None else max_seconds))
    except MediaError as e:
        raise explain_failure(info, e) from e
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
    return open_recording(Path(src)).has_video


def extract_audio_track(src: Path, dst: Path, *, timeout: float | None = None) -> None:
    """Keep the sound of a video entry as an audio-only Opus file (.ogg, .opus or .webm).

    An Opus track is copied as it is (no quality lost, milliseconds); anything else (AAC
    from a phone's MP4) is re-encoded to Opus. Metadata is dropped: phones write the
    place a video was made into it. ``timeout``: seconds (default: from the length).
    """
    src, dst = Path(src), Path(dst)
    if dst.suffix.lower() not in OPUS_SUFFIXES:
        raise ValueError(f"an audio track is kept as Opus: use one of {sorted(OPUS_SUFFIXES)}")
    info = open_recording(src)
    if not info.has_audio:
        raise MediaError("the recording has no sound track")
    codec = ["-c:a", "copy"] if info.audio_codecs[0] == "opus" else [
        "-c:a", "libopus", "-b:a", AUDIO_COPY_BITRATE]
    try:
        run_ffmpeg(["-y", *tools.reading(src, info.demuxer), "-map", "0:a:0", "-vn", "-sn",
                    "-dn", *codec, "-map_metadata", "-1", "-map_chapters", "-1", str(dst)],
                   what="copying the sound track",
                   timeout=timeout or tools.decode_seconds(info.duration))
    except MediaError as e:
        raise explain_failure(info, e) from e
