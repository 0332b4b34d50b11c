"""Background jobs: a Huey queue that carries job ids, and a ``jobs`` table that is
the truth about every job.

Huey does the delivery (SQLite file queue embedded by default, Redis for many
workers, memory for tests). Our table records state, attempts, progress and error,
and a sweeper re-queues jobs whose worker died, so a crash never loses work. Every
handler is idempotent: it checks the current state of its target before acting.

A failure that may pass by itself (storage, network, queue or database unreachable) is
tried again after an exponential back-off with jitter; ``Job.retry_at`` holds the time,
so the wait survives restarts and the sweeper sends the job when it is due. An error
the project raised on purpose for any other reason (bad media, say) fails at once.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import botocore.exceptions
import redis
import redis.exceptions
import sqlalchemy.exc
from flask import Flask, current_app
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer, Worker
from sqlalchemy import or_, select, update

from . import tenancy
from .errors import ComponentUnavailable, DiaryRoomError, StorageError
from .extensions import db
from .models import Job, utcnow
from .storage import NoSuchObject

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 5.0  # seconds between "still alive" writes while a job runs
RETRY_CAP = 300.0  # seconds: the longest back-off between two attempts
REDIS_CONNECT_TIMEOUT = 5  # seconds: an unreachable Redis host must not hang a request
REDIS_SOCKET_TIMEOUT = 10  # seconds: above Huey's 1 s blocking read
EXTENSION = "diaryroom.jobs"

# Failures that may pass by themselves, and the words staff see while a job waits.
# Checked along the exception's chain, so a StorageError raised from a botocore
# connection error counts as the storage being unavailable.
TRANSIENT: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    ((StorageError, botocore.exceptions.ConnectionError,
      botocore.exceptions.HTTPClientError), "storage unavailable"),
    ((redis.exceptions.ConnectionError, redis.exceptions.TimeoutError), "queue unavailable"),
    ((sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError), "database unavailable"),
    (ComponentUnavailable, "a service unavailable"),
    ((ConnectionError, TimeoutError), "network unavailable"),
)


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


def transient_reason(error: BaseException) -> str | None:
    """Plain words for a failure worth trying again later (``"storage unavailable"``);
    None for anything else. A missing object stays missing, so it is not transient."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, NoSuchObject):
            return None
        for types, reason in TRANSIENT:
            if isinstance(cause, types):
                return reason
        cause = cause.__cause__ or cause.__context__
    return None


