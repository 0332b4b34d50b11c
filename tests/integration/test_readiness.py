"""/readyz against real dependencies: a redis-server, an S3 endpoint (moto) and a database,
each stopped or unreachable in turn. It must name what is down and never where it is."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from moto.server import ThreadedMotoServer

from diaryroom import create_app
from diaryroom.config import TestConfig as AppTestConfig  # not collected by pytest
from diaryroom.extensions import db
from tests.conftest import make_app
from tests.integration.conftest import admin_client

REDIS_SERVER = "/usr/bin/redis-server"
BUCKET = "ready-bucket-name"
DETAILS = ("127.0.0.1", "http", BUCKET, "localhost", "Error", "nobody")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused, and no
    other process can start a server on it while the test runs."""
    with socket.socket() as hold:
        hold.bind(("127.0.0.1", 0))
        yield hold.getsockname()[1]


class RedisServer:
    """A private redis-server on loopback that a test can stop while the app runs."""

    def __init__(self, log_path: Path):
        if not os.access(REDIS_SERVER, os.X_OK):
            pytest.fail(f"{REDIS_SERVER} is required (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=self._log, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        pytest.fail("redis-server did not start")
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._log.close()


class S3Server:
    """A moto S3 endpoint of this test's own, with the app's bucket, that it can stop."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        admin_client(self.url).create_bucket(Bucket=BUCKET)
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis.log")
    yield server
    server.stop()


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def full_app(tmp_path, redis_server, s3_server, _postgres_schema):
    """An app as compose runs it: Redis queue, S3 media, a migrated database."""
    app = make_app(tmp_path / "data", QUEUE_URL=redis_server.url, STORAGE_URL=f"s3://{BUCKET}",
                   S3_ENDPOINT_URL=s3_server.url, S3_ACCESS_KEY_ID="testing",
                   S3_SECRET_ACCESS_KEY="testing", S3_ADDRESSING_STYLE="path")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def readyz(app) -> tuple[int, dict, str]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json(), response.get_data(as_text=True)


def assert_names_only(body: str) -> None:
    for detail in DETAILS:
        assert detail not in body, f"/readyz gave away {detail!r}: {body}"


def test_ready_when_every_dependency_answers(full_app):
    status, data, body = readyz(full_app)
    assert status == 200, body
    assert data == {"status": "ready",
                    "checks": {"database": "ok", "queue": "ok", "storage": "ok"}}
    # Liveness stays cheap and separate.
    assert full_app.test_client().get("/healthz").get_json() == {"status": "ok"}


def test_queue_down_is_named(full_app, redis_server, caplog):
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="diaryroom.preflight"):
        status, data, body = readyz(full_app)
    assert status == 503, body
    assert data["status"] == "unavailable"
    assert data["checks"] == {"database": "ok", "queue": "unavailable", "storage": "ok"}
    assert_names_only(body)
    assert "queue" in caplog.text and "Redis" in caplog.text  # the details are in the log
    # Healthy again once Redis is back is the app's job, not a restart's: liveness holds.
    assert full_app.test_client().get("/healthz").status_code == 200


def test_storage_down_is_named(full_app, s3_server, caplog):
    s3_server.stop()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="diaryroom.preflight"):
        status, data, body = readyz(full_app)
    assert status == 503, body
    assert data["checks"] == {"database": "ok", "queue": "ok", "storage": "unavailable"}
    assert_names_only(body)
    assert BUCKET in caplog.text and s3_server.url in caplog.text
    assert time.monotonic() - started < 30  # bounded: one short probe, not a minute of retries


def test_unreachable_database_is_named(tmp_path, closed_port):
    # PostgreSQL on a loopback port where nothing listens.
    url = f"postgresql://nobody@127.0.0.1:{closed_port}/none"
    app = create_app(AppTestConfig(tmp_path / "data", DATABASE_URL=url))
    status, data, body = readyz(app)
    assert status == 503, body
    assert data == {"status": "unavailable",
                    "checks": {"database": "unavailable", "queue": "ok", "storage": "ok"}}
    assert_names_only(body)


def test_database_without_migrations_is_not_ready(tmp_path):
    path = tmp_path / "empty.db"
    app = create_app(AppTestConfig(tmp_path / "data", DATABASE_URL=f"sqlite:///{path}"))
    status, data, body = readyz(app)
    assert status == 503, body
    assert data["checks"]["database"] == "unavailable"
    assert json.loads(body)["status"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


# -- gunicorn, as docker-compose runs it ------------------------------------------------------

GUNICORN = Path(sys.executable).parent / "gunicorn"


def gunicorn_env(app, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYROOM_")}
    env.update({
        "DIARYROOM_DATA_DIR": app.config["DATA_DIR"],
        "DIARYROOM_SECRET_KEY": app.config["SECRET_KEY"],
        "DIARYROOM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DIARYROOM_COOKIE_SECURE": "false",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({f"DIARYROOM_{k}": v for k, v in settings.items()})
    return env


def start_gunicorn(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--graceful-timeout", "5", "diaryroom.wsgi:app"],
        env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate(timeout=10)[0]


def test_gunicorn_refuses_to_start_without_its_queue(app, tmp_path, closed_port):
    proc = start_gunicorn(tmp_path, gunicorn_env(
        app, QUEUE_URL=f"redis://127.0.0.1:{closed_port}/0"), free_port())
    try:
        proc.wait(60)
    finally:
        output = stop(proc)
    assert proc.returncode != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.startswith("diaryroom: ")]
    assert lines and "Redis at DIARYROOM_QUEUE_URL is not reachable" in lines[0], output


def test_gunicorn_serves_readyz_when_all_is_well(app, tmp_path):
    port = free_port()
    proc = start_gunicorn(tmp_path, gunicorn_env(app), port)
    status, body = None, ""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(  # noqa: S310 - loopback
                        f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
                    status, body = response.status, response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
    finally:
        output = stop(proc)
    assert status == 200, output
    assert json.loads(body) == {"status": "ready",
                                "checks": {"database": "ok", "queue": "ok", "storage": "ok"}}
    assert "Traceback" not in output, output


def test_check_command_is_the_workers_health_check(app, tmp_path, closed_port):
    script = Path(sys.executable).parent / "diaryroom"
    ok = subprocess.run([str(script), "check"], env=gunicorn_env(app), cwd=tmp_path,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    broken = subprocess.run(
        [str(script), "check"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env=gunicorn_env(app, QUEUE_URL=f"redis://127.0.0.1:{closed_port}/0"))
    assert broken.returncode == 2, (broken.stdout, broken.stderr)
    assert "Traceback" not in broken.stderr
    assert broken.stderr.strip().startswith("diaryroom: Redis at DIARYROOM_QUEUE_URL")
