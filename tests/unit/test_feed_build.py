"""The feed builder and its check: feed data in, XML out, read back the way podcast apps
read it (feedparser, gPodder's podcastparser) and with XPath for every tag we write."""
from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import io
import json
import logging
import warnings
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from podcast.feeds import build, check, ext
from podcast.feeds.build import build_feed
from podcast.feeds.check import feed_problems
from podcast.feeds.data import ItemData, Link, ShowData

GOLDEN = Path(__file__).parents[1] / "data" / "feeds"
BASE = "https://diary.example.org/feeds/hope"
OWNER = "podcast@hope.example.org"
NS = {"itunes": ext.ITUNES_NS, "podcast": ext.PODCAST_NS,
      "atom": "http://www.w3.org/2005/Atom",
      "content": "http://purl.org/rss/1.0/modules/content/"}
UTC = dt.UTC


def make_show(**changes) -> ShowData:
    show = ShowData(
        title="Voices from Hope Street", description="Stories told by the people who lived them.",
        link="https://diary.example.org/listen/hope/", feed_url=f"{BASE}/public.xml",
        language="en-GB", category="Society & Culture", subcategory="Documentary",
        explicit=False, author="Hope Street Trust",
        guid="0a1d2c8e-5f2b-5d0e-9c11-6b7a8e9f0a1b",
        artwork=Link(f"{BASE}/artwork/show-3.jpg", "image/jpeg"),
        owner_name="Hope Street Trust", owner_email=OWNER)
    return dataclasses.replace(show, **changes)


def make_item(n: int, **changes) -> ItemData:
    guid = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
    base = f"{BASE}/public/{guid}"
    item = ItemData(
        guid=guid, title=f"Episode {n}: finding a room",
        description_html=f"<p>Part {n} of the series.</p>",
        link=f"https://diary.example.org/listen/hope/{guid}",
        published=dt.datetime(2024, 5, n, 9, 30, tzinfo=UTC),
        duration=600.4 + n,
        enclosure=Link(f"{base}/episode.mp3", "audio/mpeg", 4_800_000 + n),
        season=1, number=n,
        artwork=Link(f"{base}/cover.png", "image/png"),
        transcripts=(Link(f"{base}/transcript.srt", "application/x-subrip"),
                     Link(f"{base}/transcript.vtt", "text/vtt")),
        chapters=Link(f"{base}/chapters.json", "application/json+chapters"),
        people=("Sam", "Jo"))
    return dataclasses.replace(item, **changes)


ITEMS = (make_item(1), make_item(2), make_item(3))


def parse(xml: bytes):
    return etree.fromstring(xml)


def one(root, path: str):
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return found[0]


@pytest.fixture(scope="module")
def public_xml() -> bytes:
    return build_feed(make_show(), ITEMS)


@pytest.fixture(scope="module")
def private_xml() -> bytes:
    # The show's owner details are set on purpose: a private feed must drop them.
    return build_feed(make_show(private=True), ITEMS)


# --- the check agrees with the builder -------------------------------------------------

def test_a_public_feed_has_no_problems(public_xml):
    assert feed_problems(public_xml, private=False) == []


def test_a_private_feed_has_no_problems(private_xml):
    assert feed_problems(private_xml, private=True) == []


def test_a_feed_without_episodes_is_still_valid():
    assert feed_problems(build_feed(make_show(), []), private=False) == []
    assert feed_problems(build_feed(make_show(private=True), []), private=True) == []


def test_the_same_data_builds_the_same_bytes(public_xml):
    # The feed cache's ETag depends on it: no clock in the output.
    assert build_feed(make_show(), ITEMS[::-1]) == public_xml


# --- real clients' parsers -------------------------------------------------------------

def test_feedparser_reads_every_episode_without_warnings(public_xml):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = feedparser.parse(public_xml)
    assert caught == []
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Voices from Hope Street"
    assert parsed.feed.language == "en-GB"
    assert parsed.feed.image.href == f"{BASE}/artwork/show-3.jpg"
    assert [e.title for e in parsed.entries] == [i.title for i in ITEMS[::-1]]
    for entry, item in zip(parsed.entries, ITEMS[::-1], strict=True):
        assert entry.id == item.guid and entry.guidislink is False
        [enclosure] = entry.enclosures
        assert enclosure.href == item.enclosure.url
        assert enclosure.length == str(item.enclosure.length)
        assert enclosure.type == "audio/mpeg"
        assert entry.itunes_duration == str(round(item.duration))
        assert dt.datetime(*entry.published_parsed[:6], tzinfo=UTC) == item.published
        assert entry.content[0].value == item.description_html


