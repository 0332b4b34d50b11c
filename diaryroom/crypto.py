"""Authenticated encryption at rest for original recordings and unredacted text.

The key comes from ``DIARYROOM_ENCRYPTION_KEY`` (base64 of 32 random bytes) and is never
stored in the database, so a leaked database dump or bucket alone reveals nothing. Losing
the key loses every encrypted recording: back it up apart from the data.

Stream format ``DRE1`` (used for files of any size, processed in bounded memory)::

    header = b"DRE1" || chunk_size (uint32 BE) || salt (32 random bytes)      # 40 bytes
    chunk_i = AES-256-GCM(subkey, nonce_i, plaintext_i, aad_i)                # ct || 16-byte tag

    subkey || prefix = HKDF-SHA256(master key, salt=salt, info=INFO || context)  # 32 + 8 bytes
    nonce_i = prefix || i (uint32 BE)
    aad_i   = header || i (uint32 BE) || final flag (1 byte: 1 on the last chunk, else 0)

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last holds
0..chunk_size bytes (an empty file is one empty final chunk). Because each file gets its own
random salt, each file has its own subkey, so a counter nonce never repeats under a key and
random-nonce collision limits do not apply. Binding the header, the index and the final flag
into every tag means that tampering, reordering, dropping or duplicating chunks, truncation
(at a chunk boundary or mid-chunk), appending, or splicing chunks from another file all fail
authentication and raise :class:`DecryptionError`. An optional ``context`` (e.g. the storage
key) is mixed into the subkey, so a whole file moved to another context also fails.

Streaming caveat: chunks are authenticated one at a time, so a reader sees the plaintext of
earlier, genuine chunks before it can learn that a later part was removed. Only a read that
reaches EOF without :class:`DecryptionError` proves the whole object intact; on an error,
discard what was read.

The storage adapter over this format, with random access to one object's chunks, is
``diaryroom.encrypted_storage``.

Short secrets kept in the database (receipt codes and the like) use :func:`seal` and
:func:`unseal`: AES-256-GCM with a random nonce under a subkey derived for that purpose, with
a caller-chosen ``context`` as associated data so a token cannot be moved between uses.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import ConfigError, StorageError

ENV_VAR = "DIARYROOM_ENCRYPTION_KEY"
KEY_FILE = "encryption_key"
KEY_BYTES = 32

MAGIC = b"DRE1"
SALT_BYTES = 32
HEADER_LEN = len(MAGIC) + 4 + SALT_BYTES
TAG_BYTES = 16
CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 8 * 1024 * 1024  # refuse headers that would make a reader buffer more
MAX_CHUNKS = 2**32  # the counter is 32 bits

_STREAM_INFO = b"diaryroom DRE1 stream subkey\x00"
_SEAL_INFO = b"diaryroom seal v1"
_SEAL_VERSION = b"\x01"
_NONCE_BYTES = 12


class DecryptionError(StorageError):
    """Ciphertext was tampered with, truncated, made with another key, or is not ours."""


# ---------------------------------------------------------------------------------------
# keys


def generate_key() -> str:
    """A new random key as urlsafe base64, ready for DIARYROOM_ENCRYPTION_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _decode_key(text: str) -> bytes | None:
    """32 bytes from urlsafe or standard base64 (padding optional); None if not that."""
    cleaned = "".join(text.split()).rstrip("=")
    cleaned = cleaned.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == KEY_BYTES else None


