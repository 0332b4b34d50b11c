"""Encryption at rest: the DRE1 stream format, the streaming readers, keys and sealing."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from diaryroom.crypto import (
    CHUNK_SIZE,
    ENV_VAR,
    HEADER_LEN,
    KEY_FILE,
    TAG_BYTES,
    DecryptingReader,
    DecryptionError,
    EncryptingReader,
    decrypt_stream,
    encrypt_stream,
    generate_key,
    load_key,
    seal,
    unseal,
)
from diaryroom.errors import ConfigError, StorageError

MiB = 1024 * 1024
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SMALL = 16  # a tiny chunk size, so structural tests have many chunks to play with


def encrypt(data: bytes, key: bytes = KEY, **kwargs: object) -> bytes:
    out = io.BytesIO()
    encrypt_stream(key, io.BytesIO(data), out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def decrypt(blob: bytes, key: bytes = KEY, **kwargs: object) -> bytes:
    out = io.BytesIO()
    decrypt_stream(key, io.BytesIO(blob), out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def chunks_of(blob: bytes, chunk_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    """Split a DRE1 blob into its header and sealed chunks."""
    sealed = chunk_size + TAG_BYTES
    body = blob[HEADER_LEN:]
    return blob[:HEADER_LEN], [body[i:i + sealed] for i in range(0, len(body), sealed)]


def read_in(reader: io.RawIOBase, size: int) -> bytes:
    parts = []
    while piece := reader.read(size):
        assert len(piece) <= size
        parts.append(piece)
    return b"".join(parts)


class OneShot:
    """A non-seekable source that returns short reads, like a socket."""

    def __init__(self, data: bytes, most: int = 1000):
        self._buf, self._most = io.BytesIO(data), most

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(min(n, self._most) if n >= 0 else self._most)


SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 5 * MiB]


@pytest.fixture(scope="module")
def random_data() -> bytes:
    return os.urandom(5 * MiB)


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_stream_round_trip(size: int, random_data: bytes) -> None:
    data = random_data[:size]
    blob = encrypt(data)
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert len(blob) == HEADER_LEN + size + chunks * TAG_BYTES
    assert blob.startswith(b"DRE1")
    assert decrypt(blob) == data


@pytest.mark.parametrize("size", SIZES)
def test_reader_round_trip(size: int, random_data: bytes) -> None:
    data = random_data[:size]
    blob = EncryptingReader(KEY, io.BytesIO(data)).read()
    assert decrypt(blob) == data
    with DecryptingReader(KEY, io.BytesIO(blob)) as reader:
        assert reader.read() == data
        assert reader.read() == b""


@pytest.mark.parametrize("chunk_size", [1, 7, SMALL, 1000])
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000, 4097])
def test_any_chunk_size_round_trips(chunk_size: int, size: int) -> None:
    data = os.urandom(size)
    assert decrypt(encrypt(data, chunk_size=chunk_size)) == data


def test_short_reads_from_the_source_are_fine(random_data: bytes) -> None:
    data = random_data[:300_000]
    blob = EncryptingReader(KEY, OneShot(data, most=999)).read()
    assert decrypt(blob) == data
    with DecryptingReader(KEY, OneShot(blob, most=333)) as reader:  # type: ignore[arg-type]
        assert reader.read() == data


@pytest.mark.parametrize("size", [1, 7, 1000, CHUNK_SIZE + 3])
def test_small_odd_read_sizes(size: int, random_data: bytes) -> None:
    data = random_data[:3 * CHUNK_SIZE + 5]
    blob = read_in(EncryptingReader(KEY, io.BytesIO(data)), size)
    assert decrypt(blob) == data
    with DecryptingReader(KEY, io.BytesIO(blob)) as reader:
        assert read_in(reader, size) == data


def test_readers_are_read_only_files(random_data: bytes) -> None:
    data = random_data[:100_000]
    enc = EncryptingReader(KEY, io.BytesIO(data))
    assert enc.readable() and not enc.seekable() and not enc.writable()
    assert enc.read(0) == b""
    buf = bytearray(HEADER_LEN)
    assert enc.readinto(buf) == HEADER_LEN and bytes(buf[:4]) == b"DRE1"
    blob = bytes(buf) + enc.read(None)  # type: ignore[arg-type]
    assert decrypt(blob) == data

    src = io.BytesIO(blob)
    reader = DecryptingReader(KEY, src)
    assert reader.readable() and not reader.seekable()
    with io.BufferedReader(reader, buffer_size=4096) as buffered:  # works under io stacks
        assert buffered.read(10) == data[:10]
        assert buffered.read() == data[10:]
    assert reader.closed and src.closed
    with pytest.raises(ValueError):
        reader.read(1)


def test_closing_the_decrypting_reader_closes_its_source() -> None:
    src = io.BytesIO(encrypt(b"hello"))
    with DecryptingReader(KEY, src) as reader:
        assert reader.read(2) == b"he"
    assert reader.closed and src.closed


def test_the_encrypting_reader_leaves_its_source_open() -> None:
    src = io.BytesIO(b"hello")
    with EncryptingReader(KEY, src) as reader:
        reader.read()
    assert not src.closed


def test_equal_plaintexts_give_different_ciphertexts() -> None:
    data = b"the same words, twice" * 100
    first, second = encrypt(data), encrypt(data)
    assert first != second
    assert first[HEADER_LEN:] != second[HEADER_LEN:]
    assert decrypt(first) == decrypt(second) == data


def test_plaintext_does_not_appear_in_the_ciphertext() -> None:
    marker = b"MARKER-my-name-is-Jo-Bloggs-MARKER"
    blob = encrypt(os.urandom(100_000) + marker + b"x" * 100_000)
    assert marker not in blob
    assert b"x" * 32 not in blob


# -- tampering -------------------------------------------------------------------------


def test_flipping_any_byte_is_detected() -> None:
    blob = encrypt(b"0123456789" * 5, chunk_size=SMALL)  # 4 chunks, the last one short
    for i in range(len(blob)):
        damaged = bytearray(blob)
        damaged[i] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(bytes(damaged))


def test_flipping_bytes_in_a_large_object_is_detected(random_data: bytes) -> None:
    blob = encrypt(random_data[:3 * CHUNK_SIZE + 10])
    for i in (0, 5, 9, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + CHUNK_SIZE + 7,
              len(blob) // 2, len(blob) - 1):
        damaged = bytearray(blob)
        damaged[i] ^= 0x80
        with pytest.raises(DecryptionError):
            decrypt(bytes(damaged))


@pytest.mark.parametrize("size", [0, 30, 32, 48])  # short final, one+short, exact multiples
def test_truncation_is_detected(size: int) -> None:
    blob = encrypt(bytes(range(size)), chunk_size=SMALL)
    header, chunks = chunks_of(blob)
    cuts = {len(blob) - 1, len(blob) - TAG_BYTES, HEADER_LEN, HEADER_LEN - 1, 3, 0}
    if len(chunks) > 1:
        cuts.add(len(blob) - len(chunks[-1]))  # drop the final chunk whole
        cuts.add(HEADER_LEN + len(chunks[0]))  # keep only the first chunk
        cuts.add(HEADER_LEN + len(chunks[0]) // 2)  # cut mid-chunk
    for cut in sorted(cuts):
        with pytest.raises(DecryptionError):
            decrypt(blob[:cut])


@pytest.mark.parametrize("size", [0, 30, 32])
def test_appending_is_detected(size: int) -> None:
    blob = encrypt(bytes(range(size)), chunk_size=SMALL)
    _, chunks = chunks_of(blob)
    for extra in (b"\x00", os.urandom(SMALL + TAG_BYTES), chunks[-1], chunks[0]):
        with pytest.raises(DecryptionError):
            decrypt(blob + extra)


def test_reordering_dropping_or_repeating_chunks_is_detected() -> None:
    header, chunks = chunks_of(encrypt(bytes(range(80)), chunk_size=SMALL))
    assert len(chunks) == 5
    variants = [
        [chunks[1], chunks[0], *chunks[2:]],  # swap two
        [*chunks[:2], chunks[3], chunks[2], chunks[4]],
        [chunks[0], *chunks[2:]],  # drop one in the middle
        [chunks[0], chunks[0], *chunks[1:]],  # repeat one
        [*chunks[:-1], chunks[-2]],  # replace the final chunk with an earlier one
    ]
    for variant in variants:
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(variant))


def test_chunks_from_another_file_are_rejected() -> None:
    data = bytes(range(64))
    header_a, chunks_a = chunks_of(encrypt(data, chunk_size=SMALL))
    header_b, chunks_b = chunks_of(encrypt(data, chunk_size=SMALL))  # same key, same text
    with pytest.raises(DecryptionError):
        decrypt(header_a + b"".join([chunks_a[0], chunks_b[1], *chunks_a[2:]]))
    with pytest.raises(DecryptionError):
        decrypt(header_b + b"".join(chunks_a))  # another file's header


def test_wrong_key_is_detected() -> None:
    blob = encrypt(b"secret words")
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt(blob, OTHER_KEY)
    with pytest.raises(DecryptionError):
        DecryptingReader(OTHER_KEY, io.BytesIO(blob))


def test_wrong_context_is_detected() -> None:
    blob = encrypt(b"secret words", context=b"entries/1/original")
    assert decrypt(blob, context=b"entries/1/original") == b"secret words"
    for context in (b"", b"entries/2/original"):
        with pytest.raises(DecryptionError):
            decrypt(blob, context=context)


@pytest.mark.parametrize("blob", [
    b"", b"RIFF....WAVEfmt ", b"DRE1", b"DRE1" + b"\x00" * 100,
    b"DRE1" + (2**31).to_bytes(4, "big") + b"\x00" * 200,
    b"DRE2" + encrypt(b"hello")[4:],
])
def test_things_not_in_the_format_are_rejected(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(blob)
    with pytest.raises(DecryptionError):
        DecryptingReader(KEY, io.BytesIO(blob))


def test_decryption_error_is_a_storage_error() -> None:
    assert issubclass(DecryptionError, StorageError)


def test_the_decrypting_reader_fails_fast_and_closes_its_source() -> None:
    src = io.BytesIO(encrypt(b"secret"))
    with pytest.raises(DecryptionError):
        DecryptingReader(OTHER_KEY, src)
    assert src.closed


def test_damage_later_in_the_stream_fails_the_read_and_stays_failed() -> None:
    blob = encrypt(bytes(200), chunk_size=SMALL)
    reader = DecryptingReader(KEY, io.BytesIO(blob[:-1]))
    with pytest.raises(DecryptionError):
        reader.read()
    with pytest.raises(DecryptionError):  # a retry must not look like a clean end of file
        reader.read(10)
    reader.close()


def test_keys_must_be_32_bytes() -> None:
    for bad in (b"", b"short", KEY + b"x"):
        with pytest.raises(ValueError):
            encrypt(b"x", key=bad)
        with pytest.raises(ValueError):
            EncryptingReader(bad, io.BytesIO(b"x"))
        with pytest.raises(ValueError):
            DecryptingReader(bad, io.BytesIO(b"x"))
    with pytest.raises(ValueError):
        EncryptingReader(KEY, io.BytesIO(b"x"), chunk_size=0)


# -- bounded memory --------------------------------------------------------------------


class Repeating:
    """``total`` bytes of a fixed random block, produced on demand (never all in memory)."""

    def __init__(self, block: bytes, total: int):
        self._block, self._left, self._pos = block, total, 0

    def read(self, n: int = -1) -> bytes:
        n = min(n, self._left, len(self._block) - self._pos)
        piece = self._block[self._pos:self._pos + n]
        self._pos = (self._pos + n) % len(self._block)
        self._left -= n
        return piece


def test_memory_stays_bounded_for_a_large_stream() -> None:
    total = 50 * 1000 * 1000
    block = os.urandom(MiB + 13)  # not a multiple of the chunk size
    expected = hashlib.sha256()
    source = Repeating(block, total)
    got = hashlib.sha256()
    ciphertext_bytes = 0

    class Counting:
        def __init__(self, raw: io.RawIOBase):
            self.raw = raw

        def read(self, n: int = -1) -> bytes:
            nonlocal ciphertext_bytes
            data = self.raw.read(n)
            ciphertext_bytes += len(data)
            return data

    tracemalloc.start()
    try:
        encrypting = EncryptingReader(KEY, source)  # type: ignore[arg-type]
        with DecryptingReader(KEY, Counting(encrypting)) as reader:  # type: ignore[arg-type]
            while piece := reader.read(MiB):
                got.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    check = Repeating(block, total)
    while piece := check.read(MiB):
        expected.update(piece)
    assert got.hexdigest() == expected.hexdigest()
    assert ciphertext_bytes == HEADER_LEN + total + -(-total // CHUNK_SIZE) * TAG_BYTES
    assert peak < 10 * MiB, f"peak allocation {peak / MiB:.1f} MiB"


# -- keys ------------------------------------------------------------------------------


def test_generated_keys_are_usable_and_distinct(tmp_path: Path) -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(load_key(first, tmp_path)) == 32
    assert not (tmp_path / KEY_FILE).exists()  # a configured key never touches the disk


def test_load_key_accepts_urlsafe_and_standard_base64(tmp_path: Path) -> None:
    raw = bytes([0xFB, 0xFF, 0xBE] * 10 + [0xFF, 0xFE])  # encodes with + / or - _
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    assert "+" in std or "/" in std
    for text in (std, url, std.rstrip("="), url.rstrip("="), f"  {url}\n"):
        assert load_key(text, tmp_path) == raw


@pytest.mark.parametrize("bad", [
    "not base64 at all!", "****", base64.b64encode(os.urandom(16)).decode(),
    base64.b64encode(os.urandom(31)).decode(), base64.b64encode(os.urandom(33)).decode(),
    base64.b64encode(os.urandom(64)).decode(), "a" * 45,
])
def test_load_key_rejects_bad_values_naming_the_variable(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=ENV_VAR) as info:
        load_key(bad, tmp_path)
    assert bad not in str(info.value)  # a secret is never echoed into logs


def test_a_missing_key_is_generated_once_with_mode_600(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    key = load_key(None, data_dir)
    path = data_dir / KEY_FILE
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(None, data_dir) == key
    assert load_key(None, str(data_dir)) == key
    assert load_key("", data_dir) == key  # an empty setting counts as unset
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE]  # no temp files left
    assert decrypt(encrypt(b"kept", key), load_key(None, data_dir)) == b"kept"


def test_processes_starting_together_agree_on_the_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_key(None, tmp_path), range(16)))
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]


def test_a_damaged_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("garbage\n")
    with pytest.raises(ConfigError, match=KEY_FILE):
        load_key(None, tmp_path)


# -- sealing short secrets -------------------------------------------------------------


def test_seal_round_trip() -> None:
    token = seal(KEY, b"RECEIPT-1234", context=b"receipt:7")
    assert isinstance(token, str) and "RECEIPT" not in token
    token.encode("ascii")
    assert unseal(KEY, token, context=b"receipt:7") == b"RECEIPT-1234"
    assert unseal(KEY, seal(KEY, b"", context=b""), context=b"") == b""
    assert seal(KEY, b"same", context=b"c") != seal(KEY, b"same", context=b"c")


def test_unseal_rejects_wrong_context_key_or_tampering() -> None:
    token = seal(KEY, b"RECEIPT-1234", context=b"receipt:7")
    with pytest.raises(DecryptionError):
        unseal(KEY, token, context=b"receipt:8")
    with pytest.raises(DecryptionError):
        unseal(OTHER_KEY, token, context=b"receipt:7")
    raw = bytearray(base64.urlsafe_b64decode(token))
    for i in range(len(raw)):
        damaged = bytearray(raw)
        damaged[i] ^= 0x01
        with pytest.raises(DecryptionError):
            unseal(KEY, base64.urlsafe_b64encode(damaged).decode(), context=b"receipt:7")
    for garbage in ("", "!!!", "abc", base64.urlsafe_b64encode(b"\x01short").decode(), "é"):
        with pytest.raises(DecryptionError):
            unseal(KEY, garbage, context=b"receipt:7")