def test_podcastparser_reads_every_episode_chapters_and_transcripts(public_xml, caplog):
    with caplog.at_level(logging.WARNING):
        parsed = podcastparser.parse(f"{BASE}/public.xml", io.BytesIO(public_xml))
    assert caplog.records == []
    assert parsed["title"] == "Voices from Hope Street"
    assert parsed["cover_url"] == f"{BASE}/artwork/show-3.jpg"
    assert parsed["itunes_categories"] == [["Society & Culture", "Documentary"]]
    assert parsed["itunes_owner"] == {"name": "Hope Street Trust", "email": OWNER}
    assert parsed["explicit"] is False and parsed["import_prohibited"] is True
    episodes = {e["guid"]: e for e in parsed["episodes"]}
    assert set(episodes) == {i.guid for i in ITEMS}
    for item in ITEMS:
        episode = episodes[item.guid]
        assert episode["enclosures"] == [{"url": item.enclosure.url,
                                          "file_size": item.enclosure.length,
                                          "mime_type": "audio/mpeg"}]
        assert episode["total_time"] == round(item.duration)
        assert episode["published"] == int(item.published.timestamp())
        assert episode["chapters_json_url"] == item.chapters.url
        # podcastparser keeps one transcript link; the XPath test checks both.
        assert episode["transcript_url"] in {t.url for t in item.transcripts}
        assert [p["name"] for p in episode["persons"]] == ["Sam", "Jo"]
        assert {p["role"] for p in episode["persons"]} == {"host"}
        assert (episode["season"], episode["number"]) == (item.season, item.number)
        assert episode["episode_art_url"] == item.artwork.url
        assert episode["explicit"] is False


def test_podcastparser_matches_the_golden_file(public_xml):
    parsed = podcastparser.parse(f"{BASE}/public.xml", io.BytesIO(public_xml))
    expected = json.loads((GOLDEN / "public_three_episodes.json").read_text("utf-8"))
    assert json.loads(json.dumps(parsed)) == expected


# --- every tag, by XPath ---------------------------------------------------------------

CHANNEL_TAGS = [
    ("title", "Voices from Hope Street"),
    ("link", "https://diary.example.org/listen/hope/"),
    ("description", "Stories told by the people who lived them."),
    ("language", "en-GB"),
    ("lastBuildDate", "Fri, 03 May 2024 09:30:00 +0000"),
    ("atom:link[@rel='self']/@href", f"{BASE}/public.xml"),
    ("atom:link[@rel='self']/@type", "application/rss+xml"),
    ("image/url", f"{BASE}/artwork/show-3.jpg"),
    ("itunes:image/@href", f"{BASE}/artwork/show-3.jpg"),
    ("itunes:author", "Hope Street Trust"),
    ("itunes:category/@text", "Society & Culture"),
    ("itunes:category/itunes:category/@text", "Documentary"),
    ("itunes:explicit", "false"),
    ("itunes:type", "episodic"),
    ("itunes:owner/itunes:name", "Hope Street Trust"),
    ("itunes:owner/itunes:email", OWNER),
    ("podcast:guid", "0a1d2c8e-5f2b-5d0e-9c11-6b7a8e9f0a1b"),
    ("podcast:locked", "yes"),
    ("podcast:locked/@owner", OWNER),
]


@pytest.mark.parametrize(("path", "expected"), CHANNEL_TAGS, ids=[p for p, _ in CHANNEL_TAGS])
def test_public_channel_tags(public_xml, path, expected):
    found = one(one(parse(public_xml), "/rss[@version='2.0']/channel"), path)
    assert (found if isinstance(found, str) else found.text) == expected


def test_public_feed_is_not_blocked(public_xml):
    channel = one(parse(public_xml), "channel")
    assert channel.xpath("itunes:block | podcast:block", namespaces=NS) == []


