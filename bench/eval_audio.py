"""Audio benchmark: speak the UK set, run the whole pipeline, listen to the result again.

    .venv/bin/python -m bench.eval_audio [--model tiny.en|base] [--limit N] [--voice natural]
        [--tts espeak hibari kokoro] [--split test|tune|all] [--runs 2]

For every utterance of the split (the frozen ``test`` half by default, ``bench/splits.py``)
and every voice: the voice speaks its ASR form (numbers and e-mails said the way a person
says them; ``bench.synth.spoken``; WAVs cached under ``bench/audio/cache/``), the pipeline
transcribes, detects (with the set's local names), redacts the text and renders the
redacted audio; then the redacted audio is transcribed again by the same model. Each
labelled item is then looked for three times:

- heard: in the first transcript (an item Whisper never heard cannot leak, nor be scored);
- in text: still in the redacted transcript the pipeline shares;
- in audio: heard again in the redacted audio (the leak test).

An item is "found" in a text when a distinctive piece of it is there: any run of four of
its digits, any four of its letters and digits in a row with both in them (a postcode's
"s144", spaces ignored), or any of its words of three or more letters that is not a
generic word ("street", "house"). That is strict on purpose: a first name alone counts as a leak.
An utterance the pipeline sends to needs_attention shares nothing: its items are counted
apart ("held back"), neither as a pass nor as a leak.

Writes ``bench/results/eval_audio_<tts>.json`` and ``.md`` (every run of that voice, with
each leak's transcripts) and ``eval_audio.md`` and ``.json``: one table and the counts over
every voice's latest results file, whichever command wrote it.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.splits import split_of, wilson
from bench.synth import TTS, speak_rows

BENCH = Path(__file__).resolve().parent
UK_SET = BENCH / "data" / "uk_eval.jsonl"
LOCAL = BENCH / "data" / "uk_local_names.json"
RESULTS = BENCH / "results"
# The issue-12 bar: none of these left in the shared text or heard in the redacted audio.
STRUCTURED = ("PHONE", "EMAIL", "POSTCODE", "NHS_NUMBER", "NI_NUMBER", "NUMBER",
              "DATE_OF_BIRTH")
GENERIC = set("""street road lane avenue close drive way crescent gardens place terrace court
square grove hill row walk mews park flat room number house centre center hostel lodge the
and dot com gmail hotmail outlook yahoo uk org net co at of st saint project trust day
january february march april may june july august september october november december
first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth""".split())


def _digits(text: str) -> str:
    """Digits of each run, runs kept apart: "077-0-0 and 12" -> "07700|12"."""
    return "|".join(re.sub(r"\D", "", m) for m in re.findall(r"\d(?:[\s.\-]*\d)*", text))


def pieces(item: str) -> tuple[list[str], list[str]]:
    """What would give an item away: 4-digit windows of its digits, distinctive words."""
    digits = re.sub(r"\D", "", item)
    windows = [digits[i:i + 4] for i in range(len(digits) - 3)]
    words = [w for w in re.findall(r"[a-z]+", item.lower()) if len(w) >= 3
             and w not in GENERIC]
    return windows, words


def _mixed(text: str) -> list[str]:
    """4-character windows of letters and digits together ("ls144ab" -> "s144", "44ab"...):
    a postcode or NI number has no 4-digit run and no word of 3 letters, so without these
    it could never be found, heard or leaked."""
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    return [compact[i:i + 4] for i in range(len(compact) - 3)
            if re.search(r"\d", compact[i:i + 4]) and re.search(r"[a-z]", compact[i:i + 4])]


def found(item: str, text: str) -> bool:
    """
    >>> found("EC1V 2NX", "flat 113 old 3dc1v2nx where"), found("LS14 4AB", "[POSTCODE]")
    (True, False)
    """
    windows, words = pieces(item)
    said = set(re.findall(r"[a-z]+", text.lower()))
    digits = _digits(text)
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    return (any(w in digits for w in windows) or any(w in said for w in words)
            or any(w in compact for w in _mixed(item)))


def load_rows(split: str, limit: int | None, start: int = 0) -> list[dict]:
    """The UK set's utterances in ``split`` (test, tune or all): ``limit`` of them from the
    ``start``-th. The set is in theme order (names first, then numbers), so a slice is a
    slice of types, not a sample."""
    rows = [json.loads(line) for line in UK_SET.read_text(encoding="utf-8").splitlines()]
    chosen = [r for r in rows if split == "all" or split_of(r["id"]) == split]
    return chosen[start:None if limit is None else start + limit]


def pipeline(model: str):
    """Everything a run needs that is slow to build, built once for all voices and runs."""
    from diaryroom.anonymise import Settings, load_local_names
    from diaryroom.asr import build_transcriber
    from diaryroom.pii import get_detector

    local = json.loads(LOCAL.read_text())
    names_file = Path(tempfile.mkdtemp()) / "names.json"
    names_file.write_text(json.dumps(local["local_names"]
                                     + [{"text": a, "type": "ALLOW"} for a in local["allow"]]))
    names, allow = load_local_names(names_file)
    return (Settings(local_names=names, allow=allow),
            build_transcriber("faster-whisper", model, BENCH / ".models"), get_detector())


def run(rows: Sequence[dict], wavs: dict, *, voice: str, built,
        progress: Callable[[dict], None] = lambda partial: None) -> dict:
    """One pass of the pipeline over ``rows`` (spoken as ``wavs``: id -> (wav, seconds)).

    ``progress`` gets the result so far after every utterance, so a run stopped early
    (the shared machine is slow) still leaves its numbers."""
    from diaryroom.anonymise import anonymise_file
    from diaryroom.errors import DiaryRoomError

    settings, transcriber, detector = built
    per_type: dict[str, Counter] = {}
    failures, leaks, seconds, audio = [], [], 0.0, 0.0

    def summary(done: int) -> dict:
        return {"utterances": done, "of": len(rows), "audio_seconds": round(audio, 1),
                "pipeline_seconds": round(seconds, 1), "needs_attention": list(failures),
                "per_type": {k: dict(v) for k, v in sorted(per_type.items())},
                "structured_leaks": structured_leaks(leaks), "leaks": list(leaks)}

    with tempfile.TemporaryDirectory() as tmp:
        for n, row in enumerate(rows):
            if n:
                progress(summary(n))
            if n and n % 20 == 0:
                print(f"  {n}/{len(rows)}", file=sys.stderr, flush=True)
            wav, length = wavs[row["id"]]
            out = Path(tmp) / row["id"]
            audio += length
            started = time.perf_counter()
            try:
                anonymise_file(wav, out, transcriber=transcriber, detector=detector,
                               disguise=voice == "disguise", settings=settings,
                               keep_original=True)
            except DiaryRoomError as e:  # needs attention: nothing shared, nothing leaked
                failures.append({"id": row["id"], "reason": str(e)})
                for span in row["written_spans"]:
                    counts = per_type.setdefault(span["type"], Counter())
                    counts["items"] += 1
                    counts["held_back"] += 1
                continue
            seconds += time.perf_counter() - started
            heard = json.loads((out / "original.json").read_text())
            original = "".join(s["text"] for s in heard["segments"])
            shared = json.loads((out / "transcript.json").read_text())["text"]
            again = transcriber.transcribe(out / "redacted.mp3").text
            for span in row["written_spans"]:
                counts = per_type.setdefault(span["type"], Counter())
                counts["items"] += 1
                if not found(span["text"], original):
                    continue
                counts["heard"] += 1
                in_text, in_audio = found(span["text"], shared), found(span["text"], again)
                counts["in_text"] += in_text
                counts["in_audio"] += in_audio
                if in_text or in_audio:  # fictional data: kept whole, to be read
                    leaks.append({"id": row["id"], "type": span["type"], "item": span["text"],
                                  "in_text": in_text, "in_audio": in_audio,
                                  "heard": original, "shared": shared, "again": again})
    return summary(len(rows))


def structured_leaks(leaks: Sequence[dict]) -> int:
    """Items of the bar's types left in the text or heard again (an item counts once)."""
    return sum(leak["type"] in STRUCTURED for leak in leaks)


