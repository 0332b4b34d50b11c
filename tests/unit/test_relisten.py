"""Re-listening before release (issue 12, item 4), the pure core: where to listen, what
counts as still heard, which way to widen. No audio, no model."""
from __future__ import annotations

import doctest

import pytest

from diaryroom.domain import relisten as core
from diaryroom.domain.redaction import Redaction, TimedWord
from diaryroom.domain.relisten import (
    Leak,
    Placed,
    Window,
    arrange,
    describe,
    find_leaks,
    listening_windows,
    similar,
    split_heard,
    unhidden,
    widen,
)


def test_doctests() -> None:
    result = doctest.testmod(core)
    assert result.attempted > 0 and result.failed == 0


def timed(text: str, start: float = 0.0, step: float = 0.5) -> list[TimedWord]:
    """The words of ``text``, Whisper-style (leading space), one every ``step`` seconds."""
    return [TimedWord(round(start + k * step, 3), round(start + k * step + step * 0.8, 3),
                      " " + w) for k, w in enumerate(text.split())]


# -- windows ---------------------------------------------------------------------------------

def test_each_hidden_range_gets_a_window_with_a_margin_either_side() -> None:
    words = timed("I met Sandra today and then later on went to Leeds ok")  # 0.5 s each
    plan = [Redaction(2, 2, "NAME"), Redaction(10, 10, "PLACE")]
    hidden = [(0.88, 1.52), (4.88, 5.52)]
    windows = listening_windows(words, plan, hidden, duration=6.0, margin=0.6)
    assert windows == [Window(0.28, 2.12, (0,)), Window(4.28, 6.0, (1,))]  # clipped at 6 s


def test_windows_that_overlap_merge_and_keep_every_redaction() -> None:
    words = timed("Sandra and Daniel live near Leeds")
    plan = [Redaction(0, 0, "NAME"), Redaction(2, 2, "NAME"), Redaction(5, 5, "PLACE")]
    hidden = [(0.0, 0.52), (0.88, 1.52), (2.38, 2.92)]
    windows = listening_windows(words, plan, hidden, duration=3.0, margin=0.6)
    assert windows == [Window(0.0, 3.0, (0, 1, 2))]


def test_windows_are_clipped_to_the_start() -> None:
    words = timed("Sandra said hello")
    windows = listening_windows(words, [Redaction(0, 0, "NAME")], [(0.0, 0.52)],
                                duration=10.0)
    assert windows[0].start == 0.0 and windows[0].end == pytest.approx(0.52 + core.MARGIN)


def test_the_sweeps_marks_are_listened_to_like_any_redaction() -> None:
    words = timed("I met Sandra Kowl today")
    plan = [Redaction(2, 2, "NAME"), Redaction(3, 3, "OTHER", source="sweep")]
    windows = listening_windows(words, plan, [(0.88, 2.02)], duration=3.0)
    assert windows[0].redactions == (0, 1)


def test_only_what_the_tone_left_is_played_with_short_silences_between() -> None:
    windows = [Window(0.4, 3.0, (0, 1)), Window(6.0, 8.0, (2,))]
    hidden = [(1.0, 1.5), (2.0, 2.4), (6.6, 7.4)]
    placed = arrange(windows, hidden, gap=0.5, squeeze=0.25)
    assert [(p.offset, p.start, p.end, p.window) for p in placed] == [
        (0.0, 0.4, 1.0, 0), (0.85, 1.5, 2.0, 0), (1.6, 2.4, 3.0, 0),  # window 0: 2.2 s
        (2.7, 6.0, 6.6, 1), (3.55, 7.4, 8.0, 1)]
    assert unhidden(Window(1.0, 2.0, (0,)), [(0.5, 2.5)]) == []


def test_heard_words_go_back_to_their_window_in_the_recordings_seconds() -> None:
    placed = [Placed(0.0, 3.0, 4.0, 0), Placed(1.25, 4.5, 5.0, 0), Placed(2.25, 10.0, 11.5, 1)]
    heard = [TimedWord(0.2, 0.6, " hi"),
             TimedWord(1.05, 1.15, " cut"),   # in the squeezed tone: nearest stretch
             TimedWord(1.3, 1.6, " on"),
             TimedWord(1.8, 1.9, " gap"),     # between windows: nearest stretch
             TimedWord(2.35, 2.6, " Leeds"),
             TimedWord(3.6, 3.9, " ok")]      # past the end: clipped
    first, second = split_heard(heard, placed, 2)
    assert [(w.text, w.start, w.end) for w in first] == [
        (" hi", 3.2, 3.6), (" cut", 4.0, 4.0), (" on", 4.55, 4.85), (" gap", 5.0, 5.0)]
    assert [(w.text, w.start, w.end) for w in second] == [
        (" Leeds", 10.1, 10.35), (" ok", 11.35, 11.5)]


