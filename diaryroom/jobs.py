"""Background jobs: a Huey queue that carries job ids, and a ``jobs`` table that is
the truth about every job.

Huey does the delivery (SQLite file queue embedded by default, Redis for many
workers, memory for tests). Our table records state, attempts, progress and error,
and a sweeper re-queues jobs whose worker died, so a crash never loses work. Every
handler is idempotent: it checks the current state of its target before acting.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from flask import Flask, current_app
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer, Worker
from sqlalchemy import select, update

from . import tenancy
from .errors import ComponentUnavailable
from .extensions import db
from .models import Job, utcnow

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 5.0  # seconds between "still alive" writes while a job runs
EXTENSION = "diaryroom.jobs"


@dataclass(frozen=True)
class JobHandler:
    run: Callable[[JobContext, int | None], None]
    # Called once when the last attempt fails, to leave the target in a clear state.
    on_failure: Callable[[int | None, str], None] | None = None


HANDLERS: dict[str, JobHandler] = {}
# Housekeeping the sweeper also runs (each takes no arguments, inside an app context).
MAINTENANCE: list[Callable[[], object]] = []


def handler(kind: str, *, on_failure: Callable[[int | None, str], None] | None = None):
    """Register the function that does the work for jobs of ``kind``."""
    def register(fn: Callable[[JobContext, int | None], None]):
        HANDLERS[kind] = JobHandler(fn, on_failure)
        return fn
    return register


class JobContext:
    """Given to a handler: which job it is running, and a way to report progress."""

    def __init__(self, job_id: int, org_id: int):
        self.job_id = job_id
        self.org_id = org_id

    def progress(self, percent: float) -> None:
        value = max(0, min(99, int(percent)))  # 100 is reserved for "done"
        with db.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == self.job_id)
                         .values(progress=value, heartbeat_at=utcnow()))


def make_huey(url: str) -> Huey:
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        return MemoryHuey("diaryroom", results=False)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite://"):]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteHuey("diaryroom", filename=path, results=False)
    return RedisHuey("diaryroom", url=url, results=False)


class JobRuntime:
    """Per-app queue wiring: the Huey instance and its one task, ``execute``."""

    def __init__(self, app: Flask):
        self.app = app
        self.huey = make_huey(app.config["QUEUE_URL"])
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"
        self.execute = self.huey.task(name="diaryroom.execute_job")(self._execute)

    @property
    def uses_redis(self) -> bool:
        return urlparse(self.app.config["QUEUE_URL"]).scheme in ("redis", "rediss")

    def check(self) -> None:
        if not self.uses_redis:
            return
        try:
            self.huey.storage.conn.ping()
        except Exception as e:
            raise ComponentUnavailable(
                f"Redis at DIARYROOM_QUEUE_URL is not reachable: {e}") from None

    def dispatch(self, job_id: int) -> None:
        self.execute(job_id)

    def _execute(self, job_id: int) -> None:
        with self.app.app_context():
            run_job(job_id, self.worker_name, self)


def runtime(app: Flask | None = None) -> JobRuntime:
    return (app or current_app).extensions[EXTENSION]


def enqueue(kind: str, target_id: int | None, *, org_id: int | None = None) -> Job:
    """Record a job and hand its id to the queue. Commits the current session."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job(kind=kind, target_id=target_id, state="queued",
              org_id=org_id or tenancy.current_org_id(), heartbeat_at=utcnow())
    db.session.add(job)
    db.session.commit()
    runtime().dispatch(job.id)
    return job


def _claim(job_id: int, worker: str) -> bool:
    """Atomically move a queued job to running. Only one worker can win."""
    now = utcnow()
    with db.engine.begin() as conn:
        result = conn.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued")
            .values(state="running", attempts=Job.attempts + 1, worker=worker,
                    heartbeat_at=now, started_at=now, error=None))
    return result.rowcount == 1


def _finish(job_id: int, worker: str, **values: Any) -> bool:
    """Record the end of this worker's attempt, unless the sweeper gave the job to
    another worker meanwhile (this one stalled): then its result is not ours to write."""
    with db.engine.begin() as conn:
        result = conn.execute(update(Job).where(
            Job.id == job_id, Job.state == "running", Job.worker == worker).values(**values))
    if result.rowcount != 1:
        log.warning("job %s was taken over by another worker; discarding this attempt", job_id)
    return result.rowcount == 1


def _give_up(job: Job, message: str) -> None:
    """The last attempt failed: let the handler leave its target in a clear state."""
    on_failure = HANDLERS[job.kind].on_failure if job.kind in HANDLERS else None
    if on_failure is not None:
        with tenancy.as_org(job.org_id):
            on_failure(job.target_id, message)


def _heartbeat(job_id: int, app: Flask, stop: threading.Event) -> None:
    # Beat well inside JOB_STALE_SECONDS, or the sweeper re-queues a job that is running.
    every = min(HEARTBEAT_EVERY, app.config["JOB_STALE_SECONDS"] / 3)
    while not stop.wait(every):
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                         .values(heartbeat_at=utcnow()))


