"""Resumable uploads (tus 1.0.0): the protocol with raw requests, crash repair, who may
see an upload, the services entry creation uses, and tuspy resuming across a restart."""
from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from argon2 import PasswordHasher
from flask import Blueprint, Flask, request
from flask_wtf.csrf import generate_csrf
from sqlalchemy import update
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from werkzeug.serving import BaseWSGIServer, make_server

from diaryroom import accounts, create_app, tenancy
from diaryroom.auth import KIOSK, allow, passwords
from diaryroom.auth.principal import KIOSK_COOKIE, principal_for_token
from diaryroom.config import TestConfig as AppTestConfig  # not collected by pytest
from diaryroom.errors import InvalidInput
from diaryroom.extensions import csrf, db
from diaryroom.models import utcnow
from diaryroom.uploads import (
    Upload,
    claim_completed_upload,
    discard,
    mark_consumed,
    part_path,
    purge_expired,
    register_tus_routes,
)
from tests.conftest import World, _empty_tables, bearer

OCTETS = "application/offset+octet-stream"
TUS = {"Tus-Resumable": "1.0.0"}
MiB = 1024 * 1024
MAX_MB = 4

# The API-style mount: bearer tokens, JSON errors, no CSRF (as /api/v1 will be).
bp = Blueprint("tus_test", __name__, url_prefix="/api/t")
register_tus_routes(bp, access=("staff", "admin", KIOSK))
# The kiosk-style mount: the kiosk cookie, with CSRF protection in force (as /kiosk).
kiosk_bp = Blueprint("tus_kiosk_test", __name__, url_prefix="/tk")
register_tus_routes(kiosk_bp, access=(KIOSK,))


@kiosk_bp.get("/csrf")
@allow(KIOSK)
def csrf_token():
    return generate_csrf()


def build_app(data_dir: Path, *, fresh: bool = True) -> Flask:
    app = create_app(AppTestConfig(data_dir, MAX_UPLOAD_MB=str(MAX_MB)))
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(kiosk_bp)
    if fresh:
        with app.app_context():
            _empty_tables()
    return app


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(tmp_path, _postgres_schema) -> Iterator[Flask]:
    app = build_app(tmp_path / "data")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(app) -> World:
    w = World(app)
    w.add_org("A")
    return w


@pytest.fixture
def kiosk(world) -> dict[str, str]:
    return {**TUS, **bearer(world.kiosk_tokens["A"])}


def create(client, headers: dict, length: int, metadata: str | None = None) -> str:
    extra = {"Upload-Metadata": metadata} if metadata is not None else {}
    r = client.post("/api/t/uploads", headers={**headers, "Upload-Length": str(length), **extra})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def patch(client, url: str, headers: dict, offset: int, body: bytes, **extra):
    return client.patch(url, data=body, content_type=OCTETS,
                        headers={**headers, "Upload-Offset": str(offset), **extra})


def row(app, url: str) -> Upload:
    with app.app_context(), tenancy.unscoped():
        upload = db.session.get(Upload, url.rsplit("/", 1)[1])
        db.session.expunge_all()
        return upload


