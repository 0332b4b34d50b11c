"""The studio's edit list: checking it, the stretches of the source it keeps, the words
heard, captions and chapters. The numbers can be checked by hand; the property test at
the end reads the same rules point by point and compares with the interval arithmetic."""
from __future__ import annotations

import bisect
import doctest
import json
import random
import re
from pathlib import Path

import pytest

from diaryroom.errors import InvalidInput
from podcast.studio import edits as edits_module
from podcast.studio.edits import (
    EditError,
    Edits,
    chapters_json,
    episode_words,
    filler_words,
    is_filler,
    kept_ranges,
    kept_words,
    parse_edits,
    removals_preview,
    to_srt,
    to_vtt,
    transcript_cues,
)
from podcast.studio.plan import MIN_RANGE_S, Clip, RenderPlan


def w(text: str, start: float | None, end: float | None) -> dict:
    return {"text": text, "start": start, "end": end}


# "So um, I think. [NAME] said hello" with a 2 s pause after "think." (2.1 -> 4.1).
WORDS = [w(" So", 0.5, 0.8), w(" um,", 1.0, 1.3), w(" I", 1.5, 1.6), w(" think.", 1.7, 2.1),
         w(" [NAME]", 4.1, 4.6), w(" said", 4.7, 5.0), w(" hello", 5.1, 5.6)]
DURATION = 6.0


def total(ranges) -> float:
    return sum(e - s for s, e in ranges)


def kept(edits: dict, words=WORDS, duration=DURATION):
    return kept_ranges(edits, words, duration)


# -- parsing --------------------------------------------------------------------------

def test_no_edits_is_the_defaults_and_keeps_everything():
    assert parse_edits(None) == parse_edits({}) == Edits()
    assert parse_edits({"cut_words": None, "gain_db": None}) == Edits()  # null: the default
    assert kept({}) == ((0.0, 6.0),)


def test_to_dict_round_trips_through_json():
    data = {"trim_start": 1, "trim_end": 9.5, "cut_words": [[3, 5], [9, 9]],
            "cut_ranges": [[12.0, 13.5]], "remove_fillers": True, "shorten_pauses": True,
            "keep_findings": [0, 2], "gain_db": -3, "crossfade": 1.5}
    edits = parse_edits(data)
    assert edits.trim_start == 1.0 and edits.cut_words == ((3, 5), (9, 9))
    again = json.loads(json.dumps(edits.to_dict()))
    assert again == {**data, "trim_start": 1.0, "gain_db": -3.0}
    assert parse_edits(again) == edits
    assert parse_edits(edits) is edits


@pytest.mark.parametrize(("data", "message"), [
    ("cut it", "must be a set of named settings"),
    ({"trim_start": 0, "volume": 3, "fade": 1}, "not known: fade, volume"),
    ({"trim_start": True}, "start of the trim must be a number"),  # bools are not numbers
    ({"trim_start": "1.5"}, "start of the trim must be a number"),
    ({"trim_start": float("nan")}, "start of the trim must be a number"),
    ({"trim_start": -0.5}, "start of the trim must be a number of seconds from the beginning"),
    ({"trim_start": 2, "trim_end": 1}, "The end of the trim is before its start."),
    ({"trim_end": 0}, "The end of the trim is before its start."),
    ({"trim_end": float("inf")}, "end of the trim must be a number"),
    ({"cut_words": [3]}, "first and last word"),
    ({"cut_words": [[1.0, 2]]}, "first and last word"),
    ({"cut_words": [[1, True]]}, "first and last word"),
    ({"cut_words": [[-1, 2]]}, "first and last word"),
    ({"cut_words": [[5, 3]]}, "A cut of words ends before it starts."),
    ({"cut_words": {"0": 1}}, "cuts of words must be a list"),
    ({"cut_words": [[0, 0]] * 2001}, "too many cuts of words (at most 2000)"),
    ({"cut_ranges": [[2, 2]]}, "A cut stretch ends before it starts."),
    ({"cut_ranges": [[-1, 2]]}, "start and an end in seconds from the beginning"),
    ({"cut_ranges": [[1, 2, 3]]}, "needs a start and an end"),
    ({"cut_ranges": [["1", 2]]}, "needs a start and an end"),
    ({"remove_fillers": "yes"}, "'Remove fillers' must be on or off"),
    ({"shorten_pauses": 1}, "'Shorten pauses' must be on or off"),
    ({"keep_findings": [-1]}, "kept findings"),
    ({"gain_db": 20.5}, "between -20 and +20 dB"),
    ({"gain_db": False}, "between -20 and +20 dB"),  # not a number
    ({"crossfade": -1}, "between 0 and 5 seconds"),
    ({"crossfade": 5.5}, "between 0 and 5 seconds"),
])
def test_bad_edit_lists_are_refused_in_plain_words(data, message):
    with pytest.raises(EditError, match=re.escape(message)) as caught:
        parse_edits(data)
    # A view that lets it through answers 422 with the message, not a 500.
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, InvalidInput)
    assert caught.value.code == "invalid_edits"


