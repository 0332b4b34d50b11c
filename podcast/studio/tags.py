"""Titles and chapters inside the rendered files (mutagen; no audio is touched).

The MP3 gets ID3v2.3 (what most podcast apps read best): text frames from the
episode's metadata, and chapters as CHAP frames (start and end in milliseconds, each
with its title as a TIT2 sub-frame) listed by one top-level, ordered CTOC. The Opus
file gets the same as Vorbis comments, chapters as ``CHAPTER001=00:00:00.000`` and
``CHAPTER001NAME`` (the convention players such as VLC and foobar2000 read).
Chapters come in as Podcasting 2.0 JSON (``{"startTime": s, "title": ...}``); each one
ends where the next starts, the last at the end of the episode.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mutagen.id3 import (
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TCOP,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TPE2,
    TPOS,
    TPUB,
    TRCK,
    TXXX,
    WXXX,
    CTOCFlags,
    Encoding,
    ID3NoHeaderError,
)
from mutagen.oggopus import OggOpus

from .plan import PlanError

_FIELD = re.compile(r"[^\x20-\x3c\x3e-\x7d]")  # what a Vorbis field name may not hold
NO_OFFSET = 0xFFFFFFFF  # CHAP byte offsets unused: players seek by time
ID3_TEXT = {"title": TIT2, "artist": TPE1, "album": TALB, "album_artist": TPE2,
            "date": TDRC, "genre": TCON, "copyright": TCOP, "publisher": TPUB,
            "track": TRCK, "disc": TPOS, "language": TLAN}
VORBIS = {"title": "TITLE", "artist": "ARTIST", "album": "ALBUM",
          "album_artist": "ALBUMARTIST", "date": "DATE", "genre": "GENRE",
          "copyright": "COPYRIGHT", "publisher": "ORGANIZATION", "track": "TRACKNUMBER",
          "disc": "DISCNUMBER", "language": "LANGUAGE", "comment": "DESCRIPTION"}


@dataclass(frozen=True)
class Chapter:
    start_ms: int
    end_ms: int
    title: str
    url: str = ""


def chapter_times(chapters: Iterable[Mapping] | None, duration: float) -> list[Chapter]:
    """Podcasting 2.0 chapters as spans of the episode: in time order, each ending at the
    next one's start (or its own ``endTime`` if sooner), the last at ``duration``;
    chapters starting at or after the end are dropped.

    >>> spans = chapter_times([{"startTime": 4.5, "title": "B"}, {"startTime": 0}], 10)
    >>> [(c.start_ms, c.end_ms, c.title) for c in spans]
    [(0, 4500, 'Chapter 1'), (4500, 10000, 'B')]
    """
    end_ms = round(duration * 1000)
    items = []
    for item in chapters or ():
        try:
            start = round(float(item["startTime"]) * 1000)
        except (KeyError, TypeError, ValueError):
            raise PlanError("Each chapter needs a start time in seconds.") from None
        if start < 0:
            raise PlanError("A chapter cannot start before the episode does.")
        if start < end_ms:
            items.append((start, item))
    items.sort(key=lambda pair: pair[0])
    out = []
    for k, (start, item) in enumerate(items):
        stop = items[k + 1][0] if k + 1 < len(items) else end_ms
        if item.get("endTime") is not None:
            stop = min(stop, max(start, round(float(item["endTime"]) * 1000)))
        out.append(Chapter(start, stop, str(item.get("title") or f"Chapter {k + 1}"),
                           str(item.get("url") or "")))
    return out


def write_mp3(path: Path, *, duration: float, chapters: Iterable[Mapping] | None,
              metadata: Mapping[str, str]) -> None:
    """Replace whatever ID3 tag ``path`` has with the episode's, as ID3v2.3."""
    try:
        tags = ID3(path)
        tags.clear()
    except ID3NoHeaderError:
        tags = ID3()
    utf8 = Encoding.UTF8  # written as UTF-16 in v2.3, which has no UTF-8
    for key, value in metadata.items():
        frame = ID3_TEXT.get(key)
        if frame is not None:
            tags.add(frame(encoding=utf8, text=[value]))
        elif key in ("comment", "description"):
            tags.add(COMM(encoding=utf8, lang="eng", desc="", text=[value]))
        else:
            tags.add(TXXX(encoding=utf8, desc=key, text=[value]))
    spans = chapter_times(chapters, duration)
    if spans:
        ids = [f"chp{k}" for k in range(len(spans))]
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                      child_element_ids=ids,
                      sub_frames=[TIT2(encoding=utf8, text=["Chapters"])]))
        for element_id, span in zip(ids, spans, strict=True):
            sub = [TIT2(encoding=utf8, text=[span.title])]
            if span.url:
                sub.append(WXXX(encoding=utf8, desc="chapter url", url=span.url))
            tags.add(CHAP(element_id=element_id, start_time=span.start_ms,
                          end_time=span.end_ms, start_offset=NO_OFFSET,
                          end_offset=NO_OFFSET, sub_frames=sub))
    tags.save(path, v2_version=3)


def write_opus(path: Path, *, duration: float, chapters: Iterable[Mapping] | None,
               metadata: Mapping[str, str]) -> None:
    """The same as Vorbis comments in the Ogg Opus file ``path``."""
    audio = OggOpus(path)
    audio.tags.clear()
    for key, value in metadata.items():
        audio.tags[VORBIS.get(key) or _FIELD.sub("_", key.upper())] = [value]
    for k, span in enumerate(chapter_times(chapters, duration), start=1):
        seconds, ms = divmod(span.start_ms, 1000)
        audio.tags[f"CHAPTER{k:03d}"] = [
            f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{ms:03d}"]
        audio.tags[f"CHAPTER{k:03d}NAME"] = [span.title]
    audio.save()