def part_file(app, url: str) -> Path:
    with app.app_context():
        return part_path(url.rsplit("/", 1)[1])


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_full_protocol_in_three_chunks(app, world, kiosk):
    client = app.test_client()
    data = os.urandom(300_000)
    options = client.options("/api/t/uploads", headers=kiosk)
    assert options.status_code == 204
    assert options.headers["Tus-Version"] == "1.0.0"
    assert {"creation", "termination", "expiration", "checksum"} <= set(
        options.headers["Tus-Extension"].split(","))
    assert options.headers["Tus-Max-Size"] == str(MAX_MB * MiB)

    metadata = f"filename {b64('entrée.webm')},filetype {b64('audio/webm')},empty"
    r = client.post("/api/t/uploads", headers={**kiosk, "Upload-Length": str(len(data)),
                                               "Upload-Metadata": metadata})
    assert r.status_code == 201 and r.headers["Tus-Resumable"] == "1.0.0"
    url = r.headers["Location"]
    assert url.startswith("/api/t/uploads/") and len(url.rsplit("/", 1)[1]) == 32
    assert "GMT" in r.headers["Upload-Expires"]

    head = client.head(url, headers=kiosk)
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", str(len(data)))
    assert head.headers["Cache-Control"] == "no-store" and head.headers["Tus-Resumable"] == "1.0.0"

    for start, end in [(0, 100_000), (100_000, 250_000), (250_000, 300_000)]:
        r = patch(client, url, kiosk, start, data[start:end])
        assert r.status_code == 204, r.text
        assert r.headers["Upload-Offset"] == str(end) and "GMT" in r.headers["Upload-Expires"]
        assert client.head(url, headers=kiosk).headers["Upload-Offset"] == str(end)

    upload = row(app, url)
    assert upload.meta == {"filename": "entrée.webm", "filetype": "audio/webm", "empty": ""}
    assert upload.completed_at is not None and upload.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(part_file(app, url).read_bytes()).hexdigest() == upload.sha256
    assert client.head(url, headers=kiosk).headers["Upload-Metadata"]  # echoed back
    # A completed upload takes an empty PATCH at its end and nothing more.
    assert patch(client, url, kiosk, len(data), b"").status_code == 204
    assert patch(client, url, kiosk, len(data), b"x").status_code == 413


def test_protocol_errors(app, world, kiosk):
    client = app.test_client()
    url = create(client, kiosk, 10)
    wrong = patch(client, url, kiosk, 3, b"abc")
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "offset_mismatch"
    r = client.patch(url, data=b"abc", content_type="application/octet-stream",
                     headers={**kiosk, "Upload-Offset": "0"})
    assert r.status_code == 415
    assert patch(client, url, kiosk, -1, b"abc").status_code == 400
    no_tus = patch(client, url, bearer(world.kiosk_tokens["A"]), 0, b"abc")
    assert no_tus.status_code == 412 and no_tus.headers["Tus-Version"] == "1.0.0"
    assert patch(client, url, {**kiosk, "Tus-Resumable": "0.2.2"}, 0, b"abc").status_code == 412
    too_long = patch(client, url, kiosk, 0, b"x" * 11)
    assert too_long.status_code == 413
    assert client.head(url, headers=kiosk).headers["Upload-Offset"] == "0"
    assert part_file(app, url).stat().st_size == 0

    def post(**headers):
        return client.post("/api/t/uploads", headers={**kiosk, **headers})
    assert post(**{"Upload-Length": str(MAX_MB * MiB + 1)}).status_code == 413
    assert post(**{"Upload-Defer-Length": "1"}).status_code == 400
    assert post().status_code == 400
    for bad in ("ten", "-5", "²", "1" * 5000):
        assert post(**{"Upload-Length": bad}).status_code == 400
    assert post(**{"Upload-Length": "5", "Upload-Metadata": "filename %%%"}).status_code == 400
    assert post(**{"Upload-Length": "5", "Upload-Metadata": "a YQ==,a YQ=="}).status_code == 400
    assert client.post("/api/t/uploads", headers={"Upload-Length": "5", **TUS}).status_code == 401
    bad_token = client.head(url, headers={**TUS, **bearer("drk_nope")})
    assert bad_token.status_code == 401 and bad_token.headers["Tus-Resumable"] == "1.0.0"
    assert client.head("/api/t/uploads/" + "0" * 32, headers=kiosk).status_code == 404
    assert client.head("/api/t/uploads/../etc", headers=kiosk).status_code == 404
    assert row(app, url).offset == 0


def test_checksums(app, world, kiosk):
    client = app.test_client()
    url = create(client, kiosk, 6)
    good = "sha256 " + base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    bad = "sha256 " + base64.b64encode(hashlib.sha256(b"abd").digest()).decode()
    mismatch = patch(client, url, kiosk, 0, b"abc", **{"Upload-Checksum": bad})
    assert mismatch.status_code == 460 and mismatch.json["error"]["code"] == "checksum_mismatch"
    assert part_file(app, url).stat().st_size == 0
    md5 = patch(client, url, kiosk, 0, b"abc", **{"Upload-Checksum": "md5 AAAA"})
    assert md5.status_code == 400
    assert patch(client, url, kiosk, 0, b"abc", **{"Upload-Checksum": good}).status_code == 204
    sha1 = "sha1 " + base64.b64encode(hashlib.sha1(b"def").digest()).decode()
    assert patch(client, url, kiosk, 3, b"def", **{"Upload-Checksum": sha1}).status_code == 204
    assert part_file(app, url).read_bytes() == b"abcdef"


