"""Audio benchmark: speak the UK set, run the whole pipeline, listen to the result again.

    .venv/bin/python -m bench.eval_audio [--model tiny.en|base] [--limit N] [--voice natural]

For every utterance: espeak-ng speaks its ASR form (numbers said the way a person says
them), the pipeline transcribes, detects (with the set's local names), redacts the text
and renders the redacted audio; then the redacted audio is transcribed again by the same
model. Each labelled item is then looked for three times:

- heard: in the first transcript (an item Whisper never heard cannot leak, nor be scored);
- in text: still in the redacted transcript the pipeline shares;
- in audio: heard again in the redacted audio (the leak test).

An item is "found" in a text when a distinctive piece of it is there: any run of four of
its digits, or any of its words of three or more letters that is not a generic word
("street", "house"). That is strict on purpose: a first name alone counts as a leak.
Writes ``bench/results/eval_audio.json`` and ``eval_audio.md``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.synth import synthesise

BENCH = Path(__file__).resolve().parent
UK_SET = BENCH / "data" / "uk_eval.jsonl"
LOCAL = BENCH / "data" / "uk_local_names.json"
RESULTS = BENCH / "results"
STRUCTURED = ("PHONE", "EMAIL", "POSTCODE", "NHS_NUMBER", "NI_NUMBER", "NUMBER",
              "DATE_OF_BIRTH", "ADDRESS")
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


def found(item: str, text: str) -> bool:
    windows, words = pieces(item)
    said = set(re.findall(r"[a-z]+", text.lower()))
    digits = _digits(text)
    return any(w in digits for w in windows) or any(w in said for w in words)


def run(model: str, limit: int | None, voice: str) -> dict:
    from diaryroom.anonymise import Settings, anonymise_file, load_local_names
    from diaryroom.asr import build_transcriber
    from diaryroom.errors import DiaryRoomError
    from diaryroom.pii import get_detector

    rows = [json.loads(line) for line in UK_SET.read_text().splitlines()][:limit]
    local = json.loads(LOCAL.read_text())
    names_file = Path(tempfile.mkdtemp()) / "names.json"
    names_file.write_text(json.dumps(local["local_names"]
                                     + [{"text": a, "type": "ALLOW"} for a in local["allow"]]))
    names, allow = load_local_names(names_file)
    settings = Settings(local_names=names, allow=allow)
    transcriber = build_transcriber("faster-whisper", model, BENCH / ".models")
    detector = get_detector()
    per_type: dict[str, Counter] = {}
    failures, leaks, seconds, audio = [], [], 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            wav, out = Path(tmp) / f"{row['id']}.wav", Path(tmp) / row["id"]
            audio += synthesise(row["asr"], wav)
            started = time.perf_counter()
            try:
                anonymise_file(wav, out, transcriber=transcriber, detector=detector,
                               disguise=voice == "disguise", settings=settings,
                               keep_original=True)
            except DiaryRoomError as e:  # needs attention: nothing shared, nothing leaked
                failures.append({"id": row["id"], "reason": str(e)})
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
    return {"model": model, "voice": voice, "utterances": len(rows),
            "audio_seconds": round(audio, 1), "pipeline_seconds": round(seconds, 1),
            "needs_attention": failures, "per_type": {k: dict(v) for k, v in
                                                      sorted(per_type.items())},
            "leaks": leaks}


def table(result: dict) -> str:
    lines = ["| type | items | heard by Whisper | still in shared text | heard in redacted "
             "audio |", "| --- | ---: | ---: | ---: | ---: |"]
    total = Counter()
    for kind, c in result["per_type"].items():
        total.update(c)
        lines.append(f"| {kind} | {c.get('items', 0)} | {c.get('heard', 0)} | "
                     f"{c.get('in_text', 0)} | {c.get('in_audio', 0)} |")
    lines.append(f"| **all** | {total['items']} | {total['heard']} | {total['in_text']} | "
                 f"{total['in_audio']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny.en", choices=("tiny.en", "base"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--voice", default="natural", choices=("natural", "disguise"),
                    help="natural makes the leak test harder: disguise also blurs words")
    args = ap.parse_args(argv)
    result = run(args.model, args.limit, args.voice)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "eval_audio.json").write_text(json.dumps(result, indent=1))
    md = table(result)
    (RESULTS / "eval_audio.md").write_text(md + "\n")
    print(md)
    structured = sum(c.get("in_audio", 0) + c.get("in_text", 0)
                     for k, c in result["per_type"].items() if k in STRUCTURED)
    print(f"\n{len(result['needs_attention'])} utterances needed attention; "
          f"{structured} structured-identifier leaks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
