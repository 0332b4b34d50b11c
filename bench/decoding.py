"""Decoding: what the deterministic retries cost in word error, against Whisper's own.

    .venv/bin/python -m bench.decoding [--models tiny.en base] [--limit N]

Whisper retries a 30 s window whose text loops or that it is unsure of. faster-whisper
retries by *sampling* at rising temperatures (0.2 ... 1.0), so one file can give other
words on each run; Diary Room retries deterministically instead (a repetition penalty of
1.1, then 1.3, then greedy search, all at temperature 0: ``diaryroom.asr.engine``). This
transcribes all 260 UK sentences spoken by espeak-ng (robotic speech: Whisper is unsure
of it often, so the retries matter) three ways with each model:

- ``deterministic``: Diary Room's transcriber, as the pipeline uses it;
- ``sampled``: faster-whisper's stock ``WhisperModel`` and its default temperatures;
- ``no retries``: the stock model at temperature 0 only (a failed window stands);

and reports each one's word error rate against the sentence as spoken (lower case, no
punctuation; Whisper's digits against spoken number words count as errors for every
way alike, so compare the columns, not the level), and how many sentences came out
differently in a second ``sampled`` run. Writes ``bench/results/decoding.json``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.synth import speak_rows

BENCH = Path(__file__).resolve().parent
UK_SET = BENCH / "data" / "uk_eval.jsonl"
SAMPLED = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's default temperatures


def words(text: str) -> list[str]:
    """Lower-case words, no punctuation.

    >>> words("Um, hi. My name's Sandra-Jo!")
    ['um', 'hi', 'my', "name's", 'sandra', 'jo']
    """
    return re.sub(r"[^\w\s']", " ", text.lower().replace("’", "'")).split()


def edits(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance.

    >>> edits("a b c".split(), "a x c d".split())
    2
    """
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def ways(model: str) -> dict[str, Callable[[Path], str]]:
    from faster_whisper import WhisperModel

    from diaryroom.asr import build_transcriber
    from diaryroom.asr.models import model_path

    ours = build_transcriber("faster-whisper", model, BENCH / ".models")
    stock = WhisperModel(str(model_path(model, BENCH / ".models")), device="cpu",
                         compute_type="int8", local_files_only=True)
    language = None if ours.multilingual else "en"

    def stock_way(temperature) -> Callable[[Path], str]:
        def transcribe(wav: Path) -> str:
            segments, _ = stock.transcribe(str(wav), language=language, beam_size=5,
                                           word_timestamps=True, vad_filter=True,
                                           temperature=temperature)
            return " ".join(s.text for s in segments)
        return transcribe

    return {"deterministic": lambda wav: ours.transcribe(wav).text,
            "sampled": stock_way(SAMPLED), "no retries": stock_way(0.0)}


def measure(model: str, rows: Sequence[dict], wavs: dict) -> dict:
    out: dict = {"model": model, "sentences": len(rows)}
    texts: dict[str, list[str]] = {}
    built = ways(model)
    for name, transcribe in built.items():
        texts[name] = [transcribe(wavs[row["id"]][0]) for row in rows]
        errors = sum(edits(words(row["asr"]), words(t)) for row, t in zip(rows, texts[name],
                                                                            strict=True))
        out[name] = round(errors / sum(len(words(row["asr"])) for row in rows), 3)
        print(f"{model:8} {name:14} word error {out[name]:.3f}", flush=True)
    again = [built["sampled"](wavs[row["id"]][0]) for row in rows]
    out["sampled_changed_on_a_second_run"] = sum(a != b for a, b in zip(
        texts["sampled"], again, strict=True))
    print(f"{model:8} sampled: {out['sampled_changed_on_a_second_run']} of {len(rows)} "
          "sentences changed on a second run", flush=True)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in UK_SET.read_text(encoding="utf-8").splitlines()]
    rows = rows[:args.limit]
    wavs = speak_rows(rows, "espeak")
    results = [measure(model, rows, wavs) for model in args.models]
    if args.limit is None:
        (BENCH / "results" / "decoding.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
