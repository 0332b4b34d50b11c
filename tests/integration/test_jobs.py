"""Background jobs: the lifecycle on the in-memory queue, retries, idempotent delivery,
the sweeper, and recovery after a real `diaryroom worker` process is killed mid-job."""
from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from diaryroom import entries, jobs, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.extensions import db
from diaryroom.models import Entry, Job, utcnow
from tests.conftest import World, bearer, make_app, run_jobs, shared_file

WAIT = 120.0  # seconds: the most any wait in this file may take
REDIS_SERVER = "/usr/bin/redis-server"


# -- test-only job kinds ----------------------------------------------------------------------


class Recorder:
    """What the test handlers saw, reset before every test."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.failures: list[tuple[int | None, str]] = []
        self.fail_times: dict[int | None, int] = {}
        self.entered = threading.Event()
        self.release = threading.Event()
        self.hold_for = 0.0  # seconds test_slow sleeps without reporting progress

    def run_count(self, kind: str, target_id: int | None = None) -> int:
        return sum(1 for r in self.runs if r["kind"] == kind
                   and (target_id is None or r["target_id"] == target_id))


REC = Recorder()


def _job_row(job_id: int) -> Any:
    """The job as the database has it now (core query: no session cache, no scoping)."""
    with db.engine.connect() as conn:
        return conn.execute(select(Job).where(Job.id == job_id)).one()


def _record(kind: str, ctx: jobs.JobContext, target_id: int | None) -> None:
    row = _job_row(ctx.job_id)
    REC.runs.append({"kind": kind, "job_id": ctx.job_id, "target_id": target_id,
                     "org": tenancy.current_org_id(), "state": row.state,
                     "attempts": row.attempts})


@jobs.handler("test_echo")
def _echo(ctx: jobs.JobContext, target_id: int | None) -> None:
    _record("test_echo", ctx, target_id)
    ctx.progress(50)
    REC.runs[-1]["progress_seen"] = _job_row(ctx.job_id).progress


@jobs.handler("test_flaky")
def _flaky(ctx: jobs.JobContext, target_id: int | None) -> None:
    _record("test_flaky", ctx, target_id)
    if REC.fail_times.get(target_id, 0) > 0:
        REC.fail_times[target_id] -= 1
        raise RuntimeError(f"flaky failure for {target_id}")


@jobs.handler("test_broken", on_failure=lambda target_id, message:
              REC.failures.append((target_id, message)))
def _broken(ctx: jobs.JobContext, target_id: int | None) -> None:
    _record("test_broken", ctx, target_id)
    raise RuntimeError(f"always broken ({target_id})")


@jobs.handler("test_slow")
def _slow(ctx: jobs.JobContext, target_id: int | None) -> None:
    _record("test_slow", ctx, target_id)
    REC.entered.set()
    if REC.hold_for:
        time.sleep(REC.hold_for)  # busy, reporting nothing: only the heartbeat says alive
    assert REC.release.wait(WAIT), "test never released the slow job"


@pytest.fixture(autouse=True)
def _reset_recorder() -> Iterator[None]:
    REC.reset()
    yield
    REC.release.set()  # never leave a handler thread blocked


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def org_id(world: World) -> int:
    return world.orgs["A"]


@pytest.fixture
def staff_headers(world: World) -> dict[str, str]:
    return bearer(world.account("staff").token)


@pytest.fixture
def enqueue(app, org_id) -> Callable[..., int]:
    def enqueue(kind: str, target_id: int | None = None) -> int:
        with app.app_context(), tenancy.as_org(org_id):
            return jobs.enqueue(kind, target_id, org_id=org_id).id
    return enqueue


@pytest.fixture
def job_row(app) -> Callable[[int], Any]:
    def job_row(job_id: int) -> Any:
        with app.app_context():
            return _job_row(job_id)
    return job_row


@pytest.fixture
def add_job(app, org_id) -> Callable[..., int]:
    """A job row written directly, as a crashed worker or lost message would leave it."""
    def add_job(kind: str, state: str, *, age: float, attempts: int = 0,
                worker: str | None = None, target_id: int | None = None) -> int:
        with app.app_context(), tenancy.as_org(org_id):
            job = Job(kind=kind, target_id=target_id, state=state, org_id=org_id,
                      attempts=attempts, worker=worker,
                      heartbeat_at=utcnow() - dt.timedelta(seconds=age))
            db.session.add(job)
            db.session.commit()
            return job.id
    return add_job


def wait_until(condition: Callable[[], Any], what: str, *, timeout: float = WAIT,
               every: float = 0.05, logs: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs()}")


# -- lifecycle on the memory queue ------------------------------------------------------------


def test_job_lifecycle_queued_to_done(app, client, staff_headers, enqueue, job_row, org_id):
    job_id = enqueue("test_echo", 7)

    before = client.get(f"/api/v1/jobs/{job_id}", headers=staff_headers)
    assert before.status_code == 200
    assert {"state", "progress", "error"} <= set(before.json)
    assert (before.json["state"], before.json["progress"], before.json["error"]) == (
        "queued", 0, None)
    assert REC.runs == []  # enqueue only queues

    assert run_jobs(app) == 1

    [run] = REC.runs
    assert run["target_id"] == 7 and run["org"] == org_id
    assert (run["state"], run["attempts"]) == ("running", 1)  # claimed before the handler ran
    assert run["progress_seen"] == 50
    after = client.get(f"/api/v1/jobs/{job_id}", headers=staff_headers)
    assert (after.json["state"], after.json["progress"], after.json["error"]) == (
        "done", 100, None)
    row = job_row(job_id)
    assert row.attempts == 1
    assert row.started_at is not None and row.finished_at is not None
    assert row.finished_at >= row.started_at


def test_progress_is_clamped_below_100_until_done(app, org_id, enqueue, job_row):
    job_id = enqueue("test_echo")
    with app.app_context():
        ctx = jobs.JobContext(job_id, org_id)
        ctx.progress(250)
        assert job_row(job_id).progress == 99
        ctx.progress(-5)
        assert job_row(job_id).progress == 0


def test_unknown_job_kind_is_refused(app, org_id):
    with app.app_context(), tenancy.as_org(org_id), pytest.raises(ValueError, match="no handler"):
        jobs.enqueue("no_such_kind", None, org_id=org_id)


def test_job_api_needs_the_team_and_hides_other_organisations(app, client, world, enqueue):
    job_id = enqueue("test_echo")
    world.add_org("B")
    other = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(world.account("staff", "B").token))
    assert other.status_code == 404
    kiosk = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(world.kiosk_tokens["A"]))
    assert kiosk.status_code == 403
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 401
    missing = client.get("/api/v1/jobs/999999", headers=bearer(world.account("staff").token))
    assert missing.status_code == 404


# -- retries ----------------------------------------------------------------------------------


def test_failing_once_then_succeeding_is_done_on_the_second_attempt(app, enqueue, job_row):
    REC.fail_times[1] = 1
    job_id = enqueue("test_flaky", 1)

    assert run_jobs(app) == 2  # the failure re-dispatched the job

    row = job_row(job_id)
    assert (row.state, row.attempts, row.progress, row.error) == ("done", 2, 100, None)
    assert [r["attempts"] for r in REC.runs] == [1, 2]


def test_always_failing_job_fails_after_max_attempts(app, client, staff_headers, enqueue,
                                                     job_row):
    max_attempts = app.config["JOB_MAX_ATTEMPTS"]
    assert max_attempts >= 2
    job_id = enqueue("test_broken", 42)

    assert run_jobs(app) == max_attempts

    row = job_row(job_id)
    assert (row.state, row.attempts) == ("failed", max_attempts)
    # A bug's own text (which may name a path or a key) stays in the log; staff are told
    # what kind of failure it was and where the details are.
    expected = (f"unexpected error (RuntimeError) after {max_attempts} attempts; the "
                f"details are in the server log under job {job_id}")
    assert row.error == expected
    assert "always broken" not in row.error
    assert row.finished_at is not None
    assert REC.run_count("test_broken") == max_attempts
    assert REC.failures == [(42, expected)]  # once, at the end
    body = client.get(f"/api/v1/jobs/{job_id}", headers=staff_headers).json
    assert (body["state"], body["error"]) == ("failed", expected)
    assert body["progress"] < 100

    assert run_jobs(app) == 0  # nothing is left queued, and it is not retried again
    assert REC.failures == [(42, expected)]


def test_max_attempts_setting_is_honoured(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "data", JOB_MAX_ATTEMPTS="1")
    try:
        world = World(app)
        org = world.add_org("A")
        with app.app_context(), tenancy.as_org(org):
            job_id = jobs.enqueue("test_broken", 5, org_id=org).id
        assert run_jobs(app) == 1
        with app.app_context():
            row = _job_row(job_id)
        assert (row.state, row.attempts) == ("failed", 1)
        assert REC.failures == [(5, "unexpected error (RuntimeError) after 1 attempts; the "
                                    f"details are in the server log under job {job_id}")]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- idempotent delivery ----------------------------------------------------------------------


def test_same_job_delivered_twice_runs_once(app, enqueue, job_row):
    job_id = enqueue("test_echo", 3)
    jobs.runtime(app).dispatch(job_id)  # a duplicate message for the same job

    assert run_jobs(app) == 2  # both deliveries were executed...
    assert REC.run_count("test_echo") == 1  # ...but the handler ran once

    jobs.runtime(app).execute.call_local(job_id)  # and a late redelivery of a finished job
    assert REC.run_count("test_echo") == 1
    row = job_row(job_id)
    assert (row.state, row.attempts) == ("done", 1)


def test_delivery_while_the_job_is_running_is_skipped(app, enqueue, job_row):
    job_id = enqueue("test_slow")
    rt = jobs.runtime(app)
    message = rt.huey.dequeue()  # the first delivery, run by a worker thread
    first = threading.Thread(target=rt.huey.execute, args=(message,))
    first.start()
    try:
        assert REC.entered.wait(30), "the first delivery never started the handler"
        rt.execute.call_local(job_id)  # second delivery, while the first still runs
        assert REC.run_count("test_slow") == 1
        assert (job_row(job_id).state, job_row(job_id).attempts) == ("running", 1)
    finally:
        REC.release.set()
        first.join(30)
    assert not first.is_alive()
    assert REC.run_count("test_slow") == 1
    assert (job_row(job_id).state, job_row(job_id).attempts) == ("done", 1)
    assert run_jobs(app) == 0


# -- the sweeper ------------------------------------------------------------------------------


def test_sweeper_requeues_a_running_job_with_an_old_heartbeat(app, add_job, job_row):
    stale = app.config["JOB_STALE_SECONDS"]
    job_id = add_job("test_echo", "running", age=stale + 60, attempts=1, worker="dead:1",
                     target_id=11)

    assert jobs.sweep(app) == [job_id]
    row = job_row(job_id)
    assert (row.state, row.worker) == ("queued", None)
    assert jobs.sweep(app) == []  # re-queued once, not again while it waits

    assert run_jobs(app) == 1
    row = job_row(job_id)
    assert (row.state, row.attempts, row.progress) == ("done", 2, 100)
    assert REC.run_count("test_echo", 11) == 1


def test_sweeper_fails_a_job_whose_worker_died_on_every_attempt(app, add_job, job_row):
    """A recording that kills its worker each time must not take workers down for ever."""
    stale, most = app.config["JOB_STALE_SECONDS"], app.config["JOB_MAX_ATTEMPTS"]
    job_id = add_job("test_broken", "running", age=stale + 60, attempts=most, worker="dead:3",
                     target_id=21)

    assert jobs.sweep(app) == []
    row = job_row(job_id)
    assert row.state == "failed"
    assert str(most) in row.error
    assert REC.failures == [(21, row.error)]
    assert run_jobs(app) == 0  # nothing was dispatched
    assert jobs.sweep(app) == [] and len(REC.failures) == 1


def test_a_stalled_worker_cannot_overwrite_the_job_it_lost(app, add_job, job_row):
    """If the sweeper gave the job to another worker, the first one's result is dropped."""
    job_id = add_job("test_echo", "running", age=0, attempts=2, worker="new-owner:7")
    with app.app_context():
        assert not jobs._finish(job_id, "stalled:6", state="done", progress=100)
        assert jobs._finish(job_id, "new-owner:7", state="done", progress=100)
    assert (job_row(job_id).state, job_row(job_id).worker) == ("done", "new-owner:7")


