"""Speed: the whole pipeline against bare faster-whisper on the same file, in one run.

    .venv/bin/python -m bench.speed [--models tiny.en base] [--repeat 3]

For each model and file, after one warm-up (models loaded, caches filled), it alternates
bare ``transcribe(file)``, the whole pipeline without re-listening and the whole pipeline
(``anonymise_file``: ffmpeg decode to 16 kHz, transcription, safeguarding, detection,
voice disguise, redaction, loudness, MP3 encoding, then re-listening: the windows around
every redaction transcribed again) and reports medians, each pipeline's overhead over
transcription alone (issue 12's bar: 25 % at most, re-listening included, for a minute
or more), each step's share, the re-listening counts and real-time factors. Machines are
shared and noisy: compare the ratios, measured side by side, not absolute seconds.

Files: ../shared/data/speech/jfk.flac (11 s, real speech), ../shared/data/speech/
lecture60.wav (a minute of a real lecture: few redactions, as most entries), and a minute
of the UK set spoken by espeak-ng (names, numbers and postcodes in every sentence: far
more redactions than an entry has, so re-listening's worst case). ``--files`` picks.
Writes ``bench/results/speed.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.synth import synthesise

BENCH = Path(__file__).resolve().parent
SHARED = BENCH.parent.parent / "shared" / "data" / "speech"


def uk_minute(folder: Path) -> Path:
    """About a minute of UK diary-room speech with personal data in it."""
    rows = [json.loads(line) for line in (BENCH / "data" / "uk_eval.jsonl").read_text()
            .splitlines()]
    text: list[str] = []
    for row in rows:
        if row["asr_spans"]:
            text.append(row["asr"] + ".")
        if len(" ".join(text).split()) > 160:  # ~150 words a minute
            break
    path = folder / "uk_minute.wav"
    seconds = synthesise(" ".join(text), path)
    assert seconds > 30, seconds
    return path


def measure(src: Path, model: str, repeat: int, work: Path) -> dict:
    from diaryroom.anonymise import Settings, anonymise_file
    from diaryroom.asr import build_transcriber
    from diaryroom.pii import get_detector

    transcriber = build_transcriber("faster-whisper", model, BENCH / ".models")
    detector = get_detector()

    def pipeline(relisten: bool) -> dict:
        return anonymise_file(src, work / "out", transcriber=transcriber, detector=detector,
                              disguise=True, settings=Settings(relisten=relisten))

    def bare() -> float:
        started = time.perf_counter()
        transcriber.transcribe(src)
        return time.perf_counter() - started

    summary = pipeline(True)  # warm-up: models, spaCy, matcher, ffmpeg all loaded once
    bare()
    bare_times: list[float] = []
    times: dict[bool, list[float]] = {False: [], True: []}
    steps: list[dict] = []
    for _ in range(repeat):
        bare_times.append(bare())
        for relisten in (False, True):
            started = time.perf_counter()
            summary = pipeline(relisten)
            times[relisten].append(time.perf_counter() - started)
        steps.append(summary["steps"])
    b = statistics.median(bare_times)
    p, plain = statistics.median(times[True]), statistics.median(times[False])
    step_medians = {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]}
    return {"file": src.name, "model": model, "audio_seconds": summary["duration"],
            "redactions": sum(summary["redactions"].values()),
            "relisten": summary["relisten"],  # windows, silent, heard, widened (last run)
            "bare_seconds": round(b, 3), "pipeline_seconds": round(p, 3),
            "pipeline_seconds_without_relisten": round(plain, 3),
            "overhead": round(p / b - 1, 3),
            "overhead_without_relisten": round(plain / b - 1, 3), "steps": step_medians,
            "bare_realtime_factor": round(summary["duration"] / b, 1),
            "pipeline_realtime_factor": round(summary["duration"] / p, 1),
            "runs": repeat}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--files", nargs="+", choices=["jfk", "lecture", "uk"],
                    default=["jfk", "lecture", "uk"])
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = []
        for name, shared in (("jfk", "jfk.flac"), ("lecture", "lecture60.wav")):
            if name not in args.files:
                continue
            if (SHARED / shared).exists():
                files.append(SHARED / shared)
            else:
                print(f"../shared/data is missing: {shared} skipped", file=sys.stderr)
        if "uk" in args.files:
            files.append(uk_minute(work))
        for model in args.models:
            for src in files:
                r = measure(src, model, args.repeat, work)
                results.append(r)
                print(f"{model:8} {r['file']:15} {r['audio_seconds']:6.1f} s audio  "
                      f"bare {r['bare_seconds']:.2f} s  pipeline "
                      f"{r['pipeline_seconds_without_relisten']:.2f} s "
                      f"({r['overhead_without_relisten']:+.0%}), re-listening "
                      f"{r['pipeline_seconds']:.2f} s ({r['overhead']:+.0%})  "
                      f"steps {r['steps']}  re-listen {r['relisten']}")
    out = BENCH / "results" / "speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
