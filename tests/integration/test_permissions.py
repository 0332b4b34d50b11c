"""File modes (issue 8, item 7): everything the app writes under the data folder is its
owner's alone, folders 0700 and files 0600, whatever umask the process started with."""
from __future__ import annotations

import io
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from diaryroom.extensions import db
from tests.conftest import ON_POSTGRES, World, bearer, make_app

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Start from the usual 022, as a service manager or a shell would."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def wav(seconds: int = 1) -> bytes:
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                           f"sine=frequency=440:duration={seconds}", "-f", "wav", "-"],
                          check=True, capture_output=True, timeout=60).stdout


def modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_everything_in_the_data_folder_is_owner_only(tmp_path, loose_umask, _postgres_schema):
    data = tmp_path / "data"
    app = make_app(data)
    try:
        world = World(app)
        world.add_org("A")
        client, token = app.test_client(), world.kiosk_tokens["A"]
        # An unfinished upload leaves its .part file; an entry stores its original.
        created = client.post("/api/v1/uploads", headers={**TUS, **bearer(token),
                                                           "Upload-Length": "10"})
        assert created.status_code == 201
        assert client.patch(created.headers["Location"], data=b"12345", headers={
            **TUS, **bearer(token), "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"}).status_code == 204
        entry = client.post("/api/v1/entries", headers=bearer(token),
                            content_type="multipart/form-data",
                            data={"media": (io.BytesIO(wav()), "hello.wav"), "kind": "audio"})
        assert entry.status_code == 201, entry.text
        with app.app_context():
            db.session.remove()
        found = modes(data)  # with the database still open, so its -wal and -shm are there
    finally:
        with app.app_context():
            db.engine.dispose()

    assert any(name.endswith(".part") for name in found), found
    assert any(name.startswith("media/") for name in found), found
    if not os.environ.get("DIARYROOM_TEST_DATABASE_URL"):
        assert {"diaryroom.db", "diaryroom.db-wal", "diaryroom.db-shm"} <= set(found), found
    wrong = {}
    for name, mode in found.items():
        is_dir = (data / name).is_dir()
        if mode != ("0o700" if is_dir else "0o600"):
            wrong[name] = mode
    assert not wrong, f"not owner-only: {wrong}"


def test_an_older_installs_loose_modes_are_tightened(tmp_path, loose_umask, _postgres_schema):
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    old_db = data / "diaryroom.db"
    old_db.touch(mode=0o644)
    app = make_app(data)
    try:
        client = app.test_client()
        world = World(app)
        world.add_org("A")
        client.post("/api/v1/uploads", headers={**TUS, **bearer(world.kiosk_tokens["A"]),
                                                "Upload-Length": "10"})
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "uploads").stat().st_mode) == 0o700
    if not ON_POSTGRES:  # on the PostgreSQL pass the SQLite file is not the database
        assert stat.S_IMODE(old_db.stat().st_mode) == 0o600
