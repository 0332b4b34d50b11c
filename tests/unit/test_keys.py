"""Storage keys are the addresses of data already stored: each must stay byte for byte
what it was when that data was written, whichever code builds it now."""
from __future__ import annotations

import pytest

from diaryroom import keys, processing
from diaryroom.models import Entry


def test_an_entrys_own_files_keep_their_keys():
    assert keys.entry_file(3, 41, "transcript.json") == "org/3/entries/41/transcript.json"
    assert keys.entry_file(3, 41, "audio.ogg") == "org/3/entries/41/audio.ogg"


@pytest.mark.parametrize(("suffix", "key"), [
    (".webm", "org/3/entries/41/original.webm"),
    (".WAV", "org/3/entries/41/original.wav"),  # intake always lowered the suffix
    (".txt", "org/3/entries/41/original.txt"),
])
def test_an_original_keeps_its_key(suffix, key):
    assert keys.entry_original(3, 41, suffix) == key


def test_a_revisions_results_keep_their_keys():
    assert keys.entry_result(3, 41, 2, "redacted.mp3") == "org/3/entries/41/r2/redacted.mp3"
    assert keys.entry_result(3, 41, 0, "redacted.json") == "org/3/entries/41/r0/redacted.json"


def test_the_entry_and_the_pipeline_build_their_keys_the_same_way():
    entry = Entry(id=41, org_id=3, rendered_revision=2, redaction_revision=2)
    assert entry.result_key("redacted.vtt") == "org/3/entries/41/r2/redacted.vtt"
    assert entry.result_key("redacted.opus", 5) == "org/3/entries/41/r5/redacted.opus"
    assert processing._key(entry, "transcript.json") == "org/3/entries/41/transcript.json"


def test_an_unrendered_entry_has_no_result_to_name():
    with pytest.raises(ValueError, match="no rendered revision"):
        Entry(id=41, org_id=3).result_key("redacted.mp3")


def test_the_studio_keys_are_under_the_organisation():
    assert keys.episode_cover(3, 9, "cover-2.jpg") == "org/3/episodes/9/cover-2.jpg"
    assert keys.episode_render(3, 9, 4, "episode.mp3") == \
        "org/3/episodes/9/renders/4/episode.mp3"
    assert keys.recording_file(3, 8, "original.webm") == "org/3/recordings/8/original.webm"
    assert keys.music_file(3, 7, "peaks.json") == "org/3/music/7/peaks.json"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../original.webm"])
def test_a_name_cannot_climb_out_of_its_folder(name):
    with pytest.raises(ValueError):
        keys.entry_file(3, 41, name)


def test_ids_must_be_numbers_so_a_key_cannot_be_steered():
    with pytest.raises(ValueError):
        keys.entry_file("3/../4", 41, "audio.ogg")  # type: ignore[arg-type]


def test_publishing_keys_keep_internal_copies_apart_from_public_ones():
    assert keys.show_artwork(3, "artwork-2.jpg") == "org/3/show/artwork-2.jpg"
    guid = "0b8f6c1e-2f43-4b7e-9d55-3a4c2b1f0e9a"
    assert keys.published_copy(3, "public", guid, 5, "episode.mp3") == \
        f"org/3/published/public/{guid}/5/episode.mp3"
    assert keys.published_copy(3, "internal", guid, 6, "episode.mp3").startswith(
        "org/3/published/internal/")
    with pytest.raises(ValueError):
        keys.published_copy(3, "public/../internal", guid, 5, "episode.mp3")
    with pytest.raises(ValueError):
        keys.published_copy(3, "public", "../x", 5, "episode.mp3")
