"""Human review through the API and the staff pages: redactions added and removed by word,
re-rendering, approval only of what was rendered, send back, run again, and every
decision recorded with who and when."""
from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from diaryroom import intake, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.domain.consent import Consent
from diaryroom.extensions import db
from diaryroom.models import AuditEvent, Entry
from tests.conftest import bearer, csrf_from, run_jobs

TEXT = "My name is Sandra Kowalski and the staff at the hostel helped me a lot."
WORDS = TEXT.split()


@pytest.fixture
def call(client, world):
    token = world.account("staff").token

    def call(method: str, path: str, body: dict | None = None):
        return client.open(f"/api/v1{path}", method=method, headers=bearer(token), json=body)
    return call


@pytest.fixture
def entry_id(call, app) -> int:
    created = call("POST", "/entries", {"kind": "text", "text": TEXT})
    assert created.status_code == 201, created.text
    run_jobs(app)
    return created.json["id"]


def shared_text(call, entry_id: int) -> str:
    return call("GET", f"/entries/{entry_id}/transcript").json["text"]


def audit(app, entry_id: int) -> list[tuple[str, str]]:
    with app.app_context(), tenancy.unscoped():
        return [(e.actor, e.action) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.entry_id == entry_id)
            .order_by(AuditEvent.id))]


def test_the_pipeline_leaves_the_entry_ready_for_review(call, entry_id):
    entry = call("GET", f"/entries/{entry_id}").json
    assert entry["status"] == "awaiting_review"
    assert entry["rendered_revision"] == entry["redaction_revision"] == 1
    assert shared_text(call, entry_id).startswith("My name is [NAME] and")