def load_key(config_value: str | None, data_dir: str | Path) -> bytes:
    """The master key: from the setting if given, else generated once into the data dir.

    The generated file (``<data_dir>/encryption_key``, mode 0600) is written whole under a
    temporary name and then linked into place, so processes starting together on a new data
    dir all end up with the same key. Production installs should set the variable instead,
    so the key lives apart from the database and the media.
    """
    if config_value is not None and config_value.strip() != "":
        key = _decode_key(config_value)
        if key is None:
            # Never echo the value: it is a secret, and logs outlive it.
            raise ConfigError(
                f"{ENV_VAR} must be base64 of exactly {KEY_BYTES} random bytes (make one with "
                "`python -c 'from diaryroom.crypto import generate_key; print(generate_key())'`)")
        return key

    directory = Path(data_dir)
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(generate_key() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race; everybody reads its key below
        finally:
            tmp.unlink(missing_ok=True)
    key = _decode_key(path.read_text())
    if key is None:
        raise ConfigError(
            f"{path} does not hold a valid encryption key; restore it from a backup or set "
            f"{ENV_VAR} (without the right key encrypted recordings cannot be read)")
    return key


def check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise ValueError(f"an encryption key is {KEY_BYTES} bytes (use load_key)")
    return bytes(key)


def _hkdf(key: bytes, *, length: int, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(
        check_key(key))


# ---------------------------------------------------------------------------------------
# streams


def file_cipher(key: bytes, header: bytes, context: bytes) -> tuple[AESGCM, bytes]:
    material = _hkdf(key, length=KEY_BYTES + 8, salt=header[8:HEADER_LEN],
                     info=_STREAM_INFO + bytes(context))
    return AESGCM(material[:KEY_BYTES]), material[KEY_BYTES:]


def chunk_nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def chunk_aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _read_exact(src: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at EOF (sockets and S3 bodies may return short reads)."""
    data = src.read(n)
    if not data:
        return b""
    if len(data) == n:
        return bytes(data)
    parts, got = [bytes(data)], len(data)
    while got < n:
        more = src.read(n - got)
        if not more:
            break
        parts.append(bytes(more))
        got += len(more)
    return b"".join(parts)


def _encrypt_chunks(key: bytes, src: BinaryIO, chunk_size: int, context: bytes
                    ) -> Iterator[bytes]:
    """Yield the header, then each ciphertext chunk; at most three chunks in memory."""
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
    header = MAGIC + chunk_size.to_bytes(4, "big") + os.urandom(SALT_BYTES)
    aead, prefix = file_cipher(key, header, context)
    yield header
    current = _read_exact(src, chunk_size)
    index = 0
    while True:
        # Read one chunk ahead: the last chunk is marked final, even when it is full.
        following = _read_exact(src, chunk_size) if len(current) == chunk_size else b""
        final = not following
        yield aead.encrypt(chunk_nonce(prefix, index), current, chunk_aad(header, index, final))
        if final:
            return
        current, index = following, index + 1
        if index >= MAX_CHUNKS:
            raise StorageError("too much data for one encrypted object")


def _decrypt_chunks(key: bytes, src: BinaryIO, context: bytes) -> Iterator[bytes]:
    """Yield each chunk's plaintext once its tag checks; DecryptionError otherwise."""
    header = _read_exact(src, HEADER_LEN)
    if len(header) < HEADER_LEN or header[:len(MAGIC)] != MAGIC:
        raise DecryptionError("not an encrypted object (no DRE1 header)")
    chunk_size = int.from_bytes(header[4:8], "big")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError(f"encrypted object has an impossible chunk size {chunk_size}")
    aead, prefix = file_cipher(key, header, context)
    sealed_size = chunk_size + TAG_BYTES
    current = _read_exact(src, sealed_size)
    index = 0
    while True:
        # A short chunk can only be the last (the read hit EOF); a full one is the last
        # only if nothing follows it. The final flag in the AAD makes the writer agree.
        following = _read_exact(src, sealed_size) if len(current) == sealed_size else b""
        final = not following
        try:
            plain = aead.decrypt(chunk_nonce(prefix, index), current,
                                 chunk_aad(header, index, final))
        except InvalidTag:
            raise DecryptionError(
                f"could not decrypt chunk {index}: wrong key, or the object was altered, "
                "truncated or extended") from None
        yield plain
        if final:
            return
        current, index = following, index + 1
        if index >= MAX_CHUNKS:
            raise DecryptionError("encrypted object has too many chunks")


def encrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, *,
                   chunk_size: int = CHUNK_SIZE, context: bytes = b"") -> None:
    """Encrypt ``src`` (read to EOF) into ``dst`` in DRE1 format, in bounded memory."""
    for piece in _encrypt_chunks(check_key(key), src, chunk_size, context):
        dst.write(piece)


def decrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, *, context: bytes = b"") -> None:
    """Decrypt DRE1 ``src`` into ``dst``; on DecryptionError discard what was written."""
    for piece in _decrypt_chunks(check_key(key), src, context):
        dst.write(piece)


class _ChunkReader(io.RawIOBase):
    """A read-only, non-seekable file over a generator of byte strings."""

    def __init__(self, chunks: Iterator[bytes]):
        super().__init__()
        self._chunks = chunks
        self._buf = b""
        self._pos = 0
        self._error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False  # boto3 and HashingReader then read strictly once, in order

    def _next(self) -> bytes | None:
        if self._error is not None:
            # A failed generator is exhausted; never let a retry look like a clean EOF.
            raise self._error
        try:
            return next(self._chunks, None)
        except BaseException as exc:
            self._error = exc
            raise

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            parts = [self._buf[self._pos:]]
            self._buf, self._pos = b"", 0
            while (chunk := self._next()) is not None:
                parts.append(chunk)
            return b"".join(parts)
        parts, need = [], size
        while need > 0:
            if self._pos >= len(self._buf):
                chunk = self._next()
                if chunk is None:
                    break
                self._buf, self._pos = chunk, 0
                continue
            piece = self._buf[self._pos:self._pos + need]
            self._pos += len(piece)
            need -= len(piece)
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            chunks = getattr(self, "_chunks", None)  # absent if __init__ failed early
            try:
                if chunks is not None:
                    chunks.close()
            finally:
                self._buf = b""
                super().close()


class EncryptingReader(_ChunkReader):
    """Ciphertext of ``src``, produced as it is read: pass it to ``Storage.put``.

    ``src`` is read lazily and not closed here (the caller owns it).
    """

    def __init__(self, key: bytes, src: BinaryIO, *, chunk_size: int = CHUNK_SIZE,
                 context: bytes = b""):
        key = check_key(key)
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
        super().__init__(_encrypt_chunks(key, src, chunk_size, context))


class DecryptingReader(_ChunkReader):
    """Plaintext of DRE1 ``src``, decrypted as it is read; closing it closes ``src``.

    The header and first chunk are checked on construction, so a wrong key or an object
    that is not encrypted fails here rather than halfway through a response. Later damage
    raises DecryptionError from ``read``; only reaching EOF proves the object complete.
    """

    def __init__(self, key: bytes, src: BinaryIO, *, context: bytes = b""):
        key = check_key(key)
        self._src = src
        super().__init__(_decrypt_chunks(key, src, context))
        try:
            first = self._next()
        except BaseException:
            self.close()
            raise
        self._buf = first or b""

    def close(self) -> None:
        if not self.closed:
            try:
                super().close()
            finally:
                close = getattr(getattr(self, "_src", None), "close", None)
                if close is not None:
                    close()


# ---------------------------------------------------------------------------------------
# short secrets


def _seal_cipher(key: bytes) -> AESGCM:
    return AESGCM(_hkdf(key, length=KEY_BYTES, salt=None, info=_SEAL_INFO))


def seal(key: bytes, data: bytes, *, context: bytes) -> str:
    """Encrypt a short secret to urlsafe base64 text; ``context`` must match to unseal."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _seal_cipher(key).encrypt(nonce, bytes(data), _SEAL_VERSION + bytes(context))
    return base64.urlsafe_b64encode(_SEAL_VERSION + nonce + sealed).decode("ascii")


def unseal(key: bytes, token: str, *, context: bytes) -> bytes:
    """The secret sealed in ``token``; DecryptionError if altered, or key/context differ."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError, AttributeError):
        raise DecryptionError("not a sealed value") from None
    if len(raw) < 1 + _NONCE_BYTES + TAG_BYTES or raw[:1] != _SEAL_VERSION:
        raise DecryptionError("not a sealed value")
    nonce, sealed = raw[1:1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES:]
    try:
        return _seal_cipher(key).decrypt(nonce, sealed, _SEAL_VERSION + bytes(context))
    except InvalidTag:
        raise DecryptionError("could not unseal: wrong key or context, or altered") from None
