"""Faults from the multi-machine run, reproduced against real parts: a redis-server stopped
during an upload, an S3 endpoint (moto) cut off for a few seconds during processing, a
client retrying an upload whose answer was lost. And the rules under them: which failures
are retried, with what back-off, and what staff see while a job waits."""
from __future__ import annotations

import datetime as dt
import io
import logging
import os
import selectors
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import redis
import sqlalchemy.exc
from argon2 import PasswordHasher
from sqlalchemy import func, select

from diaryroom import jobs, tenancy
from diaryroom.auth import passwords
from diaryroom.domain import status as st
from diaryroom.errors import ComponentUnavailable, MediaError, StorageError
from diaryroom.extensions import db
from diaryroom.models import Entry, Job, utcnow
from diaryroom.storage import NoSuchObject
from tests.conftest import AuthActions, World, bearer, make_app, run_jobs
from tests.integration.conftest import admin_client
from tests.integration.test_intake import KioskBrowser
from tests.integration.test_jobs import wait_until

REDIS_SERVER = "/usr/bin/redis-server"
SPEECH = "Hello, this is my diary. Today I went to the library and read a good book."


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: every test makes a world of accounts."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# -- helpers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_row(app, job_id: int) -> Any:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(select(Job).where(Job.id == job_id)).one()


def entry_row(app, entry_id: int) -> Entry:
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        db.session.expunge(entry)
        return entry


def entry_count(app) -> int:
    with app.app_context(), tenancy.unscoped():
        return db.session.scalar(select(func.count()).select_from(Entry))


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """A few seconds of real (synthetic) speech: a tone would be "no speech" and go to
    needs_attention, which is not what these tests are about."""
    path = tmp_path_factory.mktemp("speech") / "diary.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "160", "-w", str(path), SPEECH],
                   check=True, timeout=60, capture_output=True)
    return path


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("tone") / "tone.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=16000", "-t", "1", str(path)],
                   check=True, timeout=60)
    return path.read_bytes()


def post_media(client, token: str, data: bytes, name: str = "diary.wav",
               key: str | None = None):
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/entries", headers=headers,
                       data={"media": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# -- test-only job kinds ----------------------------------------------------------------------


class Script:
    """What the fault handlers raise, attempt by attempt (reset before every test)."""

    def __init__(self) -> None:
        self.raise_next: list[BaseException] = []
        self.runs = 0
        self.failures: list[str] = []


SCRIPT = Script()


@jobs.handler("test_fault", on_failure=lambda target_id, message:
              SCRIPT.failures.append(message))
def _fault(ctx: jobs.JobContext, target_id: int | None) -> None:
    SCRIPT.runs += 1
    if SCRIPT.raise_next:
        raise SCRIPT.raise_next.pop(0)


@pytest.fixture(autouse=True)
def _reset_script() -> None:
    SCRIPT.__init__()


# -- the rules: what is transient, how long to wait -------------------------------------------


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as e:
            raise outer from e
    except Exception as e:
        return e


@pytest.mark.parametrize(("error", "reason"), [
    (_chained(StorageError("could not read 'org/1/entries/5/original.webm'"),
              botocore.exceptions.EndpointConnectionError(endpoint_url="http://x")),
     "storage unavailable"),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
     "storage unavailable"),
    (redis.ConnectionError("Error 111 connecting"), "queue unavailable"),
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")), "database unavailable"),
    (ComponentUnavailable("Redis is not reachable"), "a service unavailable"),
    (ConnectionResetError("reset"), "network unavailable"),
    (TimeoutError("timed out"), "network unavailable"),
    (NoSuchObject("no stored object"), None),
    (MediaError("not a recording"), None),
    (RuntimeError("a bug"), None),
])
def test_transient_failures_are_told_from_the_rest(error, reason):
    assert jobs.transient_reason(error) == reason


def test_back_off_doubles_with_jitter_and_a_cap():
    for attempt, nominal in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 80), (7, 300), (20, 300)]:
        low = jobs.retry_delay(attempt, base=5, rand=lambda: 0.0)
        high = jobs.retry_delay(attempt, base=5, rand=lambda: 0.999999)
        assert low == pytest.approx(nominal * 0.5)
        assert high == pytest.approx(nominal * 1.5, rel=1e-5)
        assert all(low <= jobs.retry_delay(attempt, base=5) <= high for _ in range(50))
    assert jobs.retry_delay(3, base=0) == 0.0
    # The defaults survive a one-minute outage even when every draw is the shortest.
    shortest = sum(jobs.retry_delay(a, base=5, rand=lambda: 0.0) for a in range(1, 6))
    assert shortest > 60


