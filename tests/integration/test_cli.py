"""The real `diaryroom` console script, run as a subprocess: set-up commands, clean
one-line errors, start-up checks, and a real server start and stop."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from diaryroom import create_app
from diaryroom.config import TestConfig as AppTestConfig  # not collected by pytest
from diaryroom.extensions import db
from tests.conftest import bearer, csrf_from, fresh_database

SCRIPT = Path(sys.executable).parent / "diaryroom"
PG_URL = os.environ.get("DIARYROOM_TEST_DATABASE_URL")
PASSWORD = "a perfectly long passphrase"
TIMEOUT = 60  # seconds: no single command may hang the suite


@dataclass
class Install:
    """One installation: a data dir, a database, and the environment the script sees."""

    data_dir: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, stdin: str | None = None, extra_env: dict[str, str] | None = None,
            script: Path = SCRIPT) -> subprocess.CompletedProcess:
        env = {**self.env, **(extra_env or {})}
        return subprocess.run([str(script), *args], input=stdin, env=env, cwd=self.data_dir,
                              capture_output=True, text=True, timeout=TIMEOUT)

    def ok(self, *args: str, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout

    def app(self):
        """An in-process app on the same database, to check what the CLI did."""
        return create_app(AppTestConfig(self.data_dir / "app",
                                        DATABASE_URL=self.database_url))


def make_install(tmp_path: Path, database_url: str) -> Install:
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYROOM_")}
    env.update(DIARYROOM_DATA_DIR=str(data_dir), DIARYROOM_SECRET_KEY="cli-test-secret",
               DIARYROOM_DATABASE_URL=database_url, DIARYROOM_COOKIE_SECURE="false",
               DIARYROOM_ORG_NAME="Test Org", PYTHONUNBUFFERED="1")
    return Install(data_dir, database_url, env)


@pytest.fixture
def install(tmp_path) -> Iterator[Install]:
    """A fresh, uninitialised installation."""
    with fresh_database(tmp_path / "data", label="cli") as url:
        yield make_install(tmp_path, url)


@dataclass
class Initialised:
    install: Install
    admin_email: str
    one_time_password: str


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Iterator[Initialised]:
    """One installation after `diaryroom init`, shared by the tests that only add to it."""
    tmp_path = tmp_path_factory.mktemp("initialised")
    with fresh_database(tmp_path / "data", label="cli") as url:
        inst = make_install(tmp_path, url)
        out = inst.ok("init", "--admin-email", "Boss@Example.org")
        match = re.search(r"Created admin (\S+) with one-time password: (\S+)", out)
        assert match, out
        yield Initialised(inst, match.group(1), match.group(2))


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """A start-up failure: exit code 2, one line on stderr, no traceback anywhere."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("diaryroom: "), lines[0]
    return lines[0]


@contextmanager
def app_client(inst: Install):
    app = inst.app()
    try:
        yield app.test_client()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- help and init ---------------------------------------------------------------------

def test_help_lists_the_commands(install):
    result = install.run("--help")
    assert result.returncode == 0, result.stderr
    commands = re.findall(r"^  (\w+)", result.stdout.split("Commands:")[1], re.M)
    assert {"init", "serve", "worker", "users", "kiosk", "token", "sweep"} <= set(commands)


def test_init_creates_an_admin_whose_one_time_password_works(initialised):
    assert initialised.admin_email == "boss@example.org"
    assert len(initialised.one_time_password) >= 12
    with app_client(initialised.install) as client:
        wrong = client.post("/auth/login", data={
            "email": initialised.admin_email, "password": "not the password",
            "csrf_token": csrf_from(client.get("/auth/login").text)})
        assert wrong.status_code == 401

        page = client.get("/auth/login")
        response = client.post("/auth/login", data={
            "email": initialised.admin_email, "password": initialised.one_time_password,
            "csrf_token": csrf_from(page.text)})
        assert response.status_code == 302, response.text
        # Where signing in with a one-time password leads: choosing a new one.
        landing = client.get(response.headers["Location"], follow_redirects=True)
        assert landing.request.path == "/auth/password"
        assert landing.status_code == 200 and "one-time password" in landing.text
        for path in ("/", "/admin/users"):
            response = client.get(path)
            assert response.status_code == 302, path
            assert response.headers["Location"].endswith("/auth/password"), path


