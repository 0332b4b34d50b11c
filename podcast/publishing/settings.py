"""The show's details as staff edit them: what every feed says about the podcast.

``clean_details`` checks a form's words (pure); ``save_show`` adds the artwork, stores
it and marks every feed out of date. What people type ends up in XML read by podcast
apps and directories, so control characters are taken out (XML cannot hold them, and a
feed that fails to build would stop every listener's app).
"""
from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any, BinaryIO

from babel import Locale, UnknownLocaleError

from diaryroom import keys
from diaryroom.adapters import get_private_storage
from diaryroom.errors import InvalidInput
from diaryroom.extensions import db

# The feed check's own rules, so that what is saved here passes it.
from ..feeds.check import APPLE_CATEGORIES, is_web_url
from ..feeds.check import EMAIL as FEED_EMAIL
from ..studio.assets import prepare_cover
from .models import Show
from .show import feed_changed, show_for

CATEGORY_SEPARATOR = "|"  # in the form's value "Category|Subcategory"; no name has one

# Limits: the columns' sizes, and Apple's 4000 characters for a description.
MAX_TITLE, MAX_NAME, MAX_EMAIL, MAX_LINK, MAX_DESCRIPTION = 200, 200, 254, 500, 4000
LANGUAGE = re.compile(r"([a-z]{2,3})(?:-([a-z]{2}))?")
# C0 controls but tab and newline, DEL and C1 controls: never valid in a feed's text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
TEXT_FIELDS = ("title", "description", "language", "category", "author", "owner_name",
               "owner_email", "link")


class ShowDetailsInvalid(InvalidInput):
    """One message per field that needs changing, so the page can say each beside it."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(" ".join(problems.values()), code="invalid_show_details")
        self.problems = problems


def category_value(category: str, subcategory: str | None) -> str:
    """The form's value for a category and subcategory.

    >>> category_value("Society & Culture", "Documentary")
    'Society & Culture|Documentary'
    """
    return category + (CATEGORY_SEPARATOR + subcategory if subcategory else "")


def parse_category(value: str) -> tuple[str, str | None] | None:
    """``(category, subcategory)`` if the value names one of Apple's, else None.

    >>> parse_category("Arts|Books"), parse_category("History"), parse_category("Arts|News")
    (('Arts', 'Books'), ('History', None), None)
    """
    category, _, subcategory = value.partition(CATEGORY_SEPARATOR)
    if category not in APPLE_CATEGORIES:
        return None
    if subcategory and subcategory not in APPLE_CATEGORIES[category]:
        return None
    return category, subcategory or None


def parse_language(value: str) -> str | None:
    """A language code as feeds write it (``en-GB``, ``cy``), or None if it is not one.

    >>> parse_language("EN-gb"), parse_language("cy"), parse_language("en-ZZ")
    ('en-GB', 'cy', None)
    """
    match = LANGUAGE.fullmatch(value.strip().lower())
    if not match:
        return None
    language, region = match.group(1), match.group(2)
    try:
        # Babel fills in a likely region for an unknown one (en-ZZ -> en_US): refuse that.
        locale = Locale.parse(language + (f"_{region.upper()}" if region else ""))
    except (UnknownLocaleError, ValueError):
        return None
    if locale.language != language or (region and locale.territory != region.upper()):
        return None
    return language + (f"-{region.upper()}" if region else "")


def _text(form: Mapping[str, Any], name: str, *, lines: bool = False) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not lines:
        text = " ".join(text.split())
    return text.strip()


def clean_details(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The show's details from a form, and a message for each field that needs changing
    (pure: nothing is read or written)."""
    values: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    values["description"] = _text(form, "description", lines=True)
    values["explicit"] = form.get("explicit") in ("1", "on", "yes", "true", True)
    problems: dict[str, str] = {}

    def too_long(name: str, limit: int, what: str) -> None:
        if len(values[name]) > limit:
            problems[name] = (f"The {what} is too long ({len(values[name]):,} characters). "
                              f"Please keep it under {limit:,}.")

    if not values["title"]:
        problems["title"] = "Give the show a title."
    too_long("title", MAX_TITLE, "title")
    too_long("description", MAX_DESCRIPTION, "description")
    if not values["author"]:
        problems["author"] = "Say who makes the show, for example your organisation's name."
    too_long("author", MAX_NAME, "name of who makes the show")
    too_long("owner_name", MAX_NAME, "contact name")
    language = parse_language(values["language"])
    if language is None:
        problems["language"] = ("This is not a language code we know. Use a code like "
                                "en-GB for English or cy for Welsh.")
    else:
        values["language"] = language
    category = parse_category(values.pop("category"))
    if category is None:
        problems["category"] = "Choose a category from the list."
    else:
        values["category"], values["subcategory"] = category
    email = values["owner_email"].lower()
    if email and (len(email) > MAX_EMAIL or not FEED_EMAIL.fullmatch(email)):
        problems["owner_email"] = ("This is not an email address. Check it and try again, "
                                   "for example podcast@example.org.")
    values["owner_email"] = email or None
    link = values["link"]
    if link and (len(link) > MAX_LINK or not is_web_url(link)):
        problems["link"] = ("This is not a web address. It must start with https://, for "
                            "example https://example.org/podcast.")
    values["link"] = link or None
    values["owner_name"] = values["owner_name"] or None
    return values, problems


def public_needs(show: Show) -> list[str]:
    """What the public feed still needs before an episode may be shared with everyone
    (podcast directories refuse a feed without them)."""
    needs = []
    if not show.description:
        needs.append("a description")
    if not show.artwork_key:
        needs.append("artwork")
    if not show.owner_email:
        needs.append("a contact email")
    return needs


def save_show(org_id: int, form: Mapping[str, Any], artwork: BinaryIO | None = None) -> Show:
    """Change the show's details (and its artwork, when one is sent), mark every feed out
    of date, and commit. Raises ``ShowDetailsInvalid`` naming each field to change;
    nothing is saved then."""
    values, problems = clean_details(form)
    picture = None
    if artwork is not None:
        try:
            picture, mimetype = prepare_cover(artwork)
        except InvalidInput as e:
            problems["artwork"] = str(e)
    if problems:
        raise ShowDetailsInvalid(problems)
    show = show_for(org_id)
    old = show.artwork_key
    if picture is not None:
        # A new name per change, so podcast apps that cache artwork by URL see the change.
        name = f"artwork-{show.feed_version + 1}.{'png' if mimetype == 'image/png' else 'jpg'}"
        values["artwork_key"] = keys.show_artwork(org_id, name)
        values["artwork_type"] = mimetype
        get_private_storage().put(values["artwork_key"], io.BytesIO(picture))
    try:
        for name, value in values.items():
            setattr(show, name, value)
        feed_changed(org_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        if picture is not None and values["artwork_key"] != old:
            get_private_storage().delete(values["artwork_key"])
        raise
    if picture is not None and old and old != show.artwork_key:
        get_private_storage().delete(old)
    return show

