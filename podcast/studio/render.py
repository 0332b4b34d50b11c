"""The episode render: a ``RenderPlan`` in, ``episode.mp3`` and ``episode.opus`` out.

The episode is assembled once per pass, as one stream of raw PCM in this process, and
that stream is teed (as ``diaryroom.media.render`` does) into the processes of the pass:

    decode    clips a group at a time (``GROUP_CLIPS``): each group is one small ffmpeg
              graph (``graph.py``) over its clips, each read with its own probed demuxer
              and plain files only, resampled to 44.1 kHz mono, cut to its kept
              stretches (sample-exact, a 5 ms fade at every edge so no join clicks),
              gained, and joined to the next, crossfaded where asked; raw float32 out
    assemble  here, in chunks of ``CHUNK_SAMPLES``: the groups end to end; a crossfade
              between two groups is mixed here from the first one's held tail (only
              the crossfade's length is held), equal power like ``acrossfade``'s
    tee       each chunk written to every process of the pass at once (a thread and a
              short queue each), whose own graphs are just gain, limiter and encoder

So memory is a chunk, a few queued chunks and one group's graph, whatever the episode's
length or number of clips (one graph over every clip grew ~0.8 MB a clip, and ffmpeg
walks every filter of a graph per frame, so its CPU grew with clips x length); decoding
is done once per pass, not once per encoder; and the length is exact: ``plan.duration``
to the sample (a group ending short is padded with silence, as a clip is in its graph).

Loudness is measured, never assumed (``loudness.py``: how, and why not ``loudnorm``):

    measure   the episode -> ebur128: integrated loudness and sample peak
    probe     only when the gain will drive peaks into the limiter
    render    the episode teed into two encoders, a core each: gain -> limiter -> MP3 | Opus
    verify    each file decoded -> ebur128 with true peak; off target: render again

The MP3 is fed ``MP3_LEVEL_DB`` louder: LAME's low-pass takes the treble the loudness
weighting counts most, and it measured ~0.4 LU quieter than its input at these settings.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
from mutagen import MutagenError

from diaryroom.errors import MediaError
from diaryroom.media import tools
from diaryroom.media.tools import FFMPEG, stderr_tail

from . import graph, tags
from .graph import RATE
from .loudness import (
    CEILING_DBFS,
    LOWEST_CEILING_DBFS,
    LUFS_TOLERANCE,
    MAX_GAIN_DB,
    PROBE_STEP_DB,
    PROBE_WHEN_OVER_DB,
    TARGET_LUFS,
    TRUE_PEAK_MAX,
    Loudness,
    finite,
    limiter,
    next_gain,
    summaries,
)
from .pipes import Writer, fill, follow, widen
from .plan import RenderPlan

OPUS_RATE = 48_000  # Hz: the only full-band rate Opus takes
MAX_RENDERS = 3  # the first and at most two corrections
MP3_LEVEL_DB = 0.4  # dB: LAME's low-pass loses this much loudness (see above)
# dB: Opus overshoots the ceiling 0.4-0.9 dB more than LAME does (measured on speech, a
# sweep and noise), so its limiter is set this much lower: one render, not two.
OPUS_MARGIN_DB = 0.7
MP3_BITRATE = "96k"  # bits/s CBR mono: music clean enough too
MP3_QUALITY = "7"  # libmp3lame -q: 40% of the CPU of its default 3 (measured); fine at 96k
OPUS_BITRATE = "48k"  # bits/s VBR mono
OPUS_COMPLEXITY = "4"  # of 10: a fifth of the CPU of 10 (measured); fine for speech
OPUS_FRAME_MS = "60"
# Raw PCM arrives in frames of 1024 samples; the filters cost per frame, not per sample.
BIG_FRAMES = f"asetnsamples=n={graph.FRAME_SAMPLES}:p=0"
NO_METADATA = ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
               "-flags:a", "+bitexact"]
NAMES = ("episode.mp3", "episode.opus")
# Clips per decoding graph: a graph's memory (~0.8 MB a clip) and ffmpeg's per-frame walk
# over its filters grow with its clips, so an episode is decoded a group at a time.
GROUP_CLIPS = 8
CHUNK_SAMPLES = 65_536  # samples per chunk of the assembled episode (256 kB, 1.5 s)


@dataclass(frozen=True)
class RenderResult:
    duration: float  # s, decoded from the MP3
    lufs: float | None  # integrated, measured on the MP3; None for silence
    true_peak: float | None  # dBTP, the MP3's; None for silence
    files: dict[str, Path]  # "episode.mp3", "episode.opus"
    opus_lufs: float | None = None
    opus_true_peak: float | None = None
    gain_db: float = 0.0  # applied to the whole episode after the clips' own gains
    renders: int = 1  # how many times it was encoded before it measured right
    steps: dict[str, float] = field(default_factory=dict)  # seconds per pass


def render_episode(plan: RenderPlan, out_dir: Path, *,
                   on_progress: Callable[[float], None] | None = None,
                   timeout: float | None = None, chapters: list[dict] | None = None,
                   metadata: dict | None = None) -> RenderResult:
    """Render ``plan`` into ``out_dir``/episode.mp3 and episode.opus.

    ``chapters``: Podcasting 2.0 chapters (``[{"startTime", "title"}, ...]``) written as
    ID3 CHAP frames (and Vorbis CHAPTERxxx comments in the Opus); ``metadata``: title,
    artist, album, ... (over ``plan.metadata``). ``on_progress`` gets 0..100, rising.
    ``timeout``: seconds for the whole render (default ``tools.decode_seconds`` of the
    episode's length); past it every ffmpeg is killed and ``tools.MediaTimeout`` raised.
    Raises ``MediaError`` (a source that is not audio, a failed encode) or ``PlanError``
    with a message for people; then nothing is left in ``out_dir``.
    """
    out_dir = Path(out_dir)
    tags.chapter_times(chapters, plan.duration)  # a bad chapter list fails before the work
    limit = timeout or tools.decode_seconds(plan.duration)
    job = _Job(plan, deadline=time.monotonic() + limit, limit=limit,
               progress=_Progress(on_progress))
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [out_dir / f".{name}.part" for name in NAMES]
    try:
        with tempfile.TemporaryDirectory(prefix="episode-render-") as tmp:
            job.prepare(Path(tmp))
            result = job.run(parts)
        try:
            tags.write_mp3(parts[0], duration=result.duration, chapters=chapters,
                           metadata=_metadata(plan, metadata))
            tags.write_opus(parts[1], duration=result.duration, chapters=chapters,
                            metadata=_metadata(plan, metadata))
        except MutagenError as e:
            raise MediaError(f"the episode's titles and chapters could not be written: {e}"
                             ) from e
        files = {name: out_dir / name for name in NAMES}
        for part, name in zip(parts, NAMES, strict=True):
            os.replace(part, files[name])
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    job.progress.emit(100.0)
    return replace(result, files=files)


def _metadata(plan: RenderPlan, metadata: dict | None) -> dict[str, str]:
    out = {"title": plan.title} if plan.title else {}
    out.update(plan.metadata)
    out.update(metadata or {})
    return {str(k): str(v) for k, v in out.items() if v not in (None, "")}


class _Progress:
    """0..100 across passes of unknown number: each pass fills its share of what is left,
    so the bar only rises, and a correction pass slows it rather than sending it back."""

    def __init__(self, report: Callable[[float], None] | None):
        self.report = report
        self.done = 0.0

    def emit(self, value: float) -> None:
        value = min(100.0, value)
        if value < self.done + 0.5 and not (value == 100.0 and self.done < 100.0):
            return  # a change too small to show (the end is always shown)
        self.done = value
        if self.report:
            self.report(round(value, 1))

    def stage(self, share: float, total: float) -> Callable[[float], None]:
        """A reporter of seconds done out of ``total`` for a pass worth ``share`` of the
        bar (as a fraction of what is still to fill up to 99)."""
        start = self.done
        width = (99.0 - start) * share
        return lambda seconds: self.emit(start + width * min(1.0, seconds / (total or 1.0)))


class _Job:
    def __init__(self, plan: RenderPlan, *, deadline: float, limit: float,
                 progress: _Progress):
        self.plan, self.deadline, self.limit, self.progress = plan, deadline, limit, progress
        self.groups: list[_Group] = []
        self.samples = 0  # the episode's length in samples
        self.folder = Path()
        self.steps: dict[str, float] = {}  # seconds per pass, for the benchmark

    def prepare(self, folder: Path) -> None:
        started = time.perf_counter()
        self.folder = folder
        inputs = graph.inputs(self.plan, self._remaining)
        clips = self.plan.clips
        for first in range(0, len(clips), GROUP_CLIPS):
            last = min(first + GROUP_CLIPS, len(clips))
            own = (replace(clips[first], crossfade=0.0), *clips[first + 1:last])
            script = folder / f"group{len(self.groups)}.txt"
            # A file, not an argument: a long edit list makes a graph over the kernel's
            # 128 KB limit for one argument.
            script.write_text(graph.clip_graph(RenderPlan(own)))
            self.groups.append(_Group(
                first=first, last=last, script=script,
                inputs=[arg for args in inputs[first:last] for arg in args],
                samples=sum(graph.clip_samples(c) for c in clips[first:last])
                - sum(graph.overlap_samples(c) for c in clips[first + 1:last]),
                fade_in=graph.overlap_samples(clips[first]),
                hold=graph.overlap_samples(clips[last]) if last < len(clips) else 0))
        self.samples = sum(g.samples - g.fade_in for g in self.groups)
        self.steps["open"] = round(time.perf_counter() - started, 3)

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise tools.MediaTimeout(self._too_long())
        return left

    def _too_long(self) -> str:
        return f"rendering the episode took too long (over {self.limit:g} s) and was stopped"

    def run(self, parts: Sequence[Path]) -> RenderResult:
        duration = self.plan.duration
        with self._timed("measure"):
            first = self._measure()
        gain, ceiling = 0.0, CEILING_DBFS
        tried: list[tuple[float, float]] = []  # (gain, loudness it gave) so far
        if not first.silent:
            gain = min(TARGET_LUFS - first.lufs, MAX_GAIN_DB)
            if first.peak + gain > CEILING_DBFS + PROBE_WHEN_OVER_DB:
                with self._timed("probe"):
                    tried += self._probe((gain, gain + PROBE_STEP_DB))
                gain = next_gain(tried)
        for attempt in range(1, MAX_RENDERS + 1):
            with self._timed(f"render{attempt}"):
                self._render(parts, gain, ceiling, 0.75 if attempt == 1 else 0.5)
            with self._timed(f"verify{attempt}"):
                mp3, opus, seconds = self._verify(parts, duration)
            worst_peak = max(mp3.peak, opus.peak)
            if mp3.silent or attempt == MAX_RENDERS or (
                    abs(TARGET_LUFS - mp3.lufs) <= LUFS_TOLERANCE
                    and worst_peak <= TRUE_PEAK_MAX):
                break  # on target; or the last try, which stands with what it measured
            tried.append((gain, mp3.lufs))
            if worst_peak > TRUE_PEAK_MAX:
                ceiling = max(LOWEST_CEILING_DBFS,
                              ceiling - (worst_peak - TRUE_PEAK_MAX) - 0.3)
            gain = next_gain(tried)
        return RenderResult(
            duration=round(seconds, 3), lufs=None if mp3.silent else mp3.lufs,
            true_peak=finite(mp3.peak), files={},
            opus_lufs=None if opus.silent else opus.lufs, opus_true_peak=finite(opus.peak),
            gain_db=round(gain, 2), renders=attempt, steps=self.steps)

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = round(time.perf_counter() - started, 3)

    # -- passes -------------------------------------------------------------------------

    def _measure(self) -> Loudness:
        [err] = self._tee([(_metered("ebur128@m=peak=sample:framelog=verbose"),
                            "measuring the episode's loudness")],
                          self.progress.stage(0.15, self.samples))
        return summaries(err)["m"]

    def _probe(self, gains: Sequence[float]) -> list[tuple[float, float]]:
        """The loudness at each of ``gains`` with the limiter acting (one meter each, fed
        the same assembled episode at once)."""
        found = self._tee([(_metered(f"volume={g:.3f}dB,{limiter(CEILING_DBFS)},"
                                     "ebur128@p=framelog=verbose"),
                            "measuring the episode's loudness") for g in gains],
                          self.progress.stage(0.12, self.samples))
        return [(g, summaries(err)["p"].lufs) for g, err in zip(gains, found, strict=True)]

    def _render(self, parts: Sequence[Path], gain: float, ceiling: float,
                share: float) -> None:
        gained = f"{BIG_FRAMES},volume={gain:.3f}dB"
        self._tee([
            (["-af", f"{gained},{limiter(ceiling)},volume={MP3_LEVEL_DB}dB", "-c:a",
              "libmp3lame", "-b:a", MP3_BITRATE, "-compression_level", MP3_QUALITY, "-ar",
              str(RATE), "-ac", "1", "-id3v2_version", "0", "-write_xing", "1",
              *NO_METADATA, "-f", "mp3", str(parts[0])], "encoding the episode as MP3"),
            (["-af", f"{gained},{limiter(ceiling - OPUS_MARGIN_DB)},aresample={OPUS_RATE}",
              "-c:a", "libopus", "-b:a", OPUS_BITRATE, "-vbr", "on", "-compression_level",
              OPUS_COMPLEXITY, "-frame_duration", OPUS_FRAME_MS, "-ac", "1", *NO_METADATA,
              "-f", "opus", str(parts[1])], "encoding the episode as Opus"),
        ], self.progress.stage(share, self.samples))

    def _verify(self, parts: Sequence[Path],
                duration: float) -> tuple[Loudness, Loudness, float]:
        """Each file's loudness and true peak as a player will decode it, and the MP3's
        length in seconds."""
        meter = ["-af", "ebur128@v=peak=true:framelog=verbose", "-f", "null", "-"]
        (mp3_err, seconds), (opus_err, _) = self._ffmpeg([
            ([*FFMPEG, "-loglevel", "info", *tools.reading(part, demuxer), *meter],
             f"checking the {kind} file") for part, demuxer, kind in (
                (parts[0], "mp3", "MP3"), (parts[1], "ogg", "Opus"))],
            self.progress.stage(0.6, duration))
        return summaries(mp3_err)["v"], summaries(opus_err)["v"], seconds

    def _ffmpeg(self, commands: Sequence[tuple[list[str], str]],
                report: Callable[[float], None]) -> list[tuple[str, float]]:
        """Run ``commands`` at once and wait for all; ``report`` gets the seconds of
        audio done (the slowest's). Returns each one's stderr and the seconds of audio
        it wrote. The first failure kills the others (their process groups) and raises
        ``MediaError``; the deadline, ``MediaTimeout``."""
        try:
            with ExitStack() as stack:
                running: list[tuple[subprocess.Popen, IO[bytes], str, int]] = []
                for index, (argv, what) in enumerate(commands):
                    err = stack.enter_context(tempfile.TemporaryFile())
                    proc = stack.enter_context(tools.started(
                        [*argv, "-progress", "pipe:1", "-nostats"],
                        timeout=self._remaining(), what=what, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=err))
                    running.append((proc, err, what, index))
                seconds = follow([proc for proc, *_ in running], report)
                # A failed one first (poll: None running, 0 done, else failed): leaving
                # this block then kills the others rather than waiting for them.
                running.sort(key=lambda item: not item[0].poll())
                outs: dict[int, str] = {}
                for proc, err, what, index in running:
                    code = proc.wait()
                    err.seek(0)
                    text = err.read()
                    if code:
                        raise MediaError(f"{what} failed: {stderr_tail(text)}")
                    outs[index] = text.decode(errors="replace")
        except tools.MediaTimeout as e:
            raise tools.MediaTimeout(self._too_long()) from e
        return [(outs[i], t) for i, t in enumerate(seconds)]

    # -- the assembled episode, teed ------------------------------------------------------

    def _tee(self, sinks: Sequence[tuple[list[str], str]],
             report: Callable[[float], None]) -> list[str]:
        """Assemble the episode once and write it to every one of ``sinks`` (ffmpeg
        arguments after the raw PCM input, and what it does, for messages) at once.
        Returns each sink's stderr. A failure anywhere kills every process of the pass
        and raises ``MediaError``; the deadline, ``MediaTimeout``."""
        source = [*FFMPEG, "-y", *tools.PCM_PIPE_IN, "-f", "f32le",
                  "-ar", str(RATE), "-ac", "1", "-i", "pipe:0"]
        try:
            with ExitStack() as stack:
                writers: list[Writer] = []
                for args, what in sinks:
                    err = stack.enter_context(tempfile.TemporaryFile())
                    proc = stack.enter_context(tools.started(
                        [*source, *args], timeout=self._remaining(), what=what,
                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err))
                    widen(proc.stdin)
                    writer = Writer(proc, err, what)
                    stack.callback(writer.stop)  # before its process is killed and reaped
                    writers.append(writer)
                done = 0
                for chunk in stack.enter_context(closing(self._assemble())):
                    for writer in writers:
                        writer.put(chunk)
                    done += len(chunk)
                    report(done)
                for writer in writers:
                    writer.finish()
                outs = []
                for writer in writers:  # each one's end: its own status and message
                    outs.append(writer.result())
        except tools.MediaTimeout as e:
            raise tools.MediaTimeout(self._too_long()) from e
        return outs

    def _assemble(self) -> Iterator[np.ndarray]:
        """The episode as float32 chunks, each group of clips decoded by its own graph
        in turn. A crossfade between groups is mixed here: the first group's last
        ``hold`` samples are kept back and faded (equal power, as ``acrossfade``'s
        ``qsin``) with the next group's first ones."""
        tail = np.zeros(0, dtype=np.float32)
        for group in self.groups:
            held = np.empty(group.hold, dtype=np.float32)
            at = 0  # samples of this group read so far
            with closing(self._decoded(group)) as chunks:
                for chunk in chunks:
                    n = len(chunk)
                    if at < group.fade_in:  # the crossfade into this group
                        k = min(n, group.fade_in - at)
                        t = np.arange(at, at + k, dtype=np.float32) / group.fade_in
                        chunk[:k] = (chunk[:k] * np.sin(t * (np.pi / 2))
                                     + tail[at:at + k] * np.cos(t * (np.pi / 2)))
                    keep_from = group.samples - group.hold  # held for the next crossfade
                    if at + n > keep_from:
                        cut = max(0, keep_from - at)
                        held[at + cut - keep_from:at + n - keep_from] = chunk[cut:]
                        chunk = chunk[:cut]
                    if len(chunk):
                        yield chunk
                    at += n
            tail = held

    def _decoded(self, group: _Group) -> Iterator[np.ndarray]:
        """One group's graph run on its clips: exactly ``group.samples`` samples (its
        last clip padded or cut to the sample, should a decoder say otherwise), in
        chunks of at most ``CHUNK_SAMPLES``."""
        what = (f"reading part {group.first + 1}" if group.last == group.first + 1 else
                f"reading parts {group.first + 1} to {group.last}")
        argv = [*FFMPEG, "-y", *group.inputs, "-filter_complex_script", str(group.script),
                "-map", "[mix]", "-f", "f32le", "-ac", "1", "-ar", str(RATE), "pipe:1"]
        with tempfile.TemporaryFile() as err, tools.started(
                argv, timeout=self._remaining(), what=what, bufsize=0,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err) as proc:
            widen(proc.stdout)
            left = group.samples
            while left > 0:
                self._remaining()
                chunk = np.empty(min(left, CHUNK_SAMPLES), dtype=np.float32)
                got = fill(proc.stdout, memoryview(chunk).cast("B"))
                chunk[got // 4:] = 0.0  # ended short: silence to the planned length
                left -= len(chunk)
                yield chunk
            while proc.stdout.read(1 << 16):
                pass  # past the planned length: not part of the episode
            if proc.wait():
                err.seek(0)
                raise MediaError(f"{what} failed: {stderr_tail(err.read())}")


def _metered(meter: str) -> list[str]:
    # ebur128 reports its summary at "info"; other processes keep ffmpeg quiet.
    return ["-loglevel", "info", "-af", f"{BIG_FRAMES},{meter}", "-f", "null", "-"]


@dataclass(frozen=True)
class _Group:
    """Consecutive clips ``first``..``last - 1`` decoded by one graph (``script``)."""
    first: int
    last: int
    script: Path
    inputs: list[str]
    samples: int  # the graph's output, exactly
    fade_in: int  # samples crossfaded with the group before (its held tail)
    hold: int  # samples held back at the end to crossfade into the next group

