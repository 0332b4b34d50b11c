"""Feed data in, RSS bytes out: the show and its episodes as RSS 2.0 with the iTunes
and Podcasting 2.0 tags podcast apps and directories read. No database, no Flask:
``catalog`` gathers the data, this module only writes it (``check`` verifies it).

A private feed (one listener's link to the organisation's internal episodes) says who
made the show but not who owns it: no owner name or e-mail anywhere, and it asks every
directory to leave it alone (``itunes:block``, ``podcast:block``, ``podcast:locked``).
"""
from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from . import ext
from .data import ItemData, ShowData

GENERATOR = "Diary Room"
VTT = "text/vtt"
# feedgen refuses a channel without a description. A public show without one gets a
# blank description (so ``check`` names the gap and publishing is refused); a private
# feed, which no directory reads, falls back to the show's title.
BLANK = " "


def whole_seconds(duration: float) -> str:
    """itunes:duration as whole seconds, rounded to the nearest.

    >>> whole_seconds(61.5), whole_seconds(0.2), whole_seconds(3600)
    ('62', '0', '3600')
    """
    return str(max(0, int(duration + 0.5)))


def build_feed(show: ShowData, items: Sequence[ItemData]) -> bytes:
    """The feed as UTF-8 XML, newest episode first."""
    fg = FeedGenerator()
    ext.register(fg)
    _channel(fg, show, items)
    for item in sorted(items, key=lambda i: i.published, reverse=True):
        _item(fg, show, item)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def _channel(fg: FeedGenerator, show: ShowData, items: Sequence[ItemData]) -> None:
    fg.title(show.title)
    # feedgen's RSS <link> is the last link given, so the show's page comes last.
    fg.link(href=show.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=show.link)
    fg.description(show.description.strip() or (show.title if show.private else BLANK))
    fg.language(show.language)
    fg.generator(GENERATOR)
    # A build date that only moves when the content does keeps the bytes (and so the
    # ETag) of an unchanged feed the same from one build to the next.
    dates = [d for d in (show.updated, *(i.published for i in items)) if d is not None]
    if dates:
        fg.lastBuildDate(max(dates))
    if items:
        fg.pubDate(max(i.published for i in items))

    itunes = fg.podcast  # feedgen's own iTunes extension, for the tags it gets right
    if show.author:
        itunes.itunes_author(show.author)
    itunes.itunes_category({"cat": show.category, "sub": show.subcategory})
    itunes.itunes_type("episodic")
    fg.itunes.explicit(show.explicit)
    if show.artwork:
        fg.image(url=show.artwork.url, title=show.title, link=show.link)
        fg.itunes.image(show.artwork.url)

    fg.podcastindex.guid(show.guid)
    if show.private:
        fg.itunes.block(True)
        fg.podcastindex.block(True)
        fg.podcastindex.locked(True)
    else:
        if show.owner_email:
            itunes.itunes_owner(name=show.owner_name or show.author or show.title,
                                email=show.owner_email)
        fg.podcastindex.locked(True, owner=show.owner_email or None)


def _item(fg: FeedGenerator, show: ShowData, item: ItemData) -> None:
    entry = fg.add_entry(order="append")
    entry.title(item.title)
    entry.link(href=item.link)
    entry.guid(item.guid, permalink=False)
    if item.description_html:
        # Plain RSS readers take the entity-escaped <description>; podcast apps prefer
        # content:encoded, kept as CDATA unless the notes would end the CDATA early.
        entry.description(item.description_html)
        cdata = "]]>" not in item.description_html
        entry.content(item.description_html, type="CDATA" if cdata else None)
    # An unknown length is written as 0 ("unknown" to apps); ``check`` names it.
    length = item.enclosure.length or 0
    entry.enclosure(item.enclosure.url, str(length), item.enclosure.type)
    entry.pubDate(item.published)

    entry.podcast.itunes_duration(whole_seconds(item.duration))
    entry.podcast.itunes_episode_type("full")
    entry.itunes.explicit(item.explicit)
    if item.artwork:
        entry.itunes.image(item.artwork.url)
    if item.season is not None:
        entry.podcast.itunes_season(item.season)
        entry.podcastindex.season(item.season)
    if item.number is not None:
        entry.podcast.itunes_episode(item.number)
        entry.podcastindex.episode(item.number)

    for transcript in item.transcripts:
        entry.podcastindex.transcript(
            transcript.url, transcript.type, language=show.language,
            rel=ext.CAPTIONS if transcript.type == VTT else None)
    if item.chapters:
        entry.podcastindex.chapters(item.chapters.url, item.chapters.type)
    for name in item.people:
        entry.podcastindex.person(name, role="host")