def test_adding_a_redaction_re_renders_and_approval_waits_for_it(app, call, entry_id, world):
    hostel = WORDS.index("hostel")
    changed = call("POST", f"/entries/{entry_id}/redactions",
                   {"action": "add", "first": hostel, "type": "PLACE"})
    assert changed.status_code == 200, changed.text
    assert changed.json["redaction_revision"] == 2
    assert {(r["first_word"], r["type"], r["source"]) for r in changed.json["redactions"]} \
        >= {(hostel, "PLACE", "staff")}

    early = call("POST", f"/entries/{entry_id}/approve")
    assert early.status_code == 409
    assert "re-rendered" in early.json["error"]["message"]

    run_jobs(app)
    assert "the [PLACE] helped" in shared_text(call, entry_id)
    approved = call("POST", f"/entries/{entry_id}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    staff = f"staff:{world.account('staff').user_id}"
    assert audit(app, entry_id) == [(staff, "redaction_added"), (staff, "approved")]


def test_removing_a_redaction_by_any_of_its_words(app, call, entry_id):
    surname = WORDS.index("Kowalski")
    removed = call("POST", f"/entries/{entry_id}/redactions",
                   {"action": "remove", "word": surname})
    assert removed.status_code == 200, removed.text
    assert removed.json["redactions"] == []
    run_jobs(app)
    assert "Sandra Kowalski" in shared_text(call, entry_id)


def test_a_redaction_swallows_those_it_touches(app, call, entry_id):
    call("POST", f"/entries/{entry_id}/redactions",
         {"action": "add", "first": WORDS.index("is"), "last": WORDS.index("Sandra"),
          "type": "NAME"})
    spans = [(r["first_word"], r["last_word"]) for r in
             call("GET", f"/entries/{entry_id}/redactions").json["redactions"]]
    assert spans == [(WORDS.index("is"), WORDS.index("Kowalski"))]


@pytest.mark.parametrize("body, code", [
    ({"action": "add", "first": 3, "last": 1}, "invalid_words"),
    ({"action": "add", "first": 0, "last": 99}, "invalid_words"),
    ({"action": "add", "first": "0"}, "invalid_words"),
    ({"action": "add", "first": 0, "type": "SHOE_SIZE"}, "invalid_type"),
    ({"action": "remove", "word": 0}, "no_redaction"),
    ({"action": "remove"}, "invalid_words"),
    ({"action": "explode"}, "invalid_action"),
])
def test_bad_redaction_changes_are_refused_clearly(call, entry_id, body, code):
    response = call("POST", f"/entries/{entry_id}/redactions", body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == code
    assert call("GET", f"/entries/{entry_id}").json["redaction_revision"] == 1


def test_approved_entries_cannot_be_edited_until_sent_back(app, call, entry_id):
    assert call("POST", f"/entries/{entry_id}/approve").status_code == 200
    refused = call("POST", f"/entries/{entry_id}/redactions",
                   {"action": "add", "first": 0, "type": "NAME"})
    assert refused.status_code == 409
    assert call("POST", f"/entries/{entry_id}/send-back", {}).status_code == 422
    back = call("POST", f"/entries/{entry_id}/send-back", {"reason": "voice too clear"})
    assert back.status_code == 200
    assert (back.json["status"], back.json["status_reason"]) == (
        "awaiting_review", "sent back: voice too clear")
    assert call("POST", f"/entries/{entry_id}/redactions",
                {"action": "add", "first": 0, "type": "NAME"}).status_code == 200


def test_sending_back_from_review_stops_it_and_running_again_restarts(app, call, entry_id):
    stopped = call("POST", f"/entries/{entry_id}/send-back", {"reason": "wrong person"})
    assert stopped.json["status"] == "needs_attention"
    assert call("POST", f"/entries/{entry_id}/approve").status_code == 409
    again = call("POST", f"/entries/{entry_id}/reprocess")
    assert again.status_code == 202 and again.json["status"] == "processing"
    run_jobs(app)
    assert call("GET", f"/entries/{entry_id}").json["status"] == "awaiting_review"
    actions = [a for _, a in audit(app, entry_id)]
    assert actions == ["sent_back", "reprocessed"]


def test_the_review_page_shows_words_redactions_and_logs_the_look(app, client, entry_id,
                                                                  world, auth):
    auth.login(world.account("staff").email)
    page = client.get(f"/review/entries/{entry_id}")
    assert page.status_code == 200
    assert "Kowalski" in page.text  # staff see what was said...
    assert "NAME" in page.text      # ...and what will be hidden
    assert ("staff:" + str(world.account("staff").user_id), "viewed_original") in \
        audit(app, entry_id)


def test_the_review_page_form_adds_a_redaction_without_javascript(app, client, entry_id,
                                                                  world, auth):
    auth.login(world.account("staff").email)
    token = csrf_from(client.get(f"/review/entries/{entry_id}").text)
    response = client.post(f"/review/entries/{entry_id}/redactions", data={
        "action": "add", "first": str(WORDS.index("hostel")), "type": "PLACE",
        "csrf_token": token})
    assert response.status_code == 302
    state = client.get(f"/review/entries/{entry_id}/state").json
    assert state["rendered"] is False and state["redaction_revision"] == 2
    run_jobs(app)
    assert client.get(f"/review/entries/{entry_id}/state").json["rendered"] is True


@pytest.mark.slow
def test_re_rendering_audio_replaces_the_old_revision(app, call, tmp_path, have_ffmpeg,
                                                      stored_entry):
    wav = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(wav),
                    "I went to the day centre on Tuesday and it was good."],
                   check=True, timeout=60)
    entry_id = stored_entry("original.wav", wav.read_bytes())
    run_jobs(app)
    words = call("GET", f"/entries/{entry_id}/transcript?original=1").json["words"]
    day = next(w["index"] for w in words if "day" in w["text"].lower())
    call("POST", f"/entries/{entry_id}/redactions", {"action": "add", "first": day,
                                                     "type": "PLACE"})
    run_jobs(app)
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        private = get_private_storage()
        assert entry.rendered_revision == 2
        assert private.exists(entry.result_key("redacted.mp3", 2))
        assert not private.exists(entry.result_key("redacted.mp3", 1))


@pytest.mark.slow
def test_changing_the_voice_choice_re_renders_and_undoes_approval(
        app, call, tmp_path, stored_entry, have_ffmpeg):
    wav = tmp_path / "v.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(wav),
                    "The day centre was warm and the tea was good."], check=True, timeout=60)
    # (Organisation-wide: a team-only entry is always disguised, so has no choice to change.)
    entry_id = stored_entry("original.wav", wav.read_bytes(), audience="organisation",
                            voice="natural")
    run_jobs(app)
    assert call("POST", f"/entries/{entry_id}/approve").status_code == 200
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        natural = get_private_storage().open(entry.result_key("redacted.mp3")).read()
        # as the person does with their receipt code at the kiosk
        intake.change_consent(entry, Consent("organisation", "disguise"),
                              actor="receipt@kiosk:1")
    entry = call("GET", f"/entries/{entry_id}").json
    assert entry["status"] == "awaiting_review" and "voice" in entry["status_reason"]
    assert entry["rendered_revision"] != entry["redaction_revision"]
    run_jobs(app)
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        assert entry.rendered
        disguised = get_private_storage().open(entry.result_key("redacted.mp3")).read()
    assert disguised != natural
