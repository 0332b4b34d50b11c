"""feedgen extensions for what feedgen 1.0 cannot write: the Podcasting 2.0 ``podcast:``
namespace, and the iTunes tags its own podcast extension gets wrong.

feedgen's ``podcast`` extension still writes ``itunes:author``, ``itunes:category``,
``itunes:owner``, ``itunes:type``, ``itunes:duration``, ``itunes:season`` and
``itunes:episode``; ``register`` loads it beside these two. What it gets wrong:
``itunes_explicit`` accepts only yes/no/clean while Apple now asks for true/false,
``itunes_block`` writes "yes" where Apple documents "Yes", and ``itunes_image``
refuses (on items) or silently drops (on the channel) a URL that does not end in .jpg
or .png, such as one with a query string.

Each extension keeps plain values and turns them into elements in ``extend_rss``, so
no XML is ever built from strings.
"""
from __future__ import annotations

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
# The Podcasting 2.0 namespace. Its spec names https://podcastindex.org/namespace/1.0
# and says clients "must also recognize" this GitHub URI as identical; gPodder's
# podcastparser (0.6.11) recognises only this one, so with the other URI gPodder users
# would see no transcripts, chapters or people.
PODCAST_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
PODCAST_NS_ALIASES = (PODCAST_NS, "https://podcastindex.org/namespace/1.0")

CAPTIONS = "captions"  # podcast:transcript rel: the file has timecodes


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _true_false(flag: bool) -> str:
    """Apple's current spelling of itunes:explicit.

    >>> _true_false(True), _true_false(False)
    ('true', 'false')
    """
    return "true" if flag else "false"


def _element(parent, tag: str, text: str | None = None, **attrs: str | None):
    """A child element; attributes whose value is None are left out."""
    element = xml_elem(tag, parent, **{k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


class PodcastIndexExtension(BaseExtension):
    """Channel tags of the podcast namespace: guid, locked, block."""

    def __init__(self) -> None:
        self._guid: str | None = None
        self._locked: tuple[bool, str | None] | None = None
        self._block: bool | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss_feed):
        channel = rss_feed[0]
        if self._guid:
            _element(channel, f"{{{PODCAST_NS}}}guid", self._guid)
        if self._locked is not None:
            locked, owner = self._locked
            _element(channel, f"{{{PODCAST_NS}}}locked", _yes_no(locked), owner=owner)
        if self._block is not None:
            _element(channel, f"{{{PODCAST_NS}}}block", _yes_no(self._block))
        return rss_feed

    def guid(self, guid: str) -> None:
        """podcast:guid, the show's identity across moves (a UUIDv5 of its feed URL)."""
        self._guid = guid

    def locked(self, locked: bool, *, owner: str | None = None) -> None:
        """podcast:locked: whether other hosts may import the feed; ``owner`` is the
        e-mail address that proves ownership (public feeds only)."""
        self._locked = (locked, owner)

    def block(self, blocked: bool) -> None:
        """podcast:block without an id: keep the feed out of every directory."""
        self._block = blocked


class PodcastIndexEntryExtension(BaseEntryExtension):
    """Item tags of the podcast namespace: transcript, chapters, person, season,
    episode."""

    def __init__(self) -> None:
        self._transcripts: list[dict[str, str | None]] = []
        self._chapters: dict[str, str] | None = None
        self._people: list[tuple[str, str]] = []
        self._season: int | None = None
        self._episode: int | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, entry):
        for transcript in self._transcripts:
            _element(entry, f"{{{PODCAST_NS}}}transcript", **transcript)
        if self._chapters:
            _element(entry, f"{{{PODCAST_NS}}}chapters", **self._chapters)
        for name, role in self._people:
            _element(entry, f"{{{PODCAST_NS}}}person", name, role=role)
        if self._season is not None:
            _element(entry, f"{{{PODCAST_NS}}}season", str(self._season))
        if self._episode is not None:
            _element(entry, f"{{{PODCAST_NS}}}episode", str(self._episode))
        return entry

    def transcript(self, url: str, type: str, *, language: str | None = None,
                   rel: str | None = None) -> None:
        """One podcast:transcript (several may be given, one per format)."""
        self._transcripts.append({"url": url, "type": type, "language": language,
                                  "rel": rel})

    def chapters(self, url: str, type: str) -> None:
        self._chapters = {"url": url, "type": type}

    def person(self, name: str, *, role: str = "host") -> None:
        self._people.append((name, role))

    def season(self, number: int) -> None:
        self._season = number

    def episode(self, number: int) -> None:
        self._episode = number


class ItunesExtension(BaseExtension):
    """Channel iTunes tags written the way Apple documents them today."""

    def __init__(self) -> None:
        self._explicit: bool | None = None
        self._block: bool | None = None
        self._image: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"itunes": ITUNES_NS}

    def extend_rss(self, rss_feed):
        channel = rss_feed[0]
        if self._image:
            _element(channel, f"{{{ITUNES_NS}}}image", href=self._image)
        if self._explicit is not None:
            _element(channel, f"{{{ITUNES_NS}}}explicit", _true_false(self._explicit))
        if self._block:
            # Apple: "Yes" hides the show; any other value (or none) has no effect.
            _element(channel, f"{{{ITUNES_NS}}}block", "Yes")
        return rss_feed

    def explicit(self, explicit: bool) -> None:
        self._explicit = explicit

    def block(self, blocked: bool) -> None:
        self._block = blocked

    def image(self, url: str) -> None:
        self._image = url


class ItunesEntryExtension(BaseEntryExtension):
    """Item iTunes tags feedgen writes wrongly: explicit (true/false) and image (any
    URL shape; feedgen raises unless the URL ends in .jpg or .png)."""

    def __init__(self) -> None:
        self._explicit: bool | None = None
        self._image: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"itunes": ITUNES_NS}

    def extend_rss(self, entry):
        if self._image:
            _element(entry, f"{{{ITUNES_NS}}}image", href=self._image)
        if self._explicit is not None:
            _element(entry, f"{{{ITUNES_NS}}}explicit", _true_false(self._explicit))
        return entry

    def explicit(self, explicit: bool) -> None:
        self._explicit = explicit

    def image(self, url: str) -> None:
        self._image = url


def register(fg: FeedGenerator) -> None:
    """Load feedgen's iTunes extension (as ``fg.podcast``) and ours (as
    ``fg.podcastindex`` and ``fg.itunes``), before any entry is added."""
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", PodcastIndexExtension,
                          PodcastIndexEntryExtension, atom=False)
    fg.register_extension("itunes", ItunesExtension, ItunesEntryExtension, atom=False)
