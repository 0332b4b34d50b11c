"""The walking skeleton, end to end: a recording uploaded through the API is stored,
transcribed by a job, shown to staff, and never lost; bad uploads leave nothing behind."""
from __future__ import annotations

import hashlib
import html
import random
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from diaryroom import accounts, tenancy
from diaryroom.extensions import db
from diaryroom.models import Entry, Job
from tests.conftest import run_jobs, shared_file

pytestmark = pytest.mark.slow

JFK_LINE = "ask not what your country can do for you"


def normalise(text: str) -> str:
    """Lower-case, punctuation gone, single spaces."""
    return " ".join(re.sub(r"[^\w\s']", " ", html.unescape(text).lower()).split())


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def kiosk_token(app) -> str:
    """Just an organisation and a paired kiosk: cheaper than a whole world of accounts."""
    with app.app_context():
        org = accounts.create_organisation("Kiosk only")
        return accounts.pair_kiosk(org.id, "front desk")[1]


# -- the happy path ---------------------------------------------------------------------------


@pytest.mark.parametrize("uploader", ["kiosk", "staff"])
def test_recording_goes_from_upload_to_review(app, client, world, auth, tokens, upload,
                                              api_get, stored, entry_row, uploader,
                                              have_ffmpeg):
    jfk = shared_file("speech/jfk.flac")
    consent = {"audience": "organisation", "voice": "natural", "panel_quotes": True}

    created = upload(tokens[uploader], jfk, consent=consent)

    assert created.status_code == 201, created.text
    body = created.json
    assert isinstance(body["id"], int) and isinstance(body["job_id"], int)
    assert body["status"] == "received"
    queued = api_get(f"/jobs/{body['job_id']}").json
    assert (queued["state"], queued["progress"]) == ("queued", 0)

    assert run_jobs(app) == 1

    job = api_get(f"/jobs/{body['job_id']}")
    assert job.status_code == 200
    assert (job.json["state"], job.json["progress"], job.json["error"]) == ("done", 100, None)

    entry = api_get(f"/entries/{body['id']}")
    assert entry.status_code == 200
    assert entry.json["status"] == "awaiting_review"
    assert entry.json["language"] == "en"
    assert entry.json["duration"] == pytest.approx(11.0, abs=0.5)
    assert entry.json["consent"] == consent
    assert entry.json["kind"] == "audio"

    transcript = api_get(f"/entries/{body['id']}/transcript")
    assert transcript.status_code == 200
    assert transcript.json["language"] == "en"
    text = "".join(s["text"] for s in transcript.json["segments"])
    assert JFK_LINE in normalise(text)

    row = entry_row(body["id"])
    if uploader == "kiosk":
        assert row.kiosk_id is not None and row.created_by_id is None
    else:
        assert row.created_by_id == world.account("staff").user_id and row.kiosk_id is None
    original = stored(row.original_key)
    assert sha256_of(original) == sha256_of(jfk.read_bytes()) == row.original_sha256
    assert row.original_filename == "jfk.flac"

    # The team sees it on the review pages.
    assert auth.login(world.account("staff").email).status_code == 302
    listing = client.get("/review/")
    assert listing.status_code == 200
    assert f"Entry {body['id']}" in listing.text
    assert f'href="/review/entries/{body["id"]}"' in listing.text
    assert "status-awaiting_review" in listing.text
    assert "awaiting review" in listing.text
    page = client.get(f"/review/entries/{body['id']}")
    assert page.status_code == 200
    assert "awaiting review" in page.text
    assert JFK_LINE in normalise(page.text)


def test_a_recording_with_no_speech_needs_attention_and_is_kept(app, tokens, upload, api_get,
                                                               stored, entry_row, silence):
    created = upload(tokens["kiosk"], silence)
    assert created.status_code == 201, created.text
    body = created.json

    assert run_jobs(app) == 1

    job = api_get(f"/jobs/{body['job_id']}").json
    assert job["state"] in ("done", "failed")  # the job ended; the entry says what happened
    entry = api_get(f"/entries/{body['id']}").json
    assert entry["status"] == "needs_attention"
    assert entry["status_reason"] and entry["status_reason"].strip()
    assert entry["duration"] == pytest.approx(3.0, abs=0.2)
    assert api_get(f"/entries/{body['id']}/transcript").status_code == 404

    row = entry_row(body["id"])  # never lost: the original is still stored, intact
    assert sha256_of(stored(row.original_key)) == sha256_of(silence.read_bytes())
    assert row.original_sha256 == sha256_of(silence.read_bytes())


# -- bad input --------------------------------------------------------------------------------


def _random_bytes() -> bytes:
    return random.Random(20240611).randbytes(8192)  # noqa: S311 - test data, not secrets


BAD_UPLOADS = {
    "no media field": (None, None, {"audience": "team"}, "missing_media"),
    "text file": (b"dear diary\n", "notes.txt", None, "unsupported_media"),
    "no file extension": (b"RIFF....", "recording", None, "unsupported_media"),
    "empty wav": (b"", "empty.wav", None, "empty_media"),
    "random bytes as wav": (_random_bytes(), "noise.wav", None, "unreadable_media"),
    "consent not json": ("jfk", None, "{audience: team", "invalid_consent"),
    "consent not an object": ("jfk", None, "[1, 2]", "invalid_consent"),
    "unknown consent field": ("jfk", None, {"audience": "team", "colour": "blue"},
                              "invalid_consent"),
    "bad consent value": ("jfk", None, {"audience": "everyone"}, "invalid_consent"),
    "consent flag not boolean": ("jfk", None, {"panel_quotes": "yes"}, "invalid_consent"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_uploads_are_refused_and_leave_nothing_behind(app, kiosk_token, upload, case,
                                                          have_ffmpeg):
    media, filename, consent, code = BAD_UPLOADS[case]
    if media == "jfk":
        media = shared_file("speech/jfk.flac")

    response = upload(kiosk_token, media, filename, consent)

    assert response.status_code == 422, response.text
    assert response.is_json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    with app.app_context(), tenancy.unscoped():
        assert db.session.scalar(select(func.count()).select_from(Entry)) == 0
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    media_dir = Path(app.config["DATA_DIR"]) / "media"
    left = [p for p in media_dir.rglob("*") if p.is_file()] if media_dir.exists() else []
    assert left == []
    assert run_jobs(app) == 0


def test_a_bad_upload_does_not_disturb_a_good_one(app, tokens, upload, api_get, have_ffmpeg):
    jfk = shared_file("speech/jfk.flac")
    good = upload(tokens["staff"], jfk)
    assert good.status_code == 201
    bad = upload(tokens["staff"], b"", "empty.wav")
    assert bad.status_code == 422
    assert [e["id"] for e in api_get("/entries").json["entries"]] == [good.json["id"]]
