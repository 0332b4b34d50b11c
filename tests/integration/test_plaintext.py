"""No plaintext outside the encrypted store (issue 8, finding 5): a recording's decrypted
copy and its decode live only in owner-only work folders under the data folder, which go
when the work ends, and are swept after a process dies mid-job: at the next start, by
the sweeper, and by the entry's withdrawal. Proved against real `diaryroom worker`
processes killed with SIGKILL."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from diaryroom import keys, tenancy, workdir
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.extensions import db
from diaryroom.models import Entry
from tests.conftest import World, bearer, make_app, run_jobs, shared_file
from tests.integration.test_jobs import WorkerProcesses, wait_until

SYSTEM_TEMP = Path("/tmp")  # noqa: S108 - where the finding's copies were left
PREFIX_BYTES = 256 * 1024  # a partial copy of this much counts as a copy


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the work folder itself ----------------------------------------------------------------


def test_work_folders_are_owner_only_under_the_data_folder_and_go_afterwards(tmp_path):
    data = tmp_path / "data"
    with workdir.work_folder(data) as folder:
        (folder / "original.wav").write_bytes(b"plaintext")
        assert folder.parent == data / "work"
        assert mode(folder) == mode(folder.parent) == 0o700
    assert not folder.exists()

    with pytest.raises(RuntimeError), workdir.work_folder(data) as failing:
        (failing / "original.wav").write_bytes(b"plaintext")
        raise RuntimeError("the job failed")
    assert not failing.exists()
    assert list((data / "work").iterdir()) == []


HOLD = """
import sys, time
from diaryroom.workdir import work_folder
with work_folder(sys.argv[1]) as folder:
    (folder / "original.wav").write_bytes(b"plaintext")
    print(folder, flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path) -> Iterator[subprocess.Popen]:
    """Another process in the middle of its work: it holds a work folder."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "data")],
                            stdout=subprocess.PIPE, text=True)
    yield proc
    proc.kill()
    proc.wait(10)
    proc.stdout.close()


def test_a_sweep_takes_only_folders_whose_owner_is_gone(tmp_path, holder):
    data = tmp_path / "data"
    live = Path(holder.stdout.readline().strip())
    assert live.is_dir()
    root = data / "work"
    host = socket.gethostname()
    # Made by hand, without a lock: by a process here that still runs (this one)...
    running = root / f"{host}_{os.getpid()}_{secrets.token_hex(8)}"
    # ... by one on another machine sharing the volume, and by a process that ended.
    elsewhere = root / f"other-host_{os.getpid()}_{secrets.token_hex(8)}"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    dead = root / f"{host}_{ended}_{secrets.token_hex(8)}"
    for folder in (running, elsewhere, dead):
        folder.mkdir(mode=0o700)
        (folder / "original.wav").write_bytes(b"plaintext")

    assert workdir.sweep(data) == 1
    assert not dead.exists()
    assert live.is_dir() and running.is_dir() and elsewhere.is_dir()

    # A folder nobody holds is kept only while it could still belong to a running job.
    old = time.time() - workdir.ABANDONED_AFTER - 60
    os.utime(elsewhere, (old, old))
    assert workdir.sweep(data) == 1
    assert not elsewhere.exists() and running.is_dir() and live.is_dir()

    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    assert workdir.sweep(data) == 1
    assert not live.exists() and running.is_dir()


def test_why_an_entry_needs_attention_names_no_folder(app, stored_entry, entry_row):
    """The reason staff read comes from ffmpeg's or the recogniser's error text, which
    quotes the work folder's path: only the file's own name may remain."""
    entry_id = stored_entry("original.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(4000))
    run_jobs(app)
    entry = entry_row(entry_id)
    assert entry.status == st.NEEDS_ATTENTION, entry.status_reason
    assert entry.status_reason
    assert app.config["DATA_DIR"] not in entry.status_reason
    assert "/work/" not in entry.status_reason and "/tmp" not in entry.status_reason
    assert list((Path(app.config["DATA_DIR"]) / "work").iterdir()) == []


# -- a real worker killed mid-job -----------------------------------------------------------


@pytest.fixture
def worker_app(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "data", QUEUE_URL=f"sqlite:///{tmp_path / 'queue.db'}",
                   JOB_STALE_SECONDS="3", SWEEP_INTERVAL="1")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def workers(worker_app, tmp_path) -> Iterator[WorkerProcesses]:
    procs = WorkerProcesses(worker_app, tmp_path)
    # The system temp folder of the workers, to see whatever they put there.
    procs.env["TMPDIR"] = str(tmp_path / "system-temp")
    (tmp_path / "system-temp").mkdir()
    yield procs
    procs.close()
    print(procs.logs())  # shown by pytest only when the test failed


def copies_in(top: Path, needles: list[bytes], *, skip: tuple[Path, ...]) -> list[Path]:
    """Files under ``top`` whose bytes equal, or begin like, one of ``needles``."""
    found = []
    for folder, dirs, files in os.walk(top, onerror=lambda e: None):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not any((here / d) == s for s in skip)]
        for name in files:
            path = here / name
            if path in skip or path.is_symlink():
                continue
            try:
                size = path.stat().st_size
                if size < 1024 or not path.is_file():
                    continue
                with path.open("rb") as fh:
                    head = fh.read(PREFIX_BYTES)
            except OSError:
                continue  # another user's, or gone meanwhile
            if any(head == n[:PREFIX_BYTES] and (size == len(n) or len(head) == PREFIX_BYTES)
                   for n in needles):
                found.append(path)
    return found


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_no_plaintext_after_restart_or_withdrawal(
        worker_app, workers, tmp_path, have_ffmpeg):
    app = worker_app
    world = World(app)
    world.add_org("A")
    token = world.account("staff").token
    # Bytes no other file on this machine has, from the start of the sound (so its decode
    # is unlike any other too): any copy found is ours, even a partial one.
    recording = bytearray(shared_file("speech/lecture60.wav").read_bytes())
    recording[1024:9216] = secrets.token_bytes(8192)  # 0.25 s of noise after the header
    source = tmp_path / "mine.wav"
    source.write_bytes(recording)
    work = Path(app.config["DATA_DIR"]) / "work"

    with source.open("rb") as fh:
        created = app.test_client().post(
            "/api/v1/entries", headers=bearer(token), data={"media": (fh, "mine.wav")},
            content_type="multipart/form-data")
    assert created.status_code == 201, created.text
    entry_id = created.json["id"]
    assert not work.exists() or list(work.iterdir()) == []  # intake kept nothing

    def job_folder() -> tuple[Path, Path] | None:
        """The work folder holding our original and (begun) decode, once both exist."""
        for folder in work.glob("*") if work.exists() else ():
            files = {p.name: p for p in folder.glob("*")}
            original = files.pop("original.wav", None)
            if original is not None and files and original.read_bytes() == recording:
                return folder, next(iter(files.values()))
        return None

    def kill_mid_job(proc) -> tuple[Path, bytes]:
        folder, decode = wait_until(job_folder, "the job to decode into its work folder",
                                    every=0.02, logs=workers.logs)
        assert mode(folder) == mode(work) == 0o700
        workers.kill(proc)
        assert folder.is_dir(), "the folder should outlive a SIGKILL (no clean-up ran)"
        return folder, decode.read_bytes()

    first_folder, decode = kill_mid_job(workers.start())
    needles = [bytes(recording), decode]
    skip = (source, work)
    assert copies_in(SYSTEM_TEMP, needles, skip=skip) == []
    assert copies_in(tmp_path / "system-temp", needles, skip=skip) == []

    # The next worker sweeps what the dead one left, at start, and takes the job up again.
    second = workers.start()
    wait_until(lambda: not first_folder.exists(), "the restarted worker to sweep",
               logs=workers.logs)
    second_folder, _ = kill_mid_job(second)

    # Withdrawn while no worker runs: nothing of it may stay anywhere.
    withdrawn = app.test_client().post(f"/api/v1/entries/{entry_id}/withdraw",
                                       headers=bearer(token))
    assert withdrawn.status_code == 200, withdrawn.text
    assert not second_folder.exists()
    assert list(work.iterdir()) == []
    assert copies_in(SYSTEM_TEMP, needles, skip=(source,)) == []
    assert list((tmp_path / "system-temp").iterdir()) == []
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        assert entry.status == st.WITHDRAWN
        storage = get_private_storage()
        assert not any(storage.exists(keys.entry_file(entry.org_id, entry_id, name))
                       for name in ("original.wav", "transcript.json"))


# -- request bodies the server parks on disk -------------------------------------------------


def _parked_files(pid: int) -> list[str]:
    """The unnamed (deleted) files a process holds open: where temporary files went."""
    parked = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.endswith(" (deleted)"):
            parked.append(target)
    return parked


def test_a_large_upload_in_flight_is_parked_under_the_data_folder(tmp_path):
    """waitress keeps any body over 512 KB in an unnamed temporary file while it arrives
    (werkzeug does the same with multipart files): those bytes are a recording, so they
    must be in the data folder's owner-only tmp, not the system temp folder."""
    import http.client

    from diaryroom import accounts
    from tests.browser.e2e_support import served

    def prepare(install) -> None:
        org = accounts.create_organisation("Parked service")
        _, install.kiosk_token = accounts.pair_kiosk(org.id, "Front desk")

    boundary = "diaryroom-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; "
            "filename=\"speech.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
    with served(tmp_path, label="parked", prepare=prepare) as server:
        install = server.install
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.putrequest("POST", "/api/v1/entries")
        conn.putheader("Authorization", f"Bearer {install.kiosk_token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(3 * 1024 * 1024))
        conn.endheaders()
        conn.send(head + secrets.token_bytes(2 * 1024 * 1024))  # most, not all of it
        parked: list[str] = []
        deadline = time.monotonic() + 20
        while not parked and time.monotonic() < deadline:
            parked = _parked_files(server.proc.pid)
            time.sleep(0.1)
        conn.close()
    assert parked, "the server parked nothing on disk (has waitress changed?)"
    private = str(install.data_dir / workdir.TEMP) + "/"
    assert all(p.startswith(private) for p in parked), parked
    assert mode(install.data_dir / workdir.TEMP) == 0o700
