"""Database wiring: SQLite pragmas for the embedded default, migrations, tenancy."""
from __future__ import annotations

import contextlib
from pathlib import Path

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from . import tenancy
from .errors import ComponentUnavailable
from .extensions import db, migrate

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
SQLITE_BUSY_MS = 30_000  # wait this long for a lock before failing; workers share the file


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a worker writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _private_sqlite_file(path: Path) -> None:
    """A new database folder 0700 and the file 0600 (SQLite gives its -wal and -shm the
    file's mode). A file made by an older version with a looser mode is tightened; an
    existing folder is left alone (it may be the operator's own, not the data folder)."""
    if str(path) in ("", ":memory:"):
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)


def init_app(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        _private_sqlite_file(Path(uri[len("sqlite:///"):]))
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    tenancy.install()
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite" and not event.contains(
                engine, "connect", _sqlite_pragmas):
            event.listen(engine, "connect", _sqlite_pragmas)


def check(app: Flask) -> None:
    """Fail with one clear line if the database is unreachable or not migrated."""
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                has_version = db.engine.dialect.has_table(conn, "alembic_version")
        except Exception as e:
            raise ComponentUnavailable(
                f"database at DIARYROOM_DATABASE_URL is not reachable: {e.__class__.__name__}"
            ) from None
        if not has_version:
            raise ComponentUnavailable("the database has no tables yet: run `diaryroom init`")