def table(result: dict) -> str:
    """Per type, one run: items, heard, still in the text, heard again, held back."""
    lines = ["| type | items | heard by Whisper | still in shared text | heard in redacted "
             "audio | held back (needs attention) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    total = Counter()
    for kind, c in result["per_type"].items():
        total.update(c)
        lines.append(f"| {kind} | {c.get('items', 0)} | {c.get('heard', 0)} | "
                     f"{c.get('in_text', 0)} | {c.get('in_audio', 0)} | "
                     f"{c.get('held_back', 0)} |")
    lines.append(f"| **all** | {total['items']} | {total['heard']} | {total['in_text']} | "
                 f"{total['in_audio']} | {total['held_back']} |")
    return "\n".join(lines)


def _bar(run_: dict) -> tuple[int, int]:
    """(structured items heard, structured items leaked) in one run."""
    heard = sum(c.get("heard", 0) for k, c in run_["per_type"].items() if k in STRUCTURED)
    return heard, run_["structured_leaks"]


def combined(results: Sequence[dict]) -> str:
    """One table over voices and runs: per type "heard / in text / in audio", then the bar."""
    columns = [(r, i, run_) for r in results for i, run_ in enumerate(r["runs"], 1)]
    kinds = sorted({k for _, _, run_ in columns for k in run_["per_type"]})
    head = " | ".join(f"{r['tts']} run {i}" for r, i, _ in columns)
    lines = ["Each cell: heard by Whisper / still in shared text / heard in redacted audio "
             "(held back: items in utterances sent to needs_attention).", "",
             f"| type | {head} |", "| --- |" + " ---: |" * len(columns)]
    for kind in kinds:
        cells = []
        for _, _, run_ in columns:
            c = run_["per_type"].get(kind, {})
            cell = f"{c.get('heard', 0)} / {c.get('in_text', 0)} / {c.get('in_audio', 0)}"
            cells.append(cell + (f" (held {c['held_back']})" if c.get("held_back") else ""))
        lines.append(f"| {kind} | {' | '.join(cells)} |")
    rows = {"utterances (split)": lambda r, run_: f"{run_['utterances']} of {run_['of']} "
                                                  f"({r['split']})",
            "model, voice": lambda r, run_: f"{r['model']}, {r['voice']}",
            "needs attention": lambda r, run_: str(len(run_["needs_attention"])),
            "structured leaks / heard (95 % CI)": lambda r, run_: _bar_cell(run_)}
    for name, cell in rows.items():
        lines.append(f"| {name} | {' | '.join(cell(r, run_) for r, _, run_ in columns)} |")
    return "\n".join(lines)


def _bar_cell(run_: dict) -> str:
    heard, leaked = _bar(run_)
    ci = wilson(leaked, heard)
    return f"{leaked} / {heard}" + (f" ({ci[0]:.0%}–{ci[1]:.0%})" if ci else "")


def write_voice(result: dict) -> str:
    """Write one voice's results (JSON and per-run tables); returns the tables."""
    tts, results_dir = result["tts"], Path(result["results"])
    (results_dir / f"eval_audio_{tts}.json").write_text(json.dumps(result, indent=1) + "\n")
    md = "\n\n".join(f"### {tts}, run {i} ({result['model']}, {result['voice']}, "
                     f"{result['split']} split, {r['utterances']} of {r['of']} utterances)"
                     f"\n\n{table(r)}" for i, r in enumerate(result["runs"], 1))
    (results_dir / f"eval_audio_{tts}.md").write_text(md + "\n")
    return md


def _save_partial(result: dict, done: list[dict], partial: dict) -> None:
    write_voice(result | {"runs": [*done, partial]})


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="base", choices=("tiny.en", "base"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N of the split")
    ap.add_argument("--start", type=int, default=0, help="skip the split's first N")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where the results go (default bench/results)")
    ap.add_argument("--voice", default="natural", choices=("natural", "disguise"),
                    help="natural makes the leak test harder: disguise also blurs words")
    ap.add_argument("--tts", nargs="+", default=["espeak"], choices=TTS,
                    help="voices that speak the set (neural ones: bench/voices_setup.sh)")
    ap.add_argument("--split", default="test", choices=("test", "tune", "all"),
                    help="the UK set's frozen test half (default), its tuning half, or both")
    ap.add_argument("--runs", type=int, default=1,
                    help="passes of the pipeline over the same audio (determinism)")
    ap.add_argument("--combine", action="store_true",
                    help="only rebuild eval_audio.md/.json from the voices' results files")
    args = ap.parse_args(argv)
    results_dir = args.results
    results_dir.mkdir(parents=True, exist_ok=True)
    for tts in [] if args.combine else args.tts:
        rows, built = load_rows(args.split, args.limit, args.start), pipeline(args.model)
        wavs = speak_rows(rows, tts)
        runs: list[dict] = []
        result = {"tts": tts, "model": args.model, "voice": args.voice, "split": args.split,
                  "start": args.start, "limit": args.limit, "results": str(results_dir),
                  "date": datetime.now(UTC).isoformat(timespec="seconds"), "runs": runs}
        for i in range(args.runs):
            save = functools.partial(_save_partial, result, list(runs))
            runs.append(run(rows, wavs, voice=args.voice, built=built, progress=save))
            print(f"{tts} run {i + 1}: {len(runs[-1]['needs_attention'])} needed attention, "
                  f"{runs[-1]['structured_leaks']} structured leaks", flush=True)
        print(write_voice(result))
    results = [json.loads((results_dir / f"eval_audio_{t}.json").read_text()) for t in TTS
               if (results_dir / f"eval_audio_{t}.json").exists()]
    summary = combined(results)
    (results_dir / "eval_audio.md").write_text(summary + "\n")
    (results_dir / "eval_audio.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k != "runs"}
         | {"runs": [{k: v for k, v in run_.items() if k != "leaks"} for run_ in r["runs"]]}
         for r in results], indent=1) + "\n")
    print("\n" + summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
