"""Quotas and body limits (issue 8, finding 4): a kiosk or account holds only a few
unfinished resumable uploads and reserves only so many bytes; a JSON or form body is
refused past a small limit before it is read; JSON nested absurdly deep is a clear 422.

The first tests use the app in this process; the last ones run against a real
`diaryroom serve` process, where memory and parallel requests are real.
"""
from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from diaryroom import accounts, tenancy
from diaryroom.extensions import db
from diaryroom.models import utcnow
from diaryroom.uploads import Upload
from tests.browser.e2e_support import Installation, served
from tests.conftest import bearer, make_app

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


@pytest.fixture
def app(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "data", MAX_JSON_KB="64")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def create(client, token: str, length: int):
    return client.post("/api/v1/uploads", headers={**TUS, **bearer(token),
                                                   "Upload-Length": str(length)})


def plain(message: str) -> None:
    """A message for people: no path, no storage key, no exception text."""
    assert "/" not in message and "Error" not in message and "Traceback" not in message


def test_a_kiosk_may_hold_only_four_unfinished_uploads(app, world):
    client, token = app.test_client(), world.kiosk_tokens["A"]
    made = [create(client, token, 1000) for _ in range(32)]
    assert [r.status_code for r in made[:4]] == [201] * 4
    refused = made[4]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    message = refused.get_json()["error"]["message"]
    assert "4 unfinished uploads" in message and "try again" in message
    plain(message)
    assert all(r.status_code == 429 for r in made[5:])
    with app.app_context(), tenancy.unscoped():
        assert db.session.query(Upload).count() == 4  # nothing of the refused ones is kept

    # Deleting one frees its slot...
    first = made[0].headers["Location"]
    assert client.delete(first, headers={**TUS, **bearer(token)}).status_code == 204
    fifth = create(client, token, 1000)
    assert fifth.status_code == 201
    assert create(client, token, 1000).status_code == 429
    # ...and so does finishing one (it is no longer open, whether or not it is used yet).
    done = client.patch(fifth.headers["Location"], data=b"x" * 1000, content_type=OCTETS,
                        headers={**TUS, **bearer(token), "Upload-Offset": "0"})
    assert done.status_code == 204
    assert create(client, token, 1000).status_code == 201
    # An expired upload does not count either.
    with app.app_context(), tenancy.unscoped():
        db.session.execute(update(Upload).values(expires_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
    assert [create(client, token, 1000).status_code for _ in range(5)] == [201] * 4 + [429]


def test_each_kiosk_and_account_has_its_own_quota(app, world):
    client = app.test_client()
    kiosk, staff = world.kiosk_tokens["A"], world.account("staff").token
    assert [create(client, kiosk, 10).status_code for _ in range(5)] == [201] * 4 + [429]
    answers = [create(client, staff, 10) for _ in range(5)]
    assert [r.status_code for r in answers] == [201] * 4 + [429]
    message = answers[4].get_json()["error"]["message"]
    assert message.startswith("You already have 4 unfinished uploads"), message


def test_reserved_bytes_are_bounded(app, world):
    """The finding: 32 uploads of 500 MB. Two fill the 1000 MB a kiosk may reserve."""
    client, token = app.test_client(), world.kiosk_tokens["A"]
    assert app.config["MAX_RESERVED_BYTES"] == 1000 * MiB  # twice the largest upload
    made = [create(client, token, 500 * MiB) for _ in range(32)]
    assert [r.status_code for r in made[:2]] == [201, 201]
    assert all(r.status_code == 413 for r in made[2:])
    message = made[2].get_json()["error"]["message"]
    assert "1000 MB" in message and "Finish or cancel" in message
    plain(message)
    assert create(client, token, 10).status_code == 413  # nothing more fits beside them
    client.delete(made[0].headers["Location"], headers={**TUS, **bearer(token)})
    assert create(client, token, 500 * MiB).status_code == 201


def test_json_and_form_bodies_past_the_small_limit_are_refused(app, world):
    client, token = app.test_client(), world.kiosk_tokens["A"]
    big = json.dumps({"kind": "text", "text": "x" * (100 * 1024)})
    r = client.post("/api/v1/entries", data=big, content_type="application/json",
                    headers=bearer(token))
    assert r.status_code == 413
    assert r.get_json()["error"]["message"] == "This request is too large: send at most 64 KB."
    r = client.post("/auth/login", data={"email": "a@b.c", "password": "x" * (100 * 1024)})
    assert r.status_code == 413
    # A chunked body (no Content-Length; the server marks the stream as ending) is cut off
    # once it passes the limit.
    r = client.post("/api/v1/entries", input_stream=io.BytesIO(big.encode()),
                    content_type="application/json", headers={
                        **bearer(token), "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413
    assert "at most 64 KB" in r.get_json()["error"]["message"]
    # Media routes keep the upload limit: a 200 KB chunk and a 200 KB multipart file pass
    # the body limit (the file is not media, so the entry itself is refused as such).
    upload = create(client, token, 200 * 1024)
    r = client.patch(upload.headers["Location"], data=b"x" * (200 * 1024), content_type=OCTETS,
                     headers={**TUS, **bearer(token), "Upload-Offset": "0"})
    assert r.status_code == 204
    r = client.post("/api/v1/entries", headers=bearer(token),
                    content_type="multipart/form-data",
                    data={"media": (io.BytesIO(b"x" * (200 * 1024)), "x.wav")})
    assert r.status_code == 422


def test_json_nested_very_deep_is_a_clear_error(app, world):
    client, token = app.test_client(), world.kiosk_tokens["A"]
    deep = "[" * 30_000 + "]" * 30_000  # within this app's 64 KB; the server test has 100,000
    r = client.post("/api/v1/entries", data=deep, content_type="application/json",
                    headers=bearer(token))
    assert r.status_code == 422
    assert r.get_json()["error"] == {"code": "invalid_json",
                                     "message": "send a JSON object that is not nested so "
                                                "deeply"}
    consent = '{"a":' * 50_000 + "1" + "}" * 50_000
    r = client.post("/api/v1/entries", headers=bearer(token),
                    content_type="multipart/form-data",
                    data={"media": (io.BytesIO(b"x"), "x.wav"), "consent": consent})
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "invalid_consent"


def test_location_is_a_path_whatever_the_host_header_says(app, world):
    r = app.test_client().post("/api/v1/uploads", headers={
        **TUS, "Upload-Length": "10", "Host": "evil.example", **bearer(world.kiosk_tokens["A"])})
    assert r.status_code == 201
    assert r.headers["Location"].startswith("/api/v1/uploads/")
    assert "evil" not in r.headers["Location"]


# --- against a real server process --------------------------------------------------------

def set_up(install: Installation) -> None:
    """One paired kiosk, made in this process: quicker than the CLI."""
    org = accounts.create_organisation("Quota service")
    _, install.kiosk_token = accounts.pair_kiosk(org.id, "Front desk")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quota-server")
    with served(folder, label="quotas", prepare=set_up) as process:
        yield process


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_big_json(port: int, token: str, size: int, *, chunked: bool) -> tuple[int, dict]:
    """POST ``size`` bytes of JSON, streamed; the answer (the server may answer before
    the body is all sent, and close)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(size)
    conn.putrequest("POST", "/api/v1/entries")
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    piece, sent = b'{"text": "' + b"x" * (MiB - 10), 0
    try:
        while sent < size:
            chunk = piece[:size - sent]
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused early: the answer is waiting
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_json_body_is_refused_without_growing_memory(server, chunked):
    pid = server.proc.pid
    token = server.install.kiosk_token
    assert send_big_json(server.port, token, 10, chunked=chunked)[0] == 422  # warmed up
    before = rss_kb(pid)
    status, body = send_big_json(server.port, token, 100 * MiB, chunked=chunked)
    assert status == 413
    assert body["error"]["message"] == "This request is too large: send at most 1024 KB."
    growth_mb = (rss_kb(pid) - before) / 1024
    assert growth_mb < 50, f"the server grew by {growth_mb:.0f} MB"
    # And it still answers.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200


def test_deep_json_against_the_server(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/api/v1/entries", body="[" * 100_000 + "]" * 100_000, headers={
        "Authorization": f"Bearer {server.install.kiosk_token}",
        "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 422
    assert json.loads(response.read())["error"]["code"] == "invalid_json"


def test_parallel_creates_cannot_pass_the_quota_together(server):
    """Ten creates at once from one kiosk: exactly four are let in."""
    statuses: list[int] = []
    start = threading.Barrier(10)

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        start.wait()
        conn.request("POST", "/api/v1/uploads", headers={
            **TUS, "Upload-Length": str(500 * 1024),
            "Authorization": f"Bearer {server.install.kiosk_token}",
            "Host": "evil.example"})
        response = conn.getresponse()
        if response.status == 201:
            assert response.getheader("Location").startswith("/api/v1/uploads/")
        statuses.append(response.status)
        response.read()

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 90
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    assert sorted(statuses) == [201] * 4 + [429] * 6, statuses
    assert server.install.count("uploads") == 4
