"""Taking entries in, through the real routes: the kiosk page's resumable uploads and JSON
actions (its pairing cookie plus the CSRF token its page carries), and the API with bearer
tokens. Recordings are made here: espeak-ng speaks, ffmpeg encodes WebM/Opus the way
MediaRecorder does (streamed, so the header has no duration). Originals and transcripts
are kept encrypted; consent can later be changed, or the entry withdrawn, by receipt code.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import delete, func, select, update

from diaryroom import accounts, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.auth import passwords
from diaryroom.auth.principal import KIOSK_COOKIE
from diaryroom.domain import receipts
from diaryroom.extensions import db
from diaryroom.media.probe import MediaInfo, probe
from diaryroom.models import ConsentRecord, Entry, Job, Kiosk, hash_token
from diaryroom.uploads import Upload, part_path
from tests.conftest import World, bearer, csrf_from, make_app, run_jobs

SPOKEN = "the quick brown fox jumps over the lazy dog near the river bank"
RECEIPT = re.compile(r"[a-z]+-[a-z]+-[a-z]+-\d{2}")
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
JSON_ERRORS = {"Accept": "application/json"}  # tus errors come back as JSON then
PUBLIC = {"audience": "public", "voice": "natural", "panel_quotes": True}
DEFAULT = {"audience": "team", "voice": "disguise", "panel_quotes": False}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: every test makes a world of accounts."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- recordings -----------------------------------------------------------------------

@dataclass(frozen=True)
class Media:
    speech: Path   # WebM/Opus written to a file: its header has the duration
    live: Path     # the same streamed to a pipe, as MediaRecorder writes it: no duration
    video: Path    # VP8 + Opus, streamed too
    long: Path     # 45 seconds of tone
    duration: float


def _ffmpeg(*args: str, stdout=None) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True,
                   timeout=120, stdout=stdout if stdout is not None else subprocess.DEVNULL)


@pytest.fixture(scope="session")
def media(tmp_path_factory, have_ffmpeg) -> Media:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required (make test installs it)")
    folder = tmp_path_factory.mktemp("recordings")
    wav = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(wav), SPOKEN], check=True,
                   timeout=60)
    speech, live, video, long = (folder / n for n in ("speech.webm", "live.webm",
                                                       "video.webm", "long.webm"))
    opus = ["-c:a", "libopus", "-b:a", "32k"]
    _ffmpeg("-i", str(wav), *opus, str(speech))
    with live.open("wb") as out:
        _ffmpeg("-i", str(wav), *opus, "-f", "webm", "-live", "1", "pipe:1", stdout=out)
    with video.open("wb") as out:
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-i", str(wav),
                "-shortest", "-c:v", "libvpx", "-b:v", "100k", "-deadline", "realtime",
                "-cpu-used", "8", *opus, "-f", "webm", "-live", "1", "pipe:1", stdout=out)
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=45", "-c:a", "libopus",
            "-b:a", "8k", str(long))
    duration = probe(speech).duration
    assert 3 < duration < 6
    # The point of the live file: nothing in it says how long it is until it is remuxed.
    assert probe(live).duration == 0.0 and probe(video).duration == 0.0
    return Media(speech, live, video, long, duration)


def probe_bytes(data: bytes, tmp_path: Path, suffix: str = ".webm") -> MediaInfo:
    path = tmp_path / f"probe-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    path.write_bytes(data)
    return probe(path)


# --- the two doors --------------------------------------------------------------------

class KioskBrowser:
    """A browser paired as a kiosk: the cookie POST /kiosk/pair set, and the CSRF token
    from the kiosk page's meta tag, sent as X-CSRFToken the way kiosk.js sends it."""

    def __init__(self, app: Flask, token: str):
        self.client = app.test_client()
        page = self.client.get("/kiosk/pair")
        paired = self.client.post("/kiosk/pair", data={"token": token,
                                                       "csrf_token": csrf_from(page.text)})
        assert paired.status_code == 302, paired.text
        assert self.client.get_cookie(KIOSK_COOKIE) is not None
        home = self.client.get("/kiosk/")
        assert home.status_code == 200
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text)
        assert match, "the kiosk page carries no CSRF token"
        self.headers = {"X-CSRFToken": match.group(1)}

    def action(self, path: str, body: object):
        return self.client.post(f"/kiosk{path}", json=body,
                                headers={**self.headers, "Accept": "application/json"})

    def upload(self, data: bytes, **kwargs) -> str:
        return tus_upload(self.client, "/kiosk/uploads", data, self.headers, **kwargs)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def tus_create(client, base: str, length: int, headers: dict, filename: str | None):
    meta = {}
    if filename is not None:
        meta["Upload-Metadata"] = f"filename {b64(filename)},filetype {b64('audio/webm')}"
    return client.post(base, headers={**headers, **TUS, **JSON_ERRORS,
                                      "Upload-Length": str(length), **meta})


