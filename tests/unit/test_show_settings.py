"""The show settings' checks, pure: what a form may say before it reaches a feed."""
from __future__ import annotations

import doctest

import pytest

from podcast.publishing import settings
from podcast.publishing.settings import clean_details

FORM = {"title": "Voices", "description": "Stories.", "language": "en-gb",
        "category": "History", "author": "Hope House", "owner_name": "",
        "owner_email": "", "link": ""}


def test_doctests():
    result = doctest.testmod(settings)
    assert result.failed == 0 and result.attempted >= 3


def test_a_good_form_is_cleaned_for_the_feed():
    values, problems = clean_details({**FORM, "title": "  Voices \t from\n the  centre ",
                                      "description": "One\r\n\r\nTwo\x0c", "explicit": "1",
                                      "owner_email": " Podcast@Hope.Example.org",
                                      "category": "Arts|Books"})
    assert problems == {}
    assert values == {
        "title": "Voices from the centre", "description": "One\n\nTwo", "language": "en-GB",
        "category": "Arts", "subcategory": "Books", "author": "Hope House",
        "owner_name": None, "owner_email": "podcast@hope.example.org", "link": None,
        "explicit": True}


def test_a_category_alone_has_no_subcategory_and_unticked_is_not_explicit():
    values, problems = clean_details(FORM)
    assert problems == {} and values["subcategory"] is None and values["explicit"] is False


@pytest.mark.parametrize(("field", "value"), [
    ("title", ""), ("title", "x" * 201), ("description", "x" * 4001), ("author", " "),
    ("language", "english"), ("language", "xx"), ("language", "en-ZZ"),
    ("category", ""), ("category", "Arts|Tennis"), ("category", "Podcasts"),
    ("owner_email", "no-at-sign"), ("owner_email", "<b>x</b>@a.example.org"),
    ("owner_email", "a@b"), ("link", "example.org"), ("link", "javascript:alert(1)"),
    ("owner_name", "x" * 201),
])
def test_each_bad_field_gets_its_own_message(field, value):
    _, problems = clean_details({**FORM, field: value})
    assert list(problems) == [field]
    assert problems[field].endswith(".") and problems[field][0].isupper()


def test_text_no_feed_can_hold_is_taken_out():
    values, problems = clean_details({**FORM, "title": "A\x00B\x1bC\x7fD\x85E",
                                      "author": "\x08Hope"})
    assert problems == {} and (values["title"], values["author"]) == ("ABCDE", "Hope")


def test_what_is_not_text_counts_as_empty():
    _, problems = clean_details({**FORM, "title": ["a list"]})
    assert list(problems) == ["title"]
