"""Fixtures shared by every layer: an app on a fresh database, accounts of every role,
and a small helper for signing in and calling the API."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from diaryroom import accounts, create_app, jobs, tenancy
from diaryroom.config import TestConfig
from diaryroom.domain.roles import Role
from diaryroom.extensions import db

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PASSWORD = "correct horse battery staple"
ON_POSTGRES = bool(os.environ.get("DIARYROOM_TEST_DATABASE_URL"))


def shared_file(relative: str) -> Path:
    """A file from ../shared/data, or skip with the reason when that folder is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs {path} (the shared test data folder is not present)")
    return path


@contextmanager
def fresh_database(folder: Path, *, label: str = "test") -> Iterator[str]:
    """A database of its own for a test that needs real migrations or other processes:
    SQLite in ``folder``, or (with DIARYROOM_TEST_DATABASE_URL) a new PostgreSQL database
    on that server, dropped afterwards. Yields its URL."""
    if not ON_POSTGRES:
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'diaryroom.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["DIARYROOM_TEST_DATABASE_URL"])
    name = f"diaryroom_{label}_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_schema():
    """On PostgreSQL the schema is made once; each test then starts from empty tables."""
    if not ON_POSTGRES:
        yield
        return
    import tempfile
    app = create_app(TestConfig(tempfile.mkdtemp()))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        with db.engine.begin() as conn:
            # Workers started as subprocesses run `database.check`, which wants this table.
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY "
                              "KEY)"))
        db.engine.dispose()
    yield


def _empty_tables() -> None:
    if ON_POSTGRES:
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        db.create_all()
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version "
                              "(version_num VARCHAR(32) PRIMARY KEY)"))


def make_app(data_dir: Path, **overrides: str):
    app = create_app(TestConfig(data_dir, **overrides))
    with app.app_context():
        _empty_tables()
    return app


@pytest.fixture
def app(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "data")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Account:
    email: str
    password: str
    role: str
    org_id: int
    user_id: int
    token: str


class World:
    """Organisations with one account of every role, each with an API token, and a kiosk."""

    def __init__(self, app):
        self.app = app
        self.orgs: dict[str, int] = {}
        self.accounts: dict[tuple[str, str], Account] = {}
        self.kiosk_tokens: dict[str, str] = {}

    def add_org(self, name: str) -> int:
        with self.app.app_context():
            org = accounts.create_organisation(name)
            org_id = self.orgs[name] = org.id
            for role in Role:
                email = f"{role.value}@{org.slug}.example.org"
                user, _ = accounts.create_user(org.id, email, role, PASSWORD)
                _, token = accounts.issue_api_token(user, "tests")
                self.accounts[(name, role.value)] = Account(
                    email, PASSWORD, role.value, org.id, user.id, token)
            _, kiosk_token = accounts.pair_kiosk(org.id, f"{name} kiosk")
            self.kiosk_tokens[name] = kiosk_token
        return org_id

    def account(self, role: str | Role, org: str = "A") -> Account:
        return self.accounts[(org, role.value if isinstance(role, Role) else role)]


@pytest.fixture
def world(app) -> World:
    w = World(app)
    w.add_org("A")
    return w


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_from(html: str) -> str:
    import re
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class AuthActions:
    """Sign in through the real form, CSRF token and all."""

    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD):
        page = self.client.get("/auth/login")
        return self.client.post("/auth/login", data={
            "email": email, "password": password, "csrf_token": csrf_from(page.text)})

    def logout(self):
        page = self.client.get("/")
        return self.client.post("/auth/logout", data={"csrf_token": csrf_from(page.text)})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def run_jobs(app) -> int:
    """Run whatever the in-memory queue holds, as a worker would."""
    return jobs.drain(app)


@pytest.fixture
def org_context(app):
    """An app context scoped to no organisation in particular (for direct service calls)."""
    with app.app_context(), tenancy.unscoped():
        yield


@pytest.fixture(scope="session")
def have_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required (make test installs it)")