def tus_upload(client, base: str, data: bytes, headers: dict, *,
               filename: str | None = "recording.webm", chunks: int = 2,
               send: int | None = None) -> str:
    """Upload ``data`` with raw tus requests in ``chunks`` PATCHes (only the first
    ``send`` of them if given, leaving it unfinished); returns the upload id."""
    created = tus_create(client, base, len(data), headers, filename)
    assert created.status_code == 201, created.text
    path = urlsplit(created.headers["Location"]).path
    assert path.startswith(base + "/")
    size, offset = -(-len(data) // chunks), 0
    for _ in range(chunks if send is None else send):
        part = data[offset:offset + size]
        if not part:
            break
        response = client.patch(path, data=part, content_type=OCTETS, headers={
            **headers, **TUS, "Upload-Offset": str(offset)})
        assert response.status_code == 204, response.text
        offset += len(part)
        assert response.headers["Upload-Offset"] == str(offset)
    return path.rsplit("/", 1)[1]


def api_upload(client, token: str, data: bytes, **kwargs) -> str:
    return tus_upload(client, "/api/v1/uploads", data, bearer(token), **kwargs)


def api_entry(client, token: str, **fields):
    return client.post("/api/v1/entries", json=fields, headers=bearer(token))


def api_multipart(client, token: str, data: bytes, filename: str, **fields):
    form = {"media": (io.BytesIO(data), filename), **fields}
    return client.post("/api/v1/entries", data=form, headers=bearer(token),
                       content_type="multipart/form-data")


# --- looking at what was kept ---------------------------------------------------------

def count(app: Flask, model) -> int:
    with app.app_context(), tenancy.unscoped():
        return db.session.scalar(select(func.count()).select_from(model))


def media_files(app: Flask, pattern: str = "*") -> list[Path]:
    root = Path(app.config["DATA_DIR"]) / "media"
    return sorted(p for p in root.rglob(pattern) if p.is_file()) if root.exists() else []


def assert_nothing_stored(app: Flask, entries: int = 0) -> None:
    assert count(app, Entry) == entries, "an entry was made"
    assert count(app, ConsentRecord) == entries, "a consent record was made"
    assert count(app, Job) == entries, "a job was queued"
    # Originals only: the pipeline adds its results beside them.
    assert len(media_files(app, "original*")) == entries, "a file was stored"


def entry_row(app: Flask, entry_id: int) -> Entry:
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        db.session.expunge(entry)
        return entry


def upload_row(app: Flask, upload_id: str) -> Upload:
    with app.app_context(), tenancy.unscoped():
        upload = db.session.get(Upload, upload_id)
        db.session.expunge(upload)
        return upload


def history(app: Flask, entry_id: int) -> list[tuple]:
    with app.app_context(), tenancy.unscoped():
        return [(r.action, r.audience, r.voice, r.panel_quotes, r.actor)
                for r in db.session.scalars(select(ConsentRecord).where(
                    ConsentRecord.entry_id == entry_id).order_by(ConsentRecord.id))]


def decrypted(app: Flask, key: str) -> bytes:
    with app.app_context(), get_private_storage().open(key) as fh:
        return fh.read()


def exists(app: Flask, key: str) -> bool:
    with app.app_context():
        return get_private_storage().exists(key)


def on_disk(app: Flask, key: str) -> bytes:
    return (Path(app.config["DATA_DIR"]) / "media" / key).read_bytes()


def assert_encrypted(raw: bytes, plain: bytes) -> None:
    assert raw[:4] == b"DRE1"
    for start in (0, len(plain) // 3, len(plain) // 2):
        piece = plain[start:start + 48]
        assert piece and piece not in raw, f"plaintext at {start} is readable on disk"


def kiosk_id(app: Flask, token: str) -> int:
    with app.app_context(), tenancy.unscoped():
        return db.session.scalar(select(Kiosk.id).where(Kiosk.token_hash == hash_token(token)))


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", html.unescape(text).lower()).split())


def plain_words(error: dict) -> None:
    """An error a person can read: a message, and no paths or tool output in it."""
    message = error["message"]
    assert message and message[0].isupper(), error
    for internal in ("/tmp", "ffmpeg", "ffprobe", "Traceback", ".part", "Error"):
        assert internal not in message, error


# --- recordings through the kiosk -----------------------------------------------------

@pytest.mark.slow
def test_kiosk_recording_is_kept_encrypted_transcribed_and_withdrawable(
        app, world, media, tmp_path):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    staff = world.account("staff")
    data = media.live.read_bytes()

    upload_id = kiosk.upload(data)
    response = kiosk.action("/entries", {"upload_id": upload_id, "kind": "audio",
                                         "consent": PUBLIC})

    assert response.status_code == 201, response.text
    body = response.json
    assert set(body) == {"id", "receipt_code", "status", "job_id"}
    assert RECEIPT.fullmatch(body["receipt_code"]), body["receipt_code"]
    assert body["status"] == "received"
    code, entry_id = body["receipt_code"], body["id"]
    the_kiosk = kiosk_id(app, world.kiosk_tokens["A"])

    row = entry_row(app, entry_id)
    assert (row.kind, row.consent, row.kiosk_id, row.created_by_id) == (
        "audio", PUBLIC, the_kiosk, None)
    assert row.original_filename == "recording.webm"
    assert row.original_key == f"org/{row.org_id}/entries/{entry_id}/original.webm"
    # MediaRecorder's WebM says nothing of its length; the remuxed copy does.
    assert row.duration == pytest.approx(media.duration, abs=0.2)

    # Encrypted at rest: neither the upload's bytes nor the kept (remuxed) bytes show.
    raw = on_disk(app, row.original_key)
    original = decrypted(app, row.original_key)
    assert_encrypted(raw, data)
    assert_encrypted(raw, original)
    assert hashlib.sha256(original).hexdigest() == row.original_sha256
    info = probe_bytes(original, tmp_path)
    assert info.duration == pytest.approx(media.duration, abs=0.2)
    assert (info.has_audio, info.has_video, info.audio_codecs) == (True, False, ("opus",))

    assert history(app, entry_id) == [("given", "public", "natural", True,
                                       f"kiosk:{the_kiosk}")]
    upload = upload_row(app, upload_id)  # used once; its file is gone
    assert upload.consumed_at is not None
    with app.app_context():
        assert not part_path(upload_id).exists()

    assert run_jobs(app) == 1
    api = app.test_client()
    job = api.get(f"/api/v1/jobs/{body['job_id']}", headers=bearer(staff.token)).json
    assert (job["state"], job["progress"]) == ("done", 100)
    shown = api.get(f"/api/v1/entries/{entry_id}", headers=bearer(staff.token))
    assert shown.status_code == 200
    assert shown.json["status"] == "awaiting_review"
    assert shown.json["receipt_code"] == code
    assert [h["action"] for h in shown.json["consent_history"]] == ["given"]
    transcript = api.get(f"/api/v1/entries/{entry_id}/transcript",
                         headers=bearer(staff.token))
    assert transcript.status_code == 200
    said = normalise(transcript.json["text"])
    # tiny.en hears espeak's "brown" as "round" after some Opus decoders (the pipeline
    # decodes with the system's ffmpeg): these are the words, not a test of the model.
    assert "quick" in said and "fox" in said and "river" in said, said
    row = entry_row(app, entry_id)
    assert_encrypted(on_disk(app, row.transcript_key), decrypted(app, row.transcript_key))
    assert b"quick" not in on_disk(app, row.transcript_key)

    # Withdrawn by receipt code at the kiosk: the recording and its transcript are
    # deleted, the consent history stays and says so.
    keys = (row.original_key, row.transcript_key)
    response = kiosk.action("/receipts/withdraw", {"code": code})
    assert response.status_code == 200, response.text
    assert response.json == {"status": "withdrawn"}
    assert not any(exists(app, key) for key in keys)
    assert media_files(app) == []
    row = entry_row(app, entry_id)
    assert (row.status, row.original_key, row.transcript_key) == ("withdrawn", None, None)
    assert row.withdrawn_at is not None
    assert [h[0] for h in history(app, entry_id)] == ["given", "withdrawn"]
    assert history(app, entry_id)[-1][-1] == f"receipt@kiosk:{the_kiosk}"

    # A second withdrawal (here through the API) is harmless and records nothing new.
    again = api.post(f"/api/v1/receipts/{code}/withdraw",
                     headers=bearer(world.kiosk_tokens["A"]))
    assert again.status_code == 200 and again.json["status"] == "withdrawn"
    assert [h[0] for h in history(app, entry_id)] == ["given", "withdrawn"]
    # Consent cannot be changed any more, through either door.
    for response in (kiosk.action("/receipts/consent", {"code": code, "consent": DEFAULT}),
                     api.post(f"/api/v1/receipts/{code}/consent", json={"consent": DEFAULT},
                              headers=bearer(staff.token))):
        assert response.status_code == 422, response.text
        assert response.json["error"]["code"] == "withdrawn"
        plain_words(response.json["error"])
    assert entry_row(app, entry_id).consent == PUBLIC
    gone = api.get(f"/api/v1/entries/{entry_id}/transcript", headers=bearer(staff.token))
    assert gone.status_code == 410 and gone.json["error"]["code"] == "withdrawn"
    lookup = kiosk.action("/receipts/lookup", {"code": code})
    assert lookup.status_code == 200 and lookup.json["status"] == "withdrawn"


@pytest.mark.slow
def test_video_is_checked_against_the_kind_chosen(app, world, media, tmp_path):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    upload_id = kiosk.upload(media.video.read_bytes(), filename="recording.webm")

    # "Sound only" was chosen, but the file has a picture: refused, nothing kept, and
    # the upload is not used up (the same upload is then taken as the video it is).
    refused = kiosk.action("/entries", {"upload_id": upload_id, "kind": "audio"})
    assert refused.status_code == 422, refused.text
    assert refused.json["error"]["code"] == "unexpected_video"
    plain_words(refused.json["error"])
    assert_nothing_stored(app)
    assert upload_row(app, upload_id).consumed_at is None
    with app.app_context():
        assert part_path(upload_id).exists()

    created = kiosk.action("/entries", {"upload_id": upload_id, "kind": "video"})
    assert created.status_code == 201, created.text
    row = entry_row(app, created.json["id"])
    assert row.kind == "video"
    assert row.duration == pytest.approx(media.duration, abs=0.3)
    info = probe_bytes(decrypted(app, row.original_key), tmp_path)
    assert (info.has_audio, info.has_video, info.video_codecs) == (True, True, ("vp8",))
    assert_encrypted(on_disk(app, row.original_key), media.video.read_bytes())

    assert run_jobs(app) == 1  # the pipeline takes video as well
    assert entry_row(app, row.id).status == "awaiting_review"

    # Sound only where video was chosen is refused the other way round.
    audio_id = kiosk.upload(media.speech.read_bytes())
    missing = kiosk.action("/entries", {"upload_id": audio_id, "kind": "video"})
    assert missing.status_code == 422 and missing.json["error"]["code"] == "missing_video"
    assert count(app, Entry) == 1


def test_upload_ids_are_used_once_and_only_when_finished(app, world, media):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    data = media.speech.read_bytes()

    done = kiosk.upload(data)
    first = kiosk.action("/entries", {"upload_id": done, "kind": "audio"})
    assert first.status_code == 201
    # The same kiosk asking again (its reply was lost) gets the same entry and receipt
    # code, and no second entry is made.
    again = kiosk.action("/entries", {"upload_id": done, "kind": "audio"})
    assert again.status_code == 200
    assert (again.json["id"], again.json["receipt_code"]) == (first.json["id"],
                                                              first.json["receipt_code"])
    assert count(app, Entry) == 1
    # Another kiosk cannot use (or learn anything from) that upload id.
    with app.app_context():
        _, other_token = accounts.pair_kiosk(world.orgs["A"], "another kiosk")
    other = KioskBrowser(app, other_token)
    replayed = other.action("/entries", {"upload_id": done, "kind": "audio"})
    assert replayed.status_code == 422
    assert replayed.json["error"]["code"] == "upload_not_found"

    half = kiosk.upload(data, chunks=2, send=1)
    unfinished = kiosk.action("/entries", {"upload_id": half, "kind": "audio"})
    assert unfinished.status_code == 422
    assert unfinished.json["error"]["code"] == "upload_incomplete"
    assert upload_row(app, half).consumed_at is None

    for unknown in ("0" * 32, "not-an-upload", None):
        body = {"kind": "audio"} if unknown is None else {"upload_id": unknown, "kind": "audio"}
        response = kiosk.action("/entries", body)
        assert response.status_code == 422, unknown
        assert response.json["error"]["code"] == "upload_not_found", unknown
    assert_nothing_stored(app, entries=1)

    # The API, with a staff token: the same rules, and another caller's upload (the
    # kiosk's) is not found, even in the same organisation.
    client, token = app.test_client(), world.account("staff").token
    mine = api_upload(client, token, data)
    assert api_entry(client, token, upload_id=half, kind="audio").json["error"]["code"] == (
        "upload_not_found")
    created = api_entry(client, token, upload_id=mine, kind="audio")
    assert created.status_code == 201, created.text
    assert entry_row(app, created.json["id"]).created_by_id == world.account("staff").user_id
    repeated = api_entry(client, token, upload_id=mine, kind="audio")
    assert (repeated.status_code, repeated.json["id"]) == (200, created.json["id"])
    assert_nothing_stored(app, entries=2)


def test_an_upload_without_a_filename_is_taken_as_webm(app, world, media):
    """tus clients need not send a filename; the kiosk's recording is still remuxed (a
    MediaRecorder file has no duration until then), and an odd filename is refused."""
    client, token = app.test_client(), world.kiosk_tokens["A"]
    nameless = api_upload(client, token, media.live.read_bytes(), filename=None)
    created = api_entry(client, token, upload_id=nameless, kind="audio")
    assert created.status_code == 201, created.text
    row = entry_row(app, created.json["id"])
    assert row.duration == pytest.approx(media.duration, abs=0.2)
    assert row.original_key.endswith("/original.webm")
    assert row.original_filename is None

    odd = api_upload(client, token, media.live.read_bytes(), filename="notes.txt")
    refused = api_entry(client, token, upload_id=odd, kind="audio")
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "unsupported_media"
    assert upload_row(app, odd).consumed_at is None
    assert_nothing_stored(app, entries=1)


# --- bad media, through both doors ----------------------------------------------------

def _bad_media(media: Media, case: str) -> tuple[bytes, int, str]:
    """(file, status, error code) for each kind of bad recording."""
    speech = media.speech.read_bytes()
    return {
        "not media": (random.Random(7).randbytes(20_000), 422,  # noqa: S311 - test data
                      "unreadable_media"),
        "truncated": (speech[:len(speech) // 2], 422, "unreadable_media"),
        "empty": (b"", 422, "empty_media"),
        "too big": (random.Random(8).randbytes(2 * 1024 * 1024), 413,  # noqa: S311
                    "request_entity_too_large"),
        "too long": (media.long.read_bytes(), 422, "too_long"),
    }[case]


@pytest.fixture
def strict_app(tmp_path, _postgres_schema):
    """Limits small enough to test: 1 MB uploads, 10 s recordings (and 30 s of grace)."""
    app = make_app(tmp_path / "strict", MAX_UPLOAD_MB="1", MAX_RECORDING_SECONDS="10")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("door", ["kiosk tus", "api multipart"])
@pytest.mark.parametrize("case", ["not media", "truncated", "empty", "too big", "too long"])
def test_bad_media_is_refused_in_plain_words_and_nothing_is_kept(strict_app, media, case,
                                                                door):
    app = strict_app
    world = World(app)
    world.add_org("A")
    data, status, code = _bad_media(media, case)

    if door == "kiosk tus":
        kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
        if status == 413:  # refused when the upload is announced, before any byte
            response = tus_create(kiosk.client, "/kiosk/uploads", len(data),
                                  kiosk.headers, "recording.webm")
            assert count(app, Upload) == 0
        else:
            upload_id = kiosk.upload(data)
            response = kiosk.action("/entries", {"upload_id": upload_id, "kind": "audio"})
            assert upload_row(app, upload_id).consumed_at is None
    else:
        response = api_multipart(app.test_client(), world.kiosk_tokens["A"], data,
                                 "recording.webm", kind="audio")

    assert response.status_code == status, response.text
    assert response.is_json
    assert response.json["error"]["code"] == code
    if status == 422:
        plain_words(response.json["error"])
    assert_nothing_stored(app)
    assert run_jobs(app) == 0


# --- written entries ------------------------------------------------------------------

WRITTEN = "I found a bed at the shelter tonight and the staff were kind to me"


def test_written_entries_through_both_doors(app, world):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    client, staff = app.test_client(), world.account("staff")

    from_kiosk = kiosk.action("/entries", {"kind": "text", "text": f"  {WRITTEN}\n",
                                           "prompt_id": 3})
    from_api = api_entry(client, staff.token, kind="text", text=WRITTEN,
                         consent={"audience": "organisation"})
    for response in (from_kiosk, from_api):
        assert response.status_code == 201, response.text
        assert RECEIPT.fullmatch(response.json["receipt_code"])
    assert from_kiosk.json["receipt_code"] != from_api.json["receipt_code"]

    kiosk_row = entry_row(app, from_kiosk.json["id"])
    api_row = entry_row(app, from_api.json["id"])
    assert (kiosk_row.kind, kiosk_row.consent, kiosk_row.question_card_id) == (
        "text", DEFAULT, 3)
    assert api_row.consent == {**DEFAULT, "audience": "organisation"}
    assert api_row.created_by_id == staff.user_id
    for row in (kiosk_row, api_row):
        assert row.original_key.endswith("/original.txt")
        assert decrypted(app, row.original_key) == WRITTEN.encode()  # trimmed
        assert_encrypted(on_disk(app, row.original_key), WRITTEN.encode())
        assert b"shelter" not in on_disk(app, row.original_key)
        assert history(app, row.id)[0][0] == "given"

    assert run_jobs(app) == 2
    assert {entry_row(app, r.id).status for r in (kiosk_row, api_row)} == {"awaiting_review"}

    refusals = [
        ({"kind": "text", "text": "   \n "}, "empty_text"),
        ({"kind": "text"}, "empty_text"),
        ({"kind": "text", "text": "x" * 10_001}, "text_too_long"),
        ({"kind": "text", "text": 42}, "invalid_text"),
        ({"kind": "text", "text": WRITTEN, "prompt_id": "3"}, "invalid_prompt"),
        ({"kind": "text", "text": WRITTEN, "prompt_id": 2**40}, "invalid_prompt"),
        ({"kind": "text", "text": WRITTEN, "prompt_id": True}, "invalid_prompt"),
        ({"kind": "poem", "text": WRITTEN}, "invalid_kind"),
        ({"kind": "text", "text": WRITTEN, "consent": {"audience": "everyone"}},
         "invalid_consent"),
    ]
    for body, code in refusals:
        for response in (kiosk.action("/entries", body), api_entry(client, staff.token,
                                                                   **body)):
            assert response.status_code == 422, (body, response.text)
            assert response.json["error"]["code"] == code, body
            if code in ("empty_text", "text_too_long"):  # what a person at the kiosk sees
                plain_words(response.json["error"])
    # a multipart form's prompt_id is text: a number is taken, anything else refused
    form = {"kind": "text", "text": WRITTEN}
    bad = client.post("/api/v1/entries", data={**form, "prompt_id": "abc"},
                      headers=bearer(staff.token))
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "invalid_prompt")
    good = client.post("/api/v1/entries", data={**form, "prompt_id": "7"},
                       headers=bearer(staff.token))
    assert good.status_code == 201
    assert entry_row(app, good.json["id"]).question_card_id == 7
    assert_nothing_stored(app, entries=3)
    assert kiosk.action("/entries", {"kind": "text", "text": "x" * 10_000}).status_code == 201


# --- receipts -------------------------------------------------------------------------

def _other_code(code: str) -> str:
    while (other := receipts.generate()) == code:
        pass
    return other


def test_receipts_show_change_and_withdraw_without_showing_content(app, world):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    client, staff = app.test_client(), world.account("staff")
    the_kiosk = kiosk_id(app, world.kiosk_tokens["A"])
    created = kiosk.action("/entries", {"kind": "text", "text": WRITTEN})
    code, entry_id = created.json["receipt_code"], created.json["id"]

    # Looking up, as people type: any case, spaces for dashes, stray spaces.
    typed = "  " + code.upper().replace("-", "  ") + " "
    found = kiosk.action("/receipts/lookup", {"code": typed})
    assert found.status_code == 200, found.text
    assert found.json == {"consent": DEFAULT, "status": "received", "kind": "text",
                          "received": dt.datetime.now(dt.UTC).date().isoformat()}
    assert "shelter" not in found.text

    for wrong in (_other_code(code), "hello", ""):
        missing = kiosk.action("/receipts/lookup", {"code": wrong})
        assert missing.status_code == 404, wrong
        assert missing.json["error"]["code"] == "not_found"
        assert "could not find" in missing.json["error"]["message"]
        plain_words(missing.json["error"])
    missing = client.post(f"/api/v1/receipts/{_other_code(code)}/withdraw",
                          headers=bearer(staff.token))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"

    # Changing consent: the entry follows, and the history gains a row each time. (A
    # written entry has no voice: it keeps the safe value whatever is sent.)
    changed = kiosk.action("/receipts/consent", {"code": typed, "consent": PUBLIC})
    assert changed.status_code == 200, changed.text
    assert changed.json["consent"] == {**PUBLIC, "voice": "disguise"}
    assert entry_row(app, entry_id).consent == {**PUBLIC, "voice": "disguise"}
    by_staff = client.post(f"/api/v1/receipts/{quote(typed.strip())}/consent",
                           json={"consent": {"audience": "organisation"}},
                           headers=bearer(staff.token))
    assert by_staff.status_code == 200, by_staff.text
    assert by_staff.json == {"id": entry_id, "status": "received",
                             "consent": {**DEFAULT, "audience": "organisation"}}
    assert entry_row(app, entry_id).consent == {**DEFAULT, "audience": "organisation"}
    bad = kiosk.action("/receipts/consent", {"code": code, "consent": {"voice": "robot"}})
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "invalid_consent")
    assert history(app, entry_id) == [
        ("given", "team", "disguise", False, f"kiosk:{the_kiosk}"),
        ("changed", "public", "disguise", True, f"receipt@kiosk:{the_kiosk}"),
        ("changed", "organisation", "disguise", False, f"receipt@staff:{staff.user_id}"),
    ]

    # Staff see the receipt code and the whole history.
    shown = client.get(f"/api/v1/entries/{entry_id}", headers=bearer(staff.token)).json
    assert shown["receipt_code"] == code
    assert [(h["action"], h["audience"], h["actor"]) for h in shown["consent_history"]] == [
        ("given", "team", f"kiosk:{the_kiosk}"),
        ("changed", "public", f"receipt@kiosk:{the_kiosk}"),
        ("changed", "organisation", f"receipt@staff:{staff.user_id}")]
    assert all(h["at"].endswith("Z") for h in shown["consent_history"])

    # Staff withdraw on the person's behalf (by entry id); the kiosk and panel may not.
    original_key = entry_row(app, entry_id).original_key
    for token in (world.kiosk_tokens["A"], world.account("panel").token):
        refused = client.post(f"/api/v1/entries/{entry_id}/withdraw", headers=bearer(token))
        assert refused.status_code == 403
    withdrawn = client.post(f"/api/v1/entries/{entry_id}/withdraw",
                            headers=bearer(staff.token))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json["status"] == "withdrawn"
    assert not exists(app, original_key) and media_files(app) == []
    assert history(app, entry_id)[-1] == ("withdrawn", "organisation", "disguise", False,
                                          f"staff:{staff.user_id}")
    again = client.post(f"/api/v1/entries/{entry_id}/withdraw", headers=bearer(staff.token))
    assert again.status_code == 200 and len(history(app, entry_id)) == 4
    late = kiosk.action("/receipts/consent", {"code": code, "consent": PUBLIC})
    assert (late.status_code, late.json["error"]["code"]) == (422, "withdrawn")
    assert run_jobs(app) == 1  # the queued job finds it withdrawn and does nothing
    assert entry_row(app, entry_id).status == "withdrawn"


def test_consent_history_is_append_only(app, world):
    client = app.test_client()
    created = api_entry(client, world.account("staff").token, kind="text", text=WRITTEN)
    entry_id = created.json["id"]
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        record = db.session.scalar(select(ConsentRecord))
        record.audience = "public"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalar(select(ConsentRecord)))
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        for statement in (update(ConsentRecord).values(audience="public"),
                          delete(ConsentRecord)):
            with pytest.raises(PermissionError):
                db.session.execute(statement)
            db.session.rollback()
    assert history(app, entry_id)[0][:2] == ("given", "team")
    assert len(history(app, entry_id)) == 1


def test_receipt_attempts_share_one_budget_across_kiosk_and_api(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "limited", RECEIPT_RATE_LIMIT="3 per hour")
    try:
        world = World(app)
        world.add_org("A")
        kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
        client, token = app.test_client(), world.kiosk_tokens["A"]
        code = kiosk.action("/entries", {"kind": "text", "text": WRITTEN}).json["receipt_code"]

        # Right codes cost nothing: a busy kiosk is never locked out by people who type
        # their own code correctly.
        for _ in range(5):
            assert kiosk.action("/receipts/lookup", {"code": code}).status_code == 200
        # Wrong codes are counted, through every door alike.
        wrong = _other_code(code)
        assert kiosk.action("/receipts/lookup", {"code": wrong}).status_code == 404
        assert kiosk.action("/receipts/withdraw", {"code": wrong}).status_code == 404
        assert client.post(f"/api/v1/receipts/{wrong}/consent", json={"consent": PUBLIC},
                           headers=bearer(token)).status_code == 404
        # After three misses the same kiosk is refused, through whichever door.
        for response in (kiosk.action("/receipts/lookup", {"code": code}),
                         kiosk.action("/receipts/withdraw", {"code": code}),
                         client.post(f"/api/v1/receipts/{code}/withdraw",
                                     headers=bearer(token))):
            assert response.status_code == 429, response.text
            assert response.json["error"]["code"] == "too_many_requests"
        with app.app_context(), tenancy.unscoped():
            assert db.session.scalar(select(Entry.status)) == "received"

        # Others have budgets of their own: another kiosk, and staff.
        with app.app_context():
            _, other = accounts.pair_kiosk(world.orgs["A"], "second kiosk")
        assert KioskBrowser(app, other).action("/receipts/lookup",
                                               {"code": code}).status_code == 200
        assert client.post(f"/api/v1/receipts/{code}/withdraw", headers=bearer(
            world.account("staff").token)).status_code == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- who may upload -------------------------------------------------------------------

def test_only_a_paired_kiosk_uploads_at_the_kiosk_door(app, world, media):
    data = media.speech.read_bytes()
    token = world.kiosk_tokens["A"]
    kiosk = KioskBrowser(app, token)
    started = kiosk.upload(data, send=1)
    offset = upload_row(app, started).offset

    # Not paired: a valid CSRF token, but no kiosk cookie: a JSON 401, nothing kept.
    stranger = app.test_client()
    headers = {"X-CSRFToken": csrf_from(stranger.get("/kiosk/pair").text)}
    tried = [tus_create(stranger, "/kiosk/uploads", len(data), headers, "recording.webm"),
             stranger.patch(f"/kiosk/uploads/{started}", data=data[offset:],
                            content_type=OCTETS,
                            headers={**headers, **TUS, "Upload-Offset": str(offset)}),
             stranger.post("/kiosk/entries", json={"upload_id": started, "kind": "audio"},
                           headers=headers)]
    for response in tried:
        assert response.status_code == 401, response.text
        assert response.json["error"]["code"] == "unauthorized"
    api = app.test_client().post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10"})
    assert api.status_code == 401

    # Revoked: its cookie and its token stop working, for new and unfinished uploads.
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        accounts.revoke_kiosk(kiosk_id(app, token))
    tried = [tus_create(kiosk.client, "/kiosk/uploads", len(data), kiosk.headers,
                        "recording.webm"),
             kiosk.client.patch(f"/kiosk/uploads/{started}", data=data[offset:],
                                content_type=OCTETS, headers={
                                    **kiosk.headers, **TUS, "Upload-Offset": str(offset)}),
             kiosk.action("/entries", {"kind": "text", "text": WRITTEN})]
    for response in tried:
        assert response.status_code == 401, response.text
        assert response.json["error"]["code"] == "unauthorized"
    api = app.test_client().post("/api/v1/uploads", headers={
        **TUS, **bearer(token), "Upload-Length": "10"})
    assert api.status_code == 401

    assert count(app, Upload) == 1 and upload_row(app, started).offset == offset
    assert_nothing_stored(app)


def test_the_server_checks_the_bytes_against_the_kiosks_checksum(app, world, media):
    """'Saved safely' needs the bytes held to be the bytes recorded: a mismatch makes no
    entry and drops the upload, so the kiosk (which still has the recording) resends."""
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    data = media.speech.read_bytes()
    right = hashlib.sha256(data).hexdigest()

    damaged = kiosk.upload(data)
    wrong = kiosk.action("/entries", {"upload_id": damaged, "kind": "audio",
                                      "sha256": hashlib.sha256(data + b"x").hexdigest()})
    assert wrong.status_code == 422
    assert wrong.json["error"]["code"] == "checksum_mismatch"
    assert "sent again" in wrong.json["error"]["message"]
    assert_nothing_stored(app, entries=0)
    gone = kiosk.action("/entries", {"upload_id": damaged, "kind": "audio", "sha256": right})
    assert gone.json["error"]["code"] == "upload_not_found"

    good = kiosk.upload(data)
    saved = kiosk.action("/entries", {"upload_id": good, "kind": "audio",
                                      "sha256": right.upper()})
    assert saved.status_code == 201, saved.text
    assert kiosk.action("/entries", {"upload_id": good, "kind": "audio",
                                     "sha256": "nothex"}).json["error"]["code"] == (
        "invalid_sha256")


def test_staff_read_a_written_entry_on_its_review_page_escaped(app, world, auth, client):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    words = "The day centre <b>helped</b> me.\nI felt listened to."
    entry_id = kiosk.action("/entries", {"kind": "text", "text": words}).json["id"]
    auth.login(world.account("staff").email)
    page = client.get(f"/review/entries/{entry_id}")
    assert page.status_code == 200
    # Before the pipeline has run, the page shows the words, each escaped.
    assert "&lt;b&gt;helped&lt;/b&gt;" in page.text
    assert "<b>helped</b>" not in page.text
    assert "listened" in page.text