def test_limits_are_inclusive():
    edits = parse_edits({"gain_db": -20, "crossfade": 5, "cut_words": [[0, 0]] * 2000})
    assert (edits.gain_db, edits.crossfade, len(edits.cut_words)) == (-20.0, 5.0, 2000)


# -- kept ranges ----------------------------------------------------------------------

def test_trim_keeps_the_stretch_between_its_ends():
    assert kept({"trim_start": 1.0, "trim_end": 5.0}) == ((1.0, 5.0),)
    assert kept({"trim_start": 0.25}) == ((0.25, 6.0),)
    assert kept({"trim_end": 60}) == ((0.0, 6.0),)  # past the end: to the end


def test_a_cut_word_takes_the_pause_after_it_with_it():
    # "I" is 1.5..1.6 and "think." starts at 1.7: the cut runs to 1.7.
    ranges = kept({"cut_words": [[2, 2]]})
    assert ranges == ((0.0, 1.5), (1.7, 6.0))
    heard = kept_words(WORDS, ranges)
    um, think = heard[1], heard[2]
    assert (um["text"], think["text"]) == (" um,", " think.")
    # The pause heard between them is the one that was before "I" (0.2 s), not 0.3 s.
    assert think["start"] - um["end"] == pytest.approx(0.2)


def test_adjacent_and_overlapping_cuts_merge():
    assert kept({"cut_words": [[1, 1], [2, 2]]}) == kept({"cut_words": [[1, 2]]}) \
        == ((0.0, 1.0), (1.7, 6.0))
    assert kept({"cut_ranges": [[2.5, 3.0], [2.8, 3.5]]}) == ((0.0, 2.5), (3.5, 6.0))
    # A word cut and a selection that meet are one removal.
    assert kept({"cut_words": [[2, 2]], "cut_ranges": [[1.7, 2.0]]}) == ((0.0, 1.5), (2.0, 6.0))


def test_the_last_word_is_cut_to_its_own_end():
    assert kept({"cut_words": [[6, 6]]}) == ((0.0, 5.1), (5.6, 6.0))


def test_cuts_outside_the_trim_change_nothing():
    assert kept({"trim_start": 3.0, "cut_words": [[0, 1]], "cut_ranges": [[5.8, 9]]}) \
        == ((3.0, 5.8),)


def test_fillers_are_found_whatever_their_punctuation():
    assert [is_filler(t) for t in (" Um,", " uh...", "Uhm", "ERM", " er", "hmm?", "Mm.",
                                   " ah!", " Ummm")] == [True] * 9
    assert [is_filler(t) for t in (" umbrella", " a", " m", " hum", "[NAME]", "")] == [False] * 6
    assert filler_words(WORDS) == [1]
    # Cut like a chosen word: from "um," to the start of "I".
    assert kept({"remove_fillers": True}) == ((0.0, 1.0), (1.5, 6.0))


def test_long_pauses_are_shortened_to_half_a_second():
    # 2.1 -> 4.1 is the only gap over 1 s: 0.25 s kept each side, 1.5 s saved.
    ranges = kept({"shorten_pauses": True})
    assert ranges == ((0.0, 2.35), (3.85, 6.0))
    assert DURATION - total(ranges) == pytest.approx(1.5)
    heard = kept_words(WORDS, ranges)
    assert heard[4]["start"] - heard[3]["end"] == pytest.approx(0.5)