@pytest.fixture
def retry_app(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "data", JOB_RETRY_SECONDS="1")
    yield app
    dispose(app)


def _enqueue(app, org_id: int, kind: str = "test_fault", target_id: int | None = None) -> int:
    with app.app_context(), tenancy.as_org(org_id):
        return jobs.enqueue(kind, target_id, org_id=org_id).id


def test_a_transient_failure_waits_out_its_back_off_then_runs(retry_app):
    app = retry_app
    org = World(app).add_org("A")
    SCRIPT.raise_next = [StorageError("could not read 'org/1/entries/5/original.webm' from "
                                      "http://10.0.0.9:9000: connection refused")]
    job_id = _enqueue(app, org)

    before = utcnow()
    assert run_jobs(app) == 1  # the failure did not re-send it at once
    row = job_row(app, job_id)
    assert (row.state, row.attempts, row.error) == ("queued", 1, "storage unavailable")
    wait = (row.retry_at - before).total_seconds()
    assert 0.4 <= wait <= 2.0  # 1 s +-50%, plus the time the attempt took

    if row.retry_at > utcnow():  # not due yet: the sweeper leaves it be
        assert jobs.sweep(app) == []
    wait_until(lambda: utcnow() >= row.retry_at, "the back-off to pass")
    assert jobs.sweep(app) == [job_id]
    assert run_jobs(app) == 1
    row = job_row(app, job_id)
    assert (row.state, row.attempts, row.error, row.retry_at) == ("done", 2, None, None)
    assert SCRIPT.runs == 2


def test_a_transient_failure_on_the_last_attempt_gives_up_in_plain_words(tmp_path,
                                                                         _postgres_schema):
    app = make_app(tmp_path / "data", JOB_RETRY_SECONDS="0", JOB_MAX_ATTEMPTS="2")
    try:
        org = World(app).add_org("A")
        SCRIPT.raise_next = [StorageError("could not read 'org/1/x' at http://10.0.0.9")] * 2
        job_id = _enqueue(app, org)
        assert run_jobs(app) == 2
        row = job_row(app, job_id)
        assert (row.state, row.attempts) == ("failed", 2)
        assert row.error == "storage unavailable (tried 2 times)"
        assert SCRIPT.failures == [row.error]
    finally:
        dispose(app)


def test_an_error_raised_on_purpose_is_not_retried(retry_app):
    app = retry_app
    org = World(app).add_org("A")
    SCRIPT.raise_next = [MediaError("ffmpeg could not read the file")]
    job_id = _enqueue(app, org)
    assert run_jobs(app) == 1
    row = job_row(app, job_id)
    assert (row.state, row.attempts, row.retry_at) == ("failed", 1, None)
    # Our own errors are written for staff: their words, without the exception's name.
    assert SCRIPT.failures == ["ffmpeg could not read the file"]
    assert jobs.sweep(app) == [] and run_jobs(app) == 0


