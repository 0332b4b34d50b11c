"""5xx answers: a generic message and a reference, the details in the log only.

The leak this guards against was found with S3 down: a kiosk's upload answered with the
internal endpoint URL and the storage key of the recording.
"""
from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from diaryroom.auth import PUBLIC, allow
from diaryroom.extensions import db
from tests.conftest import make_app
from tests.integration.conftest import admin_client

BUCKET = "private-media-bucket"
SECRET_DETAIL = "s3://private-media-bucket/org/1/entries/1/original.webm at http://10.0.0.7"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def stopped_s3() -> Iterator[str]:
    """The URL of an S3 endpoint that had the bucket and has since gone away."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    admin_client(url).create_bucket(Bucket=BUCKET)
    server.stop()
    # Bound but not listening: connections are refused, and no other process on this
    # machine can start a server on the port while the test runs.
    with socket.socket() as hold:
        hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hold.bind((host, port))
        yield url


@pytest.fixture
def app(tmp_path, stopped_s3, _postgres_schema):
    """Overrides the shared ``app``: media in a bucket whose endpoint is down."""
    app = make_app(tmp_path / "data", STORAGE_URL=f"s3://{BUCKET}", S3_ENDPOINT_URL=stopped_s3,
                   S3_ACCESS_KEY_ID="testing", S3_SECRET_ACCESS_KEY="testing",
                   S3_ADDRESSING_STYLE="path")

    @allow(PUBLIC)
    def boom():
        raise RuntimeError(f"cannot read {SECRET_DETAIL}")

    app.add_url_rule("/boom-for-tests", "boom_for_tests", boom)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def assert_nothing_internal(body: str) -> None:
    for detail in ("http://", "127.0.0.1", "10.0.0.7", "org/", BUCKET, "s3://", "Traceback",
                   "Error", ".webm"):
        assert detail not in body, f"the answer gave away {detail!r}: {body}"


def test_kiosk_upload_with_storage_down_is_503_with_a_reference_only(
        app, world, upload, silence, caplog):
    with caplog.at_level(logging.ERROR, logger="diaryroom.web"):
        response = upload(world.kiosk_tokens["A"], silence, "recording.wav")
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body
    rid = response.headers["X-Request-ID"]
    assert UUID.fullmatch(rid)
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json() == {"error": {
        "code": "unavailable",
        "message": "This service is temporarily unavailable. Please try again in a few "
                   f"minutes. (Reference: {rid})"}}
    assert_nothing_internal(body)
    # The operator gets the whole story, under the same reference.
    logged = [r.getMessage() for r in caplog.records if rid in r.getMessage()]
    assert logged, caplog.text
    assert any(BUCKET in line or "127.0.0.1" in line for line in logged), logged


def test_unexpected_error_is_500_with_a_reference_in_json_and_html(client, caplog):
    with caplog.at_level(logging.ERROR, logger="diaryroom.web"):
        as_json = client.get("/boom-for-tests", headers={"Accept": "application/json"})
        as_html = client.get("/boom-for-tests", headers={"Accept": "text/html"})
    for response in (as_json, as_html):
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        rid = response.headers["X-Request-ID"]
        assert ("Something went wrong on our side. Please try again. "
                f"(Reference: {rid})") in body
        assert_nothing_internal(body)
        record = next(r for r in caplog.records if rid in r.getMessage())
        assert record.exc_info and SECRET_DETAIL in str(record.exc_info[1])
    assert as_json.get_json()["error"]["code"] == "internal_error"
    assert as_html.mimetype == "text/html"
    assert as_json.headers["X-Request-ID"] != as_html.headers["X-Request-ID"]


@pytest.mark.parametrize("incoming, kept", [
    ("3f2c9a0e-proxy-chosen-id", True),
    ("abcd1234", True),
    ("short", False),                       # under 8 characters
    ("x" * 65, False),                      # over 64
    ("id with spaces 1234", False),
    ("id_with_underscore", False),
    ("<script>alert(1)</script>", False),
])
def test_request_id_is_kept_only_when_well_formed(client, incoming, kept):
    rid = client.get("/healthz", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    if kept:
        assert rid == incoming
    else:
        assert UUID.fullmatch(rid)


def test_every_answer_carries_its_own_request_id(client):
    ids = {client.get(path).headers.get("X-Request-ID")
           for path in ("/healthz", "/healthz", "/auth/login", "/no-such-page")}
    assert None not in ids and len(ids) == 4