def test_sweeper_leaves_fresh_jobs_alone(app, add_job, job_row):
    running = add_job("test_echo", "running", age=0, attempts=1, worker="alive:2")
    queued = add_job("test_echo", "queued", age=0)
    done = add_job("test_echo", "done", age=3600, attempts=1)
    failed = add_job("test_echo", "failed", age=3600, attempts=3)

    assert jobs.sweep(app) == []

    assert (job_row(running).state, job_row(running).worker) == ("running", "alive:2")
    assert job_row(queued).state == "queued"
    assert job_row(done).state == "done"
    assert job_row(failed).state == "failed"
    assert run_jobs(app) == 0  # nothing was dispatched
    assert REC.runs == []


def test_sweeper_redispatches_a_queued_job_whose_message_was_lost(app, add_job, job_row):
    stale = app.config["JOB_STALE_SECONDS"]
    job_id = add_job("test_echo", "queued", age=stale + 60, target_id=12)
    assert run_jobs(app) == 0  # the row exists, but no message does

    assert jobs.sweep(app) == [job_id]
    assert run_jobs(app) == 1

    row = job_row(job_id)
    assert (row.state, row.attempts) == ("done", 1)
    assert REC.run_count("test_echo", 12) == 1


def test_sweeper_does_not_requeue_a_long_job_that_is_still_alive(tmp_path, _postgres_schema):
    """A job that runs for longer than JOB_STALE_SECONDS without reporting progress is
    kept alive by its heartbeat, so the sweeper must leave it alone."""
    app = make_app(tmp_path / "data", JOB_STALE_SECONDS="1")
    try:
        org = World(app).add_org("A")
        with app.app_context(), tenancy.as_org(org):
            job_id = jobs.enqueue("test_slow", None, org_id=org).id
        REC.hold_for = 2.5
        REC.release.set()
        huey = jobs.runtime(app).huey
        thread = threading.Thread(target=huey.execute, args=(huey.dequeue(),))
        thread.start()
        assert REC.entered.wait(30)
        swept = []
        for _ in range(4):  # sweep over 2 s, twice the stale limit
            time.sleep(0.5)
            swept += jobs.sweep(app)
        thread.join(30)
        assert swept == []
        with app.app_context():
            row = _job_row(job_id)
        assert (row.state, row.attempts) == ("done", 1)
        assert run_jobs(app) == 0
    finally:
        REC.release.set()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- real queues and real worker processes ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A private redis-server on a free loopback port, stopped at teardown."""
    import redis

    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.fail(f"{REDIS_SERVER} is required for the Redis queue tests "
                    "(apt-get install redis-server)")
    port = _free_port()
    log = open(tmp_path / "redis.log", "wb")  # closed at teardown
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("redis-server did not start:\n"
                                + (tmp_path / "redis.log").read_text(errors="replace"))
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path) -> str:
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def queue_app(tmp_path, queue_url, _postgres_schema):
    """An app on a real queue (file or Redis) that worker processes share with the test."""
    app = make_app(tmp_path / "data", QUEUE_URL=queue_url, JOB_STALE_SECONDS="3",
                   SWEEP_INTERVAL="1")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _diaryroom_command() -> list[str]:
    script = Path(sys.executable).parent / "diaryroom"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from diaryroom.cli import main; main()"]


class WorkerProcesses:
    """`diaryroom worker` subprocesses, each in its own process group, logs to files."""

    def __init__(self, app, tmp_path: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYROOM_")}
        env.update({
            "DIARYROOM_DATA_DIR": app.config["DATA_DIR"],
            "DIARYROOM_SECRET_KEY": app.config["SECRET_KEY"],
            "DIARYROOM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "DIARYROOM_QUEUE_URL": app.config["QUEUE_URL"],
            "DIARYROOM_ASR_MODEL": "tiny.en",
            "DIARYROOM_JOB_STALE_SECONDS": "3",
            "DIARYROOM_SWEEP_INTERVAL": "1",
            "DIARYROOM_WORKERS": "2",
            "DIARYROOM_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        self.env, self.dir = env, tmp_path
        self.procs: list[subprocess.Popen] = []
        self.log_paths: list[Path] = []

    def start(self) -> subprocess.Popen:
        path = self.dir / f"worker-{len(self.procs) + 1}.log"
        with open(path, "wb") as log:
            proc = subprocess.Popen([*_diaryroom_command(), "worker"], env=self.env,
                                    cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        self.log_paths.append(path)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process group: no clean-up code gets to run."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(30)

    def logs(self) -> str:
        parts = []
        for path in self.log_paths:
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            parts.append(f"----- {path.name} -----\n{text[-6000:]}")
        return "\n".join(parts)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def workers(queue_app, tmp_path) -> Iterator[WorkerProcesses]:
    procs = WorkerProcesses(queue_app, tmp_path)
    yield procs
    procs.close()
    # Shown by pytest only when the test failed.
    print(procs.logs())


def _upload(client, token: str, path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        response = client.post("/api/v1/entries", headers=bearer(token),
                               data={"media": (fh, path.name)},
                               content_type="multipart/form-data")
    assert response.status_code == 201, response.text
    return response.json


def _entry(app, entry_id: int) -> Entry:
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        db.session.expunge(entry)
        return entry


@pytest.mark.slow
def test_killed_worker_mid_transcription_is_recovered_by_a_new_worker(
        queue_app, workers, have_ffmpeg):
    lecture = shared_file("speech/lecture60.wav")
    app = queue_app
    world = World(app)
    world.add_org("A")
    client = app.test_client()

    first = workers.start()
    created = _upload(client, world.account("staff").token, lecture)
    job_id = created["job_id"]

    def row():
        with app.app_context():
            return _job_row(job_id)

    running = wait_until(lambda: (r := row()).state == "running" and r, "the job to start",
                         every=0.02, logs=workers.logs)
    assert running.attempts == 1
    assert running.worker.endswith(f":{first.pid}"), running.worker

    workers.kill(first)
    assert first.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.killpg(first.pid, 0)  # nothing of the old worker survives

    # Nothing finished, failed or re-queued it: it still looks like it is running.
    time.sleep(1.0)
    after_kill = row()
    assert (after_kill.state, after_kill.attempts, after_kill.worker) == (
        "running", 1, running.worker), workers.logs()
    assert _entry(app, created["id"]).status in (st.RECEIVED, st.PROCESSING)

    second = workers.start()
    done = wait_until(lambda: (r := row()).state in ("done", "failed") and r,
                      "the job to finish on the new worker", every=0.2, logs=workers.logs)
    assert second.poll() is None, workers.logs()
    assert (done.state, done.attempts, done.progress, done.error) == ("done", 2, 100, None), \
        workers.logs()
    assert done.worker.endswith(f":{second.pid}")

    entry = _entry(app, created["id"])
    assert entry.status == st.AWAITING_REVIEW
    assert entry.language == "en"
    assert entry.duration == pytest.approx(60, abs=1)
    assert entry.transcript_key
    with app.app_context():
        assert get_private_storage().exists(entry.transcript_key)
        transcript = entries.load_transcript(entry)
    assert len(transcript.text.split()) > 50  # a minute of speech, all of it
    assert transcript.segments[-1].end > 45


@pytest.mark.slow
def test_embedded_workers_process_an_upload_and_shut_down(tmp_path, _postgres_schema,
                                                         have_ffmpeg):
    jfk = shared_file("speech/jfk.flac")
    app = make_app(tmp_path / "data", QUEUE_URL=f"sqlite:///{tmp_path / 'queue.db'}")
    embedded = jobs.EmbeddedWorkers(app, 2)
    try:
        world = World(app)
        world.add_org("A")
        created = _upload(app.test_client(), world.account("staff").token, jfk)
        embedded.start()
        assert len(embedded.threads) == 3  # two workers and the sweeper

        def state():
            with app.app_context():
                return _job_row(created["job_id"]).state
        wait_until(lambda: state() in ("done", "failed"), "the embedded workers", every=0.1)
        with app.app_context():
            row = _job_row(created["job_id"])
        assert (row.state, row.attempts, row.progress) == ("done", 1, 100), row.error
        entry = _entry(app, created["id"])
        assert entry.status == st.AWAITING_REVIEW
        assert entry.transcript_key
    finally:
        started = time.monotonic()
        embedded.shutdown(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert not [t.name for t in embedded.threads if t.is_alive()]
    assert time.monotonic() - started < 10
