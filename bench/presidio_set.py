"""Presidio's synthetic PII sentences as our samples, written and ASR-style.

The file is ``../shared/data/pii/synth_dataset_v2.json`` (1,500 sentences, MIT, from
Microsoft's presidio-research; see ``../shared/data/README.md``). It is read in place and
never copied into this repository.

Label mapping (theirs -> ours). Labels we deliberately do not redact become *neutral*
regions: a prediction there counts neither for nor against precision.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from bench.scoring import Item, Sample

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "pii" / \
    "synth_dataset_v2.json"

LABELS = {
    "PERSON": "NAME",
    "GPE": "PLACE",
    "ORGANIZATION": "ORGANISATION",
    "STREET_ADDRESS": "ADDRESS",   # whole postal address: street, city, zip, country
    "ZIP_CODE": "POSTCODE",        # US ZIP codes: a postcode, not a UK one
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "NUMBER",
    "IBAN_CODE": "NUMBER",
    "US_SSN": "NUMBER",
}
# Not redacted by Diary Room: general dates and times (we redact dates of birth only; the
# set does not say which dates are births), ages, titles, nationalities/religions/
# politics (NRP), domain names, IP addresses, US driving licences (mixed formats).
NEUTRAL = {"DATE_TIME", "AGE", "TITLE", "NRP", "DOMAIN_NAME", "IP_ADDRESS",
           "US_DRIVER_LICENSE", "GENDER"}

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
SAID = {"_": "underscore", "+": "plus", "&": "and"}
DROPPED = set(",;:!?\"()[]{}<>*#|")  # punctuation Whisper would not write (becomes a space)


def load(path: Path = DEFAULT_PATH, *, limit: int | None = None) -> list[Sample]:
    """Samples in file order; raises ``FileNotFoundError`` if the shared data is absent."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    samples = []
    for i, row in enumerate(raw[:limit] if limit else raw):
        text, items, neutral = row["full_text"], [], []
        for span in row["spans"]:
            start, end, label = span["start_position"], span["end_position"], span["entity_type"]
            if text[start:end] != span["entity_value"]:
                raise ValueError(f"sample {i}: span offsets do not give its value: {span}")
            if label in LABELS:
                items.append(Item(start, end, LABELS[label]))
            elif label in NEUTRAL:
                neutral.append((start, end))
            else:
                raise ValueError(f"sample {i}: label {label!r} is neither mapped nor neutral")
        samples.append(Sample(f"p{i:04d}", text, sorted(items, key=lambda s: s.start), neutral))
    return samples


def _spoken(text: str, i: int) -> str:
    """What Whisper would write for character ``i`` of ``text`` (spaces collapse later)."""
    ch = text[i]
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if ch.isdigit():
        return f" {DIGIT_WORDS[int(ch)]} "
    if ch == "@":
        return " at "
    if ch == "." and before.isdigit() and after.isdigit():
        return " point "
    if ch == "." and before.isalnum() and after.isalnum():
        return " dot "
    if ch in SAID:
        return f" {SAID[ch]} "
    if ch == "-" and before.isalpha() and after.isalpha():
        return ch  # double-barrelled names keep their hyphen
    if ch in DROPPED or ch in ".-/" or ch.isspace():
        return " "
    return ch.lower()


def to_asr(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int] | None]]:
    """Lower case, digits spoken one by one, '@' and '.' spoken in addresses, punctuation
    dropped, whitespace collapsed; each span's offsets are recomputed from where its
    characters land (None if nothing of it is left).

    >>> to_asr("Call Ann on 07700-900123.", [(5, 8), (12, 24)])
    ('call ann on zero seven seven zero zero nine zero zero one two three', [(5, 8), (12, 67)])
    """
    out: list[str] = []
    length = 0
    starts, ends = [0] * len(text), [0] * len(text)
    for i in range(len(text)):
        starts[i] = length
        for ch in _spoken(text, i):
            if ch == " " and (not out or out[-1] == " "):
                continue
            out.append(ch)
            length += 1
        ends[i] = length
    spoken = "".join(out).rstrip()
    mapped: list[tuple[int, int] | None] = []
    for start, end in spans:
        lo, hi = starts[start], min(ends[end - 1], len(spoken))
        while lo < hi and spoken[lo] == " ":
            lo += 1
        while hi > lo and spoken[hi - 1] == " ":
            hi -= 1
        mapped.append((lo, hi) if hi > lo else None)
    return spoken, mapped


def asr_sample(sample: Sample) -> Sample:
    """The same sample as Whisper would write it; items keep their types."""
    spans = [(i.start, i.end) for i in sample.items] + sample.neutral
    text, mapped = to_asr(sample.text, spans)
    n = len(sample.items)
    items = [Item(m[0], m[1], i.type) for i, m in zip(sample.items, mapped[:n], strict=True) if m]
    neutral = [m for m in mapped[n:] if m]
    return Sample(sample.id, text, items, neutral)


def looks_spoken(text: str) -> bool:
    """True if the text has no digits or upper case left (a check on ``to_asr``)."""
    return not re.search(r"[0-9A-Z]", text)