def test_init_twice_is_fine(install):
    first = install.ok("init")
    assert "one-time password" in first
    second = install.ok("init")
    assert "already exists" in second
    assert "one-time password" not in second
    from diaryroom import accounts, tenancy
    app = install.app()
    try:
        with app.app_context(), tenancy.unscoped():
            users = accounts.list_users()
            assert [(u.email, u.role) for u in users] == [("admin@diaryroom.local", "admin")]
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


# --- users, kiosks and tokens ------------------------------------------------------------

def test_users_add_with_password_on_stdin(initialised):
    inst = initialised.install
    out = inst.ok("users", "add", "Staff.One@example.org", "--role", "staff",
                  "--password-stdin", stdin=PASSWORD + "\n")
    assert "Added staff.one@example.org (staff)." in out
    assert PASSWORD not in out and "One-time" not in out
    with app_client(inst) as client:
        page = client.get("/auth/login")
        response = client.post("/auth/login", data={
            "email": "staff.one@example.org", "password": PASSWORD,
            "csrf_token": csrf_from(page.text)})
        assert response.status_code == 302
        home = client.get(response.headers["Location"])
        assert home.status_code == 200  # a chosen password need not be changed


def test_users_add_without_password_prints_a_one_time_one(initialised):
    out = initialised.install.ok("users", "add", "panel.one@example.org", "--role", "panel")
    assert re.search(r"One-time password: \S{12,}", out), out


def test_users_add_bad_role_is_a_clean_error(initialised):
    result = initialised.install.run("users", "add", "x@example.org", "--role", "boss")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "--role" in result.stderr and "boss" in result.stderr


def test_users_add_duplicate_email_is_one_line_exit_2(initialised):
    inst = initialised.install
    inst.ok("users", "add", "dup@example.org", "--role", "cohost", "--password-stdin",
            stdin=PASSWORD + "\n")
    result = inst.run("users", "add", "DUP@example.org", "--role", "staff", "--password-stdin",
                      stdin=PASSWORD + "\n")
    line = one_error_line(result)
    assert "dup@example.org" in line and "already exists" in line


def test_users_add_weak_or_bad_input_is_one_line_exit_2(initialised):
    inst = initialised.install
    one_error_line(inst.run("users", "add", "not-an-email", "--role", "staff"))
    one_error_line(inst.run("users", "add", "weak@example.org", "--role", "staff",
                            "--password-stdin", stdin="short\n"))


def test_kiosk_pair_prints_a_token_that_works_as_a_kiosk(initialised):
    out = initialised.install.ok("kiosk", "pair", "Front desk")
    token = re.search(r"\b(drk_[A-Za-z0-9_-]+)", out)
    assert token, out
    link = re.search(r"(\S+/kiosk/pair#token=(\S+))", out)
    assert link and link.group(2) == token.group(1), out
    assert link.group(1).startswith("http://127.0.0.1:5000/")
    with app_client(initialised.install) as client:
        me = client.get("/api/v1/me", headers=bearer(token.group(1)))
        assert me.status_code == 200, me.text
        assert me.json["kind"] == "kiosk" and me.json["kiosk"] == "Front desk"
        assert client.get("/api/v1/me", headers=bearer(token.group(1) + "x")).status_code == 401
    code = re.search(r"within 15 minutes: ([A-Z0-9]{4}-[A-Z0-9]{4})$", out, re.MULTILINE)
    assert code, out
    with app_client(initialised.install) as device:
        page = device.get("/kiosk/pair")
        paired = device.post("/kiosk/pair", data={"token": code.group(1),
                                                  "csrf_token": csrf_from(page.text)})
        assert paired.status_code == 302, paired.text
        assert device.get("/kiosk/").status_code == 200


def test_token_create_prints_a_working_api_token(initialised):
    inst = initialised.install
    inst.ok("users", "add", "tokens@example.org", "--role", "staff", "--password-stdin",
            stdin=PASSWORD + "\n")
    out = inst.ok("token", "create", "Tokens@example.org")
    assert re.fullmatch(r"drp_[A-Za-z0-9_-]{20,}\n", out), out
    with app_client(inst) as client:
        me = client.get("/api/v1/me", headers=bearer(out.strip()))
        assert me.status_code == 200, me.text
        assert me.json["kind"] == "user"
        assert me.json["email"] == "tokens@example.org" and me.json["role"] == "staff"


