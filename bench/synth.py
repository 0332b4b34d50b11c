"""Speak the UK evaluation set with espeak-ng, for the audio benchmark.

    .venv/bin/python -m bench.synth                  # all utterances, written form
    .venv/bin/python -m bench.synth --form asr --limit 10

Writes ``bench/audio/uk_eval/<id>.wav`` (22,050 Hz mono, 16-bit; generated on demand and
not committed) and ``index.json`` beside them: one entry per utterance with its id, wav
file name, the text spoken and the audio's length.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import wave
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
UK_SET = BENCH / "data" / "uk_eval.jsonl"
AUDIO_DIR = BENCH / "audio" / "uk_eval"

VOICE = "en-gb"
WORDS_PER_MINUTE = 150  # espeak-ng -s; its default is 175


class SynthError(RuntimeError):
    """espeak-ng is missing or failed."""


def synthesise(text: str, out_wav: Path, *, voice: str = VOICE,
               speed: int = WORDS_PER_MINUTE) -> float:
    """Speak ``text`` into ``out_wav``; returns the audio's length in seconds."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SynthError("espeak-ng is not installed (apt-get install espeak-ng)")
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    # Text goes in on stdin so a line starting with '-' is never read as an option.
    argv = [espeak, "-v", voice, "-s", str(speed), "-w", str(out_wav), "--stdin"]
    try:
        subprocess.run(argv, input=text.encode("utf-8"), check=True,  # noqa: S603 fixed argv
                       capture_output=True, timeout=60)
    except subprocess.CalledProcessError as e:
        raise SynthError(f"espeak-ng failed: {e.stderr.decode(errors='replace')}") from e
    with wave.open(str(out_wav)) as w:
        return w.getnframes() / w.getframerate()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Speak the UK evaluation set with espeak-ng.")
    ap.add_argument("--form", choices=("written", "asr"), default="written",
                    help="which text to speak (the ASR form spells numbers the British way)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N utterances")
    ap.add_argument("--out", type=Path, default=AUDIO_DIR)
    args = ap.parse_args(argv)

    rows = [json.loads(line) for line in UK_SET.read_text(encoding="utf-8").splitlines()]
    index, started = [], time.perf_counter()
    try:
        for row in rows[:args.limit]:
            wav = args.out / f"{row['id']}.wav"
            seconds = synthesise(row[args.form], wav)
            index.append({"id": row["id"], "wav": wav.name, "form": args.form,
                          "text": row[args.form], "seconds": round(seconds, 2)})
    except SynthError as e:
        print(f"synth: {e}", file=sys.stderr)
        return 1
    (args.out / "index.json").write_text(
        json.dumps({"voice": VOICE, "speed_wpm": WORDS_PER_MINUTE, "utterances": index},
                   indent=1) + "\n", encoding="utf-8")
    total = sum(u["seconds"] for u in index)
    print(f"wrote {len(index)} wav files ({total:.0f} s of speech) to {args.out} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