def test_every_item_tag(public_xml):
    items = parse(public_xml).xpath("channel/item")
    assert [i.findtext("guid") for i in items] == [i.guid for i in ITEMS[::-1]]  # newest first
    item, data = items[0], ITEMS[2]
    base = f"{BASE}/public/{data.guid}"

    def value(path):
        found = one(item, path)
        return found if isinstance(found, str) else found.text

    assert value("title") == "Episode 3: finding a room"
    assert value("link") == data.link
    assert value("guid") == data.guid and value("guid/@isPermaLink") == "false"
    assert value("pubDate") == "Fri, 03 May 2024 09:30:00 +0000"
    assert value("enclosure/@url") == f"{base}/episode.mp3"
    assert value("enclosure/@length") == "4800003"
    assert value("enclosure/@type") == "audio/mpeg"
    assert value("itunes:duration") == "603"
    assert value("itunes:explicit") == "false"
    assert value("itunes:image/@href") == f"{base}/cover.png"
    assert value("itunes:season") == "1" and value("itunes:episode") == "3"
    assert value("itunes:episodeType") == "full"
    assert value("podcast:season") == "1" and value("podcast:episode") == "3"
    assert value("podcast:chapters/@url") == f"{base}/chapters.json"
    assert value("podcast:chapters/@type") == "application/json+chapters"
    vtt = one(item, "podcast:transcript[@type='text/vtt']")
    assert dict(vtt.attrib) == {"url": f"{base}/transcript.vtt", "type": "text/vtt",
                                "language": "en-GB", "rel": "captions"}
    srt = one(item, "podcast:transcript[@type='application/x-subrip']")
    assert dict(srt.attrib) == {"url": f"{base}/transcript.srt",
                                "type": "application/x-subrip", "language": "en-GB"}
    people = item.xpath("podcast:person", namespaces=NS)
    assert [(p.text, p.get("role")) for p in people] == [("Sam", "host"), ("Jo", "host")]


def test_optional_item_tags_are_left_out_when_unknown():
    bare = make_item(1, season=None, number=None, artwork=None, transcripts=(),
                     chapters=None, people=(), description_html="")
    xml = build_feed(make_show(), [bare])
    item = one(parse(xml), "channel/item")
    for path in ("itunes:season", "itunes:episode", "podcast:season", "podcast:episode",
                 "itunes:image", "podcast:transcript", "podcast:chapters",
                 "podcast:person", "description", "content:encoded"):
        assert item.xpath(path, namespaces=NS) == [], path
    assert feed_problems(xml, private=False) == []


def test_explicit_is_true_or_false_on_show_and_episode():
    xml = build_feed(make_show(explicit=True), [make_item(1, explicit=True)])
    root = parse(xml)
    assert one(root, "channel/itunes:explicit").text == "true"
    assert one(root, "channel/item/itunes:explicit").text == "true"
    assert feed_problems(xml, private=False) == []


# --- private feeds ---------------------------------------------------------------------

def test_private_feed_blocks_directories_and_names_no_owner(private_xml):
    channel = one(parse(private_xml), "channel")
    assert one(channel, "itunes:block").text == "Yes"
    assert one(channel, "podcast:block").text == "yes"
    locked = one(channel, "podcast:locked")
    assert locked.text == "yes" and locked.attrib == {}
    assert channel.xpath("itunes:owner | managingEditor | webMaster", namespaces=NS) == []
    assert b"@" not in private_xml  # no e-mail address anywhere, owner's or other
    assert b"Hope Street Trust" in private_xml  # the author (the organisation) stays


def test_private_feed_still_lists_every_episode_for_podcast_apps(private_xml):
    parsed = podcastparser.parse(f"{BASE}/private.xml", io.BytesIO(private_xml))
    assert len(parsed["episodes"]) == len(ITEMS)
    assert "itunes_owner" not in parsed
    assert feedparser.parse(private_xml).bozo == 0


def test_private_feed_without_a_description_falls_back_to_the_title():
    xml = build_feed(make_show(private=True, description="  "), ITEMS)
    assert one(parse(xml), "channel/description").text == "Voices from Hope Street"
    assert feed_problems(xml, private=True) == []


# --- escaping --------------------------------------------------------------------------

def test_titles_and_names_with_markup_characters_round_trip():
    title = 'Rooms <b>& "keys"</b> & it\'s </title><script>alert(1)</script>'
    xml = build_feed(make_show(title=title, author="A & B <Trust>"),
                     [make_item(1, title=title, people=("Jo <the> & 'Kid'",))])
    assert b"<script>" not in xml and b"</title><script>" not in xml
    root = parse(xml)
    assert one(root, "channel/title").text == title
    assert one(root, "channel/item/title").text == title
    assert one(root, "channel/item/podcast:person").text == "Jo <the> & 'Kid'"
    assert one(root, "channel/itunes:author").text == "A & B <Trust>"
    assert feedparser.parse(xml).entries[0].title == title
    assert podcastparser.parse(BASE, io.BytesIO(xml))["episodes"][0]["title"] == title
    assert feed_problems(xml, private=False) == []


def test_show_notes_html_is_escaped_in_description_and_cdata_in_content():
    notes = '<p>Tea &amp; toast</p><ul><li>"quoted" &lt;not a tag&gt;</li></ul>'
    xml = build_feed(make_show(), [make_item(1, description_html=notes)])
    assert f"<content:encoded><![CDATA[{notes}]]></content:encoded>".encode() in xml
    assert b"<description>&lt;p&gt;Tea &amp;amp; toast&lt;/p&gt;" in xml
    item = one(parse(xml), "channel/item")
    assert one(item, "description").text == notes
    assert one(item, "content:encoded").text == notes
    assert podcastparser.parse(BASE, io.BytesIO(xml))["episodes"][0]["description_html"] \
        == notes


