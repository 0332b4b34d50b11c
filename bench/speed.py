"""Speed: the whole pipeline against bare faster-whisper on the same file, in one run.

    .venv/bin/python -m bench.speed [--models tiny.en base] [--repeat 3]

For each model and file, after one warm-up (models loaded, caches filled), it alternates
bare ``transcribe(file)`` and the whole pipeline (``anonymise_file``: ffmpeg decode to
16 kHz, transcription, safeguarding, detection, voice disguise, redaction, loudness,
MP3 encoding) and reports medians, the pipeline's overhead over transcription alone
(target: under 15 %), each step's share, and real-time factors. Machines are shared
and noisy: compare the ratios, measured side by side, not absolute seconds.

Files: ../shared/data/speech/jfk.flac (11 s, real speech), and a minute of the UK set
spoken by espeak-ng (names, numbers and postcodes, so detection and redaction have work).
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

    def pipeline() -> dict:
        return anonymise_file(src, work / "out", transcriber=transcriber, detector=detector,
                              disguise=True, settings=Settings())

    def bare() -> float:
        started = time.perf_counter()
        transcriber.transcribe(src)
        return time.perf_counter() - started

    summary = pipeline()  # warm-up: models, spaCy, matcher, ffmpeg all loaded once
    bare()
    bare_times, pipe_times, steps = [], [], []
    for _ in range(repeat):
        bare_times.append(bare())
        started = time.perf_counter()
        summary = pipeline()
        pipe_times.append(time.perf_counter() - started)
        steps.append(summary["steps"])
    b, p = statistics.median(bare_times), statistics.median(pipe_times)
    step_medians = {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]}
    return {"file": src.name, "model": model, "audio_seconds": summary["duration"],
            "bare_seconds": round(b, 3), "pipeline_seconds": round(p, 3),
            "overhead": round(p / b - 1, 3), "steps": step_medians,
            "bare_realtime_factor": round(summary["duration"] / b, 1),
            "pipeline_realtime_factor": round(summary["duration"] / p, 1),
            "runs": repeat}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = [uk_minute(work)]
        if (SHARED / "jfk.flac").exists():
            files.insert(0, SHARED / "jfk.flac")
        else:
            print("../shared/data is missing: jfk.flac skipped", file=sys.stderr)
        for model in args.models:
            for src in files:
                r = measure(src, model, args.repeat, work)
                results.append(r)
                print(f"{model:8} {r['file']:15} {r['audio_seconds']:6.1f} s audio  "
                      f"bare {r['bare_seconds']:.2f} s  pipeline {r['pipeline_seconds']:.2f} s"
                      f"  overhead {r['overhead']:+.0%}  steps {r['steps']}")
    out = BENCH / "results" / "speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