def retry_delay(attempt: int, *, base: float, cap: float = RETRY_CAP,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed ``attempt`` (1 for the first): ``base`` x 2^(attempt-1),
    at most ``cap``, spread by +-50% so jobs that failed together do not return together.
    Half the nominal wait is guaranteed, so a run of attempts always spans an outage of
    the length the defaults promise. ``base`` 0 means "at once".

    >>> retry_delay(3, base=5, rand=lambda: 0.5)
    20.0
    >>> retry_delay(10, base=5, rand=lambda: 0.0)
    150.0
    """
    if base <= 0:
        return 0.0
    nominal = min(cap, base * 2 ** (attempt - 1))
    return nominal * (0.5 + rand())


@dataclass(frozen=True)
class RetryWait:
    """A job waiting out its back-off: what staff are told about the entry meanwhile."""

    reason: str
    attempt: int  # the attempt that comes next
    max_attempts: int
    retry_at: dt.datetime  # naive UTC, like every time in the database

    def message(self, now: dt.datetime | None = None) -> str:
        """``waiting to retry (storage unavailable), attempt 2 of 6, next try in ~20 s``"""
        seconds = (self.retry_at - (now or utcnow())).total_seconds()
        when = f"next try in ~{_duration(seconds)}" if seconds >= 1 else "next try now"
        return (f"waiting to retry ({self.reason}), attempt {self.attempt} of "
                f"{self.max_attempts}, {when}")

    def to_api(self) -> dict[str, Any]:
        return {"reason": self.reason, "attempt": self.attempt,
                "max_attempts": self.max_attempts,
                "retry_at": self.retry_at.isoformat() + "Z", "message": self.message()}


def _duration(seconds: float) -> str:
    return f"{round(seconds)} s" if seconds < 90 else f"{round(seconds / 60)} min"


def retry_wait(target_id: int, kinds: Iterable[str]) -> RetryWait | None:
    """The newest job of one of ``kinds`` for ``target_id``, if it is waiting to retry."""
    job = db.session.scalar(select(Job).where(
        Job.target_id == target_id, Job.kind.in_(tuple(kinds)), Job.state == "queued",
        Job.retry_at.is_not(None)).order_by(Job.id.desc()).limit(1))
    if job is None or job.retry_at is None:
        return None
    return RetryWait(job.error or "temporary failure", job.attempts + 1,
                     current_app.config["JOB_MAX_ATTEMPTS"], job.retry_at)


def make_huey(url: str) -> Huey:
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        return MemoryHuey("diaryroom", results=False)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite://"):]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteHuey("diaryroom", filename=path, results=False)
    pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                                         socket_timeout=REDIS_SOCKET_TIMEOUT)
    return RedisHuey("diaryroom", connection_pool=pool, results=False)


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

    def try_dispatch(self, job_id: int) -> bool:
        """Hand the job to the queue; if the queue cannot take it, mark the job so the
        next sweep sends it again (the row is the truth, the message only a nudge)."""
        try:
            self.dispatch(job_id)
            return True
        except Exception as e:
            # The type only: a Redis error's text names the server's address.
            log.warning("could not hand job %s to the queue (%s); the sweeper will send "
                        "it again", job_id, type(e).__name__)
        try:
            with self.app.app_context(), db.engine.begin() as conn:
                conn.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                             .values(retry_at=utcnow(), error="queue unavailable"))
        except Exception as e:  # the database too: its heartbeat ages, the sweep finds it
            log.warning("could not mark job %s for re-sending (%s)", job_id, type(e).__name__)
        return False

    def _execute(self, job_id: int) -> None:
        with self.app.app_context():
            run_job(job_id, self.worker_name, self)


def runtime(app: Flask | None = None) -> JobRuntime:
    return (app or current_app).extensions[EXTENSION]


def enqueue(kind: str, target_id: int | None, *, org_id: int | None = None) -> Job:
    """Record a job and hand its id to the queue. Commits the current session.

    Once the row is committed the work is safe, so a queue that cannot take the message
    (Redis down) is logged, not raised: the sweeper sends the job when the queue is back.
    """
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job(kind=kind, target_id=target_id, state="queued",
              org_id=org_id or tenancy.current_org_id(), heartbeat_at=utcnow())
    db.session.add(job)
    db.session.commit()
    runtime().try_dispatch(job.id)
    return job


def _claim(job_id: int, worker: str) -> bool:
    """Atomically move a queued job to running. Only one worker can win."""
    now = utcnow()
    with db.engine.begin() as conn:
        result = conn.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued")
            .values(state="running", attempts=Job.attempts + 1, worker=worker,
                    heartbeat_at=now, started_at=now, error=None, retry_at=None))
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
    # Beat well inside JOB_STALE_SECONDS (four beats to one stale period), or the sweeper
    # re-queues a job that is running. A missed beat (the database blinked) is not the
    # end: the thread must keep beating, or a long job would be taken from a live worker.
    every = min(HEARTBEAT_EVERY, app.config["JOB_STALE_SECONDS"] / 4)
    while not stop.wait(every):
        try:
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                             .values(heartbeat_at=utcnow()))
        except Exception as e:
            log.warning("job %s: heartbeat not recorded (%s)", job_id, type(e).__name__)


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
        _failed(job, worker, e, rt)
    finally:
        stop.set()
        db.session.remove()


def _failed(job: Job, worker: str, error: Exception, rt: JobRuntime) -> None:
    """Record a failed attempt: wait and try again, or give up.

    Transient failures (a service unreachable) are retried after a back-off; so are
    errors nobody expected (a bug may be a race that passes). An error the project
    raised on purpose for any other reason will be the same next time: no retry.
    """
    detail = f"{type(error).__name__}: {error}"[:2000]
    reason = transient_reason(error)
    log.warning("job %s (%s) attempt %s failed%s: %s", job.id, job.kind, job.attempts,
                f" ({reason})" if reason else "", detail)
    config = rt.app.config
    permanent = reason is None and isinstance(error, DiaryRoomError)
    if job.attempts < config["JOB_MAX_ATTEMPTS"] and not permanent:
        delay = retry_delay(job.attempts, base=config["JOB_RETRY_SECONDS"])
        now = utcnow()
        # Staff see the reason while it waits: plain words, never a storage key or URL.
        if _finish(job.id, worker, state="queued", error=reason or "unexpected error",
                   heartbeat_at=now, retry_at=now + timedelta(seconds=delay) if delay else None):
            if delay:
                log.info("job %s: attempt %s in %.1f s", job.id, job.attempts + 1, delay)
            else:
                rt.try_dispatch(job.id)
        return
    # Staff read this (the jobs API, the entry's reason). Our own errors are written for
    # them; anything else is a bug whose text may hold a path, a key or an URL: its
    # details are in the log line above, found by the job's id.
    if reason:
        message = f"{reason} (tried {job.attempts} times)"
    elif isinstance(error, DiaryRoomError):
        message = str(error)[:2000]
    else:
        message = (f"unexpected error ({type(error).__name__}) after {job.attempts} "
                   f"attempts; the details are in the server log under job {job.id}")
    if _finish(job.id, worker, state="failed", error=message, finished_at=utcnow()):
        _give_up(job, message)


def sweep(app: Flask) -> list[int]:
    """Re-queue jobs whose worker stopped sending heartbeats (it died), and re-send queued
    jobs whose message may have been lost (a crash between commit and enqueue). A job
    whose worker died on every allowed attempt (say, a file that exhausts memory) is
    failed instead, so it cannot take workers down for ever."""
    rt = runtime(app)
    stale_seconds = app.config["JOB_STALE_SECONDS"]
    now = utcnow()
    stale_before = now - timedelta(seconds=stale_seconds)
    # Running with no heartbeat; queued with no message for a while (and not waiting out a
    # back-off); or queued and due: its back-off is over, or the queue refused it.
    is_stale = (or_(
        (Job.state == "running") & (Job.heartbeat_at < stale_before),
        (Job.state == "queued") & Job.retry_at.is_(None) & (Job.heartbeat_at < stale_before),
        (Job.state == "queued") & (Job.retry_at <= now)),)
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
                    state="queued", worker=None, heartbeat_at=utcnow(),
                    retry_at=None)).rowcount
            if moved:
                if state == "running":
                    log.warning("job %s had no heartbeat for %ss; re-queued", job_id,
                                stale_seconds)
                if rt.try_dispatch(job_id):
                    requeued.append(job_id)
    return requeued


def next_retry_in(app: Flask) -> float | None:
    """Seconds until the earliest back-off ends (None: no job is waiting)."""
    with app.app_context(), tenancy.unscoped():
        soonest = db.session.scalar(select(Job.retry_at).where(
            Job.state == "queued", Job.retry_at.is_not(None)).order_by(Job.retry_at).limit(1))
        db.session.remove()
    return None if soonest is None else (soonest - utcnow()).total_seconds()


class Sweeper(threading.Thread):
    def __init__(self, app: Flask, stop: threading.Event):
        super().__init__(name="diaryroom-sweeper", daemon=True)
        self.app, self.stop = app, stop

    def run(self) -> None:
        interval = self.app.config["SWEEP_INTERVAL"]
        wait, housekeeping_at = interval, time.monotonic() + interval
        while not self.stop.wait(wait):
            wait = interval
            try:
                sweep(self.app)
                if time.monotonic() >= housekeeping_at:
                    housekeeping_at = time.monotonic() + interval
                    with self.app.app_context():
                        for task in MAINTENANCE:
                            task()
                # Wake when the next back-off ends, so "next try in ~20 s" holds.
                due = next_retry_in(self.app)
                if due is not None:
                    wait = min(interval, max(0.2, due))
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