def test_a_pause_of_exactly_one_second_stays():
    words = [w("a", 0.0, 0.3), w("b", 1.3, 1.6), w("c", 2.61, 3.0)]
    assert kept_ranges({"shorten_pauses": True}, words, 3.0) == ((0.0, 1.85), (2.36, 3.0))


@pytest.mark.parametrize("edits", [
    {"cut_ranges": [[0, 6]]},
    {"cut_ranges": [[0, 3], [2.9, 7]]},
    {"trim_start": 5.99},                      # 0.01 s left: a click, dropped
    {"trim_start": 7.0},                       # past the end
    {"trim_start": 0.5, "trim_end": 5.6, "cut_words": [[0, 6]]},
])
def test_cutting_everything_is_refused(edits):
    with pytest.raises(EditError, match="Nothing is left of this part after the cuts"):
        kept(edits)


def test_pieces_shorter_than_the_minimum_are_dropped():
    ranges = kept({"cut_ranges": [[1.0, 2.0], [2.01, 3.0]]})
    assert ranges == ((0.0, 1.0), (3.0, 6.0))
    assert all(e - s >= MIN_RANGE_S for s, e in ranges)


def test_a_source_with_no_length_cannot_be_edited():
    with pytest.raises(EditError, match="no length"):
        kept_ranges({}, [], 0)


def test_cut_words_past_the_words_are_refused():
    with pytest.raises(EditError, match="it has 7"):
        kept({"cut_words": [[5, 7]]})
    with pytest.raises(EditError, match="it has 0"):
        kept_ranges({"cut_words": [[0, 0]]}, [], 30.0)  # music has no words


def test_untimed_words_cannot_be_cut_by_word():
    words = [w("Dear", 0.0, 0.4), w(" diary", None, None), w(" um", None, None),
             w(" hello", 1.0, 1.5)]
    with pytest.raises(EditError, match="Word 2 .*diary.* has no time"):
        kept_ranges({"cut_words": [[1, 1]]}, words, 2.0)
    # By stretch it can; an untimed filler is left alone; the cut word runs to the next
    # timed word's start.
    assert kept_ranges({"cut_ranges": [[0.4, 1.0]]}, words, 2.0) == ((0.0, 0.4), (1.0, 2.0))
    assert kept_ranges({"remove_fillers": True}, words, 2.0) == ((0.0, 2.0),)
    assert kept_ranges({"cut_words": [[0, 0]]}, words, 2.0) == ((1.0, 2.0),)
    assert [x["text"] for x in kept_words(words, ((0.0, 2.0),))] == ["Dear", " hello"]


def test_an_overlapping_next_word_does_not_shorten_the_cut():
    # Whisper may start the next word before the cut one ends: the cut word goes whole.
    words = [w("my", 0.0, 0.3), w(" Sandra", 0.4, 1.0), w(" and", 0.9, 1.2)]
    assert kept_ranges({"cut_words": [[1, 1]]}, words, 1.5) == ((0.0, 0.4), (1.0, 1.5))


# -- preview --------------------------------------------------------------------------

def test_preview_lists_what_the_tools_would_cut():
    preview = removals_preview({}, WORDS)
    assert preview == {"filler_words": [1], "pauses": [[2.35, 3.85]], "seconds_saved": 2.0,
                       "filler_seconds": 0.5, "pause_seconds": 1.5}
    # The flags in the edit list make no difference to the preview.
    on = {"remove_fillers": True, "shorten_pauses": True}
    assert removals_preview(on, WORDS) == removals_preview(parse_edits(on), WORDS) == preview


@pytest.mark.parametrize("edits", [
    {}, {"cut_words": [[1, 3]]}, {"cut_words": [[2, 2]]}, {"trim_end": 3.0},
    {"trim_start": 1.2}, {"cut_ranges": [[3.0, 4.5]]}, {"cut_ranges": [[0.9, 1.1]]},
    {"remove_fillers": True, "cut_words": [[5, 6]]},
])
def test_applying_the_tools_removes_what_the_preview_said(edits):
    preview = removals_preview(edits, WORDS)
    off = {**edits, "remove_fillers": False, "shorten_pauses": False}
    base = total(kept(off))
    assert base - total(kept({**off, "remove_fillers": True, "shorten_pauses": True})) \
        == pytest.approx(preview["seconds_saved"], abs=1e-6)
    assert base - total(kept({**off, "remove_fillers": True})) \
        == pytest.approx(preview["filler_seconds"], abs=1e-6)
    assert base - total(kept({**off, "shorten_pauses": True})) \
        == pytest.approx(preview["pause_seconds"], abs=1e-6)