# -- what counts as heard --------------------------------------------------------------------

def leaks_in(said: str, text: str, first: int, last: int, kind: str) -> list[Leak]:
    """Leaks when Whisper hears ``said`` in the one window around words first..last of
    ``text`` (redacted as ``kind``)."""
    words = timed(text)
    plan = [Redaction(first, last, kind)]
    windows = [Window(0.0, words[-1].end, (0,))]
    return find_leaks(windows, [timed(said)], words, plan)


def test_a_redacted_word_heard_again_is_a_leak_with_its_place_and_type() -> None:
    leaks = leaks_in("I met Sandra today", "I met Sandra today", 2, 2, "NAME")
    assert [(lk.how, lk.type, lk.start, lk.end) for lk in leaks] == [("word", "NAME", 1.0, 1.4)]
    assert describe(leaks) == "1.0 s [NAME]"
    assert "Sandra" not in describe(leaks)


def test_nothing_heard_of_it_is_no_leak() -> None:
    assert leaks_in("I met today", "I met Sandra today", 2, 2, "NAME") == []


@pytest.mark.parametrize("heard", [
    "kowalsky",      # one letter off
    "kowal",         # the rest under the tone
    "my chest",      # half of "manchester" is in "chest"
])
def test_close_spellings_are_heard(heard: str) -> None:
    text = "I grew up in Kowalski Manchester ok"
    plan_words = (4, 5)
    assert leaks_in(f"in {heard} ok", text, *plan_words, "PLACE"), heard


def test_a_name_whisper_spells_as_it_sounds_is_heard() -> None:
    leaks = leaks_in("my worker is o'kaffer now", "my worker is Okafor now", 3, 3, "NAME")
    assert [lk.how for lk in leaks] == ["spelling"]


def test_a_name_split_in_two_words_is_heard() -> None:
    assert leaks_in("it was Kow Alski", "it was Kowalski", 2, 2, "NAME")


@pytest.mark.parametrize("heard", ["brighter", "right on", "walk", "colours", "sky"])
def test_other_words_are_not_the_name(heard: str) -> None:
    assert not leaks_in(f"in {heard} then", "in Kowalski then", 1, 1, "NAME"), heard


@pytest.mark.parametrize("redacted", ["the", "and", "it", "for", "of", "is", "you"])
def test_short_and_common_words_are_never_a_leak(redacted: str) -> None:
    # A redaction that (wrongly or not) took in a common word does not make it a leak
    # whenever Whisper hears that word.
    text = f"called Sandra {redacted} Kowalski"
    leaks = leaks_in(f"called {redacted} today", text, 1, 3, "NAME")
    assert leaks == []


def test_a_word_also_kept_in_the_window_is_not_a_leak() -> None:
    # "Hope House" is redacted; the "hope" said beside it, unredacted, is what was heard.
    leaks = leaks_in("I hope we move soon", "I hope Hope House move soon", 2, 3, "PLACE")
    assert leaks == []


@pytest.mark.parametrize("heard", [
    "ring 0161 496 0018",           # as said
    "ring 0161-496-0018",           # hyphens
    "ring 0161 to 496, 018",        # a joiner and a comma
    "ring 01614960018",             # one group
    "ring oh one six one four",     # spoken digits
    "ring 496 double oh",           # "double"
    "ring 4960",                    # just four of them
])
def test_four_digits_of_a_redacted_number_in_whisper_s_shapes_are_heard(heard: str) -> None:
    leaks = leaks_in(heard, "ring 0161 496 0018 ok", 1, 3, "PHONE")
    assert [lk.how for lk in leaks][:1] == ["digits"], heard


def test_a_number_whisper_wrote_with_joiners_is_heard_in_digits() -> None:
    # The redaction is "0161 to 496, 018"; "to" may have been a 2.
    leaks = leaks_in("ring 6124", "ring 0161 to 496, 018 ok", 1, 4, "PHONE")
    assert leaks and leaks[0].how == "digits"


