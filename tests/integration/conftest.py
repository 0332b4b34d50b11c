"""Fixtures for integration tests: real servers on loopback, and the API as a staff
member or kiosk uses it."""
import io
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from diaryroom import keys, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.extensions import db
from diaryroom.models import Entry
from tests.conftest import bearer


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real HTTP S3 endpoint (moto) on 127.0.0.1, shared by the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def admin_client(endpoint_url: str):
    """A plain S3 client for setting up buckets and looking behind the adapter's back."""
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def staff_token(world) -> str:
    return world.account("staff").token


@pytest.fixture
def tokens(world) -> dict[str, str]:
    return {"kiosk": world.kiosk_tokens["A"], "staff": world.account("staff").token}


@pytest.fixture
def upload(client) -> Callable[..., Any]:
    """POST /api/v1/entries with a file (path or bytes) and optional consent JSON."""
    def upload(token: str, media: Path | bytes | None, filename: str | None = None,
               consent: Any = None):
        data: dict[str, Any] = {}
        if isinstance(media, Path):
            data["media"] = (io.BytesIO(media.read_bytes()), filename or media.name)
        elif media is not None:
            data["media"] = (io.BytesIO(media), filename)
        if consent is not None:
            data["consent"] = consent if isinstance(consent, str) else json.dumps(consent)
        return client.post("/api/v1/entries", headers=bearer(token), data=data,
                           content_type="multipart/form-data")
    return upload


@pytest.fixture
def api_get(client, staff_token) -> Callable[[str], Any]:
    def api_get(path: str):
        return client.get(f"/api/v1{path}", headers=bearer(staff_token))
    return api_get


@pytest.fixture
def stored(app) -> Callable[[str], bytes]:
    def stored(key: str) -> bytes:
        with app.app_context(), get_private_storage().open(key) as fh:
            return fh.read()
    return stored


@pytest.fixture
def entry_row(app) -> Callable[[int], Entry]:
    def entry_row(entry_id: int) -> Entry:
        with app.app_context(), tenancy.unscoped():
            entry = db.session.get(Entry, entry_id)
            db.session.expunge(entry)
            return entry
    return entry_row


@pytest.fixture
def stored_entry(app, world) -> Callable[[str, bytes], int]:
    """An entry of organisation A whose original is already stored and whose pipeline job
    is queued, as intake leaves it; for inputs intake would refuse at the door (such as
    one longer than today's limit)."""
    from diaryroom import jobs, processing
    from diaryroom.domain.consent import Consent

    def stored_entry(name: str, data: bytes, **consent: object) -> int:
        org_id = world.orgs["A"]
        with app.app_context(), tenancy.as_org(org_id):
            entry = Entry(org_id=org_id, consent=Consent(**consent).to_dict(), kind="audio")
            db.session.add(entry)
            db.session.flush()
            key = keys.entry_file(org_id, entry.id, name)
            get_private_storage().put(key, io.BytesIO(data))
            entry.original_key = key
            db.session.commit()
            jobs.enqueue(processing.PROCESS, entry.id, org_id=org_id)
            return entry.id
    return stored_entry


@pytest.fixture
def silence(tmp_path, have_ffmpeg) -> Path:
    path = tmp_path / "silence.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi",
                    "-i", "anullsrc=r=16000:cl=mono", "-t", "3", str(path)],
                   check=True, timeout=60)
    return path
