"""A schema-level check of a built feed: the RSS, iTunes and Podcasting 2.0 tags that
must be there, their allowed values and attribute types, and what a private feed must
never carry. It reads the XML (not the data it was built from), so it checks what
podcast apps will actually see.

``feed_problems`` answers sentences a staff member can act on; an empty list means the
feed is fine. Tests use it, ``diaryroom feeds rebuild`` prints it, and publishing to the
public feed is refused while it names a problem.
"""
from __future__ import annotations

import re
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml import etree

from .ext import ITUNES_NS, PODCAST_NS, PODCAST_NS_ALIASES

ATOM_NS = "http://www.w3.org/2005/Atom"

# Apple Podcasts' categories and their subcategories (podcasters.apple.com, 2019 list).
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts",
             "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing",
                 "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health",
                         "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals",
                      "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games",
                "Hobbies", "Home & Garden", "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary",
             "Politics", "Sports News", "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism",
                                "Religion", "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
                "Natural Sciences", "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy",
                          "Places & Travel", "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf",
               "Hockey", "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball",
               "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews",
                  "TV Reviews"),
}
AUDIO_TYPES = frozenset({"audio/mpeg", "audio/x-m4a", "audio/mp4", "audio/aac"})
TRANSCRIPT_TYPES = frozenset({"text/vtt", "application/x-subrip", "application/srt",
                              "text/plain", "text/html", "application/json"})
CHAPTERS_TYPE = "application/json+chapters"
ARTWORK_SUFFIXES = (".jpg", ".jpeg", ".png")
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)+")
PERSON_MAX = 128  # characters; aggregators may truncate longer names

# Never fetch a DTD, expand an entity or reach the network while reading a feed.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False)


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL.

    >>> is_web_url("https://example.org/a.mp3"), is_web_url("/feeds/a.mp3")
    (True, False)
    >>> is_web_url("javascript:alert(1)")
    False
    """
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_artwork_url(value: str) -> bool:
    """An absolute URL whose path ends in .jpg, .jpeg or .png (a query may follow).

    >>> is_artwork_url("https://example.org/show/cover.png?v=3")
    True
    >>> is_artwork_url("https://example.org/show/cover.gif")
    False
    """
    return is_web_url(value) and urlsplit(value).path.lower().endswith(ARTWORK_SUFFIXES)


def feed_problems(xml: bytes, *, private: bool) -> list[str]:
    """Every problem found in the feed, in document order; [] when it is fine."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        return [f"The feed is not well-formed XML ({error.msg})."]
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["The feed is not RSS 2.0 (<rss version=\"2.0\">)."]
    channels = root.findall("channel")
    if len(channels) != 1:
        return ["The feed must have exactly one <channel>."]
    ns = {"itunes": ITUNES_NS, "atom": ATOM_NS, "podcast": _podcast_ns(root)}
    channel = channels[0]
    problems = _channel_problems(channel, ns, private=private)
    problems += _private_problems(root, ns) if private else _public_problems(channel, ns)
    seen: set[str] = set()
    for number, item in enumerate(channel.findall("item"), start=1):
        problems += _item_problems(item, ns, number, seen)
    return problems


def _podcast_ns(root) -> str:
    """The podcast namespace URI the feed declares (the spec allows two)."""
    for uri in root.nsmap.values():
        if uri in PODCAST_NS_ALIASES:
            return uri
    return PODCAST_NS


def _text(parent, path: str, ns: dict[str, str]) -> str | None:
    """The stripped text of the first match, or None when there is no such element."""
    element = parent.find(path, ns)
    return None if element is None else (element.text or "").strip()


def _channel_problems(channel, ns: dict[str, str], *, private: bool) -> list[str]:
    problems = []
    if not _text(channel, "title", ns):
        problems.append("The show has no title (<title>).")
    if not _text(channel, "description", ns):
        problems.append("The show has no description (<description>).")
    if not is_web_url(_text(channel, "link", ns) or ""):
        problems.append("The show's <link> is not an absolute web address.")
    language = _text(channel, "language", ns)
    if not language or not LANGUAGE.fullmatch(language):
        problems.append("The show's <language> is missing or not a language code "
                        "such as en-GB.")
    self_links = channel.xpath("atom:link[@rel='self']", namespaces=ns)
    if len(self_links) != 1 or not is_web_url(self_links[0].get("href", "")):
        problems.append("The feed needs one <atom:link rel=\"self\"> with its own "
                        "absolute address.")

    image = channel.find("itunes:image", ns)
    if image is not None and not is_artwork_url(image.get("href", "")):
        problems.append("The show's artwork address (<itunes:image href>) must be an "
                        "absolute URL of a .jpg or .png file.")
    elif image is None and not private:
        problems.append("The show has no artwork (<itunes:image>): upload a square "
                        "JPEG or PNG of 1400 to 3000 pixels.")
    problems += _category_problems(channel, ns)
    explicit = _text(channel, "itunes:explicit", ns)
    if explicit not in ("true", "false"):
        problems.append("The show's <itunes:explicit> must be \"true\" or \"false\".")
    kind = _text(channel, "itunes:type", ns)
    if kind is not None and kind not in ("episodic", "serial"):
        problems.append("<itunes:type> must be \"episodic\" or \"serial\".")

    guid = _text(channel, "podcast:guid", ns)
    if not guid or not _is_uuid(guid):
        problems.append("The show's <podcast:guid> is missing or not a UUID.")
    locked = channel.findall("podcast:locked", ns)
    if len(locked) != 1 or (locked[0].text or "").strip() not in ("yes", "no"):
        problems.append("The feed needs one <podcast:locked> of \"yes\" or \"no\".")
    return problems


