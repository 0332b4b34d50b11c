"""Redaction planning and the pipeline's pure steps: spans to words, words to placeholders
and padded time ranges, captions, written entries, and the checks that fail closed."""
from __future__ import annotations

import doctest
import json

import pytest

from diaryroom import anonymise
from diaryroom.anonymise import (
    check_transcript,
    find_redactions,
    load_local_names,
    redact_written,
    redacted_document,
    to_vtt,
    written_words,
)
from diaryroom.asr import Segment, Transcript, Word
from diaryroom.domain.redaction import (
    PlanError,
    Redaction,
    Span,
    TimedWord,
    join_words,
    plan_redactions,
    time_ranges,
)
from diaryroom.errors import PipelineError


def transcript(*segments: list[tuple[float, float, str]], language="en", p=1.0,
               duration=10.0) -> Transcript:
    return Transcript(language, p, duration, tuple(
        Segment(ws[0][0], ws[-1][1], "".join(t for _, _, t in ws),
                tuple(Word(s, e, t, 0.9) for s, e, t in ws)) for ws in segments))


CALL = transcript([(0.0, 0.4, " Call"), (0.5, 0.9, " Sandra"), (1.0, 1.6, " Kowalski")],
                  [(2.0, 2.3, " on"), (2.4, 3.9, " 07700900123."), (4.0, 4.5, " Thanks.")])


class FakeDetector:
    """Finds the words it is told to, as Presidio would report them."""

    def __init__(self, *found: tuple[str, str]):
        self.found = found
        self.calls: list[dict] = []

    def detect(self, text, *, language, local_names, allow):
        self.calls.append({"language": language, "local_names": local_names, "allow": allow})
        spans = []
        for needle, kind in self.found:
            start = text.find(needle)
            if start >= 0:
                spans.append(Span(start, start + len(needle), kind))
        return spans


def test_doctests():
    assert doctest.testmod(anonymise).failed == 0


def test_a_span_inside_a_word_hides_the_whole_word():
    text, offsets = join_words([" my", " number", " is", " 07700900123."])
    start = text.index("900")
    assert plan_redactions([Span(start, start + 3, "PHONE")], offsets) == [
        Redaction(3, 3, "PHONE")]


def test_a_span_between_words_is_a_bug_not_a_silent_pass():
    _, offsets = join_words(["a", "b"])  # "a b": character 1 is the space
    with pytest.raises(PlanError, match="covers no word"):
        plan_redactions([Span(1, 2, "NAME")], offsets)


def test_time_ranges_are_padded_clipped_and_merged():
    words = [TimedWord(0.05, 0.3, "a"), TimedWord(0.4, 0.7, "b"), TimedWord(5.0, 5.5, "c"),
             TimedWord(9.8, 9.95, "d")]
    plan = [Redaction(0, 0, "NAME"), Redaction(1, 1, "NAME"), Redaction(3, 3, "PHONE")]
    assert time_ranges(words, plan, pad=0.12, duration=10.0) == [(0.0, 0.82), (9.68, 10.0)]


@pytest.mark.parametrize("start, end", [(1.2, 1.0), (-0.5, 1.0), (None, 1.0), (1.0, None)])
def test_a_word_with_impossible_timing_fails_closed(start, end):
    words = [TimedWord(0.0, 0.5, "ok"), TimedWord(start, end, "Sandra")]
    with pytest.raises(PlanError, match="no usable timing"):
        time_ranges(words, [Redaction(1, 1, "NAME")], pad=0.12, duration=3.0)


def test_pieces_with_no_length_widen_to_their_timed_neighbours():
    # Whisper's "077-0-0-9": the first piece has a time, the rest none of their own.
    words = [TimedWord(0.0, 0.5, " ring"), TimedWord(0.6, 1.0, " 077"),
             TimedWord(1.0, 1.0, "-0"), TimedWord(1.0, 1.0, "-9"),
             TimedWord(1.8, 2.0, " thanks")]
    assert time_ranges(words, [Redaction(1, 3, "PHONE")], pad=0.1, duration=3.0) == [
        (0.5, 1.9)]
    # At the very end, to the end of the recording; at the start, from zero.
    assert time_ranges(words[:4], [Redaction(2, 3, "PHONE")], pad=0.1, duration=3.0) == [
        (0.9, 3.0)]
    lone = [TimedWord(0.7, 0.7, " Sandra"), TimedWord(1.0, 1.4, " ok")]
    assert time_ranges(lone, [Redaction(0, 0, "NAME")], pad=0.1, duration=3.0) == [
        (0.0, 1.1)]


