"""What is in a media file, according to ffprobe."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from ..errors import ComponentUnavailable, MediaError


@dataclass(frozen=True)
class MediaInfo:
    duration: float  # seconds
    has_audio: bool
    has_video: bool
    format_name: str
    audio_codecs: tuple[str, ...] = ()
    video_codecs: tuple[str, ...] = ()


def ffmpeg_available() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise ComponentUnavailable(
            f"{' and '.join(missing)} not found on PATH: install ffmpeg "
            "(Debian/Ubuntu: apt-get install ffmpeg)")


def probe(path: str | Path) -> MediaInfo:
    """Probe a file; raise ``MediaError`` if ffprobe cannot read it as media."""
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as e:
        detail = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        raise MediaError(f"not a readable audio or video file ({detail[-1] if detail else e})"
                         ) from e
    streams = info.get("streams", [])
    fmt = info.get("format", {})
    durations = [float(s["duration"]) for s in streams if s.get("duration")]
    duration = float(fmt.get("duration") or (max(durations) if durations else 0.0))
    audio = tuple(s.get("codec_name", "") for s in streams if s.get("codec_type") == "audio")
    # Cover art in an MP3 shows up as a one-frame "video" stream; it is not video.
    video = tuple(s.get("codec_name", "") for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic"))
    return MediaInfo(duration=duration, has_audio=bool(audio), has_video=bool(video),
                     format_name=fmt.get("format_name", ""), audio_codecs=audio,
                     video_codecs=video)
