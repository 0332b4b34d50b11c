"""The one place ffmpeg and ffprobe are started, and the containers they may read.

ffmpeg picks a demuxer by what a file *contains*, whatever it is called, and some
demuxers open other files or URLs: an HLS playlist posted as ``x.wav`` reads any file
on the server; a "live" playlist never ends. So:

- every uploaded file is probed first with ``-format_whitelist`` (only the containers
  the product records or accepts) and ``-protocol_whitelist file``;
- every later read of that file names the detected demuxer with ``-f`` and keeps both
  whitelists, so no other demuxer, and no network protocol, is ever tried;
- every process runs with an argv list, ``-nostdin`` (ffmpeg), in a process group of
  its own, and is killed with its whole group (SIGKILL) when its wall-clock limit
  passes or its caller is interrupted. A timeout raises ``MediaTimeout``.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MediaError

# ffprobe's format_name of each container we take -> the demuxer named with -f later.
# matroska,webm: what browsers record; ogg: Opus/Vorbis; mov family: phones (MP4, M4A);
# mp3, wav, flac: files people send. Nothing here opens another file: mov's external
# references ("drefs") stay off, as they are by default.
CONTAINERS = {
    "matroska,webm": "matroska",
    "ogg": "ogg",
    "mp3": "mp3",
    "mov,mp4,m4a,3gp,3g2,mj2": "mov",
    "wav": "wav",
    "flac": "flac",
}
FORMAT_WHITELIST = ",".join(CONTAINERS)  # ffmpeg matches any comma-separated name
READ_FILE = ("-protocol_whitelist", "file", "-format_whitelist", FORMAT_WHITELIST)
# Our own raw PCM on stdin: the pipe and nothing else.
PCM_PIPE_IN = ("-protocol_whitelist", "pipe")
FFMPEG = ("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error")
FFPROBE = ("ffprobe", "-hide_banner", "-loglevel", "error")  # it has no -nostdin

_NOISE = re.compile(r"\[[^\]]* @ 0x[0-9a-f]+\] |(?:/[^/\s:]+)+/")  # "[mp3 @ 0x5f..] ", dirs
PROBE_SECONDS = 10  # wall-clock limit of one ffprobe: a real file takes milliseconds
MIN_DECODE_SECONDS = 60  # the least any decode of a whole recording is given


class MediaTimeout(MediaError):
    """ffmpeg or ffprobe ran past its wall-clock limit and was killed."""


class UnsupportedMedia(MediaError):
    """The file's content is not one of the containers in ``CONTAINERS``."""


def stderr_tail(stderr: bytes | None, lines: int = 2) -> str:
    """The last lines ffmpeg wrote, without its object addresses or our server's folders:
    enough to name the problem, not a wall of log.

    >>> stderr_tail(b"x\\n[mp3 @ 0x55d1] Header missing\\n/srv/media/a.mp3: Invalid data\\n")
    'Header missing / a.mp3: Invalid data'
    """
    text = (stderr or b"").decode(errors="replace").strip().splitlines()
    return " / ".join(_NOISE.sub("", line) for line in text[-lines:]) or "no message from ffmpeg"


def decode_seconds(max_seconds: float | None) -> float:
    """The wall-clock limit for decoding a whole recording of at most ``max_seconds``.

    Decoding runs hundreds of times faster than real time (a 15-minute recording decodes
    in a few seconds, disguise included), so allowing as long as the recording itself
    plays is far beyond what a working ffmpeg needs even on a busy two-core machine, and
    still stops a stuck one.

    >>> decode_seconds(900), decode_seconds(10)
    (900, 60)
    """
    return max(MIN_DECODE_SECONDS, max_seconds or 0)


def reading(path: str | Path, demuxer: str) -> list[str]:
    """ffmpeg input arguments to read ``path`` with ``demuxer`` (from ``CONTAINERS``) and
    nothing else: no other demuxer, no protocol but plain files."""
    if demuxer not in CONTAINERS.values():
        raise UnsupportedMedia(f"not a container we read ({demuxer or 'unknown'})")
    # An absolute path: a relative "name:x" would be taken for a protocol.
    return [*READ_FILE, "-f", demuxer, "-i", str(Path(path).absolute())]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the leader's pid is the group's id
    except (ProcessLookupError, PermissionError):
        pass  # already gone


@contextmanager
def started(argv: Sequence[str], *, timeout: float, what: str,
            **popen: Any) -> Iterator[subprocess.Popen]:
    """Start ``argv`` in a process group of its own; kill the group when ``timeout``
    seconds pass, or when the ``with`` block is left with the process still running
    (an error or interruption in the caller). After a timeout, leaving the block raises
    ``MediaTimeout`` saying ``what`` took too long."""
    try:
        # S603: an argv list of our own making, never a shell.
        proc = subprocess.Popen(list(argv), start_new_session=True, **popen)  # noqa: S603
    except FileNotFoundError as e:
        raise MediaError(f"{argv[0]} is not installed on this server") from e
    expired = threading.Event()

    def expire() -> None:
        if proc.returncode is None:  # not yet reaped, so its group id is still its own
            expired.set()
            _kill_group(proc)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    too_long = f"{what} took too long (over {timeout:g} s) and was stopped"
    try:
        with proc:
            try:
                yield proc
            finally:
                if proc.poll() is None:
                    _kill_group(proc)
                proc.wait()
    except Exception as e:
        if expired.is_set():  # whatever the caller made of the killed process: the cause
            raise MediaTimeout(too_long) from e
        raise
    finally:
        timer.cancel()
    if expired.is_set():
        raise MediaTimeout(too_long)


@dataclass(frozen=True)
class Finished:
    stdout: bytes
    stderr: bytes


def run(argv: Sequence[str], *, timeout: float, what: str) -> Finished:
    """Run ``argv`` (an ffmpeg or ffprobe command) to its end within ``timeout`` seconds.

    stdout is read unbuffered into one growing buffer (``FileIO.readall``), so decoded
    audio (86 MB for 15 minutes at 24 kHz) is held once, not once per chunk and again
    joined; stderr goes to a temporary file, so neither pipe can stall the other.
    Raises ``MediaTimeout`` past the limit, ``MediaError`` (``what`` failed, with the
    tool's last words) when it exits with an error.
    """
    with tempfile.TemporaryFile() as err:
        with started(argv, timeout=timeout, what=what, bufsize=0, stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=err) as proc:
            out = proc.stdout.read()
            code = proc.wait()
        err.seek(0)
        stderr = err.read()
    if code:
        raise MediaError(f"{what}: {stderr_tail(stderr)}") from \
            subprocess.CalledProcessError(code, list(argv), stderr=stderr)
    return Finished(out, stderr)
