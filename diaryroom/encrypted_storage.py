"""Storage that keeps every object encrypted (``diaryroom.crypto``'s DRE1 format) and
reads it back decrypted: whole, as a stream, or a range at a time.

A range (an HTTP Range request for the end of an hour of audio) fetches and decrypts
only the 64 KiB chunks its bytes lie in, each authenticated as in a whole read, so no
plaintext copy of the object is ever made to serve it.
"""
from __future__ import annotations

from typing import BinaryIO

from cryptography.exceptions import InvalidTag

from .crypto import (
    CHUNK_SIZE,
    HEADER_LEN,
    MAGIC,
    MAX_CHUNK_SIZE,
    TAG_BYTES,
    DecryptingReader,
    DecryptionError,
    EncryptingReader,
    check_key,
    chunk_aad,
    chunk_nonce,
    file_cipher,
)
from .errors import StorageError
from .storage import HashingReader, Storage, StoredObject


def _plain_size(sealed_size: int, chunk_size: int) -> int:
    """The plaintext length of a DRE1 object of ``sealed_size`` bytes (header included).

    >>> _plain_size(HEADER_LEN + 16, 4)        # an empty file: one empty final chunk
    0
    >>> _plain_size(HEADER_LEN + 2 * 20, 4)    # two full chunks, the second final
    8
    >>> _plain_size(HEADER_LEN + 20 + 17, 4)   # a full chunk and one byte
    5
    """
    body = sealed_size - HEADER_LEN
    full, rest = divmod(body, chunk_size + TAG_BYTES)
    if body < TAG_BYTES or (rest and rest < TAG_BYTES) or (rest == TAG_BYTES and full):
        # An empty final chunk only ever follows nothing: the writer reads one ahead.
        raise DecryptionError("encrypted object has an impossible length")
    return full * chunk_size + (rest - TAG_BYTES if rest else 0)


class EncryptedRange:
    """Random access to one DRE1 object: each read fetches and decrypts only the chunks
    its bytes lie in (a Range request for the end of an hour of audio reads 64 KiB,
    not the hour). Every chunk read is authenticated as in a whole read; the final flag
    comes from the plaintext size, so a size that is not the object's fails too."""

    def __init__(self, key: bytes, inner: Storage, storage_key: str, context: bytes, *,
                 size: int | None = None):
        self._inner, self._storage_key = inner, storage_key
        header = inner.read_at(storage_key, 0, HEADER_LEN)
        if len(header) < HEADER_LEN or header[:len(MAGIC)] != MAGIC:
            raise DecryptionError("not an encrypted object (no DRE1 header)")
        self.chunk_size = int.from_bytes(header[4:8], "big")
        if not 1 <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise DecryptionError(
                f"encrypted object has an impossible chunk size {self.chunk_size}")
        self._header = header
        self._aead, self._prefix = file_cipher(key, header, context)
        if size is None:
            size = _plain_size(inner.size(storage_key), self.chunk_size)
        if size < 0:
            raise ValueError("size must not be negative")
        self.size = size
        self._chunks = max(1, -(-size // self.chunk_size))  # an empty file has one

    def _offset(self, index: int) -> int:
        return HEADER_LEN + index * (self.chunk_size + TAG_BYTES)

    def read_at(self, offset: int, length: int) -> bytes:
        """Plaintext bytes ``offset`` .. ``offset + length`` (fewer at the end)."""
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        first, last = offset // self.chunk_size, (end - 1) // self.chunk_size
        last_plain = min(self.chunk_size, self.size - last * self.chunk_size)
        want = self._offset(last) + last_plain + TAG_BYTES - self._offset(first)
        sealed = self._inner.read_at(self._storage_key, self._offset(first), want)
        if len(sealed) != want:
            raise DecryptionError("could not decrypt: the object is shorter than its size")
        step, parts = self.chunk_size + TAG_BYTES, []
        for n, index in enumerate(range(first, last + 1)):
            piece = sealed[n * step:(n + 1) * step]
            final = index == self._chunks - 1
            try:
                parts.append(self._aead.decrypt(chunk_nonce(self._prefix, index), piece,
                                                chunk_aad(self._header, index, final)))
            except InvalidTag:
                raise DecryptionError(
                    f"could not decrypt chunk {index}: wrong key or size, or the object "
                    "was altered") from None
        plain = b"".join(parts)
        start = offset - first * self.chunk_size
        return plain[start:start + end - offset]


class EncryptedStorage(Storage):
    """Wraps a Storage so every object is stored encrypted and read back decrypted.

    ``put`` reports the size and sha256 of the PLAINTEXT (what callers recorded before).
    With ``bind_keys`` (the default) each object's storage key is mixed into its subkey,
    so an object copied or renamed under another key behind the app's back will not
    decrypt; moving objects between buckets or prefixes is fine (the logical key is used).
    There is deliberately no signed URL: originals never leave by link.
    """

    def __init__(self, storage: Storage, key: bytes, *, bind_keys: bool = True,
                 chunk_size: int = CHUNK_SIZE):
        self.inner = storage
        self._key = check_key(key)
        self._bind_keys = bind_keys
        self._chunk_size = chunk_size

    def _context(self, key: str) -> bytes:
        return key.encode("utf-8") if self._bind_keys else b""

    def put(self, key: str, fileobj: BinaryIO) -> StoredObject:
        plain = HashingReader(fileobj)
        with EncryptingReader(self._key, plain, chunk_size=self._chunk_size,
                              context=self._context(key)) as cipher:
            stored = self.inner.put(key, cipher)  # type: ignore[arg-type]
        return StoredObject(stored.key, plain.size, plain.sha256)

    def open(self, key: str) -> BinaryIO:
        return DecryptingReader(  # type: ignore[return-value]
            self._key, self.inner.open(key), context=self._context(key))

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def signed_url(self, key: str, *, expires_in: int = 300) -> str:
        raise StorageError("encrypted objects are never served by URL")

    def ranged(self, key: str, *, size: int | None = None) -> EncryptedRange:
        """Random access to the plaintext of ``key``. Pass its plaintext ``size`` where
        it is recorded (``render.mp3_size``) to save asking storage for the length."""
        return EncryptedRange(self._key, self.inner, key, self._context(key), size=size)

    def size(self, key: str) -> int:
        """The plaintext length, from the stored length (the header names the chunk size)."""
        return self.ranged(key).size

    def read_at(self, key: str, offset: int, length: int, *, size: int | None = None
                ) -> bytes:
        return self.ranged(key, size=size).read_at(offset, length)

    def check(self) -> None:
        self.inner.check()
