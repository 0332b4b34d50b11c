"""Is an upload really a recording we can use? ffprobe decides, by content, within limits.

First the file is probed with only the containers we take allowed (``tools.CONTAINERS``):
anything else (an HLS playlist, a concat list, an image) is refused before any other
ffmpeg call touches it, whatever it is called. MediaRecorder writes WebM without a
duration in its header, so Matroska/WebM is then remuxed with ``ffmpeg -c copy`` (no
re-encoding, seconds for an hour), and the remuxed file is what we probe and keep.

All of it runs inside a web request, so all of it shares one hard limit (``timeout``);
a process that runs past it is killed with its process group, and the person is told.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import InvalidInput, MediaError
from . import tools
from .probe import MediaInfo, probe

AUDIO_CODECS = {"opus", "vorbis", "aac", "mp3", "flac", "alac"}
VIDEO_CODECS = {"vp8", "vp9", "av1", "h264", "hevc"}
REMUX_SUFFIXES = {".webm", ".mkv", ".mka"}
# The names a kept file may have, by what it contains; the first when the name the
# client gave does not fit the content (a WAV called .mp3 is kept as .wav).
SUFFIXES = {"matroska": (".webm", ".mkv", ".mka"), "ogg": (".ogg", ".opus"),
            "mp3": (".mp3",), "mov": (".mp4", ".m4a"), "wav": (".wav",), "flac": (".flac",)}
MIN_SECONDS = 0.5  # shorter than this is a mis-tap, not a recording
GRACE_SECONDS = 30  # the browser may run a little past the limit before it stops
REQUEST_SECONDS = 60  # default limit for all of a request's media work
T = TypeVar("T")

UNSUPPORTED = ("This file is not a recording we can take. Please send a sound or video "
               "recording (WebM, Ogg, MP3, MP4, M4A, WAV or FLAC).")
UNREADABLE = "This file is not a recording we can play. It may be damaged or cut short."
TOO_SLOW = ("This recording took too long to check, so it was not kept. It may be damaged; "
            "please try sending it again.")


def remux(src: Path, dst: Path, *, demuxer: str = "matroska",
          timeout: float = REQUEST_SECONDS) -> None:
    """Copy the streams into a fresh container (no re-encoding), which writes the header.
    ``src`` is read with ``demuxer`` only (what ``probe`` found)."""
    done = tools.run([*tools.FFMPEG, *tools.reading(src, demuxer), "-map", "0", "-c", "copy",
                      "-y", str(dst)], timeout=timeout, what="reading the recording")
    # ffmpeg copies what it can of a cut-short file and still exits 0, so any error it
    # reports (at -v error, "File ended prematurely" and the like) means a damaged file.
    if done.stderr.strip():
        raise MediaError(f"the recording is damaged or cut short "
                         f"({tools.stderr_tail(done.stderr, 1)})")


def _checked(step: Callable[[], T]) -> T:
    """Run a media step, turning its errors into answers the kiosk can show as they are
    (never the file name the client gave, nor a path)."""
    try:
        return step()
    except tools.UnsupportedMedia:
        raise InvalidInput(UNSUPPORTED, code="unsupported_media") from None
    except tools.MediaTimeout:
        raise InvalidInput(TOO_SLOW, code="media_timeout") from None
    except MediaError:
        raise InvalidInput(UNREADABLE, code="unreadable_media") from None


def validate(path: Path, *, kind: str | None, max_seconds: int,
             timeout: float = REQUEST_SECONDS) -> tuple[Path, MediaInfo]:
    """Check a received file; return the file to keep (remuxed if needed) and its info.

    ``kind`` is what the person chose ("audio" or "video"), or None to accept either.
    ``timeout``: seconds for all the ffprobe and ffmpeg work together.
    Raises ``InvalidInput`` with a message the kiosk can show as it is.
    """
    if path.stat().st_size == 0:
        raise InvalidInput("The recording is empty. Please try recording again.",
                           code="empty_media")
    deadline = time.monotonic() + timeout

    def left(cap: float = timeout) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise tools.MediaTimeout("checking the recording took too long")
        return min(cap, remaining)

    # The door: nothing else reads the file until its content is a container we take.
    info = _checked(lambda: probe(path, timeout=left(tools.PROBE_SECONDS)))
    keep = path
    allowed = SUFFIXES[info.demuxer]
    if info.demuxer == "matroska":
        keep = path.with_name(path.stem + ".remuxed"
                              + (path.suffix.lower() if path.suffix.lower() in allowed
                                 else ".mkv"))
        _checked(lambda: remux(path, keep, demuxer=info.demuxer, timeout=left()))
        info = _checked(lambda: probe(keep, timeout=left(tools.PROBE_SECONDS)))
    elif path.suffix.lower() not in allowed:
        keep = path.with_suffix(allowed[0])
        os.replace(path, keep)
    _check_streams(info, kind=kind, max_seconds=max_seconds)
    return keep, info


def _check_streams(info: MediaInfo, *, kind: str | None, max_seconds: int) -> None:
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
