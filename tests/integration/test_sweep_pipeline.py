"""The sweep after redaction in the entry pipeline (issue 12, item 3): what the detector
missed is hidden and marked for review before anything is rendered, and an entry the sweep
cannot decide goes to the team. A fake detector and a fake transcriber stand in for
Presidio and Whisper, so the sweep alone decides what the detector left."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.asr import Segment, Transcript, Word
from diaryroom.domain.redaction import Span
from diaryroom.extensions import db
from diaryroom.models import Redaction
from tests.conftest import bearer, run_jobs
from tests.integration.test_pipeline import FakeTranscriber


class NamesOnly:
    """A detector that finds only the names it is given (every time they occur)."""

    def __init__(self, *names: str):
        self.names = names

    def detect(self, text, language="en", *, local_names=(), allow=()):
        return [Span(m.start(), m.end(), "NAME") for name in self.names
                for m in re.finditer(re.escape(name), text)]


@pytest.fixture(autouse=True)
def names_only(monkeypatch):
    import diaryroom.processing as processing
    monkeypatch.setattr(processing, "detector", lambda: NamesOnly("Sandra"))


@pytest.fixture
def upload_json(client, staff_token):
    def upload_json(body: dict):
        return client.post("/api/v1/entries", headers=bearer(staff_token), json=body)
    return upload_json


def said(monkeypatch, *words: tuple[str, float]) -> None:
    """Whisper "hears" these words, each with its probability, 0.3 s apart."""
    import diaryroom.processing as processing
    timed = tuple(Word(0.1 + 0.3 * k, 0.35 + 0.3 * k, text, p)
                  for k, (text, p) in enumerate(words))
    transcript = Transcript("en", 1.0, 3.0, (
        Segment(0.1, timed[-1].end, "".join(t for t, _ in words), timed),))
    monkeypatch.setattr(processing, "get_transcriber", lambda: FakeTranscriber(transcript))


def rows(app, entry_id: int) -> list[tuple[int, int, str, str]]:
    with app.app_context(), tenancy.unscoped():
        return [(r.first_word, r.last_word, r.type, r.source) for r in db.session.scalars(
            select(Redaction).where(Redaction.entry_id == entry_id)
            .order_by(Redaction.first_word))]


def test_a_written_entry_is_swept_and_the_sweep_is_marked_for_review(
        app, client, upload_json, api_get, world, auth):
    text = ("My name is Sandra and my ref is ZQ19, ring 0161 to 496, 018 or write to "
            "Sandra at gmail dot com.")
    created = upload_json({"kind": "text", "text": text})
    assert created.status_code == 201, created.text
    entry_id = created.json["id"]
    run_jobs(app)
    assert api_get(f"/entries/{entry_id}").json["status"] == "awaiting_review"
    shared = api_get(f"/entries/{entry_id}/transcript").json["text"]
    assert shared == ("My name is [NAME] and my ref is [POSTCODE] ring [PHONE] or write to "
                      "[NAME] [EMAIL]")  # a word is hidden whole, its comma too
    assert [(k, s) for _, _, k, s in rows(app, entry_id)] == [
        ("NAME", "auto"), ("POSTCODE", "sweep"), ("PHONE", "sweep"), ("NAME", "auto"),
        ("EMAIL", "sweep")]
    auth.login(world.account("staff").email)
    page = client.get(f"/review/entries/{entry_id}").text
    assert "Safety sweep: please check" in page
    assert page.count('class="word redacted swept"') == 1 + 4 + 4  # ZQ19, the phone, email


def test_a_word_whisper_was_unsure_of_beside_a_name_is_hidden_in_text_and_sound(
        app, monkeypatch, tokens, upload, api_get, silence):
    said(monkeypatch, (" I", .9), (" met", .9), (" Sandra", .9), (" Kowl", .15),
         (" today.", .9))
    entry_id = upload(tokens["kiosk"], silence).json["id"]
    run_jobs(app)
    entry = api_get(f"/entries/{entry_id}").json
    assert entry["status"] == "awaiting_review" and entry["rendered_revision"] == 1
    assert rows(app, entry_id) == [(2, 2, "NAME", "auto"), (3, 3, "OTHER", "sweep")]
    document = api_get(f"/entries/{entry_id}/transcript").json
    assert document["text"] == "I met [NAME] [REDACTED] today."


def test_what_the_sweep_cannot_decide_goes_to_the_team_unrendered(
        app, monkeypatch, tokens, upload, api_get, entry_row, silence):
    said(monkeypatch, (" My", .9), (" name", .9), (" is", .9), (" Sandra", .9),
         (" Ko", .2), (" wal", .1), (" ski", .2), (" ah", .1), (" right.", .9))
    entry_id = upload(tokens["kiosk"], silence).json["id"]
    run_jobs(app)
    entry = api_get(f"/entries/{entry_id}").json
    assert entry["status"] == "needs_attention"
    assert "could not decide" in entry["status_reason"]
    assert "words 4–7" in entry["status_reason"]
    assert not any(w in entry["status_reason"] for w in ("Sandra", "wal", "ski"))
    assert entry_row(entry_id).rendered_revision is None  # nothing was shared
    assert rows(app, entry_id) == []
