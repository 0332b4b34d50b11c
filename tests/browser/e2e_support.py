"""Helpers for the kiosk's end-to-end tests (test_kiosk_e2e.py): a real installation made
with the ``diaryroom`` command, ``diaryroom serve`` as a separate process that can be
killed and started again, a Chromium whose fake microphone and camera play files, and
ways to look at what the server really stored (the staff API, the database, the
decrypted originals).

Nothing here talks to the network beyond 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

SCRIPT = Path(sys.executable).parent / "diaryroom"
PG_URL = os.environ.get("DIARYROOM_TEST_DATABASE_URL")
COMMAND_TIMEOUT = 60   # seconds for one `diaryroom` command
START_TIMEOUT = 30     # seconds for `diaryroom serve` to answer /healthz
STAFF_EMAIL = "e2e-staff@example.org"
STAFF_PASSWORD = "a long and perfectly fine passphrase"
KIOSK_NAME = "E2E front desk"
CARD_TEXT = "What would make this place better?"

# What the fake microphone says. Whisper (tiny.en) must find some of DISTINCTIVE in it.
SPEECH = ("The breakfast club at the day centre helps me every morning. "
          "I would like more help finding a flat.")
DISTINCTIVE = ("breakfast", "morning", "flat", "club", "centre", "center", "finding")
RECEIPT = re.compile(r"^[a-z]+-[a-z]+-[a-z]+-\d{2}$")


# --- media for the fake devices -------------------------------------------------------------

def make_speech_wav(folder: Path) -> Path:
    """``SPEECH`` spoken by espeak-ng, 48 kHz mono, with a little silence around it (about
    6.5 s in all; Chromium plays it in a loop)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (make test installs it)")
    raw, wav = folder / "speech-raw.wav", folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(raw), SPEECH],
                   check=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav),
                    "pad", "0.3", "0.6"], check=True, timeout=60)
    return wav


