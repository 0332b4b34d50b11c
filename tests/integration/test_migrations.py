"""The Alembic migrations build exactly the schema the models describe, from an empty
database, on SQLite and (when DIARYROOM_TEST_DATABASE_URL is set) on PostgreSQL."""
from __future__ import annotations

import os
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from diaryroom import create_app
from diaryroom.config import TestConfig as AppTestConfig  # not collected by pytest
from diaryroom.extensions import db
from tests.conftest import fresh_database

PG_URL = os.environ.get("DIARYROOM_TEST_DATABASE_URL")
# PostgreSQL is a parameter only when there is a server to run it on: no fake passes.
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def model_tables() -> set[str]:
    """Every table the models declare; read after an app exists, since some models live
    beside the code that uses them (uploads, question cards) and load with the app."""
    return {t.name for t in db.metadata.sorted_tables}


@pytest.fixture(params=BACKENDS)
def empty_app(request, tmp_path: Path):
    """An app on a database with no tables at all (no create_all, unlike conftest)."""
    if request.param == "sqlite":
        db_file = tmp_path / "fresh" / "diaryroom.db"
        assert not db_file.exists()
        app = create_app(AppTestConfig(tmp_path / "data", DATABASE_URL=f"sqlite:///{db_file}"))
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    else:
        with fresh_database(tmp_path, label="mig") as url:
            app = create_app(AppTestConfig(tmp_path / "data", DATABASE_URL=url))
            yield app
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def table_names() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def schema_differences() -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(app) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    from alembic.script import ScriptDirectory
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


def test_upgrade_from_empty_matches_the_models(empty_app):
    with empty_app.app_context():
        assert empty_app.config["SQLALCHEMY_DATABASE_URI"].startswith(
            "sqlite:///" if db.engine.dialect.name == "sqlite" else "postgresql+psycopg://")
        assert table_names() == set()

        flask_migrate.upgrade()

        assert table_names() == model_tables() | {"alembic_version"}
        assert current_revision() == head_revision(empty_app)
        differences = schema_differences()
        assert differences == [], f"models and migrations disagree: {differences}"


def test_downgrade_to_base_and_upgrade_again(empty_app):
    with empty_app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert table_names() <= {"alembic_version"}
        assert current_revision() is None

        flask_migrate.upgrade()
        assert table_names() == model_tables() | {"alembic_version"}
        assert current_revision() == head_revision(empty_app)
        assert schema_differences() == []
        # Upgrading an up-to-date database is a no-op, as `diaryroom init` relies on.
        flask_migrate.upgrade()
        assert current_revision() == head_revision(empty_app)


def test_migrated_database_works_with_the_app(empty_app):
    """Constraints made by the migration hold (unique email, foreign keys)."""
    from diaryroom import accounts
    from diaryroom.errors import InvalidInput
    from diaryroom.models import User
    from diaryroom.tenancy import unscoped

    with empty_app.app_context():
        flask_migrate.upgrade()
        org = accounts.create_organisation("Migrated")
        user, one_time = accounts.create_user(org.id, "a@example.org", "admin")
        assert one_time and user.must_change_password
        with pytest.raises(InvalidInput):
            accounts.create_user(org.id, "A@example.org", "staff", "a long password here")
        with unscoped():
            db.session.add(User(org_id=org.id + 1000, email="orphan@example.org",
                                password_hash="x", role="staff"))
            with pytest.raises(Exception, match="(?i)foreign key"):
                db.session.commit()
            db.session.rollback()


def test_logging_survives_an_in_process_migration(empty_app):
    """Alembic's env.py configures logging; it must not switch off the app's loggers."""
    import logging

    import diaryroom.jobs  # noqa: F401 - its logger exists before the migration runs

    with empty_app.app_context():
        flask_migrate.upgrade()
    assert not logging.getLogger("diaryroom.jobs").disabled
    assert not logging.getLogger("diaryroom.web").disabled


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    db_file = tmp_path / "wal.db"
    app = create_app(AppTestConfig(tmp_path / "data", DATABASE_URL=f"sqlite:///{db_file}"))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
            db.engine.dispose()
            # WAL is a property of the file: a plain connection sees it too.
            import sqlite3
            plain = sqlite3.connect(db_file)
            try:
                assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            finally:
                plain.close()
    finally:
        with app.app_context():
            db.engine.dispose()
