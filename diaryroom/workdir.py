"""Work folders: where a job or an intake keeps a recording's plaintext (the decrypted
original, its 16 kHz decode, a remux) while ffmpeg and the recogniser read it.

They live under ``<DATA_DIR>/work/`` (never the system temp folder), are created 0700,
and are removed when the work ends. A process killed mid-job cannot run its clean-up,
so folders are also swept, at start-up and by the job sweeper. A sweep must never take
a folder that a live worker (in this process, another process, or another container on
a shared volume) is still using, so each folder is held by its owner with ``flock``: the
kernel drops the lock when the owner dies, however it dies. The name says who made it
(``<host>_<pid>_<random>``), for operators and as a second check where locks are not
supported.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
WORK = "work"  # the folder under DATA_DIR
TEMP = "tmp"  # the process's temporary files, under DATA_DIR (see use_private_temp)
# A folder whose lock is free is only kept this long when we cannot tell whether its
# owner lives (made on another host, or a reused pid): longer than any job can run.
ABANDONED_AFTER = 24 * 3600  # seconds
_HOST = re.compile(r"[^A-Za-z0-9.-]")


def work_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / WORK


def _host() -> str:
    return _HOST.sub("-", socket.gethostname())[:60] or "host"


def _make_root(root: Path) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # mkdir's mode is masked by the umask, and skipped if it exists


def use_private_temp(data_dir: str | Path) -> Path:
    """Point this process's temporary files at an owner-only folder under the data folder.

    The web server and the request parser park request bodies, recordings included, in
    unnamed temporary files: waitress any body over 512 KB, werkzeug a multipart file
    over 500 KB, boto3 an S3 upload over 8 MiB. In the system temp folder those bytes
    would sit on a disk shared with everything else on the machine; here they stay with
    the rest of the data, 0700, and go with the process like any unnamed temp file.
    """
    path = Path(data_dir) / TEMP
    _make_root(path)
    tempfile.tempdir = str(path)
    return path


@contextmanager
def work_folder(data_dir: str | Path) -> Iterator[Path]:
    """A new, empty, owner-only folder under ``<data_dir>/work``, removed on exit."""
    root = work_root(data_dir)
    _make_root(root)
    path = root / f"{_host()}_{os.getpid()}_{secrets.token_hex(8)}"
    os.mkdir(path, 0o700)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)  # not inherited by ffmpeg (PEP 446)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:  # a file system without locks: the pid check still guards it
            log.warning("work folders cannot be locked here (%s)", e.strerror)
        yield path
    finally:
        try:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def _owner_alive(name: str) -> bool | None:
    """Whether the process named in a folder's name still runs; None if not ours to tell."""
    host, _, rest = name.rpartition("_")[0].rpartition("_")
    if not (host and rest.isdigit()) or host != _host():
        return None
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _abandoned(path: Path, now: float) -> bool:
    """Free of its owner's lock, and its owner is gone (or it is far too old to be live)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False  # gone already, or not a folder: leave it to a look by hand
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live owner holds it
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
        alive = _owner_alive(path.name)
        if alive is False:
            return True
        # The lock is free, but the owner may still be starting (between mkdir and flock)
        # or the pid may be reused: only age decides then.
        return now - path.stat().st_mtime > ABANDONED_AFTER
    finally:
        os.close(fd)


def sweep(data_dir: str | Path, *, now: float | None = None) -> int:
    """Remove work folders that no live process uses; returns how many went."""
    root = work_root(data_dir)
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for path in root.iterdir():
        if path.is_dir() and not path.is_symlink() and _abandoned(path, now):
            shutil.rmtree(path, ignore_errors=True)
            log.warning("removed work folder %s left by a stopped process", path.name)
            removed += 1
    return removed