def test_token_create_for_unknown_account_is_one_line(initialised):
    line = one_error_line(initialised.install.run("token", "create", "nobody@example.org"))
    assert "nobody@example.org" in line


# --- configuration errors -----------------------------------------------------------------

@pytest.mark.parametrize("command", [("init",), ("users", "add", "a@example.org", "--role",
                                                 "staff")])
def test_unknown_setting_is_one_line_naming_it(install, command):
    result = install.run(*command, extra_env={"DIARYROOM_FOO": "1"})
    line = one_error_line(result)
    assert "DIARYROOM_FOO" in line


@pytest.mark.parametrize("name, value", [("WORKERS", "zero"), ("LOG_LEVEL", "chatty")])
def test_bad_value_is_one_line_naming_the_variable(install, name, value):
    line = one_error_line(install.run("init", extra_env={f"DIARYROOM_{name}": value}))
    assert f"DIARYROOM_{name}" in line


def test_lower_case_log_level_is_accepted(install):
    install.ok("init", extra_env={"DIARYROOM_LOG_LEVEL": "warning"})


# --- start-up checks ----------------------------------------------------------------------

def test_serve_names_an_unreachable_s3_bucket(initialised):
    result = initialised.install.run("serve", "--port", "1", extra_env={
        "DIARYROOM_STORAGE_URL": "s3://bucket", "DIARYROOM_S3_ENDPOINT_URL":
        "http://127.0.0.1:1", "DIARYROOM_S3_ACCESS_KEY_ID": "test",
        "DIARYROOM_S3_SECRET_ACCESS_KEY": "test"})
    line = one_error_line(result)
    assert "S3" in line and "bucket" in line and "127.0.0.1:1" in line


def test_worker_names_an_unreachable_redis(initialised):
    result = initialised.install.run("worker", extra_env={
        "DIARYROOM_QUEUE_URL": "redis://127.0.0.1:1/0"})
    line = one_error_line(result)
    assert "Redis" in line


def test_serve_names_missing_ffmpeg(install, tmp_path):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    result = install.run("serve", extra_env={"PATH": str(empty_bin)})
    line = one_error_line(result)
    assert "ffmpeg" in line


def test_serve_on_an_empty_database_says_to_run_init(install, have_ffmpeg):
    line = one_error_line(install.run("serve", "--port", "1"))
    assert "diaryroom init" in line


def test_worker_on_an_empty_database_says_to_run_init(install, have_ffmpeg):
    line = one_error_line(install.run("worker"))
    assert "diaryroom init" in line


def test_serve_names_an_unreachable_database(install, have_ffmpeg):
    url = ("postgresql://nobody@127.0.0.1:1/none" if PG_URL
           else f"sqlite:///{install.data_dir / 'no-such-dir' / 'x' / 'db'}")
    if not PG_URL:
        # A directory where the database file should be: SQLite cannot open it.
        (install.data_dir / "no-such-dir" / "x" / "db").mkdir(parents=True)
    line = one_error_line(install.run("serve", extra_env={"DIARYROOM_DATABASE_URL": url}))
    assert "DIARYROOM_DATABASE_URL" in line


# --- a real start --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def restore_sigint() -> None:
    # A parent started in the background may ignore SIGINT; the server must not inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_answers_and_stops(initialised, have_ffmpeg, stop_with):
    inst = initialised.install
    port = free_port()
    proc = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port)], env=inst.env,
                            cwd=inst.data_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=restore_sigint)  # noqa: PLW1509
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = get(base + "/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        assert proc.poll() is None, proc.communicate(timeout=5)[0]
        assert status == 200 and '"status":"ok"' in body.replace(" ", "")
        status, body = get(base + "/auth/login")
        assert status == 200 and 'name="csrf_token"' in body
        status, _ = get(base + "/api/v1/me")
        assert status == 401
    finally:
        proc.send_signal(stop_with)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate(timeout=10)
            pytest.fail(f"serve did not stop on {stop_with.name}:\n{output}")
    assert f"Diary Room on http://127.0.0.1:{port}/" in output
    assert "Traceback" not in output, output
    # Ctrl-C and a container stop (SIGTERM) are both clean stops that let workers finish.
    assert proc.returncode == 0, output