def test_termination_deletes_the_file(app, world, kiosk):
    client = app.test_client()
    url = create(client, kiosk, 10)
    assert patch(client, url, kiosk, 0, b"hello").status_code == 204
    assert part_file(app, url).exists()
    r = client.delete(url, headers=kiosk)
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert not part_file(app, url).exists() and row(app, url) is None
    assert client.head(url, headers=kiosk).status_code == 404


def expire(app, url: str) -> None:
    with app.app_context(), tenancy.unscoped():
        db.session.execute(update(Upload).where(Upload.id == url.rsplit("/", 1)[1])
                           .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()


def test_expired_uploads_are_gone_and_purged(app, world, kiosk):
    client = app.test_client()
    gone, purged, consumed, live = (create(client, kiosk, 10) for _ in range(4))
    for url in (gone, purged, consumed, live):
        assert patch(client, url, kiosk, 0, b"0123456789"[:5]).status_code == 204
    expire(app, gone)
    assert client.head(gone, headers=kiosk).status_code == 410
    assert row(app, gone) is None and not part_file(app, gone).exists()
    assert client.head(gone, headers=kiosk).status_code == 404
    expire(app, purged)
    assert patch(client, consumed, kiosk, 5, b"56789").status_code == 204
    with app.app_context(), tenancy.unscoped():
        mark_consumed(db.session.get(Upload, consumed.rsplit("/", 1)[1]))
        db.session.commit()
        folder = part_path("x").parent
    old_orphan, new_orphan = folder / ("a" * 32 + ".part"), folder / ("b" * 32 + ".part")
    old_orphan.write_bytes(b"left behind")
    new_orphan.write_bytes(b"being created")
    os.utime(old_orphan, (time.time() - 3600, time.time() - 3600))
    with app.app_context():
        assert purge_expired() == 2  # the expired upload and the old orphan
    assert row(app, purged) is None and not part_file(app, purged).exists()
    assert not old_orphan.exists() and new_orphan.exists()
    assert row(app, consumed).consumed_at is not None and not part_file(app, consumed).exists()
    assert part_file(app, live).stat().st_size == 5 and row(app, live) is not None


def test_only_the_creator_sees_an_upload(app, world, kiosk):
    client = app.test_client()
    world.add_org("B")
    with app.app_context():
        _, second_kiosk = accounts.pair_kiosk(world.orgs["A"], "second kiosk")
    url = create(client, kiosk, 10)
    assert patch(client, url, kiosk, 0, b"mine").status_code == 204
    strangers = [world.kiosk_tokens["B"], second_kiosk, world.account("staff").token,
                 world.account("admin", "B").token]
    for token in strangers:
        headers = {**TUS, **bearer(token)}
        assert client.head(url, headers=headers).status_code == 404
        assert patch(client, url, headers, 4, b"theirs").status_code == 404
        assert client.delete(url, headers=headers).status_code == 404
    staff = {**TUS, **bearer(world.account("staff").token)}
    own = create(client, staff, 3)  # staff may upload too, and see their own
    assert client.head(own, headers=staff).status_code == 200
    assert client.head(own, headers=kiosk).status_code == 404
    assert part_file(app, url).read_bytes() == b"mine" and row(app, url).offset == 4


def test_bytes_beyond_the_committed_offset_are_cut_back(app, world, kiosk):
    """A crash after writing but before committing leaves extra bytes on disk."""
    client = app.test_client()
    data = os.urandom(100)
    url = create(client, kiosk, 100)
    assert patch(client, url, kiosk, 0, data[:40]).status_code == 204
    with part_file(app, url).open("ab") as fh:
        fh.write(b"garbage never committed")
    assert client.head(url, headers=kiosk).headers["Upload-Offset"] == "40"
    assert part_file(app, url).read_bytes() == data[:40]
    with part_file(app, url).open("ab") as fh:  # and a PATCH repairs it too
        fh.write(b"more garbage")
    assert patch(client, url, kiosk, 40, data[40:]).status_code == 204
    assert part_file(app, url).read_bytes() == data
    assert row(app, url).sha256 == hashlib.sha256(data).hexdigest()


def test_a_write_in_progress_holds_the_upload(app, world, kiosk):
    client = app.test_client()
    url = create(client, kiosk, 10)
    assert patch(client, url, kiosk, 0, b"abc").status_code == 204
    with part_file(app, url).open("ab") as fh:  # as a PATCH in another process would
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        fh.write(b"xy")
        fh.flush()
        assert patch(client, url, kiosk, 3, b"def").status_code == 423
        assert client.delete(url, headers=kiosk).status_code == 423
        head = client.head(url, headers=kiosk)  # reports the committed offset, cuts nothing
        assert head.headers["Upload-Offset"] == "3" and part_file(app, url).stat().st_size == 5
    assert patch(client, url, kiosk, 3, b"def").status_code == 204
    assert part_file(app, url).read_bytes() == b"abcdef"


def test_kiosk_cookie_with_csrf(app, world):
    client = app.test_client()
    client.set_cookie(KIOSK_COOKIE, world.kiosk_tokens["A"])
    token = client.get("/tk/csrf").text
    headers = {**TUS, "X-CSRFToken": token}
    r = client.post("/tk/uploads", headers={**headers, "Upload-Length": "6"})
    assert r.status_code == 201 and r.headers["Location"].startswith("/tk/uploads/")
    url = r.headers["Location"]
    assert patch(client, url, TUS, 0, b"abc").status_code == 400  # no CSRF token: refused
    assert patch(client, url, headers, 0, b"abc").status_code == 204
    assert patch(client, url, headers, 3, b"def").status_code == 204
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "6"
    assert part_file(app, url).read_bytes() == b"abcdef"
    api_url = url.replace("/tk/", "/api/t/")  # the same upload through the bearer mount
    api_head = client.head(api_url, headers={**TUS, **bearer(world.kiosk_tokens["A"])})
    assert api_head.status_code == 200


@contextmanager
def principal(app: Flask, token: str):
    with app.test_request_context():
        p = principal_for_token(token)
        with tenancy.as_org(p.org_id):
            yield p


def test_claim_completed_upload(app, world, kiosk):
    client = app.test_client()
    done, partial = create(client, kiosk, 5), create(client, kiosk, 5)
    assert patch(client, done, kiosk, 0, b"hello").status_code == 204
    assert patch(client, partial, kiosk, 0, b"hel").status_code == 204
    world.add_org("B")
    done_id, partial_id = done.rsplit("/", 1)[1], partial.rsplit("/", 1)[1]

    def refused(token: str, upload_id: str) -> str:
        with principal(app, token) as p, pytest.raises(InvalidInput) as e:
            claim_completed_upload(upload_id, p)
        return e.value.code

    assert refused(world.kiosk_tokens["A"], partial_id) == "upload_incomplete"
    assert refused(world.kiosk_tokens["A"], "f" * 32) == "upload_not_found"
    assert refused(world.kiosk_tokens["A"], "not an id") == "upload_not_found"
    assert refused(world.kiosk_tokens["B"], done_id) == "upload_not_found"
    assert refused(world.account("staff").token, done_id) == "upload_not_found"
    with principal(app, world.kiosk_tokens["A"]) as p:
        path, upload = claim_completed_upload(done_id, p)
        assert path.read_bytes() == b"hello"
        assert upload.sha256 == hashlib.sha256(b"hello").hexdigest()
        mark_consumed(upload)
        db.session.commit()
        with pytest.raises(InvalidInput) as race:  # a request racing with the same id
            mark_consumed(upload)
        assert race.value.code == "upload_already_used"
        db.session.rollback()
    assert refused(world.kiosk_tokens["A"], done_id) == "upload_already_used"  # replayed id
    with principal(app, world.kiosk_tokens["A"]):  # the entry has the bytes: drop the file
        discard(db.session.get(Upload, done_id), keep_record=True)
        db.session.commit()
    assert refused(world.kiosk_tokens["A"], done_id) == "upload_already_used"
    client = app.test_client()  # a client that saw it through still gets sensible answers
    assert client.head(done, headers=kiosk).headers["Upload-Offset"] == "5"
    assert patch(client, done, kiosk, 5, b"").status_code == 204
    assert not part_file(app, done).exists() and row(app, done).completed_at is not None
    with principal(app, world.kiosk_tokens["A"]):
        discard(db.session.get(Upload, partial_id))
        db.session.commit()
    assert row(app, partial) is None and not part_file(app, partial).exists()
    expire(app, done)
    assert refused(world.kiosk_tokens["A"], done_id) == "upload_not_found"


class LiveServer:
    """The app on a real socket; ``kill_after`` drops the connection of the Nth PATCH and
    stops the server, as a crash or a restart would."""

    def __init__(self, app: Flask, port: int = 0, kill_after: int | None = None):
        self.patches = 0
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

        @app.before_request
        def count_and_maybe_die():
            if request.method != "PATCH":
                return None
            self.patches += 1
            if kill_after is None or self.patches < kill_after:
                return None
            threading.Thread(target=self.server.shutdown).start()
            request.environ["werkzeug.socket"].shutdown(2)  # SHUT_RDWR: the client is cut off
            return "", 503

        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
        self.server.server_close()


def test_tuspy_resumes_after_a_server_restart(tmp_path, _postgres_schema):
    data = os.urandom(3 * MiB)
    source = tmp_path / "recording.webm"
    source.write_bytes(data)
    data_dir = tmp_path / "data"
    first = build_app(data_dir)
    world = World(first)
    world.add_org("A")
    headers = bearer(world.kiosk_tokens["A"])
    live = LiveServer(first, kill_after=5)
    base = f"http://127.0.0.1:{live.port}/api/t/uploads"
    uploader = TusClient(base, headers=headers).uploader(
        str(source), chunk_size=256 * 1024, metadata={"filename": "recording.webm"},
        upload_checksum=True)
    with pytest.raises((TusUploadFailed, TusCommunicationError)):
        uploader.upload()
    live.thread.join(5)
    live.server.server_close()
    url = uploader.url
    with first.app_context():
        db.engine.dispose()
    with pytest.raises(requests.ConnectionError):
        requests.head(url, headers={**TUS, **headers}, timeout=5)

    second = build_app(data_dir, fresh=False)  # a new process, the same disk and database
    restarted = LiveServer(second, port=live.port)
    try:
        resumed = TusClient(base, headers=headers).uploader(
            str(source), url=url, chunk_size=256 * 1024, upload_checksum=True)
        assert resumed.offset == 4 * 256 * 1024  # the four chunks acknowledged before
        resumed.upload()
        assert restarted.patches == 12 - 4
        upload = row(second, url)
        assert upload.offset == len(data) and upload.meta == {"filename": "recording.webm"}
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        assert part_file(second, url).read_bytes() == data
    finally:
        restarted.stop()
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


def test_chunked_request_bodies(app, world, kiosk):
    live = LiveServer(app)
    try:
        base = f"http://127.0.0.1:{live.port}/api/t/uploads"
        r = requests.post(base, headers={**kiosk, "Upload-Length": "8"}, timeout=5)
        url = urljoin(base, r.headers["Location"])  # a path: clients resolve it
        headers = {**kiosk, "Content-Type": OCTETS, "Upload-Offset": "0"}
        r = requests.patch(url, data=iter([b"ab", b"cd"]), headers=headers, timeout=5)
        assert r.status_code == 204 and r.headers["Upload-Offset"] == "4"
        headers["Upload-Offset"] = "4"
        r = requests.patch(url, data=iter([b"efg", b"hij"]), headers=headers, timeout=5)
        assert r.status_code == 413  # no Content-Length, so found out while streaming
        assert part_file(app, url).read_bytes() == b"abcd"
    finally:
        live.stop()