def test_preview_of_words_already_cut_saves_nothing():
    assert removals_preview({"cut_words": [[1, 3]]}, WORDS)["seconds_saved"] == 0
    assert removals_preview({}, [])["seconds_saved"] == 0


# -- words after the cuts, and in the episode -----------------------------------------

def test_kept_words_are_timed_from_the_start_of_the_clip_after_the_cuts():
    ranges = kept({"trim_start": 0.6, "cut_words": [[1, 2]]})  # (0.6, 1.0), (1.7, 6.0)
    heard = kept_words(WORDS, ranges)
    assert [(x["text"], x["start"], x["end"], x["index"]) for x in heard] == [
        (" So", 0.0, 0.2, 0),        # its middle (0.65) is kept; clipped to the trim
        (" think.", 0.4, 0.8, 3),
        (" [NAME]", 2.8, 3.3, 4),    # placeholders are words like any other
        (" said", 3.4, 3.7, 5),
        (" hello", 3.8, 4.3, 6),
    ]
    assert WORDS[0]["start"] == 0.5  # the input is not changed


def test_episode_words_follow_the_plan_through_a_crossfade():
    first = [w(" Hello", 1.0, 1.5), w(" there.", 3.0, 3.5)]
    second = [w(" Next", 1.5, 2.0), w(" gone", 3.5, 4.5), w(" part", 5.2, 5.6)]
    plan = RenderPlan((Clip(Path("a"), ((0.0, 4.0),)),
                       Clip(Path("b"), ((1.0, 3.0), (5.0, 6.0)), crossfade=1.0),
                       Clip(Path("music"), ((0.0, 2.0),), chapter=False)))
    assert plan.starts() == [0.0, 3.0, 6.0]
    got = episode_words(plan, [first, second, []])
    assert got == [
        {"text": " Hello", "start": 1.0, "end": 1.5, "clip": 0},
        {"text": " there.", "start": 3.0, "end": 3.5, "clip": 0},
        {"text": " Next", "start": 3.5, "end": 4.0, "clip": 1},  # 1 s earlier: the crossfade
        {"text": " part", "start": 5.2, "end": 5.6, "clip": 1},
    ]
    assert [plan.to_episode_time(1, x["start"]) for x in second] \
        == [3.5, None, pytest.approx(5.2)]
    with pytest.raises(ValueError):
        episode_words(plan, [first, second])


# -- captions -------------------------------------------------------------------------

def caption_words() -> list[dict]:
    out = [w(" Hi,", 0.0, 0.3), w(" I'm", 0.4, 0.6), w(" [NAME].", 0.6, 1.2),   # sentence
           w(" Fish", 1.3, 1.6), w(" &", 1.7, 1.8), w(" <chips>", 1.9, 2.4),      # gap > 1.5 s
           w(" later", 4.0, 4.5)]
    out = [{**x, "clip": 0} for x in out]
    out += [{**w(" a", 4.6 + 0.3 * i, 4.8 + 0.3 * i), "clip": 1} for i in range(14)]
    long = [w(f" w{i}", 10.0 + 0.9 * i, 10.8 + 0.9 * i) for i in range(10)]
    return out + [{**x, "clip": 2} for x in long]


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n"):].strip().split("\n\n"):
        number, times, body = block.split("\n")
        start, end = (_seconds(t) for t in times.split(" --> "))
        cues.append((start, end, body))
        assert int(number) == len(cues)
    return cues


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        number, times, body = block.split("\n")
        assert int(number) == len(cues) + 1 and "." not in times
        start, end = (_seconds(t.replace(",", ".")) for t in times.split(" --> "))
        cues.append((start, end, body))
    return cues