def run_job(job_id: int, worker: str, rt: JobRuntime) -> None:
    """Run one delivery of a job. Safe to call twice: a second delivery finds it claimed."""
    if not _claim(job_id, worker):
        log.info("job %s is not queued any more; skipping this delivery", job_id)
        return
    with tenancy.unscoped():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)  # plain values from here on; the handler gets a fresh session
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(job_id, rt.app, stop), daemon=True)
    beat.start()
    try:
        with tenancy.as_org(job.org_id):
            HANDLERS[job.kind].run(JobContext(job_id, job.org_id), job.target_id)
        _finish(job_id, worker, state="done", progress=100, finished_at=utcnow(), error=None)
    except Exception as e:
        db.session.rollback()
        message = f"{type(e).__name__}: {e}"[:2000]
        log.warning("job %s (%s) attempt %s failed: %s", job_id, job.kind, job.attempts, message)
        if job.attempts < rt.app.config["JOB_MAX_ATTEMPTS"]:
            if _finish(job_id, worker, state="queued", error=message, heartbeat_at=utcnow()):
                rt.dispatch(job_id)
        elif _finish(job_id, worker, state="failed", error=message, finished_at=utcnow()):
            _give_up(job, message)
    finally:
        stop.set()
        db.session.remove()


def sweep(app: Flask) -> list[int]:
    """Re-queue jobs whose worker stopped sending heartbeats (it died), and re-send queued
    jobs whose message may have been lost (a crash between commit and enqueue). A job
    whose worker died on every allowed attempt (say, a file that exhausts memory) is
    failed instead, so it cannot take workers down for ever."""
    rt = runtime(app)
    stale_seconds = app.config["JOB_STALE_SECONDS"]
    stale_before = utcnow() - timedelta(seconds=stale_seconds)
    is_stale = (Job.state.in_(("running", "queued")), Job.heartbeat_at < stale_before)
    requeued = []
    with app.app_context(), tenancy.unscoped():
        with db.engine.begin() as conn:
            stale = conn.execute(select(Job.id, Job.state, Job.attempts).where(*is_stale)).all()
        for job_id, state, attempts in stale:
            if state == "running" and attempts >= app.config["JOB_MAX_ATTEMPTS"]:
                message = f"the worker stopped during all {attempts} attempts"
                with db.engine.begin() as conn:
                    failed = conn.execute(update(Job).where(Job.id == job_id, *is_stale).values(
                        state="failed", error=message, finished_at=utcnow())).rowcount
                if failed:
                    job = db.session.get(Job, job_id)
                    db.session.expunge(job)
                    log.error("job %s failed: %s", job_id, message)
                    _give_up(job, message)
                continue
            with db.engine.begin() as conn:
                moved = conn.execute(update(Job).where(Job.id == job_id, *is_stale).values(
                    state="queued", worker=None, heartbeat_at=utcnow())).rowcount
            if moved:
                log.warning("job %s had no heartbeat for %ss; re-queued", job_id, stale_seconds)
                rt.dispatch(job_id)
                requeued.append(job_id)
    return requeued


class Sweeper(threading.Thread):
    def __init__(self, app: Flask, stop: threading.Event):
        super().__init__(name="diaryroom-sweeper", daemon=True)
        self.app, self.stop = app, stop

    def run(self) -> None:
        while not self.stop.wait(self.app.config["SWEEP_INTERVAL"]):
            try:
                sweep(self.app)
                with self.app.app_context():
                    for task in MAINTENANCE:
                        task()
            except Exception:
                log.exception("job sweeper failed; will try again")


class EmbeddedWorkers:
    """Worker threads inside ``diaryroom serve``, so a small install needs no other server."""

    def __init__(self, app: Flask, count: int):
        self.app, self.count = app, count
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        huey = runtime(self.app).huey
        for i in range(self.count):
            worker = Worker(huey, self.stop, default_delay=0.1, max_delay=2.0, backoff=1.15)
            thread = threading.Thread(target=self._loop, args=(worker,),
                                      name=f"diaryroom-worker-{i}", daemon=True)
            thread.start()
            self.threads.append(thread)
        sweeper = Sweeper(self.app, self.stop)
        sweeper.start()
        self.threads.append(sweeper)

    def _loop(self, worker: Worker) -> None:
        while not self.stop.is_set():
            worker.loop()

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


def run_consumer(app: Flask, workers: int) -> None:
    """``diaryroom worker``: Huey's consumer (signal handling, health checks) plus our sweeper."""
    stop = threading.Event()
    Sweeper(app, stop).start()
    consumer = Consumer(runtime(app).huey, workers=workers, worker_type="thread",
                        periodic=False, initial_delay=0.1, max_delay=2.0)
    try:
        consumer.run()
    finally:
        stop.set()


def drain(app: Flask, limit: int = 100) -> int:
    """Run queued tasks in this thread until the queue is empty (tests, CLI one-offs)."""
    huey = runtime(app).huey
    ran = 0
    while ran < limit and (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = JobRuntime(app)
