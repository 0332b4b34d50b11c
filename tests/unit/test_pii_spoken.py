"""The spoken-number reader: number words, digits and letters to the characters meant."""
from __future__ import annotations

import doctest
import importlib

import pytest

from diaryroom.pii.spoken import Reading, is_readable, letter, pieces, read


@pytest.mark.parametrize(("said", "text"), [
    ("oh seven seven double oh nine hundred one two three", "07700900123"),
    ("zero seven seven zero zero nine zero zero one two three", "07700900123"),
    ("07700 nine double oh one two three", "07700900123"),
    ("oh one six one triple four nought", "01614440"),
    ("treble seven", "777"),
    ("nine four three four seven six five nine one nine", "9434765919"),
    ("twenty two", "22"),
    ("twenty-two", "22"),
    ("forty two", "42"),
    ("eleven", "11"),
    ("nineteen eighty five", "1985"),
    ("twenty oh five", "2005"),
    ("twenty twenty three", "2023"),
    ("a hundred", "100"),
    ("nine hundred and one", "901"),
    ("nine hundred twenty three", "923"),
    ("nine hundred one two three", "900123"),  # a bare digit after "hundred" stays a digit
    ("5 hundred", "500"),
    ("q q one two three four five six c", "QQ123456C"),
    ("ess double-u one ay one ay ay", "SW1A1AA"),
    ("em one one ay ee", "M11AE"),
    ("m1 1ae", "M11AE"),
    ("SW1A 1AA", "SW1A1AA"),
    ("QQ 12 34 56 C", "QQ123456C"),
    ("double u", "W"),
    ("double you", "W"),
])
def test_reads_what_was_said(said: str, text: str) -> None:
    reading = read(said.replace("-", " ").split())
    assert reading == Reading(text, quantity=False)


@pytest.mark.parametrize(("said", "text"), [
    ("two thousand and five", "2005"),
    ("one hundred and twenty five thousand", "125000"),
    ("two thousand five hundred", "2500"),
    ("a million", "1000000"),
    ("150 thousand", "150000"),
])
def test_thousands_and_millions_are_quantities(said: str, text: str) -> None:
    assert read(said.split()) == Reading(text, quantity=True)


@pytest.mark.parametrize("said", [
    "hundred", "double", "double the", "nine hundred and", "i will go", "my", "see you",
    "five pounds", "",
])
def test_what_is_not_a_number_reads_as_none(said: str) -> None:
    assert read(said.split()) is None


def test_pieces_keep_spoken_numbers_whole() -> None:
    found = pieces("twenty two double oh nine hundred and twenty x".split())
    assert [(p.first, p.last, p.text) for p in found if p] == [
        (0, 1, "22"), (2, 3, "00"), (4, 7, "920"), (8, 8, "X")]


def test_pieces_mark_unreadable_words() -> None:
    found = pieces("one and two".split())
    assert found[0] is not None and found[0].text == "1"
    assert found[1] is None  # "and" belongs to a number only after hundred or thousand
    assert found[2] is not None and found[2].text == "2"


@pytest.mark.parametrize(("word", "expected"), [
    ("q", "Q"), ("Q", "Q"), ("ess", "S"), ("zed", "Z"), ("aitch", "H"),
    ("oh", None), ("o", None),  # zero, not the letter
    ("see", None), ("you", None), ("why", None),  # everyday words, never letters
    ("ł", None),
])
def test_letter_names(word: str, expected: str | None) -> None:
    assert letter(word) == expected


@pytest.mark.parametrize(("word", "readable"), [
    ("07700", True), ("nine", True), ("double", True), ("SW1A", True), ("QQ", True),
    ("qq", True), ("is", False), ("my", False), ("house", False), ("żółw", False),
])
def test_is_readable(word: str, readable: bool) -> None:
    assert is_readable(word) is readable


@pytest.mark.parametrize("module", [
    "diaryroom.pii.spoken", "diaryroom.pii.identifiers", "diaryroom.pii.addresses",
    "diaryroom.pii.birth", "diaryroom.pii.emails", "diaryroom.pii.local", "diaryroom.pii.names",
    "diaryroom.pii.engine", "diaryroom.pii.cues", "diaryroom.pii.organisations",
])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
