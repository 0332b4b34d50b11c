"""Is an upload really a recording we can use? ffprobe decides, after a remux.

MediaRecorder writes WebM without a duration in its header, so WebM/Matroska is first
remuxed with ``ffmpeg -c copy`` (no re-encoding, seconds for an hour) and the remuxed
file is what we probe and keep.
"""
from __future__ import annotations

from pathlib import Path

import ffmpeg

from ..errors import InvalidInput, MediaError
from .probe import MediaInfo, probe

AUDIO_CODECS = {"opus", "vorbis", "aac", "mp3", "flac", "alac"}
VIDEO_CODECS = {"vp8", "vp9", "av1", "h264", "hevc"}
REMUX_SUFFIXES = {".webm", ".mkv", ".mka"}
MIN_SECONDS = 0.5  # shorter than this is a mis-tap, not a recording
GRACE_SECONDS = 30  # the browser may run a little past the limit before it stops


def remux(src: Path, dst: Path) -> None:
    """Copy the streams into a fresh container (no re-encoding), which writes the header."""
    try:
        _, stderr = (ffmpeg.input(str(src)).output(str(dst), map=0, c="copy", v="error")
                     .overwrite_output().run(capture_stdout=True, capture_stderr=True))
    except ffmpeg.Error as e:
        detail = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        raise MediaError(f"could not read the recording ({detail[-1] if detail else e})") from e
    # ffmpeg copies what it can of a cut-short file and still exits 0, so any error it
    # reports (at -v error, "File ended prematurely" and the like) means a damaged file.
    problems = (stderr or b"").decode(errors="replace").strip().splitlines()
    if problems:
        raise MediaError(f"the recording is damaged or cut short ({problems[-1]})")


def validate(path: Path, *, kind: str | None, max_seconds: int) -> tuple[Path, MediaInfo]:
    """Check a received file; return the file to keep (remuxed if needed) and its info.

    ``kind`` is what the person chose ("audio" or "video"), or None to accept either.
    Raises ``InvalidInput`` with a message the kiosk can show as it is.
    """
    if path.stat().st_size == 0:
        raise InvalidInput("The recording is empty. Please try recording again.",
                           code="empty_media")
    keep = path
    if path.suffix.lower() in REMUX_SUFFIXES:
        keep = path.with_name(path.stem + ".remuxed" + path.suffix)
        try:
            remux(path, keep)
        except MediaError:
            raise InvalidInput("This file is not a recording we can play. It may be damaged "
                               "or cut short.", code="unreadable_media") from None
    try:
        info = probe(keep)
    except MediaError:
        raise InvalidInput("This file is not a recording we can play. It may be damaged or "
                           "cut short.", code="unreadable_media") from None
    if not info.has_audio:
        raise InvalidInput("There is no sound in this recording.", code="no_audio")
    unknown = [c for c in info.audio_codecs if c not in AUDIO_CODECS
               and not c.startswith("pcm_")]
    unknown += [c for c in info.video_codecs if c not in VIDEO_CODECS]
    if unknown:
        raise InvalidInput(f"This recording uses a format we cannot take ({unknown[0]}).",
                           code="unsupported_codec")
    if kind == "audio" and info.has_video:
        raise InvalidInput("You chose sound only, but this recording has video. Nothing was "
                           "saved; please record again with sound only.",
                           code="unexpected_video")
    if kind == "video" and not info.has_video:
        raise InvalidInput("You chose video, but this recording has no picture.",
                           code="missing_video")
    if info.duration < MIN_SECONDS:
        raise InvalidInput("The recording is too short to keep.", code="too_short")
    if info.duration > max_seconds + GRACE_SECONDS:
        minutes = max_seconds // 60
        raise InvalidInput(f"The recording is longer than the {minutes} minutes allowed.",
                           code="too_long")
    return keep, info