def test_a_damaged_recording_needs_attention_on_the_first_attempt(app, stored_entry,
                                                                  entry_row):
    # The test app retries at once (JOB_RETRY_SECONDS=0): a retry would show as a second run.
    entry_id = stored_entry("original.wav", b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    assert run_jobs(app) == 1
    entry = entry_row(entry_id)
    assert entry.status == st.NEEDS_ATTENTION
    with app.app_context(), tenancy.unscoped():
        [job] = db.session.scalars(select(Job).where(Job.target_id == entry_id)).all()
        assert (job.state, job.attempts, job.retry_at) == ("done", 1, None)
    assert jobs.sweep(app) == [] and run_jobs(app) == 0


# -- Redis down during an upload --------------------------------------------------------------


class RedisServer:
    """A private redis-server on a fixed loopback port that a test can stop and start."""

    def __init__(self, tmp_path: Path):
        if not os.access(REDIS_SERVER, os.X_OK):
            pytest.fail(f"{REDIS_SERVER} is required (apt-get install redis-server)")
        self.port, self.dir = _free_port(), tmp_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.dir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            wait_until(lambda: self._pings(client), "redis-server to start", timeout=20)
        finally:
            client.close()

    def _pings(self, client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            assert self.proc is not None and self.proc.poll() is None, \
                (self.dir / "redis.log").read_text(errors="replace")
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_upload_is_answered_while_redis_is_down_and_processed_once_it_is_back(
        tmp_path, _postgres_schema, redis_server, speech, caplog):
    app = make_app(tmp_path / "data", QUEUE_URL=redis_server.url)
    try:
        world = World(app)
        world.add_org("A")
        client = app.test_client()
        redis_server.stop()

        with caplog.at_level(logging.WARNING, logger="diaryroom.jobs"):
            response = post_media(client, world.kiosk_tokens["A"], speech.read_bytes())
        assert response.status_code == 201, response.text
        created = response.json
        assert created["receipt_code"] and created["job_id"]
        # Logged for the operator, without the queue's address.
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "sweeper will send it again" in logged
        assert str(redis_server.port) not in logged and "127.0.0.1" not in logged

        entry = entry_row(app, created["id"])
        assert entry.status == st.RECEIVED and entry.original_key
        row = job_row(app, created["job_id"])
        assert (row.state, row.attempts, row.error) == ("queued", 0, "queue unavailable")
        assert row.retry_at is not None  # due: the next sweep sends it

        staff = bearer(world.account("staff").token)
        shown = client.get(f"/api/v1/entries/{created['id']}", headers=staff).json
        assert shown["retry"]["reason"] == "queue unavailable"
        assert shown["retry"]["message"].startswith(
            f"waiting to retry (queue unavailable), attempt 1 of {app.config['JOB_MAX_ATTEMPTS']}")

        assert jobs.sweep(app) == []  # still down: nothing sent, the job stays due
        assert job_row(app, created["job_id"]).retry_at is not None

        redis_server.start()  # the same port, an empty queue: the message is gone
        assert jobs.sweep(app) == [created["job_id"]]
        wait_until(lambda: jobs.drain(app) or job_row(app, created["job_id"]).state == "done",
                   "the job to be delivered through Redis", every=0.2)
        row = job_row(app, created["job_id"])
        assert (row.state, row.attempts, row.retry_at) == ("done", 1, None), row.error
        entry = entry_row(app, created["id"])
        assert entry.status == st.AWAITING_REVIEW
        assert "library" in client.get(f"/api/v1/entries/{created['id']}/transcript",
                                       headers=staff).json["text"].lower()
        assert entry_count(app) == 1
        assert client.get(f"/api/v1/entries/{created['id']}", headers=staff).json["retry"] \
            is None
    finally:
        dispose(app)


# -- a client retrying after a lost answer ----------------------------------------------------


def test_a_retried_upload_with_the_same_idempotency_key_makes_one_entry(app, world, tone):
    client = app.test_client()
    kiosk = world.kiosk_tokens["A"]
    key = str(uuid.uuid4())

    first = post_media(client, kiosk, tone, key=key)
    again = post_media(client, kiosk, tone, key=key)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json["id"] == first.json["id"]
    assert again.json["receipt_code"] == first.json["receipt_code"]
    assert again.json["job_id"] is None
    assert entry_count(app) == 1
    assert run_jobs(app) == 1  # one job, not two

    other = post_media(client, kiosk, tone, key=str(uuid.uuid4()))
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    # Keys are per principal: the same key from someone else is their own request.
    staff = post_media(client, world.account("staff").token, tone, key=key)
    assert staff.status_code == 201 and staff.json["id"] not in (first.json["id"],
                                                                 other.json["id"])
    unkeyed = [post_media(client, kiosk, tone).status_code for _ in range(2)]
    assert unkeyed == [201, 201]
    assert entry_count(app) == 5

    bad = post_media(client, kiosk, tone, key="x" * 201)
    assert bad.status_code == 422
    assert bad.json["error"]["code"] == "invalid_idempotency_key"
    assert entry_count(app) == 5


def test_the_kiosk_can_resend_written_text_without_making_a_second_entry(app, world):
    kiosk = KioskBrowser(app, world.kiosk_tokens["A"])
    body = {"kind": "text", "text": "Today was a good day at the centre."}
    record_id = str(uuid.uuid4())

    def send(key: str):
        return kiosk.client.post("/kiosk/entries", json=body, headers={
            **kiosk.headers, "Accept": "application/json", "Idempotency-Key": key})

    first, again = send(record_id), send(record_id)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json["id"] == first.json["id"]
    assert again.json["receipt_code"] == first.json["receipt_code"]
    assert entry_count(app) == 1
    assert send(str(uuid.uuid4())).status_code == 201
    assert entry_count(app) == 2


# The kiosk's side (its record id sent as the key, the same on every retry) is tested
# where the sending lives: tests/js/upload.test.mjs.


# -- S3 cut off during processing -------------------------------------------------------------


class SwitchableProxy:
    """A TCP proxy on a fixed loopback port in front of the S3 endpoint. Switched off, it
    refuses connections and drops the open ones, as an unreachable endpoint does; on
    again, on the same port, with the endpoint's state untouched."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener, self._stop = listener, threading.Event()
        self._thread = threading.Thread(target=self._accept, args=(listener, self._stop),
                                        daemon=True)
        self._thread.start()

    def off(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            try:
                while True:
                    for key, _ in sel.select(timeout=1):
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            raise OSError("closed")
                        key.data.sendall(data)
            except (OSError, ValueError):
                pass
        with self._lock:
            for sock in (a, b):
                self._open.discard(sock)
                sock.close()


@pytest.fixture
def s3_proxy(moto_endpoint) -> Iterator[SwitchableProxy]:
    proxy = SwitchableProxy(int(moto_endpoint.rsplit(":", 1)[1]))
    proxy.on()
    yield proxy
    proxy.off()


def test_a_short_s3_outage_during_processing_is_waited_out(tmp_path, _postgres_schema,
                                                          moto_endpoint, s3_proxy, speech):
    bucket = f"faults-{uuid.uuid4().hex[:12]}"
    admin_client(moto_endpoint).create_bucket(Bucket=bucket)
    app = make_app(tmp_path / "data", STORAGE_URL=f"s3://{bucket}/diaryroom",
                   S3_ENDPOINT_URL=s3_proxy.url, S3_ACCESS_KEY_ID="testing",
                   S3_SECRET_ACCESS_KEY="testing", QUEUE_URL=f"sqlite:///{tmp_path / 'q.db'}",
                   JOB_RETRY_SECONDS="1", SWEEP_INTERVAL="1")
    workers = jobs.EmbeddedWorkers(app, 1)
    try:
        world = World(app)
        world.add_org("A")
        client = app.test_client()
        staff = bearer(world.account("staff").token)
        created = post_media(client, world.kiosk_tokens["A"], speech.read_bytes()).json
        job_id = created["job_id"]

        s3_proxy.off()
        outage_began = time.monotonic()
        workers.start()
        waiting = wait_until(lambda: (r := job_row(app, job_id)).retry_at and r.attempts
                             and r, "the first attempt to fail and wait")
        assert (waiting.state, waiting.error) == ("queued", "storage unavailable")
        shown = client.get(f"/api/v1/entries/{created['id']}", headers=staff).json
        most = app.config["JOB_MAX_ATTEMPTS"]
        assert shown["status"] in (st.RECEIVED, st.PROCESSING)
        assert shown["retry"]["reason"] == "storage unavailable"
        assert shown["retry"]["message"].startswith(
            f"waiting to retry (storage unavailable), attempt {waiting.attempts + 1} of {most}")
        assert "entries/" not in str(shown) and str(s3_proxy.port) not in str(shown)
        page = _review_page(app, world, created["id"])
        assert "waiting to retry (storage unavailable)" in page

        time.sleep(max(0.0, 3.0 - (time.monotonic() - outage_began)))  # a 3 s outage
        during = job_row(app, job_id)
        assert during.state != "failed"
        s3_proxy.on()

        done = wait_until(lambda: (r := job_row(app, job_id)).state in ("done", "failed")
                          and r, "the job to finish once S3 is back", every=0.2)
        assert done.state == "done", done.error
        assert 2 <= done.attempts < most  # backed off: the outage did not use up the attempts
        entry = entry_row(app, created["id"])
        assert entry.status == st.AWAITING_REVIEW, entry.status_reason
        assert client.get(f"/api/v1/entries/{created['id']}", headers=staff).json["retry"] \
            is None
    finally:
        workers.shutdown(timeout=10)
        dispose(app)


def _review_page(app, world: World, entry_id: int) -> str:
    """The review list and the entry's page, signed in through the real sign-in form."""
    browser = app.test_client()
    account = world.account("staff")
    signed_in = AuthActions(browser).login(account.email, account.password)
    assert signed_in.status_code == 302, signed_in.text
    listing = browser.get("/review/")
    assert listing.status_code == 200
    page = browser.get(f"/review/entries/{entry_id}")
    assert page.status_code == 200
    return listing.text + page.text


def test_jobs_api_shows_when_a_job_will_be_tried_again(retry_app):
    app = retry_app
    world = World(app)
    org = world.add_org("A")
    SCRIPT.raise_next = [TimeoutError("read timed out")]
    job_id = _enqueue(app, org)
    run_jobs(app)
    body = app.test_client().get(f"/api/v1/jobs/{job_id}",
                                 headers=bearer(world.account("staff").token)).json
    assert (body["state"], body["error"]) == ("queued", "network unavailable")
    retry_at = dt.datetime.fromisoformat(body["retry_at"].removesuffix("Z"))
    assert retry_at > utcnow() - dt.timedelta(seconds=5)
