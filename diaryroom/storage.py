"""Where recordings live: a local directory or an S3 bucket, chosen by ``STORAGE_URL``.

Both back-ends guarantee that an object appears under its key only once it is complete,
so a crash or a dropped upload can never leave half a recording that looks like a whole one.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlparse

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.client import BaseClient
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from itsdangerous import Signer

from .errors import ComponentUnavailable, ConfigError, StorageError

log = logging.getLogger(__name__)
MiB = 1024 * 1024
TEMP_PREFIX = ".tmp-"  # never a valid key part, so temp files can never be read as objects


@dataclass(frozen=True)
class StoredObject:
    """What was written: callers record size and sha256 to detect later corruption."""

    key: str
    size: int
    sha256: str


class NoSuchObject(StorageError):
    """Nothing is stored under the key (so a web route can answer 404, not 500)."""

    def __init__(self, message: str = "This file is missing from storage."):
        super().__init__(message)


# Messages never name the key or a path, nor quote the underlying exception (which can
# hold an endpoint URL): they reach staff pages and API clients. The key and the cause go
# to the server log, for operators.
def _failed(action: str, key: str, exc: BaseException) -> StorageError:
    """A StorageError saying what could not be done; details go to the log."""
    log.warning("storage could not %s %r: %s: %s", action, key, type(exc).__name__, exc)
    strerror = exc.strerror if isinstance(exc, OSError) else None
    reason = f" ({strerror})" if isinstance(strerror, str) and "/" not in strerror else ""
    return StorageError(f"Could not {action} a file in storage{reason}. Please try again.")


def _missing(key: str) -> NoSuchObject:
    log.warning("no stored object %r", key)
    return NoSuchObject()


def validate_key(key: str) -> str:
    """Reject keys that could escape the storage root or collide with temp files."""
    if (not isinstance(key, str) or not key or key.startswith("/") or ".." in key
            or "\\" in key or "\0" in key
            or any(p in ("", ".") or p.startswith(TEMP_PREFIX) for p in key.split("/"))):
        log.debug("invalid storage key %r", key)
        raise StorageError("invalid storage key (a bug: please report it)")
    return key


class HashingReader:
    """Counts and hashes bytes as a consumer pulls them, so one pass gives size and sha256.

    It deliberately reports itself as not seekable: boto3 then reads it strictly in order,
    exactly once, which is what keeps the running hash correct.
    """

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._hash.update(data)
        self.size += len(data)
        return data

    def seekable(self) -> bool:
        return False

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def _read_up_to(fh: BinaryIO, n: int) -> bytes:
    """``n`` bytes, fewer only at EOF (S3 bodies and pipes may return short reads)."""
    parts, got = [], 0
    while got < n:
        data = fh.read(n - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


class Storage(ABC):
    """A flat namespace of '/'-separated keys holding immutable media objects."""

    @abstractmethod
    def put(self, key: str, fileobj: BinaryIO) -> StoredObject:
        """Store ``fileobj`` (read to EOF) under ``key``, replacing any object there."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """Return a readable stream; StorageError if the key does not exist."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error, so retries are safe."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a complete object is stored under ``key``."""

    @abstractmethod
    def signed_url(self, key: str, *, expires_in: int = 300) -> str:
        """A URL that lets a browser fetch ``key`` without a session, for a short while."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The stored object's length in bytes; NoSuchObject if there is none."""

    @abstractmethod
    def read_at(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer only where the object ends, none past
        it), without reading the rest: byte ranges of long audio, and the chunks of an
        encrypted object that a range touches."""

    @abstractmethod
    def check(self) -> None:
        """Raise ComponentUnavailable with an operator-readable line if storage is unusable."""


def _fsync_dir(path: Path) -> None:
    """Persist a directory entry; without it a rename can vanish after a power cut."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage(Storage):
    """Files under one directory; owner-only permissions because recordings are sensitive."""

    def __init__(self, root: str | Path, *, secret_key: str, base_url: str):
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._signer = Signer(secret_key, salt="diaryroom.storage.media")

    @classmethod
    def from_url(cls, url: str, **settings: object) -> LocalStorage:
        parsed = urlparse(url)
        path = unquote(parsed.path)
        if parsed.netloc not in ("", "localhost") or not os.path.isabs(path):
            raise ConfigError(f"STORAGE_URL {url!r} must be file:///absolute/path")
        return cls(path, secret_key=str(settings["secret_key"]),
                   base_url=str(settings["base_url"]))

    def path_for(self, key: str) -> Path:
        """The file holding ``key`` (for serving it with ``send_file``)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def _make_dirs(self, directory: Path) -> None:
        """Create each missing level as 0o700 (os.makedirs only applies mode to the leaf)."""
        missing = []
        while not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for path in reversed(missing):
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                continue
            _fsync_dir(path.parent)

    def put(self, key: str, fileobj: BinaryIO) -> StoredObject:
        target = self.path_for(key)
        try:
            self._make_dirs(target.parent)
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)  # mode 0o600
        except OSError as exc:
            raise _failed("store", key, exc) from exc
        try:
            reader = HashingReader(fileobj)
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read(MiB):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _failed("store", key, exc) from exc
            raise
        return StoredObject(key, reader.size, reader.sha256)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path_for(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _missing(key) from None
        except OSError as exc:
            raise _failed("read", key, exc) from exc

    def delete(self, key: str) -> None:
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as exc:
            raise _failed("delete", key, exc) from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path_for(key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            raise _missing(key) from None
        except OSError as exc:
            raise _failed("read", key, exc) from exc

    def read_at(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        with self.open(key) as fh:
            try:
                fh.seek(offset)
                return _read_up_to(fh, length)
            except OSError as exc:
                raise _failed("read", key, exc) from exc

    def _signature(self, key: str, expires: int) -> str:
        return self._signer.get_signature(f"{key}\n{expires}").decode("ascii")

    def signed_url(self, key: str, *, expires_in: int = 300) -> str:
        expires = int(time.time()) + expires_in
        sig = self._signature(validate_key(key), expires)
        return f"{self.base_url}/media/{quote(key, safe='/')}?expires={expires}&sig={sig}"

    def verify_signature(self, key: str, expires: str | int, sig: str) -> bool:
        """True only for an untampered, unexpired URL made by ``signed_url``."""
        try:
            expires_at = int(expires)
            validate_key(key)
        except (TypeError, ValueError, StorageError):
            return False
        if expires_at < time.time():
            return False
        return self._signer.verify_signature(f"{key}\n{expires_at}", sig)

    def check(self) -> None:
        try:
            self._make_dirs(self.root)
        except OSError as exc:
            raise ComponentUnavailable(
                f"media directory {self.root} cannot be created: {exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ComponentUnavailable(f"media directory {self.root} is not writable")


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, optionally under a key prefix."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str = "us-east-1", addressing_style: str = "auto",
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 multipart_mb: int = 8):
        self.bucket = bucket
        self.prefix = validate_key(prefix.strip("/")) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self._client_args = {"endpoint_url": endpoint_url, "region_name": region,
                             "aws_access_key_id": access_key_id,
                             "aws_secret_access_key": secret_access_key}
        self._addressing_style = addressing_style
        # One quick retry (a dropped keep-alive connection); a longer outage is the job's
        # back-off to wait out (jobs.retry_delay), not a request thread's.
        self.client = self._client(attempts=2, connect_timeout=5, read_timeout=60)
        self._transfer = TransferConfig(multipart_threshold=multipart_mb * MiB,
                                        multipart_chunksize=multipart_mb * MiB)

    def _client(self, *, attempts: int, connect_timeout: float, read_timeout: float
                ) -> BaseClient:
        config = BotoConfig(signature_version="s3v4", connect_timeout=connect_timeout,
                            read_timeout=read_timeout,
                            s3={"addressing_style": self._addressing_style},
                            retries={"mode": "standard", "max_attempts": attempts})
        return boto3.session.Session().client("s3", config=config, **self._client_args)

    @classmethod
    def from_url(cls, url: str, **settings: object) -> S3Storage:
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ConfigError(f"STORAGE_URL {url!r} must be s3://bucket[/prefix]")
        args = {k.removeprefix("s3_"): v for k, v in settings.items() if k.startswith("s3_")}
        return cls(parsed.netloc, unquote(parsed.path), multipart_mb=settings["multipart_mb"],
                   **args)  # type: ignore[arg-type]

    def object_key(self, key: str) -> str:
        """The bucket key for ``key`` (prefix applied)."""
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, action: str, key: str, fn: Callable[[], object]) -> object:
        """Run one S3 call, turning botocore's many exception types into StorageError."""
        try:
            return fn()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise _missing(key) from exc
            raise _failed(action, key, exc) from exc
        except (BotoCoreError, S3UploadFailedError, OSError) as exc:
            raise _failed(action, key, exc) from exc

    def put(self, key: str, fileobj: BinaryIO) -> StoredObject:
        """Hash first so sha256 can travel as metadata, then stream while re-hashing.

        S3 metadata is fixed when an upload starts, so the digest must be known before
        sending; the second, streaming hash catches a source that changed in between.
        """
        name = self.object_key(key)
        with tempfile.SpooledTemporaryFile(max_size=8 * MiB) as spool:
            source, expected = self._call(
                "store", key, lambda: self._prehash(fileobj, spool))  # type: ignore[misc]
            reader = HashingReader(source)
            extra = {"Metadata": {"sha256": expected.sha256}}
            self._call("store", key, lambda: self.client.upload_fileobj(
                reader, self.bucket, name, ExtraArgs=extra, Config=self._transfer))
        if (reader.size, reader.sha256) != (expected.size, expected.sha256):
            self.delete(key)
            log.warning("storage could not store %r: the source changed", key)
            raise StorageError("Could not store a file in storage: the source changed while "
                               "uploading. Please try again.")
        return StoredObject(key, reader.size, reader.sha256)

    @staticmethod
    def _prehash(fileobj: BinaryIO, spool: BinaryIO) -> tuple[BinaryIO, HashingReader]:
        """Hash a seekable source in place, or copy a one-shot stream into ``spool``."""
        seekable = getattr(fileobj, "seekable", lambda: False)()
        source = fileobj if seekable else spool
        start = fileobj.tell() if seekable else 0
        hasher = HashingReader(fileobj)
        while chunk := hasher.read(MiB):
            if not seekable:
                spool.write(chunk)
        source.seek(start)
        return source, hasher

    def open(self, key: str) -> BinaryIO:
        name = self.object_key(key)
        response = self._call("read", key, lambda: self.client.get_object(
            Bucket=self.bucket, Key=name))
        return response["Body"]  # type: ignore[index,no-any-return]

    def delete(self, key: str) -> None:
        name = self.object_key(key)
        self._call("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=name))

    def exists(self, key: str) -> bool:
        name = self.object_key(key)
        try:
            self._call("inspect", key, lambda: self.client.head_object(
                Bucket=self.bucket, Key=name))
        except NoSuchObject:
            return False
        return True

    def size(self, key: str) -> int:
        name = self.object_key(key)
        head = self._call("inspect", key, lambda: self.client.head_object(
            Bucket=self.bucket, Key=name))
        return int(head["ContentLength"])  # type: ignore[index]

    def read_at(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        if length == 0:
            return b""
        name = self.object_key(key)
        wanted = f"bytes={offset}-{offset + length - 1}"

        def get() -> bytes:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=name, Range=wanted)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""  # the object ends before ``offset``
                raise
            with closing(response["Body"]) as body:
                return _read_up_to(body, length)

        return self._call("read", key, get)  # type: ignore[return-value]

    def signed_url(self, key: str, *, expires_in: int = 300) -> str:
        return self.client.generate_presigned_url(  # type: ignore[no-any-return]
            "get_object", Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=expires_in)

    @cached_property
    def _probe(self) -> BaseClient:
        """A client that tries once: a health check that retries for a minute helps nobody."""
        return self._client(attempts=1, connect_timeout=3, read_timeout=5)

    def check(self) -> None:
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            where = self.endpoint_url or "AWS"
            reason = " ".join(str(exc).split())
            raise ComponentUnavailable(
                f"S3 bucket '{self.bucket}' at {where} is not reachable: {reason}") from exc


BACKENDS: dict[str, Callable[..., Storage]] = {
    "file": LocalStorage.from_url,
    "s3": S3Storage.from_url,
}


def build_storage(url: str, *, secret_key: str, base_url: str, s3_endpoint_url: str | None = None,
                  s3_region: str = "us-east-1", s3_addressing_style: str = "auto",
                  s3_access_key_id: str | None = None, s3_secret_access_key: str | None = None,
                  multipart_mb: int = 8) -> Storage:
    """Pick the back-end registered for the URL's scheme (``file`` or ``s3``)."""
    scheme = urlparse(url).scheme
    if scheme not in BACKENDS:
        raise ConfigError(f"STORAGE_URL must start with {' or '.join(BACKENDS)}://, not {url!r}")
    return BACKENDS[scheme](
        url, secret_key=secret_key, base_url=base_url, s3_endpoint_url=s3_endpoint_url,
        s3_region=s3_region, s3_addressing_style=s3_addressing_style,
        s3_access_key_id=s3_access_key_id, s3_secret_access_key=s3_secret_access_key,
        multipart_mb=multipart_mb)


def storage_from_config(config: Mapping[str, object]) -> Storage:
    """Build storage from a Flask config (or any mapping with the same keys)."""
    return build_storage(
        str(config["STORAGE_URL"]), secret_key=str(config["SECRET_KEY"]),
        base_url=str(config.get("BASE_URL") or "http://127.0.0.1:5000"),
        s3_endpoint_url=config.get("S3_ENDPOINT_URL"),  # type: ignore[arg-type]
        s3_region=str(config.get("S3_REGION") or "us-east-1"),
        s3_addressing_style=str(config.get("S3_ADDRESSING_STYLE") or "auto"),
        s3_access_key_id=config.get("S3_ACCESS_KEY_ID"),  # type: ignore[arg-type]
        s3_secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),  # type: ignore[arg-type]
        multipart_mb=int(config.get("S3_MULTIPART_MB") or 8))  # type: ignore[call-overload]