def make_clip_y4m(folder: Path) -> Path:
    """Six seconds of ffmpeg's test pattern for the fake camera."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required (make test installs it)")
    clip = folder / "clip.y4m"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=15", "-t", "6", "-pix_fmt", "yuv420p",
                    str(clip)], check=True, timeout=60)
    return clip


def media_flags(speech: Path, clip: Path) -> list[str]:
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={speech}",
            f"--use-file-for-fake-video-capture={clip}",
            "--autoplay-policy=no-user-gesture-required"]


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format",
                          "-of", "json", str(path)], check=True, capture_output=True,
                         timeout=60).stdout
    return json.loads(out)


# --- an installation ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Installation:
    """A data dir, a database and the environment every `diaryroom` process here gets."""

    data_dir: Path
    database_url: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    staff_token: str = ""
    kiosk_token: str = ""
    pairing_link: str = ""
    _app: Any = None

    @classmethod
    def create(cls, folder: Path, database_url: str) -> Installation:
        data_dir = folder / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYROOM_")}
        env.update(
            DIARYROOM_DATA_DIR=str(data_dir), DIARYROOM_SECRET_KEY="e2e-secret-key",
            DIARYROOM_DATABASE_URL=database_url, DIARYROOM_COOKIE_SECURE="false",
            DIARYROOM_ASR_MODEL="tiny.en", DIARYROOM_BASE_URL=f"http://127.0.0.1:{port}",
            # One transcription at a time: the browser records on the same few cores.
            DIARYROOM_WORKERS="1", DIARYROOM_ORG_NAME="E2E service", PYTHONUNBUFFERED="1")
        return cls(data_dir, database_url, port, env)

    def run(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run([str(SCRIPT), *args], input=stdin, env=self.env,
                                cwd=self.data_dir, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def set_up(self) -> None:
        """init; a staff account with an API token; a paired kiosk; one question card."""
        self.run("init")
        self.run("users", "add", STAFF_EMAIL, "--role", "staff", "--password-stdin",
                 stdin=STAFF_PASSWORD + "\n")
        self.staff_token = self.run("token", "create", STAFF_EMAIL).strip()
        out = self.run("kiosk", "pair", KIOSK_NAME)
        token = re.search(r"Token \(shown once\): (\S+)", out)
        link = re.search(r"Open on the device: (\S+/kiosk/pair#token=\S+)", out)
        assert token and link, out
        self.kiosk_token, self.pairing_link = token.group(1), link.group(1)
        assert self.pairing_link.endswith(self.kiosk_token)
        self.add_question_card(CARD_TEXT)

    # -- the same app in this process: for the database and the (encrypted) storage ----

    def app(self):
        if self._app is None:
            from diaryroom import create_app
            from diaryroom.config import Config
            env = {k: v for k, v in self.env.items() if k.startswith("DIARYROOM_")}
            self._app = create_app(Config(env))
        return self._app

    def close(self) -> None:
        if self._app is not None:
            from diaryroom.extensions import db
            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
            self._app = None

    @contextmanager
    def context(self):
        """An app context that sees every organisation, tidied up afterwards."""
        from diaryroom import tenancy
        from diaryroom.extensions import db
        with self.app().app_context(), tenancy.unscoped():
            try:
                yield db.session
            finally:
                db.session.rollback()
                db.session.remove()

    def sql(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with self.context() as session:
            return [dict(row._mapping) for row in session.execute(text(query), params)]

    def add_question_card(self, card_text: str) -> None:
        with self.context() as session:
            org_id = session.execute(text("SELECT id FROM organisations")).scalar_one()
            from kiosk.cards import QuestionCard
            session.add(QuestionCard(org_id=org_id, text=card_text, active=True, position=1))
            session.commit()

    def upload_row(self, upload_id: str) -> dict[str, Any]:
        rows = self.sql('SELECT id, length, "offset", sha256, completed_at, consumed_at '
                        "FROM uploads WHERE id = :id", id=upload_id)
        assert rows, f"no upload {upload_id} in the uploads table"
        return rows[0]

    def entry_row(self, entry_id: int) -> dict[str, Any]:
        (row,) = self.sql("SELECT id, kind, status, original_key, original_sha256, duration, "
                          "kiosk_id FROM entries WHERE id = :id", id=entry_id)
        return row

    def count(self, table: str) -> int:
        assert table in ("entries", "uploads", "consent_records")
        return self.sql(f"SELECT count(*) AS n FROM {table}")[0]["n"]  # noqa: S608

    def original_exists(self, key: str) -> bool:
        from diaryroom.adapters import get_private_storage
        with self.context():
            return get_private_storage().exists(key)

    def decrypted_original(self, key: str, folder: Path) -> Path:
        """The stored original, decrypted into ``folder`` (named with its own suffix)."""
        from diaryroom.adapters import get_private_storage
        path = folder / f"original-{uuid.uuid4().hex[:8]}{Path(key).suffix}"
        with self.context(), get_private_storage().open(key) as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        return path

    # -- the staff API -------------------------------------------------------------------

    def api(self, path: str, base_url: str) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{base_url}/api/v1{path}", headers={"Authorization": f"Bearer {self.staff_token}",
                                                 "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body)
            except ValueError:
                return e.code, body.decode(errors="replace")


class ServerProcess:
    """`diaryroom serve` in its own process group, so SIGKILL takes all of it at once."""

    def __init__(self, install: Installation, port: int, *, workers: bool = True,
                 extra_env: dict[str, str] | None = None, name: str = "server"):
        self.install, self.port, self.workers = install, port, workers
        self.env = {**install.env, **(extra_env or {})}
        self.log = install.data_dir.parent / f"{name}-{port}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        assert not self.alive(), "already running"
        self.starts += 1
        with self.log.open("a") as log:
            log.write(f"\n--- start {self.starts} ---\n")
            log.flush()
            self.proc = subprocess.Popen(
                [str(SCRIPT), "serve", "--port", str(self.port),
                 "--workers" if self.workers else "--no-workers"],
                env=self.env, cwd=self.install.data_dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"diaryroom serve exited with {self.proc.returncode}:\n"
                            f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self("/healthz"), timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"diaryroom serve did not answer within {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up of any kind, as in a power cut."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM (a clean stop), then SIGKILL after ``grace`` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def api(self, path: str) -> tuple[int, Any]:
        return self.install.api(path, self.url)


# --- waiting -------------------------------------------------------------------------------



@contextmanager
def served(folder: Path, *, label: str, prepare: Callable[[Installation], None],
           extra_env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """`diaryroom serve` (no workers) on a fresh installation in ``folder``, on SQLite or
    a new PostgreSQL database. The tables come from the models (quicker than `diaryroom
    init`; the migrations have tests of their own); ``prepare(install)`` then adds the
    accounts and kiosks a test needs, inside an app context."""
    from diaryroom.extensions import db
    from tests.conftest import fresh_database

    with fresh_database(folder / "db", label=label) as url:
        install = Installation.create(folder, url)
        try:
            with install.app().app_context():
                db.create_all()
                with db.engine.begin() as conn:  # what `diaryroom init` leaves behind
                    conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version "
                                      "(version_num VARCHAR(32) PRIMARY KEY)"))
                prepare(install)
        finally:
            install.close()
        process = ServerProcess(install, install.port, workers=False, extra_env=extra_env)
        process.start()
        try:
            yield process
        finally:
            process.stop()
            install.close()  # what the test itself opened to look at the database

def wait_for(check: Callable[[], Any], *, timeout: float, interval: float = 0.5,
             what: str = "the condition", pump: Callable[[float], None] | None = None) -> Any:
    """Call ``check`` until it returns something true (which is returned) or ``timeout``
    seconds pass (a test failure naming ``what``). ``pump(ms)`` waits between tries (a
    page's ``wait_for_timeout``, so Playwright keeps handling its events)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        if pump is not None:
            pump(interval * 1000)
        else:
            time.sleep(interval)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def words_of(transcript: str) -> set[str]:
    return set(re.findall(r"[a-z]+", transcript.lower()))


# --- the page -------------------------------------------------------------------------------

IDB_RECORDS = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open('diaryroom-kiosk', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('entries', {keyPath: 'id'});
    open.onsuccess = () => {
        const req = open.result.transaction('entries').objectStore('entries').getAll();
        req.onsuccess = () => { open.result.close(); resolve(req.result.map(r => ({...r,
            blob: r.blob ? r.blob.size : null}))); };
        req.onerror = () => reject(req.error);
    };
    open.onerror = () => reject(open.error);
})"""


def idb_records(page) -> list[dict]:
    """What the kiosk keeps in IndexedDB (blobs reduced to their size)."""
    return page.evaluate(IDB_RECORDS)
