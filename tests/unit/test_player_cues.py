"""The web player's reading of a render's captions and chapters (podcast/player/cues.py):
what the studio writes (``to_vtt``, ``chapters_json``) comes back as the same lines and
chapters, and files from elsewhere are read as far as they can be."""
from __future__ import annotations

import doctest
import json
from pathlib import Path

from podcast.player import cues
from podcast.player.cues import Chapter, Cue, parse_chapters, parse_vtt
from podcast.studio.edits import chapters_json, to_vtt
from podcast.studio.plan import Clip, RenderPlan


def test_doctests():
    result = doctest.testmod(cues)
    assert result.attempted >= 5 and result.failed == 0


def test_reads_back_what_the_studio_writes():
    said = [{"text": "Hi & welcome.", "start": 0.0, "end": 1.25},
            {"text": "I'm <Sam>, from [PLACE].", "start": 1.5, "end": 3.75},
            {"text": "Tea at 3 > tea at 4.", "start": 3725.5, "end": 3727.0}]
    vtt = to_vtt(said)
    assert "&amp;" in vtt and "&lt;Sam&gt;" in vtt  # the writer escapes; the reader undoes it
    assert parse_vtt(vtt) == [Cue(0.0, 1.25, "Hi & welcome."),
                              Cue(1.5, 3.75, "I'm <Sam>, from [PLACE]."),
                              Cue(3725.5, 3727.0, "Tea at 3 > tea at 4.")]


def test_chapters_from_the_studio():
    plan = RenderPlan((Clip(Path("intro"), ((0, 5),), chapter=False),
                       Clip(Path("a"), ((0, 20),), title="Welcome"),
                       Clip(Path("b"), ((0, 10),), title="Tea and toast")))
    doc = chapters_json(plan)
    assert parse_chapters(json.dumps(doc)) == [Chapter(5.0, "Welcome"),
                                               Chapter(25.0, "Tea and toast")]


def test_other_webvtt_shapes():
    text = ("\ufeffWEBVTT - made elsewhere\r\nKind: captions\r\n\r\n"
            "NOTE a comment\r\nover two lines\r\n\r\n"
            "STYLE\r\n::cue { color: red }\r\n\r\n"
            "intro\r\n00:05.000 --> 00:07.500 align:start position:10%\r\n"
            "<v Sam><b>Two</b> lines</v>\r\nof text\r\n\r\n"
            "00:00:01.000 --> 00:00:02.000\r\nEarlier, though later in the file\r\n\r\n"
            "00:00:09.000 --> 00:00:10.000\r\n\r\n"      # no text: nothing to show
            "broken --> timing\r\nskipped\r\n\r\n"
            "00:00:03.000 --> 00:00:02.000\r\nends before it starts\r\n")
    assert parse_vtt(text) == [Cue(1.0, 2.0, "Earlier, though later in the file"),
                               Cue(3.0, 3.0, "ends before it starts"),
                               Cue(5.0, 7.5, "Two lines of text")]
    assert parse_vtt("") == [] and parse_vtt("WEBVTT\n") == []


def test_chapters_read_as_far_as_they_can_be():
    assert parse_chapters(b"not json") == []
    assert parse_chapters("[1, 2]") == []
    assert parse_chapters('{"chapters": "no"}') == []
    raw = json.dumps({"chapters": [
        {"startTime": 30, "title": "  Late   one "}, {"startTime": "5", "title": "text time"},
        {"startTime": True, "title": "a boolean"}, {"startTime": -1, "title": "negative"},
        {"startTime": 12.5, "title": None}, {"startTime": 40, "title": "hidden", "toc": False},
        "not a chapter", {"title": "no start"}]})
    assert parse_chapters(raw) == [Chapter(12.5, "Part 1"), Chapter(30.0, "Late one")]


def test_times():
    assert [cues.clock(t) for t in (0, 9.99, 59.5, 60, 3599, 3600, 36000)] == [
        "0:00", "0:09", "0:59", "1:00", "59:59", "1:00:00", "10:00:00"]
    assert [cues.duration(t) for t in (0, 5, 60, 3600, 3661)] == [
        "PT0S", "PT5S", "PT1M", "PT1H", "PT1H1M1S"]
