"""What is in a media file, according to ffprobe, and whether we read that kind at all.

``probe`` is the door every file passes before anything else reads it: ffprobe may try
only the containers in ``tools.CONTAINERS`` and only plain files, within a hard limit.
The ``MediaInfo`` it returns names the demuxer every later ffmpeg call must use.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import ComponentUnavailable, MediaError
from . import tools


@dataclass(frozen=True)
class MediaInfo:
    duration: float  # seconds
    has_audio: bool
    has_video: bool
    format_name: str  # ffprobe's, one of the keys of tools.CONTAINERS
    audio_codecs: tuple[str, ...] = ()
    video_codecs: tuple[str, ...] = ()

    @property
    def demuxer(self) -> str:
        """The demuxer that reads this file (``-f``), and the only one any later call may
        use; "" for a container we do not take (``probe`` never returns one)."""
        return tools.CONTAINERS.get(self.format_name, "")


def ffmpeg_available() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise ComponentUnavailable(
            f"{' and '.join(missing)} not found on PATH: install ffmpeg "
            "(Debian/Ubuntu: apt-get install ffmpeg)")


def probe(path: str | Path, *, timeout: float = tools.PROBE_SECONDS) -> MediaInfo:
    """Probe a file. Raises ``tools.UnsupportedMedia`` when it is not a container we take
    (whatever it is called), ``tools.MediaTimeout`` past ``timeout`` seconds, and
    ``MediaError`` if ffprobe cannot read it as media."""
    argv = [*tools.FFPROBE, *tools.READ_FILE, "-show_format", "-show_streams",
            "-of", "json", "-i", str(Path(path).absolute())]
    try:
        done = tools.run(argv, timeout=timeout, what="reading the recording")
    except tools.MediaTimeout:
        raise
    except MediaError as e:
        # ffmpeg recognised the content as a container outside the whitelist and refused
        # to open it (an HLS playlist, a concat list, ...).
        if b"not on whitelist" in (getattr(e.__cause__, "stderr", None) or b""):
            raise tools.UnsupportedMedia("not a kind of recording we take") from None
        raise MediaError(f"not a readable audio or video file: {str(e).split(': ', 1)[-1]}"
                         ) from e
    try:
        info = json.loads(done.stdout or b"{}")
    except ValueError:
        raise MediaError("not a readable audio or video file: ffprobe said nothing") from None
    streams = info.get("streams", [])
    fmt = info.get("format", {})
    if fmt.get("format_name", "") not in tools.CONTAINERS:  # the whitelist, checked twice
        raise tools.UnsupportedMedia("not a kind of recording we take")
    durations = [float(s["duration"]) for s in streams if s.get("duration")]
    duration = float(fmt.get("duration") or (max(durations) if durations else 0.0))
    audio = tuple(s.get("codec_name", "") for s in streams if s.get("codec_type") == "audio")
    # Cover art in an MP3 shows up as a one-frame "video" stream; it is not video.
    video = tuple(s.get("codec_name", "") for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic"))
    return MediaInfo(duration=duration, has_audio=bool(audio), has_video=bool(video),
                     format_name=fmt["format_name"], audio_codecs=audio,
                     video_codecs=video)
