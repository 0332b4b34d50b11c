"""EncryptedStorage over a real directory and a real (moto) S3 endpoint on loopback."""
from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import pytest

from diaryroom.crypto import HEADER_LEN, DecryptionError, load_key
from diaryroom.encrypted_storage import EncryptedStorage
from diaryroom.errors import ComponentUnavailable, StorageError
from diaryroom.storage import LocalStorage, NoSuchObject, S3Storage, Storage, build_storage
from tests.integration.conftest import admin_client

MiB = 1024 * 1024
BUCKET = "diaryroom-crypto-test"
MARKER = b"MARKER-participant-said-their-full-name-MARKER"
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def endpoint(moto_endpoint) -> str:
    admin_client(moto_endpoint).create_bucket(Bucket=BUCKET)
    return moto_endpoint


def make_local(tmp_path: Path) -> LocalStorage:
    storage = build_storage(f"file://{tmp_path / 'media'}", secret_key="sekrit",
                            base_url="http://diary.example/")
    assert isinstance(storage, LocalStorage)
    return storage


def make_s3(endpoint: str) -> S3Storage:
    storage = build_storage(f"s3://{BUCKET}/run-{uuid.uuid4().hex}", secret_key="k",
                            base_url="http://x", s3_endpoint_url=endpoint,
                            s3_addressing_style="path", multipart_mb=5,
                            s3_access_key_id="testing", s3_secret_access_key="testing")
    assert isinstance(storage, S3Storage)
    return storage


@pytest.fixture(params=["local", "s3"])
def inner(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return make_local(tmp_path)
    return make_s3(request.getfixturevalue("endpoint"))


@pytest.fixture
def storage(inner: Storage) -> EncryptedStorage:
    return EncryptedStorage(inner, KEY)


def raw_bytes(inner: Storage, key: str) -> bytes:
    """What is really stored, read behind the encrypting layer's back."""
    stream = inner.open(key)
    try:
        return stream.read()
    finally:
        stream.close()


def read_all(storage: Storage, key: str) -> bytes:
    with storage.open(key) as stream:
        return stream.read()


class OneShot:
    """A non-seekable request body."""

    def __init__(self, data: bytes):
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 64 * 1024 + 1, 6 * MiB])
def test_round_trip_reports_the_plaintext(storage: EncryptedStorage, inner: Storage,
                                          size: int) -> None:
    data = os.urandom(size)
    stored = storage.put("entries/1/original.webm", io.BytesIO(data))
    assert stored.key == "entries/1/original.webm"
    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.exists("entries/1/original.webm")
    assert read_all(storage, "entries/1/original.webm") == data
    raw = raw_bytes(inner, "entries/1/original.webm")
    assert raw.startswith(b"DRE1") and len(raw) > size + HEADER_LEN


def test_what_is_stored_does_not_contain_the_plaintext(storage: EncryptedStorage,
                                                       inner: Storage) -> None:
    data = os.urandom(200_000) + MARKER + b"a quiet plain sentence. " * 1000
    storage.put("entries/2/text", OneShot(data))  # type: ignore[arg-type]
    raw = raw_bytes(inner, "entries/2/text")
    assert MARKER not in raw and b"a quiet plain sentence." not in raw
    assert read_all(storage, "entries/2/text") == data


def test_the_file_on_disk_is_ciphertext(tmp_path: Path) -> None:
    local = make_local(tmp_path)
    EncryptedStorage(local, KEY).put("a/b", io.BytesIO(MARKER * 100))
    on_disk = local.path_for("a/b").read_bytes()
    assert on_disk.startswith(b"DRE1") and MARKER not in on_disk


def test_tampering_in_storage_is_detected(tmp_path: Path) -> None:
    local = make_local(tmp_path)
    storage = EncryptedStorage(local, KEY)
    storage.put("k", io.BytesIO(os.urandom(200_000)))
    path = local.path_for("k")
    blob = path.read_bytes()

    damaged = bytearray(blob)
    damaged[len(blob) // 2] ^= 0x04
    path.write_bytes(bytes(damaged))
    with pytest.raises(DecryptionError):
        read_all(storage, "k")

    path.write_bytes(blob[:-100])  # truncated, as by a half-finished copy
    with pytest.raises(DecryptionError):
        read_all(storage, "k")

    path.write_bytes(blob)
    assert len(read_all(storage, "k")) == 200_000


def test_wrong_key_fails_when_opening(inner: Storage) -> None:
    EncryptedStorage(inner, KEY).put("k", io.BytesIO(b"secret"))
    with pytest.raises(DecryptionError):
        EncryptedStorage(inner, bytes(32)).open("k")


def test_objects_are_bound_to_their_key(inner: Storage) -> None:
    storage = EncryptedStorage(inner, KEY)
    storage.put("entries/1/original", io.BytesIO(b"Alice's story"))
    storage.put("entries/2/original", io.BytesIO(b"Bob's story"))
    # Someone with bucket access swaps the two objects behind the app's back.
    one, two = raw_bytes(inner, "entries/1/original"), raw_bytes(inner, "entries/2/original")
    inner.put("entries/1/original", io.BytesIO(two))
    inner.put("entries/2/original", io.BytesIO(one))
    for key in ("entries/1/original", "entries/2/original"):
        with pytest.raises(DecryptionError):
            storage.open(key)
    unbound = EncryptedStorage(inner, KEY, bind_keys=False)
    unbound.put("x", io.BytesIO(b"movable"))
    inner.put("y", io.BytesIO(raw_bytes(inner, "x")))
    assert read_all(unbound, "y") == b"movable"


def test_an_unencrypted_object_is_refused(storage: EncryptedStorage, inner: Storage) -> None:
    inner.put("legacy", io.BytesIO(b"RIFF plain old wave file"))
    with pytest.raises(DecryptionError, match="not an encrypted object"):
        storage.open("legacy")


def test_never_served_by_url(storage: EncryptedStorage) -> None:
    storage.put("k", io.BytesIO(b"x"))
    with pytest.raises(StorageError, match="never served by URL"):
        storage.signed_url("k")


def test_missing_delete_exists_and_check(storage: EncryptedStorage) -> None:
    with pytest.raises(NoSuchObject):
        storage.open("nothing/here")
    assert not storage.exists("nothing/here")
    storage.put("k", io.BytesIO(b"x"))
    storage.delete("k")
    storage.delete("k")
    assert not storage.exists("k")
    storage.check()
    with pytest.raises(StorageError):
        storage.put("../escape", io.BytesIO(b"x"))


def test_check_passes_failures_through(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    storage = EncryptedStorage(LocalStorage(tmp_path / "file" / "media", secret_key="k",
                                            base_url="http://x"), KEY)
    with pytest.raises(ComponentUnavailable):
        storage.check()


def test_a_failed_put_stores_nothing(tmp_path: Path) -> None:
    local = make_local(tmp_path)
    storage = EncryptedStorage(local, KEY)

    class Failing(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if self.tell() > 100_000:
                raise OSError("client went away")
            return super().read(n)

    with pytest.raises(StorageError):
        storage.put("k", Failing(os.urandom(300_000)))
    assert not storage.exists("k")
    assert [p for p in (tmp_path / "media").rglob("*") if p.is_file()] == []


def test_works_with_a_key_from_load_key(tmp_path: Path, inner: Storage) -> None:
    key = load_key(None, tmp_path / "data")
    EncryptedStorage(inner, key).put("k", io.BytesIO(b"hello"))
    assert read_all(EncryptedStorage(inner, load_key(None, tmp_path / "data")), "k") == b"hello"
