"""Episode render: time against a plain MP3 encode, and memory, at 30 minutes and 2 hours.

    .venv/bin/python -m bench.render_episode [--minutes 30 120]

Each episode is made of clips of about a minute (the lecture, espeak speech as WAV and
as MP3), each trimmed at both ends with two cuts inside, a gain of -2..+2 dB, and a
one-second crossfade into every third clip: the edit list a co-host makes, many times.
``render_episode`` (measure, limiter probe when needed, MP3 and Opus encodes, measured
check) runs in a fresh process, so its peak memory is its own: the Python process's, the
largest of any one ffmpeg child, and of all those running at once together. The baseline
is one plain ``ffmpeg -i episode.wav -c:a libmp3lame -b:a 96k out.mp3`` of the same length of audio
(the render decoded to WAV). ``compute_peaks`` is timed on the rendered 30-minute MP3.
Targets: render <= 3x the baseline, memory flat and < 200 MB. Machines are shared and
noisy: the ratio, measured side by side, says more than the seconds.
Writes ``bench/results/render_episode.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from bench.speed import SHARED, uk_minute

BENCH = Path(__file__).resolve().parent
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def sources(folder: Path) -> list[Path]:
    """About a minute each: the lecture, espeak speech (WAV) and the same as MP3."""
    speech = uk_minute(folder)
    mp3 = folder / "uk_minute.mp3"
    subprocess.run([*FFMPEG, "-i", str(speech), "-c:a", "libmp3lame", "-b:a", "64k",
                    str(mp3)], check=True)
    found = [speech, mp3]
    if (SHARED / "lecture60.wav").exists():
        found.insert(0, SHARED / "lecture60.wav")
    else:
        print("../shared/data is missing: lecture60.wav left out", file=sys.stderr)
    return found


def as_entries(files: Sequence[Path], folder: Path) -> list[Path]:
    """The same sources as approved entries reach the studio: rendered by the anonymiser's
    ``render_shareable`` (24 kHz MP3 at -16 LUFS, peaks under -2 dBFS)."""
    from diaryroom.media.disguise import WORK_RATE
    from diaryroom.media.render import load_samples, render_shareable

    out = []
    for src in files:
        mp3 = folder / f"entry_{src.stem}_{src.suffix[1:]}.mp3"
        render_shareable(load_samples(src, disguise=False), WORK_RATE, mp3, None)
        out.append(mp3)
    return out


def plan_for(minutes: float, files: Sequence[Path]):
    from diaryroom.media.probe import probe
    from podcast.studio.plan import Clip, RenderPlan

    lengths = {f: probe(f).duration for f in files}
    clips: list[Clip] = []
    while not clips or RenderPlan(tuple(clips)).duration < minutes * 60:
        k = len(clips)
        src = files[k % len(files)]
        end = lengths[src] - 0.5
        third = end / 3
        clips.append(Clip(src, ((0.5, third), (third + 0.8, 2 * third),
                                (2 * third + 0.4, end)),
                          gain_db=float(k % 5 - 2), crossfade=1.0 if k % 3 == 1 else 0.0,
                          title=f"Part {k + 1}"))
    return RenderPlan(tuple(clips), title=f"{minutes:g}-minute benchmark")


class MemoryWatch:
    """Peak memory while a block runs: this process's high-water mark (``VmHWM``), and its
    ffmpeg children's own high-water marks (``VmHWM``: exec starts it afresh) sampled
    every 20 ms from /proc, one by one and summed over those alive at once (their
    ``ru_maxrss`` is no use here: a child forked from Python starts out counting
    Python's pages, so it reads as large as its parent)."""

    def __init__(self):
        import threading

        self.ffmpeg_one = self.ffmpeg_all = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.python_before = _status_kb("self", "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.python_peak = _status_kb("self", "VmHWM")

    def _sample(self):
        import os

        me = str(os.getpid())
        while not self._stop.wait(0.02):
            rss = []
            for pid in _descendants(me):
                if _comm(pid) in ("ffmpeg", "ffprobe"):
                    rss.append(_status_kb(pid, "VmHWM"))
            if rss:
                self.ffmpeg_one = max(self.ffmpeg_one, max(rss))
                self.ffmpeg_all = max(self.ffmpeg_all, sum(rss))

    def report(self) -> dict:
        return {"python_rss_before_mb": round(self.python_before / 1024, 1),
                "python_peak_rss_mb": round(self.python_peak / 1024, 1),
                "ffmpeg_peak_rss_mb": round(self.ffmpeg_one / 1024, 1),
                "ffmpeg_peak_rss_together_mb": round(self.ffmpeg_all / 1024, 1)}


def _status_kb(pid: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _descendants(root: str) -> list[str]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[stat.parent.name] = text.rsplit(")", 1)[1].split()[1]  # ppid
    found, frontier = [], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def render_in_child(minutes: float, files: list[Path], out: Path) -> dict:
    from podcast.studio.render import render_episode

    plan = plan_for(minutes, files)
    chapters = [{"startTime": s, "title": c.title}
                for s, c in zip(plan.starts(), plan.clips, strict=True)]
    with MemoryWatch() as memory:
        cpu = _cpu_seconds()
        started = time.perf_counter()
        result = render_episode(plan, out, chapters=chapters)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
    return {**memory.report(), "minutes": minutes, "clips": len(plan.clips),
            "audio_seconds": result.duration,
            "plan_seconds": round(plan.duration, 3), "render_seconds": round(seconds, 2),
            "render_cpu_seconds": round(cpu, 2),
            "steps": result.steps, "renders": result.renders, "lufs": result.lufs,
            "true_peak": result.true_peak, "opus_lufs": result.opus_lufs,
            "opus_true_peak": result.opus_true_peak}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg): unlike wall time, it
    barely changes when other work shares the machine."""
    own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peaks_in_child(path: Path) -> dict:
    from podcast.studio.peaks import compute_peaks

    with MemoryWatch() as memory:
        started = time.perf_counter()
        peaks = compute_peaks(path)
        seconds = time.perf_counter() - started
    return {**memory.report(), "file_seconds": peaks["duration"], "seconds": round(seconds, 2),
            "values": len(peaks["peaks"][0]), "json_bytes": len(json.dumps(peaks))}


def fresh(fn, *args):
    """``fn(*args)`` in a new process: its ru_maxrss counts nothing run before."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def baseline(mp3: Path, folder: Path, runs: int = 2) -> tuple[float, float]:
    """The plain encode's best wall time of ``runs`` and its CPU time, in seconds."""
    wav = folder / "episode.wav"
    subprocess.run([*FFMPEG, "-i", str(mp3), "-c:a", "pcm_s16le", str(wav)], check=True)
    best, cpu = math.inf, 0.0
    for _ in range(runs):
        before = _cpu_seconds()
        started = time.perf_counter()
        subprocess.run([*FFMPEG, "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "96k",
                        str(folder / "plain.mp3")], check=True)
        best = min(best, time.perf_counter() - started)
        cpu = _cpu_seconds() - before
    wav.unlink()
    return best, cpu


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="*", default=[30, 120],
                    help="episodes made of the raw sources")
    ap.add_argument("--entry-minutes", type=float, nargs="*", default=[30],
                    help="episodes made of the sources rendered as entries are")
    args = ap.parse_args(argv)
    results: dict = {"episodes": [], "peaks": None}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        raw = sources(work)
        cases = [("raw", m, raw) for m in args.minutes]
        if args.entry_minutes:
            entries = as_entries(raw, work)
            cases += [("entries", m, entries) for m in args.entry_minutes]
        for kind, minutes, files in cases:
            out = work / f"out_{kind}_{minutes:g}"
            r = {"sources": kind, **fresh(render_in_child, minutes, files, out)}
            wall, cpu = baseline(out / "episode.mp3", work)
            r["baseline_seconds"], r["baseline_cpu_seconds"] = round(wall, 2), round(cpu, 2)
            r["ratio"] = round(r["render_seconds"] / wall, 2)
            r["cpu_ratio"] = round(r["render_cpu_seconds"] / cpu, 2)
            results["episodes"].append(r)
            print(f"{kind:7} {minutes:4g} min {r['clips']:3d} clips  render "
                  f"{r['render_seconds']:6.1f} s  plain MP3 {r['baseline_seconds']:5.1f} s  "
                  f"ratio {r['ratio']:4.2f}x (CPU {r['cpu_ratio']:4.2f}x)  Python "
                  f"{r['python_rss_before_mb']:.0f}->{r['python_peak_rss_mb']:.0f} MB  "
                  f"ffmpeg {r['ffmpeg_peak_rss_mb']:.0f} MB (two at once "
                  f"{r['ffmpeg_peak_rss_together_mb']:.0f})  {r['lufs']} LUFS "
                  f"{r['true_peak']} dBTP  renders {r['renders']}  steps {r['steps']}",
                  flush=True)
            if results["peaks"] is None:
                p = results["peaks"] = fresh(peaks_in_child, out / "episode.mp3")
                print(f"peaks of {p['file_seconds'] / 60:.0f} min: {p['seconds']:.2f} s, "
                      f"{p['values']} values, {p['json_bytes'] / 1000:.0f} kB JSON, Python "
                      f"{p['python_rss_before_mb']:.0f}->{p['python_peak_rss_mb']:.0f} MB, "
                      f"ffmpeg {p['ffmpeg_peak_rss_mb']:.0f} MB", flush=True)
    out_file = BENCH / "results" / "render_episode.json"
    out_file.parent.mkdir(exist_ok=True)
    out_file.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
