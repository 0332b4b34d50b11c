"""Storage adapters against a real directory and a real (moto) S3 endpoint on loopback."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from diaryroom.errors import ComponentUnavailable, ConfigError, StorageError
from diaryroom.storage import (
    LocalStorage,
    NoSuchObject,
    S3Storage,
    Storage,
    StoredObject,
    build_storage,
    storage_from_config,
)
from tests.integration.conftest import admin_client

MiB = 1024 * 1024
BUCKET = "diaryroom-test"
CREDS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing"}
BAD_KEYS = ["", "/etc/passwd", "../secret", "a/../../b", "a/..", "a\\b", "a//b", "a/",
            "./a", "a/./b", ".tmp-123/x", "a/.tmp-x", "a\0b"]


@pytest.fixture(scope="module")
def endpoint(moto_endpoint) -> str:
    admin_client(moto_endpoint).create_bucket(Bucket=BUCKET)
    return moto_endpoint


@pytest.fixture(scope="module")
def admin(endpoint: str):
    return admin_client(endpoint)


@pytest.fixture(scope="module")
def big() -> bytes:
    return os.urandom(30 * MiB)


def make_s3(endpoint: str, url: str | None = None) -> S3Storage:
    url = url or f"s3://{BUCKET}/run-{uuid.uuid4().hex}"
    storage = build_storage(url, secret_key="k", base_url="http://x", s3_endpoint_url=endpoint,
                            s3_addressing_style="path", multipart_mb=5, **CREDS)
    assert isinstance(storage, S3Storage)
    return storage


def make_local(tmp_path: Path) -> LocalStorage:
    storage = build_storage(f"file://{tmp_path / 'media'}", secret_key="sekrit",
                            base_url="http://diary.example/")
    assert isinstance(storage, LocalStorage)
    return storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return make_local(tmp_path)
    return make_s3(request.getfixturevalue("endpoint"))


class OneShot:
    """A non-seekable source, like a request body streamed straight from the socket."""

    def __init__(self, data: bytes):
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)


class FailingSource(io.BytesIO):
    """Raises once ``fail_at`` bytes have been read in total (over every pass).

    ``on_fail`` runs just before the error, so a test can look at the back-end mid-upload.
    """

    def __init__(self, data: bytes, fail_at: int, on_fail: Callable[[], None] = lambda: None):
        super().__init__(data)
        self.fail_at, self.on_fail, self.total = fail_at, on_fail, 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.total += len(data)
        if self.total > self.fail_at:
            self.on_fail()
            raise OSError("client went away")
        return data


def put_bytes(storage: Storage, key: str, data: bytes) -> StoredObject:
    return storage.put(key, io.BytesIO(data))


def read_all(storage: Storage, key: str) -> bytes:
    with storage.open(key) as fh:  # type: ignore[attr-defined]
        return fh.read()


def test_round_trip_reports_size_and_sha256(storage: Storage) -> None:
    data = b"hello diary room\n" * 1000
    key = "org/1/entries/5/original.webm"

    stored = put_bytes(storage, key, data)

    assert stored == StoredObject(key, len(data), hashlib.sha256(data).hexdigest())
    assert storage.exists(key)
    assert read_all(storage, key) == data


def test_put_replaces_and_accepts_non_seekable_sources(storage: Storage) -> None:
    put_bytes(storage, "a/b.bin", b"old")
    stored = storage.put("a/b.bin", OneShot(b"new content"))  # type: ignore[arg-type]
    assert stored.size == 11 and stored.sha256 == hashlib.sha256(b"new content").hexdigest()
    assert read_all(storage, "a/b.bin") == b"new content"


def test_empty_object(storage: Storage) -> None:
    assert put_bytes(storage, "empty", b"").size == 0
    assert read_all(storage, "empty") == b""


def test_delete_is_idempotent(storage: Storage) -> None:
    put_bytes(storage, "x/y.txt", b"data")
    storage.delete("x/y.txt")
    assert not storage.exists("x/y.txt")
    storage.delete("x/y.txt")
    storage.delete("never/was/here")


def test_missing_key_raises_storage_error(storage: Storage) -> None:
    assert not storage.exists("no/such/key")
    with pytest.raises(StorageError, match="missing from storage") as info:
        storage.open("no/such/key")
    assert isinstance(info.value, NoSuchObject)
    assert "no/such" not in str(info.value)  # messages reach pages: never the key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_rejected(storage: Storage, key: str) -> None:
    for call in (lambda: put_bytes(storage, key, b"x"), lambda: storage.open(key),
                 lambda: storage.exists(key), lambda: storage.delete(key),
                 lambda: storage.signed_url(key)):
        with pytest.raises(StorageError, match="invalid storage key"):
            call()


def test_large_object_round_trip(storage: Storage, big: bytes, admin) -> None:
    stored = put_bytes(storage, "big/recording.webm", big)

    assert stored.size == len(big)
    assert stored.sha256 == hashlib.sha256(big).hexdigest()
    assert read_all(storage, "big/recording.webm") == big
    if isinstance(storage, S3Storage):
        head = admin.head_object(Bucket=BUCKET, Key=storage.object_key("big/recording.webm"))
        assert head["ETag"].strip('"').endswith("-6")  # 30 MiB in 5 MiB parts
        assert head["Metadata"]["sha256"] == stored.sha256


def test_failed_put_leaves_previous_object_and_no_debris(
        storage: Storage, big: bytes, admin) -> None:
    key = "org/1/entries/9/original.webm"
    put_bytes(storage, key, b"previous version")
    seen_uploads: list[dict] = []

    def inspect_s3() -> None:
        assert isinstance(storage, S3Storage)
        deadline = time.monotonic() + 5  # the multipart upload is created on another thread
        while time.monotonic() < deadline and not seen_uploads:
            listing = admin.list_multipart_uploads(Bucket=BUCKET, Prefix=storage.prefix)
            seen_uploads.extend(listing.get("Uploads", []))
            time.sleep(0.01)

    if isinstance(storage, S3Storage):
        # Past the pre-hash pass and two 5 MiB parts into the upload itself.
        source = FailingSource(big, fail_at=len(big) + 12 * MiB, on_fail=inspect_s3)
    else:
        source = FailingSource(big, fail_at=3 * MiB)

    with pytest.raises(StorageError, match="Could not store a file") as info:
        storage.put(key, source)
    # The message never names the key or quotes the cause; the cause stays chained.
    assert "org/" not in str(info.value) and "went away" not in str(info.value)
    assert "client went away" in str(info.value.__cause__)

    assert read_all(storage, key) == b"previous version"
    if isinstance(storage, S3Storage):
        assert seen_uploads, "the failure should have happened mid multipart upload"
        listing = admin.list_multipart_uploads(Bucket=BUCKET, Prefix=storage.prefix)
        assert listing.get("Uploads", []) == []
    else:
        assert isinstance(storage, LocalStorage)
        leftovers = [p.name for p in storage.root.rglob("*") if p.is_file()]
        assert leftovers == ["original.webm"]


def test_failed_first_put_leaves_nothing(storage: Storage) -> None:
    with pytest.raises(StorageError):
        storage.put("new/key", FailingSource(b"z" * (3 * MiB), fail_at=MiB))
    assert not storage.exists("new/key")
    with pytest.raises(StorageError):
        storage.open("new/key")


class ChangingSource(io.BytesIO):
    """Different bytes on the second pass: the file was rewritten under our feet."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.passes = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self.passes += 1
        if self.passes == 1:
            self.getbuffer()[0] ^= 0xFF
        return super().seek(pos, whence)