def test_notes_that_would_end_a_cdata_section_are_escaped_instead():
    notes = "<p>an odd line: ]]> and on</p>"
    xml = build_feed(make_show(), [make_item(1, description_html=notes)])
    assert b"<![CDATA[" not in xml
    assert one(parse(xml), "channel/item/content:encoded").text == notes
    assert feed_problems(xml, private=False) == []


# --- the check names each problem ------------------------------------------------------

def edited(xml: bytes, path: str, *, text: str | None = None,
           attr: tuple[str, str] | None = None, remove: bool = False) -> bytes:
    """The feed with the first element at ``path`` changed (for faults the builder
    itself cannot make)."""
    root = parse(xml)
    element = root.xpath(path, namespaces=NS)[0]
    if remove:
        element.getparent().remove(element)
    if text is not None:
        element.text = text
    if attr is not None:
        element.set(*attr)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def built(show=None, items=ITEMS) -> bytes:
    return build_feed(show or make_show(), items)


PUBLIC_FAULTS = [
    ("no artwork", lambda: built(make_show(artwork=None)), "no artwork"),
    ("artwork not jpg/png", lambda: built(make_show(artwork=Link(f"{BASE}/a.gif", "image/gif"))),
     "artwork address"),
    ("explicit yes", lambda: edited(built(), "channel/itunes:explicit", text="yes"),
     "<itunes:explicit> must be \"true\" or \"false\""),
    ("episode explicit clean",
     lambda: edited(built(), "channel/item/itunes:explicit", text="clean"),
     "The episode \"Episode 3: finding a room\"'s <itunes:explicit>"),
    ("no description", lambda: built(make_show(description="")), "no description"),
    ("no owner e-mail", lambda: built(make_show(owner_email=None)), None),
    ("owner e-mail not an address",
     lambda: edited(built(), "channel/itunes:owner/itunes:email", text="trust at hope"),
     "no valid e-mail address (<itunes:email>)"),
    ("owner without a name",
     lambda: edited(built(), "channel/itunes:owner/itunes:name", text=" "),
     "owner has no name"),
    ("not an Apple category", lambda: built(make_show(category="Homelessness")),
     "\"Homelessness\" is not an Apple Podcasts category"),
    ("wrong subcategory", lambda: built(make_show(subcategory="Rugby")),
     "\"Rugby\" is not a subcategory of \"Society & Culture\""),
    ("bad language",  # (transcripts would each repeat it: their language is the show's)
     lambda: built(make_show(language="English"), [make_item(1, transcripts=())]),
     "<language>"),
    ("no author", lambda: built(make_show(author="", owner_name="Trust")), "no author"),
    ("podcast:guid not a UUID", lambda: built(make_show(guid="hope-street")), "<podcast:guid>"),
    ("no self link", lambda: edited(built(), "channel/atom:link", remove=True),
     "atom:link rel=\"self\""),
    ("enclosure length zero",
     lambda: built(items=[make_item(1, enclosure=Link(f"{BASE}/e.mp3", "audio/mpeg", 0))]),
     "enclosure length"),
    ("enclosure length unknown",
     lambda: built(items=[make_item(1, enclosure=Link(f"{BASE}/e.mp3", "audio/mpeg"))]),
     "enclosure length"),
    ("enclosure length a word",
     lambda: edited(built(), "channel/item/enclosure", attr=("length", "unknown")),
     "enclosure length"),
    ("enclosure not audio",
     lambda: built(items=[make_item(1, enclosure=Link(f"{BASE}/e.flv", "video/x-flv", 9))]),
     "enclosure type"),
    ("relative enclosure url",
     lambda: built(items=[make_item(1, enclosure=Link("/e.mp3", "audio/mpeg", 9))]),
     "enclosure url"),
    ("guid used twice", lambda: built(items=[make_item(1), make_item(2, guid=ITEMS[0].guid)]),
     "same <guid>"),
    ("guid a permalink",
     lambda: edited(built(), "channel/item/guid", attr=("isPermaLink", "true")),
     "isPermaLink=\"false\""),
    ("pubDate not RFC 822",
     lambda: edited(built(), "channel/item/pubDate", text="2024-05-03T09:30:00Z"),
     "<pubDate>"),
    ("duration not whole seconds",
     lambda: edited(built(), "channel/item/itunes:duration", text="10:03"),
     "<itunes:duration> must be whole seconds"),
    ("chapters type",
     lambda: built(items=[make_item(1, chapters=Link(f"{BASE}/c.json", "application/json"))]),
     "chapters type must be application/json+chapters"),
    ("transcript type",
     lambda: built(items=[make_item(1, transcripts=(Link(f"{BASE}/t.doc", "text/doc"),))]),
     "transcript type \"text/doc\""),
    ("episode artwork gif",
     lambda: built(items=[make_item(1, artwork=Link(f"{BASE}/c.gif", "image/gif"))]),
     "artwork must be"),
    ("person name too long", lambda: built(items=[make_item(1, people=("x" * 129,))]),
     "<podcast:person>"),
    ("episode number a word",
     lambda: edited(built(), "channel/item/podcast:episode", text="two"), "<podcast:episode>"),
    ("season zero", lambda: built(items=[make_item(1, season=0)]),
     "season> must be a whole number from 1"),
    ("public feed blocked",
     lambda: built().replace(b"<itunes:type>",
                             b"<itunes:block>Yes</itunes:block><itunes:type>"),
     "asks Apple to hide it"),
]


