"""Moving raw audio between this process and ffmpeg: pipes filled and widened, each
process fed from its own thread, and ``-progress`` followed across several at once."""
from __future__ import annotations

import fcntl
import os
import queue
import selectors
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import IO

import numpy as np

from diaryroom.errors import MediaError
from diaryroom.media.tools import stderr_tail

PIPE_BYTES = 1 << 20  # the most an unprivileged process may ask for (pipe-max-size)
QUEUED_CHUNKS = 4  # chunks waiting for each process fed: a slow encoder holds back


def fill(pipe: IO[bytes], buffer: memoryview) -> int:
    """Read into all of ``buffer`` unless the pipe ends first; how many bytes came."""
    got = 0
    while got < len(buffer):
        n = pipe.readinto(buffer[got:])
        if not n:
            break
        got += n
    return got


def widen(pipe: IO[bytes]) -> None:
    """A pipe of 1 MB, not 64 kB: four times fewer wake-ups of each side per chunk."""
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # over the system's limit for this user: the default size works, slower


def follow(procs: Sequence[subprocess.Popen], report: Callable[[float], None]) -> list[float]:
    """Read ``-progress`` lines from every process until all close their stdout, or one
    exits with an error (no use waiting for the others then); report the least audio
    time reached. Returns each one's last ``out_time`` (s)."""
    seconds = [0.0] * len(procs)
    pending = [b""] * len(procs)
    with selectors.DefaultSelector() as sel:
        for i, proc in enumerate(procs):
            sel.register(proc.stdout, selectors.EVENT_READ, i)
        while sel.get_map():
            for key, _ in sel.select():
                i = key.data
                chunk = os.read(key.fileobj.fileno(), 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    if procs[i].wait():
                        return seconds
                    continue
                *lines, pending[i] = (pending[i] + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(b"out_time_us=") and line[12:].strip().isdigit():
                        seconds[i] = int(line[12:]) / 1e6
                report(min(seconds))
    return seconds



class Writer:
    """Feeds one process's stdin from a thread, through a short queue, so that each
    process fed the same chunks runs at its own pace (on its own core) and a slow one
    holds back the rest only once its queue is full."""

    def __init__(self, proc: subprocess.Popen, err: IO[bytes], what: str):
        self.proc, self.err, self.what = proc, err, what
        self.queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self.broken = self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (chunk := self.queue.get()) is not None:
                if self.stopped:
                    return
                if not self.broken:
                    try:
                        self.proc.stdin.write(memoryview(chunk).cast("B"))
                    except OSError:  # it stopped early: its status and stderr say why
                        self.broken = True  # and the queue is drained, not left full
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                self.broken = True

    def put(self, chunk: np.ndarray) -> None:
        if self.broken:
            self._fail()
        self.queue.put(chunk)

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def stop(self) -> None:
        """On the way out after a failure: never blocks (the process is killed next,
        which ends a write in progress)."""
        self.stopped = True
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass

    def result(self) -> str:
        code = self.proc.wait()
        if code or self.broken:
            self._fail()
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def _fail(self) -> None:
        self.proc.wait()
        self.err.seek(0)
        raise MediaError(f"{self.what} failed: {stderr_tail(self.err.read())}")