@pytest.mark.parametrize("heard", ["ring 496 ok", "ring 2019 ok", "room 14 ok"])
def test_three_digits_or_other_numbers_are_not_heard(heard: str) -> None:
    assert leaks_in(heard, "ring 0161 496 0018 ok", 1, 3, "PHONE") == [], heard


def test_digits_also_said_unredacted_in_the_window_are_not_a_leak() -> None:
    text = "born 12.03.1985 in 1985 ok"
    assert leaks_in("in 1985 ok", text, 1, 1, "DATE_OF_BIRTH") == []
    assert leaks_in("born 12.03.1985", "born 12.03.1985 ok", 1, 1, "DATE_OF_BIRTH")


@pytest.mark.parametrize("heard", ["M1 1AE", "M11 AE", "em one one ay ee"])
def test_a_postcode_regrouped_or_spelt_is_heard(heard: str) -> None:
    leaks = leaks_in(f"postcode {heard} ok", "postcode M1 1AE ok", 1, 2, "POSTCODE")
    assert leaks and leaks[0].how == "digits", heard


def test_leaks_are_looked_for_only_in_the_window_of_their_redaction() -> None:
    words = timed("Sandra went to Leeds then home")
    plan = [Redaction(0, 0, "NAME"), Redaction(3, 3, "PLACE")]
    windows = [Window(0.0, 1.0, (0,)), Window(1.0, 3.0, (1,))]
    heard = [timed("went to"), timed("Sandra then", start=1.5)]  # "Sandra" in Leeds' window
    assert find_leaks(windows, heard, words, plan) == []


# -- widening ----------------------------------------------------------------------------------

def leak(start: float, end: float) -> Leak:
    return Leak(0, 0, "PLACE", start, end, "word")


def test_a_word_heard_before_the_tone_widens_it_backwards() -> None:
    assert widen([(2.0, 2.6)], [leak(1.4, 1.8)], duration=9.0, step=0.25) == [(1.15, 2.6)]


def test_a_word_heard_after_the_tone_widens_it_forwards() -> None:
    assert widen([(2.0, 2.6)], [leak(2.7, 3.1)], duration=9.0, step=0.25) == [(2.0, 3.35)]


def test_a_word_heard_across_an_edge_widens_only_that_edge() -> None:
    assert widen([(2.0, 2.6)], [leak(1.8, 2.2)], duration=9.0, step=0.25) == [(1.55, 2.6)]


def test_a_word_heard_inside_the_tone_widens_it_both_ways() -> None:
    assert widen([(2.0, 2.6)], [leak(2.1, 2.3)], duration=9.0, step=0.25) == [(1.75, 2.85)]


def test_widening_stops_at_the_budget_and_the_recording() -> None:
    assert widen([(2.0, 2.6)], [leak(0.2, 0.5)], duration=9.0, budget=1.0) == [(1.0, 2.6)]
    assert widen([(0.1, 0.6)], [leak(0.0, 0.05)], duration=0.8, step=0.25) == [(0.0, 0.6)]
    assert widen([(0.1, 0.6)], [leak(0.65, 0.75)], duration=0.8, step=0.25) == [(0.1, 0.8)]


def test_only_the_range_nearest_the_leak_grows_and_ranges_that_meet_merge() -> None:
    hidden = [(1.0, 1.5), (2.0, 2.5), (6.0, 6.5)]
    assert widen(hidden, [leak(1.7, 1.9)], duration=9.0, step=0.25) == [(1.0, 2.5),
                                                                      (6.0, 6.5)]
    assert widen(hidden, [leak(5.3, 5.5)], duration=9.0, step=0.25) == [
        (1.0, 1.5), (2.0, 2.5), (5.05, 6.5)]


def test_nothing_heard_changes_nothing() -> None:
    assert widen([(1.0, 1.5)], [], duration=3.0) == [(1.0, 1.5)]


# -- similar spellings -----------------------------------------------------------------------

@pytest.mark.parametrize(("heard", "secret", "same"), [
    ("sandra", "sandra", True),
    ("sander", "sandra", True),
    ("kowalsky", "kowalski", True),
    ("filips", "phillips", True),
    ("okaffer", "okafor", True),
    ("sand", "sandra", True),
    ("leeds", "leicester", False),
    ("right", "brighton", True),  # "Brighton" heard as "right turn"
    ("ten", "brighton", False),
])
def test_similar(heard: str, secret: str, same: bool) -> None:
    assert similar(heard, secret) is same
