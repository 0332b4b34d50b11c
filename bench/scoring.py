"""Redaction scores: did every labelled item disappear, and was what we hid personal data?

Plain data in, plain dicts out, so the numbers can be checked by hand:

- an *item* is a labelled span ``(start, end, type)``; it is **redacted** when every
  letter and digit of it lies inside some predicted span of *any* type (a type mix-up
  still hides it; spaces and punctuation do not need hiding). *Typed* recall asks for
  predicted spans of the item's own type.
- a *prediction* is **correct** when it overlaps a labelled item of any type. Predictions
  touching only a *neutral* region (data we do not redact, e.g. TITLE in Presidio's set)
  are left out of precision altogether.
- recall for type T counts items labelled T; precision for T counts predictions typed T;
  F2 = 5PR / (4P + R) weighs recall four times as much as precision (a leak costs more
  than an over-redaction).

>>> item = Item(10, 20, "NAME")
>>> fully_covered(item, "my name's Ann Bloggs.", [Pred(10, 13, "NAME"), Pred(14, 20, "PLACE")])
True
>>> round(f2(precision=0.5, recall=1.0), 3)
0.833
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from bench.splits import wilson

TYPES = ("NAME", "PLACE", "ORGANISATION", "PHONE", "EMAIL", "POSTCODE", "ADDRESS",
         "NHS_NUMBER", "NI_NUMBER", "DATE_OF_BIRTH", "NUMBER")


@dataclass(frozen=True, slots=True)
class Item:
    start: int
    end: int
    type: str


@dataclass(frozen=True, slots=True)
class Pred:
    start: int
    end: int
    type: str


@dataclass(slots=True)
class Sample:
    """One text with its labelled items and neutral (ignored) regions."""

    id: str
    text: str
    items: list[Item]
    neutral: list[tuple[int, int]] = field(default_factory=list)


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def fully_covered(item: Item, text: str, preds: Iterable[Pred]) -> bool:
    """Every letter and digit of ``item`` is inside one of ``preds``."""
    covered = set()
    for p in preds:
        covered.update(range(max(p.start, item.start), min(p.end, item.end)))
    return all(i in covered for i in range(item.start, item.end) if text[i].isalnum())


def f2(*, precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 5 * precision * recall / (4 * precision + recall)


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


@dataclass(slots=True)
class Tally:
    items: int = 0
    redacted: int = 0
    typed: int = 0
    predicted: int = 0
    correct: int = 0

    def as_dict(self) -> dict:
        recall, precision = _ratio(self.redacted, self.items), _ratio(self.correct, self.predicted)
        return {"items": self.items, "redacted": self.redacted, "recall": recall,
                "recall_ci": wilson(self.redacted, self.items),
                "typed_recall": _ratio(self.typed, self.items),
                "predicted": self.predicted, "correct": self.correct, "precision": precision,
                "precision_ci": wilson(self.correct, self.predicted),
                "f2": f2(precision=precision, recall=recall)}


def score(samples: Sequence[Sample], predictions: Sequence[Sequence[Pred]], *,
          keep_examples: int = 25, examples_from: Collection[str] | None = None) -> dict:
    """Per-type and micro scores of ``predictions`` (one list per sample) on ``samples``,
    with 95 % Wilson intervals. Misses and false positives are kept as examples only from
    samples whose ID is in ``examples_from`` (default: all), so that the frozen test part
    can be scored without its errors being put in front of whoever tunes."""
    per_type: dict[str, Tally] = {}
    total = Tally()
    misses: list[dict] = []
    false_positives: list[dict] = []
    no_pii = {"utterances": 0, "false_positives": 0, "utterances_with_fp": 0}
    for sample, preds in zip(samples, predictions, strict=True):
        keep = keep_examples if examples_from is None or sample.id in examples_from else 0
        for item in sample.items:
            tally = per_type.setdefault(item.type, Tally())
            hidden = fully_covered(item, sample.text, preds)
            typed = fully_covered(item, sample.text, [p for p in preds if p.type == item.type])
            for t in (tally, total):
                t.items += 1
                t.redacted += hidden
                t.typed += typed
            if not hidden and len(misses) < keep:
                misses.append({"id": sample.id, "type": item.type,
                               "text": sample.text[item.start:item.end]})
        fps = 0
        for p in preds:
            if any(overlaps(p.start, p.end, i.start, i.end) for i in sample.items):
                correct = True
            elif any(overlaps(p.start, p.end, s, e) for s, e in sample.neutral):
                continue
            else:
                correct = False
                fps += 1
                if len(false_positives) < keep:
                    false_positives.append({"id": sample.id, "type": p.type,
                                            "text": sample.text[p.start:p.end]})
            tally = per_type.setdefault(p.type, Tally())
            for t in (tally, total):
                t.predicted += 1
                t.correct += correct
        if not sample.items:
            no_pii["utterances"] += 1
            no_pii["false_positives"] += fps
            no_pii["utterances_with_fp"] += bool(fps)
    order = [t for t in TYPES if t in per_type] + sorted(set(per_type) - set(TYPES))
    return {"per_type": {t: per_type[t].as_dict() for t in order},
            "micro": total.as_dict(), "no_pii": no_pii,
            "misses": misses, "false_positives": false_positives}


def _cell(row: dict | None) -> str:
    if row is None:
        return "–"
    return " / ".join("–" if row[k] is None else f"{100 * row[k]:.0f}"
                      for k in ("recall", "precision", "f2"))


def _cell_ci(row: dict | None) -> str:
    if row is None:
        return "–"
    return " / ".join("–" if row[k] is None else
                      f"{100 * row[k]:.0f} [{100 * row[k + '_ci'][0]:.0f}–"
                      f"{100 * row[k + '_ci'][1]:.0f}]" for k in ("recall", "precision"))


def markdown_table(title: str, results: dict[str, dict], *, intervals: bool = False) -> str:
    """One table: rows are types, columns the runs; cells are recall / precision / F2 (%),
    or with ``intervals`` recall [95 % interval] / precision [95 % interval]; a last row
    gives each run's detection time a text, where the runs were timed."""
    cell = _cell_ci if intervals else _cell
    runs = list(results)
    types = [t for t in (*TYPES, "OTHER")
             if any(t in r["per_type"] for r in results.values())]
    items = {t: next((r["per_type"][t]["items"] for r in results.values()
                      if t in r["per_type"]), 0) for t in types}
    what = ("recall [95 % CI] / precision [95 % CI]" if intervals
            else "recall / precision / F2")
    lines = [f"**{title}** ({what}, %)", "",
             "| type | items | " + " | ".join(runs) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in runs) + " |"]
    for t in types:
        lines.append(f"| {t} | {items[t]} | "
                     + " | ".join(cell(results[r]["per_type"].get(t)) for r in runs) + " |")
    lines.append(f"| **all** | {results[runs[0]]['micro']['items']} | "
                 + " | ".join(f"**{cell(results[r]['micro'])}**" for r in runs) + " |")
    if results[runs[0]]["no_pii"]["utterances"]:
        n = results[runs[0]]["no_pii"]["utterances"]
        lines.append(f"| false positives on {n} no-PII utterances | | "
                     + " | ".join(str(results[r]["no_pii"]["false_positives"]) for r in runs)
                     + " |")
    if all("ms_per_text" in r for r in results.values()):
        lines.append("| detection, ms a text | | "
                     + " | ".join(f"{results[r]['ms_per_text']:.1f}" for r in runs) + " |")
    return "\n".join(lines)