def _seconds(clock: str) -> float:
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", clock), clock
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_cues_end_at_sentences_silences_clip_changes_and_length():
    cues = transcript_cues(caption_words())
    assert [c["text"] for c in cues] == [
        "Hi, I'm [NAME].", "Fish & <chips>", "later",
        "a a a a a a a a a a a a", "a a",           # 12 words at most; clip change before
        "w0 w1 w2 w3 w4 w5 w6", "w7 w8 w9",         # 7 s at most (w7 would end at 17.1)
    ]
    assert (cues[0]["start"], cues[0]["end"]) == (0.0, 1.2)  # times exact from the words
    assert (cues[5]["start"], cues[5]["end"]) == (10.0, pytest.approx(16.2))
    # Cues given back in come out the same, so to_vtt takes words or cues.
    assert transcript_cues(cues) == cues


def test_vtt_and_srt_read_back():
    words = caption_words()
    vtt, srt = parse_vtt(to_vtt(words)), parse_srt(to_srt(words))
    assert len(vtt) == len(srt) == 7
    for (s1, e1, t1), (s2, e2, t2) in zip(vtt, srt, strict=True):
        assert (s1, e1) == (s2, e2) and s1 <= e1
        assert t1 == t2.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert [s for s, _, _ in vtt] == sorted(s for s, _, _ in vtt)
    assert vtt[1][2] == "Fish &amp; &lt;chips&gt;" and srt[1][2] == "Fish & <chips>"
    assert vtt[0][2] == "Hi, I'm [NAME]." and "00:00:01,200" in to_srt(words)
    assert to_vtt(transcript_cues(words)) == to_vtt(words)
    assert to_vtt([]) == "WEBVTT\n" and to_srt([]) == ""
    assert to_vtt([w(" ", 0, 1), w("", 1, 2)]) == "WEBVTT\n"  # no cue without text


def test_cues_are_ordered_by_start_where_a_crossfade_overlaps_clips():
    words = [{**w(" end.", 5.5, 5.9), "clip": 0}, {**w(" Start", 5.2, 5.4), "clip": 1}]
    assert [s for s, _, _ in parse_vtt(to_vtt(words))] == [5.2, 5.5]


# -- chapters -------------------------------------------------------------------------

def test_chapters_start_where_the_plan_puts_their_clips():
    plan = RenderPlan((Clip(Path("intro"), ((0.0, 8.0),), chapter=False),
                       Clip(Path("a"), ((1.0, 20.5),), crossfade=2.0, title="Ali's story"),
                       Clip(Path("b"), ((0.0, 12.25), (14.0, 30.0)), crossfade=0.5),
                       Clip(Path("c"), ((0.0, 10.0),), title="Link"),
                       Clip(Path("outro"), ((0.0, 6.0),), crossfade=1.0, chapter=False)),
                      title="Episode 1")
    doc = chapters_json(plan, titles=[None, None, "On the street", "", None])
    starts = plan.starts()
    assert doc["version"] == "1.2.0" and doc["title"] == "Episode 1"
    chapters = doc["chapters"]
    assert [c["startTime"] for c in chapters] == [round(starts[i], 3) for i in (1, 2, 3)] \
        == [6.0, 25.0, 53.25]
    assert [c["title"] for c in chapters] == ["Ali's story", "On the street", "Link"]
    assert [c["endTime"] for c in chapters] == [25.0, 53.25, round(plan.duration, 3)]
    assert json.loads(json.dumps(doc)) == doc
    unnamed = RenderPlan((Clip(Path("a"), ((0.0, 1.0),)), Clip(Path("b"), ((0.0, 1.0),))))
    assert [c["title"] for c in chapters_json(unnamed)["chapters"]] == ["Part 1", "Part 2"]
    assert "title" not in chapters_json(unnamed)


def test_doctests():
    result = doctest.testmod(edits_module)
    assert result.attempted > 5 and result.failed == 0


# -- property: the interval arithmetic against the rules read point by point ----------

