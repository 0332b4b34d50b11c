"""Numbers as Whisper writes them (issue 12, item 2): digit groups however joined, redacted
whole from five digits; a redaction touching part of a run takes all of it; postcodes and
NI numbers spelt or regrouped. Pure: no model."""
from __future__ import annotations

import doctest

import pytest

from diaryroom.domain.redaction import Span
from diaryroom.pii import runs
from diaryroom.pii.runs import find_number_runs, find_shapes, number_runs, widen_to_runs


def found(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.type) for s in spans]


# The shapes measured in issue 12 (espeak-ng through Whisper base), and their relatives.
@pytest.mark.parametrize(("text", "number"), [
    ("yeah so it's 0161 to 496, 018 and that's it", "0161 to 496, 018"),  # measured
    ("so 07700 900 416 ,001 thanks", "07700 900 416 ,001"),  # measured: the tail stays on
    ("the code was 416 ,001 ok", "416 ,001"),  # the tail alone is still six digits
    ("it's 0161-496-0018 yeah", "0161-496-0018"),
    ("it's 943.476.5919 yeah", "943.476.5919"),
    ("ring 0161 too 496 for 0018 ok", "0161 too 496 for 0018"),
    ("ring (0161) 496 0018 ok", "0161) 496 0018"),
    ("ring +44 7700 900123 ok", "+44 7700 900123"),
    ("it was 0161 496 and 0018 they said", "0161 496 and 0018"),
    ("it's 12345", "12345"),  # five digits: the threshold, one under the old six
])
def test_written_runs_are_redacted_whole(text: str, number: str) -> None:
    assert [t for t, _ in found(text, find_number_runs(text))] == [number]


@pytest.mark.parametrize(("text", "number"), [
    ("oh one six one to four nine six, oh one eight",
     "oh one six one to four nine six, oh one eight"),
    ("oh seven seven double oh, nine double oh, one two three",
     "oh seven seven double oh, nine double oh, one two three"),
    ("oh one six one treble four nought", "oh one six one treble four nought"),
    ("call 0161 four nine six oh oh one eight now", "0161 four nine six oh oh one eight"),
    ("it's one two, three four five", "one two, three four five"),
])
def test_spoken_runs_are_redacted_whole(text: str, number: str) -> None:
    assert [t for t, _ in found(text, find_number_runs(text))] == [number]


def test_a_run_is_typed_by_what_its_digits_say() -> None:
    text = "0161 to 496, 018 or 943 476 5919 or 1234 5678"
    assert [k for _, k in found(text, find_number_runs(text))] == [
        "PHONE", "NHS_NUMBER", "NUMBER"]  # "to" may be a "two": 0161 249 6018


def test_repeats_count_their_digits() -> None:
    assert number_runs("double oh seven treble 9")[0].digits == "007999"


@pytest.mark.parametrize("text", [
    "i had 20 to 30 people round",
    "between 100 and 200 quid",
    "it cost £250,000 and 1,250,000",
    "250,000 people",
    "it cost 12345 pounds",
    "2019 2020 were bad years",
    "in 2019 and 2 years later",
    "from 1990 to 2000",
    "between 10.30 and 11.30",
    "on 12.03.2024 I went to court",
    "Oh, 20 or 30 of us",
    "five to ten, then one to one",
    "call 999",
    "I owe 1234",
])
def test_quantities_and_short_numbers_are_not_runs_to_redact(text: str) -> None:
    assert find_number_runs(text) == []


def test_an_old_date_is_a_date_of_birth() -> None:
    text = "born 12.03.1985, seen 12.03.2024"
    assert found(text, find_number_runs(text)) == [("12.03.1985", "DATE_OF_BIRTH")]


def test_outside_english_only_written_digits_and_punctuation_join() -> None:
    text = "numer 0161 to 49 i 0161 496, 018"
    assert [t for t, _ in found(text, find_number_runs(text, spoken=False))] == [
        "0161 496, 018"]