def test_a_redaction_that_cannot_be_given_any_length_fails_closed():
    words = [TimedWord(0.0, 0.0, " Sandra")]  # nothing timed around it, no duration known
    with pytest.raises(PlanError, match="no usable timing"):
        time_ranges(words, [Redaction(0, 0, "NAME")], pad=0.1, duration=0.0)


def test_the_redacted_document_has_placeholders_times_and_no_redacted_text():
    detector = FakeDetector(("Sandra Kowalski", "NAME"), ("07700900123", "PHONE"))
    words = [w.text for w in CALL.words]
    plan = find_redactions(words, language="en", detector=detector)
    document = redacted_document(CALL, plan, key=b"k" * 32)
    assert [w["text"] for w in document["words"]] == [
        " Call", " [NAME]", " on", " [PHONE]", " Thanks."]
    assert document["words"][1] == {"start": 0.5, "end": 1.6, "text": " [NAME]",
                                    "redaction": "NAME"}
    assert [s["text"] for s in document["segments"]] == ["Call [NAME]", "on [PHONE] Thanks."]
    assert document["text"] == "Call [NAME] on [PHONE] Thanks."
    assert [(r["type"], r["start"], r["end"]) for r in document["redactions"]] == [
        ("NAME", 0.5, 1.6), ("PHONE", 2.4, 3.9)]
    dumped = json.dumps(document)
    assert "Kowalski" not in dumped and "900123" not in dumped
    # Keyed hashes: the same words give the same hash, another key another.
    again = redacted_document(CALL, plan, key=b"k" * 32)["redactions"]
    other = redacted_document(CALL, plan, key=b"x" * 32)["redactions"]
    assert again == document["redactions"] != other


def test_a_redaction_across_segments_belongs_to_the_first():
    words = [w.text for w in CALL.words]
    plan = find_redactions(words, language="en",
                           detector=FakeDetector(("Kowalski on", "NAME")))
    document = redacted_document(CALL, plan)
    assert [s["text"] for s in document["segments"]] == [
        "Call Sandra [NAME]", "07700900123. Thanks."]


def test_captions_are_webvtt_with_escaped_text():
    vtt = to_vtt({"segments": [{"start": 61.5, "end": 3723.25, "text": "a <b> & c"}]})
    assert vtt.splitlines()[:5] == ["WEBVTT", "", "1", "00:01:01.500 --> 01:02:03.250",
                                    "a &lt;b&gt; &amp; c"]


def test_written_entries_keep_their_layout():
    text = "Dear team,\n\nI'm Sandra Kowalski.\n  Thanks"
    words = written_words(text)
    assert "".join(words) == text
    plan = find_redactions(words, language="en",
                           detector=FakeDetector(("Sandra Kowalski.", "NAME")))
    assert redact_written(words, plan) == "Dear team,\n\nI'm [NAME]\n  Thanks"


def test_the_settings_reach_the_detector():
    detector = FakeDetector()
    settings = anonymise.Settings(local_names=("x",), allow=("Diary Room",))
    find_redactions(["hi"], language="pl", detector=detector, settings=settings)
    assert detector.calls == [{"language": "pl", "local_names": ["x"],
                               "allow": ["Diary Room"]}]


@pytest.mark.parametrize("t, reason", [
    (transcript(), "no speech"),
    (transcript([(0.0, 2.0, " ♪"), (2.0, 3.0, " [Music]")]), "music or noise"),
    (transcript([(0.0, 1.0, " dzien")], language="pl", p=0.3), "language could not be"),
])
def test_transcripts_the_pipeline_cannot_stand_behind(t, reason):
    with pytest.raises(PipelineError, match=reason):
        check_transcript(t)


def test_an_english_only_model_is_not_asked_its_confidence():
    check_transcript(transcript([(0.0, 1.0, " hello")], p=0.3), multilingual=False)


def test_local_names_files(tmp_path):
    lines = tmp_path / "names.txt"
    lines.write_text("# hostels\nPLACE: Hope House\nname: Sandra\nALLOW: Diary Room\n"
                     "Brambles\n")
    names, allow = load_local_names(lines)
    assert [(n.text, n.type) for n in names] == [
        ("Hope House", "PLACE"), ("Sandra", "NAME"), ("Brambles", "PLACE")]
    assert allow == ("Diary Room",)
    as_json = tmp_path / "names.json"
    as_json.write_text(json.dumps([{"text": "Hope House", "type": "PLACE"},
                                   {"text": "Our Service", "type": "ALLOW"}]))
    names, allow = load_local_names(as_json)
    assert [n.text for n in names] == ["Hope House"] and allow == ("Our Service",)
    as_json.write_text(json.dumps([{"text": "x", "type": "SHOE"}]))
    with pytest.raises(PipelineError, match="unknown type 'SHOE'"):
        load_local_names(as_json)
