"""The fail-closed sweep after redaction (issue 12, item 3): leftovers in the shared text are
redacted and marked for review; what the sweep cannot decide goes to the team. Pure."""
from __future__ import annotations

import doctest

import pytest

from diaryroom import anonymise
from diaryroom.domain import sweep as sweep_module
from diaryroom.domain.redaction import Redaction, TimedWord, redacted_words
from diaryroom.domain.sweep import SWEEP, sweep
from diaryroom.errors import PipelineError


def swept(text: str, plan: list[Redaction] = (), **kw) -> list[tuple[str, str, str]]:
    """(words hidden, type, reason) for each thing the sweep found in ``text``."""
    words = text.split()
    result = sweep(words, list(plan), **kw)
    assert not result.undecided, result.undecided
    return [(" ".join(words[f.first:f.last + 1]), f.type, f.reason) for f in result.found]


def shared(words: list[str], plan) -> str:
    untimed = [TimedWord(None, None, w) for w in words]  # type: ignore[arg-type]
    return " ".join(w["text"] for w in redacted_words(untimed, plan))


# -- digit runs and tails ------------------------------------------------------------------

def test_a_long_run_the_detector_missed_is_hidden() -> None:
    assert swept("yeah so it's 0161 to 496, 018 and that's it") == [
        ("0161 to 496, 018", "PHONE", "digits")]


def test_the_tail_beside_a_number_is_hidden_even_when_short() -> None:
    text = "ring 07700 900 416 ,001 or 07700 900 18 ok"
    plan = [Redaction(1, 2, "PHONE"), Redaction(6, 7, "PHONE")]
    assert swept(text, plan) == [("416 ,001", "PHONE", "tail"), ("18", "PHONE", "tail")]


def test_the_head_before_a_number_is_hidden_too() -> None:
    assert swept("it's 0161 - 4960018 ok", [Redaction(3, 3, "PHONE")]) == [
        ("0161", "PHONE", "tail")]


@pytest.mark.parametrize("text", [
    "ring 07700 900123 24 hours a day",  # a quantity after a number is no tail
    "Ann 12 years ago",  # beside a name, not a number
    "i had 20 to 30 people and it cost £250,000",
])
def test_quantities_and_small_numbers_are_left(text: str) -> None:
    assert swept(text, [Redaction(0, 0, "NAME")] if text.startswith("Ann")
                 else [Redaction(1, 2, "PHONE")] if "07700" in text else []) == []


# -- letters and digits --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "hidden", "kind"), [
    ("it was C17 PB wasn't it", "C17 PB", "POSTCODE"),  # measured: the shape, whole
    ("ends in 7PB i think", "7PB", "POSTCODE"),  # half a postcode
    ("the area was SE1 i think", "SE1", "POSTCODE"),
    ("ref KQ7-3561 was it", "KQ7-3561", "NUMBER"),
    ("code 4XJ9Z 77 then", "4XJ9Z 77", "NUMBER"),  # with the neighbour that completes it
])
def test_letters_and_digits_are_hidden_with_their_neighbours(text: str, hidden: str,
                                                             kind: str) -> None:
    [(words, found_kind, _)] = swept(text)
    assert (words, found_kind) == (hidden, kind)


@pytest.mark.parametrize("text", [
    "my mp3 player and the 4x4", "on the 2nd in the 1990s at 10am", "a 5k run, 100mg",
    "covid-19 hit my 3-year-old", "my ps5 and 5g", "at 10.30am",
])
def test_the_allow_list_of_codes(text: str) -> None:
    assert swept(text) == []


# -- e-mail remnants -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "plan", "hidden"), [
    ("it's [NAME] at gmail dot com ok", [Redaction(1, 1, "NAME")], "at gmail dot com"),
    ("email jo at hotmail dot co dot uk ok", [], "jo at hotmail dot co dot uk"),
    ("it's [NAME] dot com", [Redaction(1, 1, "NAME")], "dot com"),
    ("mail jo.b@ then", [], "jo.b@"),
])
def test_email_remnants_are_hidden(text: str, plan, hidden: str) -> None:
    words = text.split()
    result = sweep(words, plan)
    hid = [" ".join(words[f.first:f.last + 1]) for f in result.found if f.type == "EMAIL"]
    assert hid == [hidden]


