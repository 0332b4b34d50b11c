"""The ffmpeg edge: probing, decoding and (later) redacting and disguising audio."""
from .probe import MediaInfo, ffmpeg_available, probe

__all__ = ["MediaInfo", "ffmpeg_available", "probe"]
