"""Ranged reads (``read_at``, ``size``) against a real directory and a real (moto) S3
endpoint on loopback, plain and encrypted: the exact bytes, across chunk boundaries,
at the end and past it; an encrypted range decrypts only what it touches, and still
refuses altered bytes or a wrong size."""
from __future__ import annotations

import io
import os
import random

import pytest

from diaryroom.crypto import CHUNK_SIZE, HEADER_LEN, TAG_BYTES, DecryptionError
from diaryroom.encrypted_storage import EncryptedStorage
from diaryroom.storage import NoSuchObject, Storage
from tests.integration.conftest import admin_client
from tests.integration.test_encrypted_storage import BUCKET, make_local, make_s3

KEY = bytes(range(32))
DATA = os.urandom(3 * CHUNK_SIZE + 1234)  # three full chunks and a short last one
EDGES = [(0, 1), (0, 100), (CHUNK_SIZE - 1, 2), (CHUNK_SIZE - 50, CHUNK_SIZE + 100),
         (2 * CHUNK_SIZE, CHUNK_SIZE), (len(DATA) - 10, 10), (len(DATA) - 10, 500),
         (len(DATA), 10), (len(DATA) + 99, 1), (5, 0), (0, len(DATA) + 1)]


@pytest.fixture(scope="module")
def endpoint(moto_endpoint) -> str:
    client = admin_client(moto_endpoint)
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return moto_endpoint


@pytest.fixture(params=["local", "s3"])
def inner(request: pytest.FixtureRequest, tmp_path) -> Storage:
    if request.param == "local":
        return make_local(tmp_path)
    return make_s3(request.getfixturevalue("endpoint"))


def test_plain_ranges_are_exact(inner):
    inner.put("org/1/a.bin", io.BytesIO(DATA))
    assert inner.size("org/1/a.bin") == len(DATA)
    for offset, length in EDGES:
        assert inner.read_at("org/1/a.bin", offset, length) == DATA[offset:offset + length]
    with pytest.raises(NoSuchObject):
        inner.size("org/1/missing.bin")
    with pytest.raises(NoSuchObject):
        inner.read_at("org/1/missing.bin", 0, 10)


def test_encrypted_ranges_are_exact_with_or_without_the_size(inner):
    storage = EncryptedStorage(inner, KEY)
    storage.put("org/1/e.bin", io.BytesIO(DATA))
    assert storage.size("org/1/e.bin") == len(DATA)
    known = storage.ranged("org/1/e.bin", size=len(DATA))
    found = storage.ranged("org/1/e.bin")
    assert found.size == len(DATA)
    rng = random.Random(7)
    cases = EDGES + [(rng.randrange(len(DATA)), rng.randrange(1, 3 * CHUNK_SIZE))
                     for _ in range(20)]
    for offset, length in cases:
        want = DATA[offset:offset + length]
        assert known.read_at(offset, length) == want, (offset, length)
        assert found.read_at(offset, length) == want, (offset, length)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 2 * CHUNK_SIZE, CHUNK_SIZE + 1])
def test_encrypted_sizes_at_chunk_edges(inner, size):
    data = os.urandom(size)
    storage = EncryptedStorage(inner, KEY)
    storage.put("org/1/edge.bin", io.BytesIO(data))
    assert storage.size("org/1/edge.bin") == size
    assert storage.read_at("org/1/edge.bin", 0, size + 10) == data
    assert storage.read_at("org/1/edge.bin", max(0, size - 3), 3, size=size) == data[-3:]


def test_a_range_reads_only_the_chunks_it_touches(tmp_path):
    local = make_local(tmp_path)
    storage = EncryptedStorage(local, KEY)
    storage.put("org/1/e.bin", io.BytesIO(DATA))
    # Damage the first chunk: a range in the third still reads (it never touches it),
    # a range in the first is refused.
    path = local.path_for("org/1/e.bin")
    raw = bytearray(path.read_bytes())
    raw[HEADER_LEN + 10] ^= 1
    path.write_bytes(bytes(raw))
    third = 2 * CHUNK_SIZE
    assert storage.read_at("org/1/e.bin", third + 5, 100) == DATA[third + 5:third + 105]
    with pytest.raises(DecryptionError):
        storage.read_at("org/1/e.bin", 0, 10)


def test_a_wrong_size_or_a_cut_object_is_refused(tmp_path):
    local = make_local(tmp_path)
    storage = EncryptedStorage(local, KEY)
    storage.put("org/1/e.bin", io.BytesIO(DATA))
    end = len(DATA) - 5
    with pytest.raises(DecryptionError):  # the final flag is on another chunk
        storage.read_at("org/1/e.bin", 2 * CHUNK_SIZE + 10, 5, size=3 * CHUNK_SIZE)
    with pytest.raises(DecryptionError):  # the last chunk is shorter than said
        storage.read_at("org/1/e.bin", end, 5, size=len(DATA) + 1)
    path = local.path_for("org/1/e.bin")
    whole = path.read_bytes()
    path.write_bytes(whole[:-TAG_BYTES - 100])  # cut inside the last chunk
    with pytest.raises(DecryptionError):
        storage.read_at("org/1/e.bin", len(DATA) - 5, 5, size=len(DATA))
    path.write_bytes(whole[:HEADER_LEN + 7])  # an impossible length
    with pytest.raises(DecryptionError):
        storage.size("org/1/e.bin")
    path.write_bytes(b"not encrypted at all" * 10)
    with pytest.raises(DecryptionError):
        storage.read_at("org/1/e.bin", 0, 5)