@pytest.mark.parametrize(("make", "expected"), [f[1:] for f in PUBLIC_FAULTS],
                         ids=[f[0] for f in PUBLIC_FAULTS])
def test_check_names_each_public_problem(make, expected):
    problems = feed_problems(make(), private=False)
    if expected is None:  # no owner e-mail: Apple's owner and podcast:locked's owner
        assert problems == [
            "The show has no owner (<itunes:owner>): Apple e-mails its owner to confirm "
            "who owns the show.",
            "<podcast:locked> needs the owner's e-mail address in its owner attribute."]
    else:
        assert len(problems) == 1, problems
        assert expected in problems[0]


def test_a_public_feed_checked_as_private_leaks_the_owner(public_xml):
    problems = feed_problems(public_xml, private=True)
    assert "A private feed must not name an owner (<itunes:owner>)." in problems
    assert "A private feed must not carry an e-mail address (in <itunes:email>)." in problems
    assert ("A private feed must not carry an e-mail address (in <podcast:locked owner>)."
            in problems)
    assert "A private feed needs <itunes:block>Yes</itunes:block>." in problems
    assert "A private feed needs <podcast:block>yes</podcast:block>." in problems
    assert not any(OWNER in p for p in problems)  # the messages name tags, not addresses


def test_an_e_mail_address_anywhere_in_a_private_feed_is_a_problem():
    xml = build_feed(make_show(private=True),
                     [make_item(1, description_html="<p>Write to jo@example.org</p>")])
    assert feed_problems(xml, private=True) == [
        "A private feed must not carry an e-mail address (in <description>).",
        "A private feed must not carry an e-mail address (in <content:encoded>)."]


def test_a_private_feed_without_blocks_is_a_problem(private_xml):
    unblocked = edited(edited(private_xml, "channel/itunes:block", remove=True),
                       "channel/podcast:block", text="no")
    assert feed_problems(unblocked, private=True) == [
        "A private feed needs <itunes:block>Yes</itunes:block>.",
        "A private feed needs <podcast:block>yes</podcast:block>."]
    unlocked = edited(private_xml, "channel/podcast:locked", text="no")
    assert feed_problems(unlocked, private=True) == [
        "A private feed needs <podcast:locked>yes</podcast:locked>."]


@pytest.mark.parametrize(("xml", "expected"), [
    (b"<rss version='2.0'><channel><title>x</title>", "not well-formed XML"),
    (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "not RSS 2.0"),
    (b"<rss version='2.0'/>", "exactly one <channel>"),
])
def test_check_refuses_what_is_not_an_rss_feed(xml, expected):
    [problem] = feed_problems(xml, private=False)
    assert expected in problem


def test_check_does_not_expand_entities():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<rss version="2.0"><channel><title>&b;</title></channel></rss>')
    problems = feed_problems(bomb, private=False)
    assert "The show has no title (<title>)." in problems


def test_check_accepts_the_canonical_podcast_namespace(public_xml):
    canonical = public_xml.replace(ext.PODCAST_NS.encode(),
                                   b"https://podcastindex.org/namespace/1.0")
    assert canonical != public_xml
    assert feed_problems(canonical, private=False) == []
    assert "podcast:guid" in feed_problems(
        edited(canonical, "channel/*[local-name()='guid']", text="nope"), private=False)[0]


def test_doctests():
    for module in (build, check, ext):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert sum(doctest.testmod(m).attempted for m in (build, check, ext)) >= 5