def _category_problems(channel, ns: dict[str, str]) -> list[str]:
    categories = channel.findall("itunes:category", ns)
    if not categories:
        return ["The show has no Apple Podcasts category (<itunes:category>)."]
    problems = []
    for category in categories:
        name = category.get("text", "")
        if name not in APPLE_CATEGORIES:
            problems.append(f"\"{name}\" is not an Apple Podcasts category.")
            continue
        for sub in category.findall("itunes:category", ns):
            if sub.get("text", "") not in APPLE_CATEGORIES[name]:
                problems.append(f"\"{sub.get('text', '')}\" is not a subcategory of "
                                f"\"{name}\".")
    return problems


def _public_problems(channel, ns: dict[str, str]) -> list[str]:
    """Apple's owner and author, and no request to be hidden from directories."""
    problems = []
    if not _text(channel, "itunes:author", ns):
        problems.append("The show has no author (<itunes:author>).")
    if channel.find("itunes:owner", ns) is None:
        problems.append("The show has no owner (<itunes:owner>): Apple e-mails its "
                        "owner to confirm who owns the show.")
    else:
        if not _text(channel, "itunes:owner/itunes:name", ns):
            problems.append("The show's owner has no name (<itunes:name>).")
        if not EMAIL.fullmatch(_text(channel, "itunes:owner/itunes:email", ns) or ""):
            problems.append("The show's owner has no valid e-mail address "
                            "(<itunes:email>).")
    locked = channel.find("podcast:locked", ns)
    if locked is not None and not EMAIL.fullmatch(locked.get("owner", "")):
        problems.append("<podcast:locked> needs the owner's e-mail address in its owner "
                        "attribute.")
    if _text(channel, "itunes:block", ns) == "Yes":
        problems.append("The public feed asks Apple to hide it (<itunes:block>).")
    if any((b.text or "").strip() == "yes" for b in channel.findall("podcast:block", ns)):
        problems.append("The public feed asks directories to hide it (<podcast:block>).")
    return problems


def _private_problems(root, ns: dict[str, str]) -> list[str]:
    """Neutral metadata: no owner, no e-mail address anywhere, and every directory told
    to leave the feed alone."""
    channel = root.find("channel")
    problems = []
    for tag in ("itunes:owner", "managingEditor", "webMaster"):
        if channel.find(tag, ns) is not None:
            problems.append(f"A private feed must not name an owner (<{tag}>).")
    for element in root.iter(etree.Element):
        places = [(None, element.text or "")] + list(element.attrib.items())
        for attribute, value in places:
            if EMAIL.search(value):
                where = _prefixed(element) + (f" {attribute}" if attribute else "")
                problems.append(f"A private feed must not carry an e-mail address "
                                f"(in <{where}>).")
    if _text(channel, "itunes:block", ns) != "Yes":
        problems.append("A private feed needs <itunes:block>Yes</itunes:block>.")
    blocks = channel.xpath("podcast:block[not(@id)]", namespaces=ns)
    if not blocks or (blocks[0].text or "").strip() != "yes":
        problems.append("A private feed needs <podcast:block>yes</podcast:block>.")
    if _text(channel, "podcast:locked", ns) != "yes":
        problems.append("A private feed needs <podcast:locked>yes</podcast:locked>.")
    return problems


