"""The WSGI entry point for gunicorn: ``gunicorn diaryroom.wsgi:app``.

It makes the app and runs the same start-up checks as ``diaryroom serve``, so a server
whose database, queue or storage is missing stops with one clear line instead of
answering requests that can only fail. The app is made when a server first asks for
``app`` (or ``application``), not at import, so importing this module reads no settings.
"""
from __future__ import annotations

import functools
import sys

from flask import Flask

from . import create_app, preflight
from .errors import DiaryRoomError

# gunicorn shuts the whole server down, instead of starting the worker again and again,
# when a worker exits with this code before it has booted (its WORKER_BOOT_ERROR).
WORKER_BOOT_ERROR = 3


@functools.cache
def checked_app() -> Flask:
    """The app, once its components have answered; otherwise exit with one clear line."""
    try:
        preflight.configure_logging()
        app = create_app()
        preflight.check(app)
    except (DiaryRoomError, PermissionError) as e:
        print(f"diaryroom: {e}", file=sys.stderr, flush=True)
        raise SystemExit(WORKER_BOOT_ERROR) from None
    return app


def __getattr__(name: str) -> Flask:
    if name in ("app", "application"):
        return checked_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