@pytest.mark.parametrize(("text", "span", "widened"), [
    ("so 07700 900 416 ,001 thanks", "07700 900", "07700 900 416 ,001"),  # head found
    ("yeah 0161 to 496, 018 and", "0161", "0161 to 496, 018"),
    ("yeah 0161 to 496, 018 and", "018", "0161 to 496, 018"),  # tail found
    ("oh one six one to four nine six", "four nine six", "oh one six one to four nine six"),
])
def test_a_redaction_touching_part_of_a_run_takes_all_of_it(text: str, span: str,
                                                            widened: str) -> None:
    start = text.index(span)
    [out] = widen_to_runs(text, [Span(start, start + len(span), "PHONE")])
    assert text[out.start:out.end] == widened


def test_widening_leaves_spans_that_touch_no_digit_alone() -> None:
    text = "Ann said 0161 to 496 and 018"
    names = [Span(0, 3, "NAME")]
    assert widen_to_runs(text, names) == names
    joiner = text.index("to")  # a span on a joining word alone touches no digit
    assert widen_to_runs(text, [Span(joiner, joiner + 2, "OTHER")])[0].end == joiner + 2


@pytest.mark.parametrize(("text", "postcode"), [
    ("we went to C17 PB in the end", "C17 PB"),  # measured: "SE1 7PB" regrouped
    ("we went to SE17 PB in the end", "SE17 PB"),
    ("we went to SE1 7 PB in the end", "SE1 7 PB"),
    ("I live on SE1, 7PB now", "SE1, 7PB"),
    ("it's S E 1 7 P B yeah", "S E 1 7 P B"),
    ("it's see 17 PB yeah", "see 17 PB"),  # "see" for C
    ("it's see one seven pee bee yeah", "see one seven pee bee"),
    ("it's ess ee one seven pee bee yeah", "ess ee one seven pee bee"),
    ("it's en one nine ex ay now", "en one nine ex ay"),  # "ex" for X
    ("it's aitch ay one two ex why now", "aitch ay one two ex why"),  # "aitch", "why"
])
def test_postcodes_regrouped_or_spelt_are_found_whole(text: str, postcode: str) -> None:
    assert found(text, find_shapes(text)) == [(postcode, "POSTCODE")]


def test_ni_numbers_spelt_with_letter_names_that_are_words() -> None:
    text = "my NI is kay see one two three four five six dee ok"
    assert found(text, find_shapes(text)) == [
        ("kay see one two three four five six dee", "NI_NUMBER")]


@pytest.mark.parametrize("text", [
    "I'll see you at 10, are you coming",
    "we are 2 and you are 3",
    "see 1 of them",
    "the M6 was shut",
])
def test_everyday_letter_names_make_no_shape(text: str) -> None:
    assert find_shapes(text) == []


def test_doctests() -> None:
    assert doctest.testmod(runs).failed == 0


# -- through the detector: the finders are registered and every span is widened ----------

@pytest.fixture(scope="module")
def detector():
    from diaryroom.pii import get_detector
    return get_detector()


@pytest.mark.parametrize(("text", "hidden"), [
    ("yeah so it's 0161 to 496, 018 and that's it", "0161 to 496, 018"),
    ("so 07700 900 416 ,001 thanks", "07700 900 416 ,001"),
    ("oh one six one to four nine six, oh one eight thanks",
     "oh one six one to four nine six, oh one eight"),
    ("we went to C17 PB in the end", "C17 PB"),
    ("it's see one seven pee bee yeah", "see one seven pee bee"),
])
def test_the_detector_hides_the_measured_shapes_whole(detector, text: str, hidden: str) -> None:
    spans = detector.detect(text)
    assert any(text[s.start:s.end] == hidden for s in spans), found(text, spans)
    covered = {i for s in spans for i in range(s.start, s.end)}
    assert not any(c.isdigit() for i, c in enumerate(text) if i not in covered)
