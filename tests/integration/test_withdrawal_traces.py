"""Withdrawal leaves a tombstone only (issue 8, finding 6), and no answer names a storage
key or a path: every entry route, API and review pages, is asked about a withdrawn entry,
and a storage read error is shown in plain words."""
from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from diaryroom import tenancy
from diaryroom.extensions import db
from diaryroom.models import Entry, Job
from diaryroom.uploads import Upload
from tests.conftest import AuthActions, bearer, csrf_from, run_jobs
from tests.integration.test_intake import api_upload

TEXT = "My name is Sandra Kowalski and the staff at the hostel helped me a lot."
FILENAME = "Sandra Kowalski diary.wav"
GONE = {"code": "withdrawn",
        "message": "This entry was withdrawn and its recording and words deleted."}


def no_secrets(app, body: str, *personal: str) -> None:
    """Nothing in a response that names where things are kept, or the person's words."""
    assert not re.search(r"org/\d+/", body), body[:2000]
    assert app.config["DATA_DIR"] not in body, body[:2000]
    for text in personal:
        assert text not in body, (text, body[:2000])


def entry_row(app, entry_id: int) -> Entry:
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        db.session.expunge(entry)
        return entry


@pytest.fixture
def recording(tmp_path, have_ffmpeg) -> bytes:
    path = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=16000", "-t", "2", str(path)],
                   check=True, timeout=60)
    return path.read_bytes()


def test_withdrawal_clears_everything_that_came_from_the_recording(app, world, client,
                                                                   recording):
    staff = world.account("staff")
    upload_id = api_upload(client, staff.token, recording, filename=FILENAME)
    sha = hashlib.sha256(recording).hexdigest()
    created = client.post("/api/v1/entries", headers=bearer(staff.token),
                          json={"kind": "audio", "upload_id": upload_id, "sha256": sha})
    assert created.status_code == 201, created.text
    entry_id, code = created.json["id"], created.json["receipt_code"]
    before = entry_row(app, entry_id)
    assert (before.original_filename, before.original_sha256) == (FILENAME, sha)
    assert before.receipt_sealed and before.duration
    with app.app_context(), tenancy.unscoped():
        # A failed attempt's error can quote what the pipeline read.
        db.session.execute(update(Job).where(Job.target_id == entry_id)
                           .values(error=f"MediaError: could not read {FILENAME}"))
        db.session.commit()

    withdrawn = client.post(f"/api/v1/entries/{entry_id}/withdraw",
                            headers=bearer(staff.token))
    assert withdrawn.status_code == 200, withdrawn.text

    row = entry_row(app, entry_id)
    assert row.status == "withdrawn" and row.withdrawn_at is not None
    assert (row.original_filename, row.original_sha256, row.receipt_sealed, row.duration,
            row.language, row.status_reason, row.original_key, row.rendered_revision) == (
        None, None, None, None, None, None, None, None)
    assert row.receipt_hash == before.receipt_hash  # so the code still says "withdrawn"
    with app.app_context(), tenancy.unscoped():
        upload = db.session.scalar(select(Upload).where(Upload.id == upload_id))
        assert upload is None or (upload.meta in ({}, None) and upload.sha256 is None)
        errors = db.session.scalars(select(Job.error).where(Job.target_id == entry_id)).all()
        assert errors and all(e is None for e in errors)

    answer = client.get(f"/api/v1/entries/{entry_id}", headers=bearer(staff.token))
    assert answer.status_code == 200
    assert "receipt_code" not in answer.json and "flags" not in answer.json
    assert answer.json["status"] == "withdrawn" and answer.json["withdrawn_at"]
    assert [h["action"] for h in answer.json["consent_history"]] == ["given", "withdrawn"]
    no_secrets(app, answer.text, FILENAME, sha, code)

    # The person typing their code is told it is already withdrawn.
    again = client.post(f"/api/v1/receipts/{code}/withdraw",
                        headers=bearer(world.kiosk_tokens["A"]))
    assert again.status_code == 200 and again.json["status"] == "withdrawn"


def _call(client, rule, method: str, entry_id: int, headers: dict, form: bool):
    url = rule.rule.replace("<int:entry_id>", str(entry_id)).replace(
        "<any(mp3, opus):fmt>", "mp3")
    if method == "GET":
        return url, client.get(url, headers=headers)
    if form:
        token = csrf_from(client.get(f"/review/entries/{entry_id}").text)
        return url, client.post(url, headers=headers, data={
            "csrf_token": token, "action": "add", "first": "0", "reason": "why"})
    return url, client.post(url, headers=headers, json={"action": "add", "first": 0,
                                                        "reason": "why"})


def test_every_entry_route_of_a_withdrawn_entry_says_withdrawn_and_names_nothing(
        app, world, client):
    staff = world.account("staff")
    api = bearer(staff.token)
    created = client.post("/api/v1/entries", headers=api, json={"kind": "text", "text": TEXT})
    entry_id = created.json["id"]
    run_jobs(app)
    assert entry_row(app, entry_id).rendered_revision is not None  # results existed
    assert client.post(f"/api/v1/entries/{entry_id}/withdraw", headers=api).status_code == 200

    page = app.test_client()
    assert AuthActions(page).login(staff.email).status_code == 302
    seen = set()
    for rule in app.url_map.iter_rules():
        if "entry_id" not in rule.arguments:
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            review = rule.endpoint.startswith("review.")
            who, headers = (page, {}) if review else (client, api)
            url, response = _call(who, rule, method, entry_id, headers, form=review)
            seen.add(rule.endpoint)
            body = response.get_data(as_text=True)
            no_secrets(app, body, "Kowalski", "hostel")
            if rule.endpoint in ("api.get_entry", "api.withdraw_entry"):
                assert response.status_code == 200, (url, body)
                assert response.json["status"] == "withdrawn"
            elif rule.endpoint == "review.entry":
                assert response.status_code == 200, (url, body)
                assert "withdrawn" in body and staff.email in body  # who withdrew it
                assert "Consent history" in body and "Decisions and views" not in body
            elif review:
                assert response.status_code == 410, (method, url, body)
                assert GONE["message"] in body
            else:
                assert response.status_code == 410, (method, url, body)
                assert response.json == {"error": GONE}, (method, url)
    assert {"api.get_transcript", "api.list_redactions", "review.entry",
            "review.audio"} <= seen

    listing = page.get("/review/")
    assert f'/review/entries/{entry_id}"' in listing.text  # the list still links to it
    no_secrets(app, listing.text, "Kowalski")


def test_a_storage_read_error_names_no_key(app, world, client, auth):
    staff = world.account("staff")
    created = client.post("/api/v1/entries", headers=bearer(staff.token),
                          json={"kind": "text", "text": TEXT})
    entry_id = created.json["id"]
    key = entry_row(app, entry_id).original_key
    # The object goes behind the app's back (an operator's mistake, a bucket rule).
    Path(app.config["DATA_DIR"], "media", *key.split("/")).unlink()

    response = client.get(f"/api/v1/entries/{entry_id}/transcript?original=1",
                          headers=bearer(staff.token))
    assert response.status_code == 404
    assert response.json["error"]["message"]  # in words, without the key
    no_secrets(app, response.text)

    auth.login(staff.email)
    review = client.get(f"/review/entries/{entry_id}")
    assert review.status_code == 404
    no_secrets(app, review.text)
