"""The episode page's transcript and chapters, read from the render's own files: the
WebVTT captions (``studio.edits.to_vtt``) become cues, the Podcasting 2.0
``chapters.json`` (``studio.edits.chapters_json``) becomes chapters. Pure: text in,
plain data out, so the page can be built (and tested) without a browser or storage.

Both readers are forgiving: a block they cannot read is skipped rather than failing the
page, since the audio is still worth hearing without one line of its transcript.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

# hh:mm:ss.mmm or mm:ss.mmm (the hours are optional in WebVTT)
TIMESTAMP = re.compile(r"(?:(\d+):)?([0-5]?\d):([0-5]\d)[.,](\d{3})")
TIMING = re.compile(rf"^\s*({TIMESTAMP.pattern})\s+-->\s+({TIMESTAMP.pattern})")
TAG = re.compile(r"<[^>]*>")  # voice, class and timestamp tags inside a cue's text


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str     # plain text (entities decoded, tags removed): the page escapes it


@dataclass(frozen=True)
class Chapter:
    start: float  # seconds
    title: str


def seconds(stamp: str) -> float:
    """A WebVTT (or SRT) timestamp in seconds.

    >>> seconds("01:02:03.457"), seconds("00:01.500"), seconds("00:00:02,000")
    (3723.457, 1.5, 2.0)
    """
    match = TIMESTAMP.fullmatch(stamp.strip())
    if match is None:
        raise ValueError(f"not a timestamp: {stamp!r}")
    hours, minutes, secs, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def parse_vtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file, in time order. Header, NOTE, STYLE and REGION blocks
    and cue identifiers are skipped; a cue's lines are joined with a space.

    >>> parse_vtt("WEBVTT\\n\\n1\\n00:00:00.000 --> 00:00:02.000\\nTea &amp; <v Sam>toast</v>\\n")
    [Cue(start=0.0, end=2.0, text='Tea & toast')]
    """
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line for line in block.split("\n") if line.strip()]
        # The timing line is the first or (after an identifier) the second line.
        at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if at is None:
            continue  # the header, a NOTE, STYLE or REGION block
        timing = TIMING.match(lines[at])
        if timing is None:
            continue
        words = " ".join(html.unescape(TAG.sub("", line)).strip() for line in lines[at + 1:])
        words = " ".join(words.split())
        if not words:
            continue
        start, end = seconds(timing.group(1)), seconds(timing.group(6))
        cues.append(Cue(start, max(start, end), words))
    return sorted(cues, key=lambda c: c.start)


def parse_chapters(raw: str | bytes) -> list[Chapter]:
    """Chapters from Podcasting 2.0 JSON chapters, in time order. Chapters marked
    ``"toc": false`` (not for a table of contents) and ones without a usable start are
    left out; an untitled one is called "Part N".

    >>> parse_chapters('{"version": "1.2.0", "chapters": [{"startTime": 2, "title": "Tea"},'
    ...                ' {"startTime": 0}, {"startTime": 9, "toc": false}]}')
    [Chapter(start=0.0, title='Part 1'), Chapter(start=2.0, title='Tea')]
    """
    try:
        doc = json.loads(raw)
    except ValueError:
        return []
    items = doc.get("chapters") if isinstance(doc, dict) else None
    chapters: list[Chapter] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("toc") is False:
            continue
        start = item.get("startTime")
        if isinstance(start, bool) or not isinstance(start, int | float) or start < 0:
            continue
        title = item.get("title")
        title = " ".join(title.split()) if isinstance(title, str) else ""
        chapters.append(Chapter(float(start), title))
    chapters.sort(key=lambda c: c.start)
    return [Chapter(c.start, c.title or f"Part {n}") for n, c in enumerate(chapters, 1)]


def clock(value: float | None) -> str:
    """A time as people read it: m:ss, or h:mm:ss from an hour.

    >>> clock(0), clock(65.4), clock(3723.9), clock(None)
    ('0:00', '1:05', '1:02:03', '0:00')
    """
    total = max(0, int(value or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(value: float | None) -> str:
    """A time as a machine reads it (the ``datetime`` of ``<time>``): an ISO 8601
    duration.

    >>> duration(65.4), duration(None)
    ('PT1M5S', 'PT0S')
    """
    total = max(0, int(value or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return f"PT{parts}{secs}S" if secs or not parts else f"PT{parts}"
