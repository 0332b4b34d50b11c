"""Checks of the components an app depends on, shared by every way of running it.

``diaryroom serve``, ``diaryroom worker``, ``diaryroom check`` and gunicorn (through
``diaryroom.wsgi``) all refuse to start with one clear line when a component is missing,
and ``/readyz`` asks the same questions of a running app, naming what is down but never
where it is: the details (hosts, buckets, exception text) go to the log only.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from . import database, jobs, workdir
from .adapters import get_storage
from .config import log_level
from .media import ffmpeg_available

log = logging.getLogger(__name__)
READY_TIMEOUT = 4.0  # seconds /readyz waits for all its checks together
QUIET_LOGGERS = ("alembic", "huey", "presidio-analyzer", "faster_whisper")


def configure_logging(environ: Mapping[str, str] | None = None) -> None:
    """Log lines with time, level and logger at DIARYROOM_LOG_LEVEL (ConfigError if bad)."""
    logging.basicConfig(level=log_level(os.environ if environ is None else environ),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def check(app: Flask, *, queue: bool = True) -> None:
    """Raise ComponentUnavailable (or ConfigError) naming the first missing component."""
    ffmpeg_available()
    database.check(app)
    get_storage(app).check()
    if queue:
        jobs.runtime(app).check()
    # Plaintext a killed process left in its work folder goes before new work starts
    # (folders that a live process holds are kept: see workdir), and the request bodies
    # the server parks in temporary files stay under the data folder too.
    workdir.sweep(app.config["DATA_DIR"])
    workdir.use_private_temp(app.config["DATA_DIR"])


def _dependencies(app: Flask) -> dict[str, Callable[[], None]]:
    return {
        "database": lambda: database.check(app),
        "queue": jobs.runtime(app).check,
        "storage": get_storage(app).check,
    }


def readiness(app: Flask, *, timeout: float = READY_TIMEOUT) -> dict[str, str]:
    """``{"database": "ok", "queue": "unavailable", ...}`` within about ``timeout`` seconds.

    The checks run side by side, each with its own short client timeout; one that has not
    answered by the deadline counts as unavailable, so a hung dependency cannot hang the
    probe (its thread finishes on its own client timeout).
    """
    checks = _dependencies(app)
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(fn) for name, fn in checks.items()}
    finally:
        pool.shutdown(wait=False)
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            states[name] = "ok"
        except TimeoutError:
            log.warning("readiness: %s did not answer within %.0f s", name, timeout)
            states[name] = "unavailable"
        except Exception as e:  # noqa: BLE001 - any failure means "not ready"; logged whole
            log.warning("readiness: %s is unavailable: %s", name, e)
            states[name] = "unavailable"
    return states