def _item_problems(item, ns: dict[str, str], number: int, seen: set[str]) -> list[str]:
    title = _text(item, "title", ns)
    name = f"The episode \"{title}\"" if title else f"Episode {number} of the feed"
    problems = [] if title else [f"{name} has no title."]

    guid = item.find("guid")
    text = (guid.text or "").strip() if guid is not None else ""
    if not text or any(c.isspace() for c in text):
        problems.append(f"{name} has no <guid>, or one with spaces in it.")
    elif text in seen:
        problems.append(f"{name} has the same <guid> as an earlier episode.")
    elif guid.get("isPermaLink") != "false":
        problems.append(f"{name}'s <guid> needs isPermaLink=\"false\".")
    seen.add(text)

    enclosures = item.findall("enclosure")
    if len(enclosures) != 1:
        problems.append(f"{name} needs exactly one <enclosure>.")
    else:
        enclosure = enclosures[0]
        if not is_web_url(enclosure.get("url", "")):
            problems.append(f"{name}'s enclosure url is not an absolute web address.")
        if not enclosure.get("length", "").isdigit() or int(enclosure.get("length")) <= 0:
            problems.append(f"{name}'s enclosure length must be its size in bytes.")
        if enclosure.get("type") not in AUDIO_TYPES:
            problems.append(f"{name}'s enclosure type is not an audio type Apple "
                            "accepts (audio/mpeg).")
    if not _is_rfc822(_text(item, "pubDate", ns)):
        problems.append(f"{name}'s <pubDate> is missing or not an RFC 822 date with a "
                        "time zone.")
    duration = _text(item, "itunes:duration", ns)
    if duration is None or not duration.isdigit():
        problems.append(f"{name}'s <itunes:duration> must be whole seconds.")
    problems += _item_itunes_problems(item, ns, name)
    problems += _item_podcast_problems(item, ns, name)
    return problems


def _item_itunes_problems(item, ns: dict[str, str], name: str) -> list[str]:
    problems = []
    if _text(item, "itunes:explicit", ns) not in (None, "true", "false"):
        problems.append(f"{name}'s <itunes:explicit> must be \"true\" or \"false\".")
    image = item.find("itunes:image", ns)
    if image is not None and not is_artwork_url(image.get("href", "")):
        problems.append(f"{name}'s artwork must be an absolute URL of a .jpg or .png.")
    for tag in ("itunes:season", "itunes:episode", "podcast:season"):
        value = _text(item, tag, ns)
        if value is not None and (not value.isdigit() or int(value) == 0):
            problems.append(f"{name}'s <{tag}> must be a whole number from 1.")
    episode_type = _text(item, "itunes:episodeType", ns)
    if episode_type not in (None, "full", "trailer", "bonus"):
        problems.append(f"{name}'s <itunes:episodeType> must be full, trailer or bonus.")
    return problems


def _item_podcast_problems(item, ns: dict[str, str], name: str) -> list[str]:
    problems = []
    for transcript in item.findall("podcast:transcript", ns):
        if not is_web_url(transcript.get("url", "")):
            problems.append(f"{name}'s transcript url is not an absolute web address.")
        if transcript.get("type") not in TRANSCRIPT_TYPES:
            problems.append(f"{name}'s transcript type \"{transcript.get('type')}\" is not "
                            "one podcast apps read (text/vtt, application/x-subrip).")
        if transcript.get("rel") not in (None, "captions"):
            problems.append(f"{name}'s transcript rel may only be \"captions\".")
        language = transcript.get("language")
        if language is not None and not LANGUAGE.fullmatch(language):
            problems.append(f"{name}'s transcript language is not a language code.")
    chapters = item.findall("podcast:chapters", ns)
    if len(chapters) > 1:
        problems.append(f"{name} has more than one <podcast:chapters>.")
    for link in chapters:
        if not is_web_url(link.get("url", "")):
            problems.append(f"{name}'s chapters url is not an absolute web address.")
        if link.get("type") != CHAPTERS_TYPE:
            problems.append(f"{name}'s chapters type must be {CHAPTERS_TYPE}.")
    for person in item.findall("podcast:person", ns):
        if not 0 < len((person.text or "").strip()) <= PERSON_MAX:
            problems.append(f"{name} has a <podcast:person> with no name or one longer "
                            f"than {PERSON_MAX} characters.")
    episode = _text(item, "podcast:episode", ns)
    if episode is not None and not re.fullmatch(r"\d+(\.\d+)?", episode):
        problems.append(f"{name}'s <podcast:episode> must be a number.")
    return problems


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_rfc822(value: str | None) -> bool:
    """A pubDate podcast apps can read: RFC 822 with an explicit zone.

    >>> _is_rfc822("Wed, 01 May 2024 10:00:00 +0000"), _is_rfc822("2024-05-01T10:00Z")
    (True, False)
    """
    if not value:
        return False
    try:
        return parsedate_to_datetime(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _prefixed(element) -> str:
    """An element's name as written in the feed (itunes:email, not {uri}email)."""
    name = etree.QName(element).localname
    return f"{element.prefix}:{name}" if element.prefix else name