def random_case(rng: random.Random) -> tuple[list[dict], int, dict]:
    """Words, duration and edits on a 10 ms grid (times in centiseconds), so every
    boundary falls on the grid and a point between two lines is never on one."""
    words, at = [], rng.randint(0, 150)
    for _ in range(rng.randint(0, 15)):
        at += rng.choice([0, 5, 20, 60, 100, 101, 150, 250])
        length = rng.randint(0, 80)
        words.append(w(rng.choice([" um", " Uh,", " so", " [NAME]", " well."]),
                       at / 100, (at + length) / 100))
        at += length
    duration = at + rng.randint(1, 300)
    edits: dict = {"remove_fillers": rng.random() < 0.5, "shorten_pauses": rng.random() < 0.5}
    if rng.random() < 0.5:
        edits["trim_start"] = rng.randint(0, duration // 3) / 100
    if rng.random() < 0.5:
        edits["trim_end"] = (edits.get("trim_start", 0) * 100 + rng.randint(1, duration)) / 100
    if words:
        edits["cut_words"] = [sorted(rng.randrange(len(words)) for _ in range(2))
                              for _ in range(rng.randint(0, 4))]
    ranges = [sorted(rng.sample(range(duration + 50), 2)) for _ in range(rng.randint(0, 4))]
    edits["cut_ranges"] = [[s / 100, e / 100] for s, e in ranges]
    return words, duration, edits


def heard_at(t: float, words: list[dict], duration: float, edits: Edits) -> bool:
    """Whether the moment t is kept, straight from the rules in the module's docstring."""
    end = duration if edits.trim_end is None else min(edits.trim_end, duration)
    if not edits.trim_start < t < end or any(s < t < e for s, e in edits.cut_ranges):
        return False
    cut = {i for first, last in edits.cut_words for i in range(first, last + 1)}
    if edits.remove_fillers:
        cut |= set(filler_words(words))
    j = bisect.bisect_right([x["start"] for x in words], t) - 1  # the word t falls in or after
    # A cut word runs to the next kept word's start, or to its own end when none is left.
    if j >= 0 and j in cut:
        if any(i not in cut for i in range(j + 1, len(words))) or t < words[-1]["end"]:
            return False
    if edits.shorten_pauses and 0 <= j < len(words) - 1:
        a, b = words[j]["end"], words[j + 1]["start"]
        if b - a > 1.0 + 1e-9 and a + 0.25 < t < b - 0.25:
            return False
    return True


def test_kept_ranges_match_the_rules_point_by_point():
    rng = random.Random(20240610)
    for case in range(250):
        words, duration_cs, data = random_case(rng)
        duration, edits = duration_cs / 100, parse_edits(data)
        cells = [heard_at((c + 0.5) / 100, words, duration, edits) for c in range(duration_cs)]
        expected, c = [], 0
        while c < duration_cs:  # runs of kept 10 ms cells; one cell alone is a click
            if cells[c]:
                first = c
                while c < duration_cs and cells[c]:
                    c += 1
                if c - first >= 2:
                    expected.append((first / 100, c / 100))
            c += 1
        if not expected:
            with pytest.raises(EditError, match="Nothing is left"):
                kept_ranges(edits, words, duration)
            continue
        ranges = kept_ranges(edits, words, duration)
        assert len(ranges) == len(expected), (case, data)
        for (s, e), (xs, xe) in zip(ranges, expected, strict=True):
            assert s == pytest.approx(xs, abs=1e-6) and e == pytest.approx(xe, abs=1e-6)
        assert all(0 <= s < e <= duration for s, e in ranges)
        assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
        assert all(e - s >= MIN_RANGE_S - 1e-9 for s, e in ranges)
        # The kept length is the source less the stretches removed (and the clicks).
        assert total(ranges) == pytest.approx(sum(e - s for s, e in expected), abs=1e-6)


def heard(edits: dict, words: list[dict], duration: float) -> float:
    try:
        return total(kept_ranges(edits, words, duration))
    except EditError:
        return 0.0


def test_preview_agrees_with_applying_the_tools_on_random_edits():
    rng = random.Random(7)
    for _ in range(150):
        words, duration_cs, data = random_case(rng)
        duration = duration_cs / 100

        preview = removals_preview(data, words)
        saved = heard({**data, "remove_fillers": False, "shorten_pauses": False}, words,
                      duration) - heard({**data, "remove_fillers": True,
                                         "shorten_pauses": True}, words, duration)
        # Exact up to a click-length piece the real end of the source may drop.
        assert saved == pytest.approx(preview["seconds_saved"], abs=MIN_RANGE_S + 1e-6)
