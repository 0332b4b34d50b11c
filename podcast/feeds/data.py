"""What a feed says, as plain data: built from the database by ``catalog``, turned into
XML by ``build`` (which never touches the database), so each half is tested alone."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    """A file the feed points at: absolute URL, MIME type, and its exact byte length
    where the feed needs it (enclosures)."""

    url: str
    type: str
    length: int | None = None


@dataclass(frozen=True)
class ShowData:
    title: str
    description: str
    link: str                 # the show's (or the feed's) web page
    feed_url: str             # this feed's own URL (atom:link rel=self)
    language: str             # e.g. en-GB
    category: str             # an Apple Podcasts category, e.g. "Society & Culture"
    subcategory: str | None   # e.g. "Documentary"
    explicit: bool
    author: str
    guid: str                 # podcast:guid
    artwork: Link | None      # 1400-3000 px square JPEG or PNG
    owner_name: str | None = None   # public feeds only
    owner_email: str | None = None  # public feeds only
    private: bool = False     # itunes:block, podcast:block, no owner, noindex
    updated: dt.datetime | None = None


@dataclass(frozen=True)
class ItemData:
    guid: str                 # stable across re-renders: urn:uuid:...
    title: str
    description_html: str     # sanitised show notes
    link: str                 # the episode's web player page
    published: dt.datetime    # aware (UTC)
    duration: float           # seconds
    enclosure: Link           # audio/mpeg with its exact length
    season: int | None = None
    number: int | None = None
    artwork: Link | None = None
    transcripts: tuple[Link, ...] = ()     # text/vtt and application/x-subrip
    chapters: Link | None = None           # application/json+chapters
    people: tuple[str, ...] = field(default=())  # co-hosts by their chosen names
    explicit: bool = False