def test_s3_source_changed_during_upload_is_rejected(endpoint: str) -> None:
    storage = make_s3(endpoint)
    with pytest.raises(StorageError, match="changed while uploading"):
        storage.put("k", ChangingSource(b"abcdef" * 100))
    assert not storage.exists("k")


def test_s3_presigned_get_returns_the_bytes(endpoint: str) -> None:
    storage = make_s3(endpoint)
    put_bytes(storage, "org/2/clip.m4a", b"\x00audio\xff" * 500)

    url = storage.signed_url("org/2/clip.m4a", expires_in=60)

    assert url.startswith(endpoint)
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        assert response.read() == b"\x00audio\xff" * 500


def test_s3_prefix_is_applied_to_keys(endpoint: str, admin) -> None:
    prefix = f"tenant-{uuid.uuid4().hex}/media"
    storage = make_s3(endpoint, f"s3://{BUCKET}/{prefix}/")
    put_bytes(storage, "org/1/a.txt", b"a")

    listed = admin.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    assert [o["Key"] for o in listed["Contents"]] == [f"{prefix}/org/1/a.txt"]
    assert storage.exists("org/1/a.txt")
    assert not make_s3(endpoint, f"s3://{BUCKET}").exists("org/1/a.txt")


def test_s3_rejects_bad_prefix(endpoint: str) -> None:
    with pytest.raises(StorageError):
        make_s3(endpoint, f"s3://{BUCKET}/../escape")