def test_at_the_dot_is_speech() -> None:
    assert swept("look at the dot on the map, meet at home") == []


# -- words Whisper was unsure of -----------------------------------------------------------

def test_an_unsure_word_beside_a_redaction_or_after_a_cue_is_hidden() -> None:
    words = "i met Sandra Kowlasky and my name is Jaqi yeah".split()
    probs = [.9, .9, .9, .2, .9, .9, .9, .9, .3, .9]
    result = sweep(words, [Redaction(2, 2, "NAME")], probabilities=probs)
    assert [(f.first, f.last, f.type, f.reason) for f in result.found] == [
        (3, 3, "OTHER", "unsure"), (8, 8, "OTHER", "unsure")]
    assert not result.undecided


def test_an_unsure_word_away_from_redactions_and_cues_is_left() -> None:
    words = "the weather was grim today".split()
    assert sweep(words, [], probabilities=[.9, .9, .9, .1, .9]).found == ()


def test_without_probabilities_nothing_is_unsure() -> None:
    words = "i met Sandra Kowlasky".split()
    assert sweep(words, [Redaction(2, 2, "NAME")]).found == ()


def test_a_long_run_of_unsure_words_is_undecided_and_named_by_number_only() -> None:
    words = "my name is Sandra Ko wal ski ah right".split()
    probs = [.9, .9, .9, .9, .2, .1, .3, .2, .9]
    result = sweep(words, [Redaction(3, 3, "NAME")], probabilities=probs)
    assert (result.found[0].first, result.found[0].last) == (4, 7)  # still hidden
    assert len(result.undecided) == 1 and "words 4–7" in result.undecided[0]
    assert not any(w in result.undecided[0] for w in ("Sandra", "Ko", "wal", "ski"))


def test_the_sweep_runs_again_on_its_own_result() -> None:
    words = "it was C17 Pbee then".split()  # "Pbee": unsure, beside what pass 1 hid
    result = sweep(words, [], probabilities=[.9, .9, .9, .2, .9])
    assert [(f.first, f.last, f.reason) for f in result.found] == [
        (2, 2, "code"), (3, 3, "unsure")]
    assert not result.undecided


# -- the plan ------------------------------------------------------------------------------

def test_the_plan_keeps_what_was_found_and_marks_what_the_sweep_added() -> None:
    words = "call Ann on 0161 to 496, 018 or 7PB".split()
    plan = [Redaction(1, 1, "NAME", "local")]
    result = sweep(words, plan)
    assert [(r.first, r.last, r.type, r.source) for r in result.plan] == [
        (1, 1, "NAME", "local"), (3, 6, "PHONE", SWEEP), (8, 8, "POSTCODE", SWEEP)]
    assert shared(words, result.plan) == "call [NAME] on [PHONE] or [POSTCODE]"
    again = sweep(words, list(result.plan))  # swept text sweeps clean
    assert again.found == () and again.plan == result.plan


def test_outside_english_only_what_needs_no_english_words() -> None:
    words = "numer 0161 to 496 i jo at gmail dot com".split()
    assert sweep(words, [], language="pl").found == ()
    assert [f.reason for f in sweep("numer 0161 496 0018".split(), [], language="pl").found] \
        == ["digits"]


def test_the_pipeline_step_fails_closed_when_the_sweep_cannot_decide() -> None:
    words = "my name is Sandra Ko wal ski ah".split()
    probs = [.9, .9, .9, .9, .2, .1, .3, .2]
    with pytest.raises(PipelineError, match="could not decide.*words 4–7"):
        anonymise.sweep_plan(words, [Redaction(3, 3, "NAME")], language="en",
                             probabilities=probs)
    plan = anonymise.sweep_plan("ends in 7PB".split(), [], language="en")
    assert [(r.first, r.source) for r in plan] == [(2, SWEEP)]


def test_doctests() -> None:
    assert doctest.testmod(sweep_module).failed == 0