def test_s3_check_passes_when_bucket_is_reachable(endpoint: str) -> None:
    make_s3(endpoint).check()


def test_s3_check_names_a_missing_bucket(endpoint: str) -> None:
    storage = make_s3(endpoint, "s3://no-such-bucket-here")
    with pytest.raises(ComponentUnavailable, match="S3 bucket 'no-such-bucket-here' at http"):
        storage.check()


def test_s3_check_fails_fast_on_unreachable_endpoint() -> None:
    storage = make_s3("http://127.0.0.1:1", f"s3://{BUCKET}")
    started = time.monotonic()
    with pytest.raises(ComponentUnavailable) as info:
        storage.check()
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert message.startswith(f"S3 bucket '{BUCKET}' at http://127.0.0.1:1 is not reachable: ")
    assert "\n" not in message


def test_local_files_are_private(tmp_path: Path) -> None:
    storage = make_local(tmp_path)
    put_bytes(storage, "org/1/entries/5/original.webm", b"secret")

    path = storage.path_for("org/1/entries/5/original.webm")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (storage.root / rel for rel in path.relative_to(storage.root).parents):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_local_signed_url_round_trip(tmp_path: Path) -> None:
    storage = make_local(tmp_path)
    url = urlparse(storage.signed_url("org/1/my clip.webm", expires_in=60))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}

    assert f"{url.scheme}://{url.netloc}" == "http://diary.example"
    assert url.path == "/media/org/1/my%20clip.webm"
    assert int(query["expires"]) - time.time() == pytest.approx(60, abs=5)
    assert storage.verify_signature("org/1/my clip.webm", query["expires"], query["sig"])

    assert not storage.verify_signature("org/1/other.webm", query["expires"], query["sig"])
    assert not storage.verify_signature(
        "org/1/my clip.webm", str(int(query["expires"]) + 1), query["sig"])
    assert not storage.verify_signature("org/1/my clip.webm", query["expires"], "x" + query["sig"])
    assert not storage.verify_signature("org/1/my clip.webm", "soon", query["sig"])
    other = LocalStorage(storage.root, secret_key="different", base_url="http://diary.example")
    assert not other.verify_signature("org/1/my clip.webm", query["expires"], query["sig"])


def test_local_signed_url_expires(tmp_path: Path) -> None:
    storage = make_local(tmp_path)
    query = parse_qs(urlparse(storage.signed_url("a/b", expires_in=-1)).query)
    assert not storage.verify_signature("a/b", query["expires"][0], query["sig"][0])


def test_local_check(tmp_path: Path) -> None:
    storage = make_local(tmp_path)
    storage.check()
    assert storage.root.is_dir()

    (tmp_path / "plainfile").write_text("not a directory")
    broken = LocalStorage(tmp_path / "plainfile" / "media", secret_key="k", base_url="http://x")
    with pytest.raises(ComponentUnavailable, match="media directory"):
        broken.check()


def test_build_storage_rejects_unusable_urls() -> None:
    for url in ("ftp://host/x", "file://relative/path", "s3:///no-bucket"):
        with pytest.raises(ConfigError):
            build_storage(url, secret_key="k", base_url="http://x")


def test_storage_from_config(tmp_path: Path, endpoint: str) -> None:
    local = storage_from_config({"STORAGE_URL": f"file://{tmp_path}/m", "SECRET_KEY": "k",
                                 "BASE_URL": "http://h"})
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "m"

    s3 = storage_from_config({
        "STORAGE_URL": f"s3://{BUCKET}/p", "SECRET_KEY": "k", "BASE_URL": "http://h",
        "S3_ENDPOINT_URL": endpoint, "S3_REGION": "us-east-1", "S3_ADDRESSING_STYLE": "path",
        "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
        "S3_MULTIPART_MB": 5})
    assert isinstance(s3, S3Storage) and s3.prefix == "p"
    s3.check()
