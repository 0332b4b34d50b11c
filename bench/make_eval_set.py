"""Build the UK diary-room evaluation set from its templates, checking every value.

    .venv/bin/python -m bench.make_eval_set

Reads ``bench/data/uk_eval_templates.txt`` (utterances with ``{TYPE:text}`` markup, written
and ASR forms) and writes ``bench/data/uk_eval.jsonl`` (one utterance a line, character
spans computed here, never counted by hand, and each utterance's frozen ``split``, ``tune``
or ``test``, from :mod:`bench.splits`) and ``bench/data/uk_local_names.json`` (what a
service would put on its local list). It refuses to write anything if a template is
malformed or a value is not safely fictional: phone numbers outside Ofcom's drama ranges,
NHS numbers failing modulus 11 (or a NUMBER that passes it), bad NI or postcode formats,
or an ASR form whose spoken digits and letters do not say the written value.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from bench.splits import split_of

DATA = Path(__file__).resolve().parent / "data"
TEMPLATES = DATA / "uk_eval_templates.txt"
OUT = DATA / "uk_eval.jsonl"
LOCAL_NAMES_OUT = DATA / "uk_local_names.json"

TYPES = ("NAME", "PLACE", "ORGANISATION", "PHONE", "EMAIL", "POSTCODE", "ADDRESS",
         "NHS_NUMBER", "NI_NUMBER", "DATE_OF_BIRTH", "NUMBER")
MIN_PER_TYPE = 15

# The hostels, day centres, staff and partner services of the set that a service would
# add to its own list; checked to occur in the set.
LOCAL_NAMES = [
    *({"text": t, "type": "PLACE"} for t in (
        "Hope House", "Cedar Lodge", "Willow Court", "The Beacon", "Ashfield House",
        "Oakwood House")),
    *({"text": t, "type": "NAME"} for t in (
        "Dionne", "Marcus Bell", "Kerry-Ann Brooks", "Bernadette", "Priya Patel",
        "Siobhan O'Neill", "Okonkwo")),
    *({"text": t, "type": "ORGANISATION"} for t in (
        "St Mungo's", "Northgate Housing Trust", "Brightside Recovery", "Whitechapel Mission")),
]
ALLOW = ["Diary Room"]

MARKUP = re.compile(r"\{([A-Z_]+):([^{}]+)\}")
NEEDS_SPELLING = re.compile(r"[0-9@£$%&/+]")  # written text that cannot be auto-spoken
ASR_CHARS = re.compile(r"[a-z' \-]+")

# Ofcom numbers reserved for drama (no real subscriber): (prefix, first, last) of the
# national significant number with the leading 0.
DRAMA_RANGES = [("07700", 900000, 900999), ("01632", 960000, 960999),
                ("0207946", 0, 999), ("0191498", 0, 999), ("0289649", 6000, 6999),
                ("0292018", 0, 999),
                *((f"01{a}1496", 0, 999) for a in "12345678"),
                *((f"011{a}496", 0, 999) for a in "345678")]
NI_FORMAT = re.compile(r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                       r" \d\d \d\d \d\d [A-D]")
POSTCODE_FORMAT = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}")
EMAIL_FORMAT = re.compile(r"[a-z0-9._]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")
EMAIL_DOMAINS = {"gmail.com", "hotmail.co.uk", "hotmail.com", "yahoo.co.uk", "yahoo.com",
                 "outlook.com", "icloud.com", "btinternet.com"}

SPOKEN = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
SPOKEN |= {"oh": "0", "hundred": "00", "plus": ""}
REPEATS = {"double": 2, "triple": 3}


def nhs_check_digit(nine: str) -> int | None:
    """The modulus-11 check digit of the first nine digits, or None if there is none.

    >>> nhs_check_digit("999526018")
    2
    """
    check = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    return None if check == 10 else check % 11


def is_valid_nhs(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return len(digits) == 10 and nhs_check_digit(digits[:9]) == int(digits[9])


def spoken_to_chars(spoken: str) -> str:
    """Read spelled-out digits and letters back, to check an ASR form says its value.

    >>> spoken_to_chars("oh seven seven double oh nine hundred three oh six")
    '07700900306'
    >>> spoken_to_chars("a b twelve c")
    'AB12C'
    """
    out, repeat = [], 1
    for word in spoken.replace("-", " ").split():
        if word in REPEATS:
            repeat = REPEATS[word]
            continue
        # An unknown word is kept as it is, so the comparison with the value fails loudly.
        out.append(SPOKEN.get(word, word.upper()) * repeat)
        repeat = 1
    return "".join(out)


def parse(template: str) -> tuple[str, list[dict]]:
    """Text and spans of one marked-up line: '{NAME:Ann} here' -> 'Ann here', [0..3 NAME]."""
    text, spans, pos = [], [], 0
    for m in MARKUP.finditer(template):
        text.append(template[pos:m.start()])
        kind, value = m.group(1), m.group(2)
        if kind not in TYPES:
            raise ValueError(f"unknown type {kind!r} in {template!r}")
        start = sum(map(len, text))
        text.append(value)
        spans.append({"start": start, "end": start + len(value), "type": kind, "text": value})
        pos = m.end()
    text.append(template[pos:])
    joined = "".join(text)
    if "{" in joined or "}" in joined:
        raise ValueError(f"unbalanced markup in {template!r}")
    return joined, spans


def derive_asr(written_template: str) -> str:
    """The ASR template of a line with no numbers: lower case, no punctuation but ' and -.

    >>> derive_asr("Um, hi. I'm {NAME:Kerry-Ann}, from {PLACE:St. Helens}.")
    "um hi i'm {NAME:kerry-ann} from {PLACE:st helens}"
    """
    if NEEDS_SPELLING.search(MARKUP.sub(lambda m: m.group(2), written_template)):
        raise ValueError(f"needs a hand-written A: line (digits or symbols): {written_template}")

    def say(text: str) -> str:
        return re.sub(r"[.,!?;:\"()]", "", text.lower())

    parts, pos = [], 0
    for m in MARKUP.finditer(written_template):
        parts += [say(written_template[pos:m.start()]), f"{{{m.group(1)}:{say(m.group(2))}}}"]
        pos = m.end()
    parts.append(say(written_template[pos:]))
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def check_value(kind: str, value: str, where: str) -> None:
    """Raise if a written value is malformed or could belong to a real person."""
    digits = re.sub(r"\D", "", value)
    problem = None
    if kind == "PHONE":
        national = "0" + digits[2:] if value.startswith("+44") else digits
        if not any(national.startswith(p) and lo <= int(national[len(p):] or -1) <= hi
                   and len(national) == 11 for p, lo, hi in DRAMA_RANGES):
            problem = "not in an Ofcom drama range"
    elif kind == "NHS_NUMBER" and not is_valid_nhs(value):
        problem = "fails the NHS modulus-11 check"
    elif kind == "NUMBER" and (len(digits) < 6 or is_valid_nhs(value)):
        problem = "is not a 6+ digit number that fails the NHS check"
    elif kind == "NI_NUMBER" and not NI_FORMAT.fullmatch(value):
        problem = "is not a valid-format NI number ('AB 12 34 56 C')"
    elif kind == "POSTCODE" and not POSTCODE_FORMAT.fullmatch(value):
        problem = "is not a valid-format UK postcode"
    elif kind == "EMAIL":
        m = EMAIL_FORMAT.fullmatch(value)
        domain = m.group(1) if m else ""
        if domain not in EMAIL_DOMAINS and not domain.startswith("example."):
            problem = "is not at an example or common-provider domain"
    if problem:
        raise ValueError(f"{where}: {kind} {value!r} {problem}")


def check_pair(uid: str, written: tuple[str, list], asr: tuple[str, list]) -> None:
    (_, w_spans), (a_text, a_spans) = written, asr
    if [s["type"] for s in w_spans] != [s["type"] for s in a_spans]:
        raise ValueError(f"{uid}: written and ASR forms label different types")
    if not ASR_CHARS.fullmatch(a_text):
        raise ValueError(f"{uid}: ASR form must be lower-case words only: {a_text!r}")
    for text, spans in (written, asr):
        for s in spans:
            if text[s["start"]:s["end"]] != s["text"]:
                raise ValueError(f"{uid}: span offsets do not give its text: {s}")
            if s["text"] != s["text"].strip():
                raise ValueError(f"{uid}: span {s['text']!r} has surrounding spaces")
    for w, a in zip(w_spans, a_spans, strict=True):
        check_value(w["type"], w["text"], uid)
        if w["type"] in ("PHONE", "NHS_NUMBER", "NI_NUMBER", "POSTCODE", "NUMBER"):
            said, meant = spoken_to_chars(a["text"]), re.sub(r"[^0-9A-Z]", "", w["text"])
            if said != meant:
                raise ValueError(f"{uid}: ASR {a['text']!r} says {said!r}, not {meant!r}")


def read_templates(path: Path) -> list[tuple[str, str]]:
    """(written, asr) template pairs in file order."""
    pairs: list[list[str | None]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tag, _, body = line.partition(": ")
        if tag == "W":
            pairs.append([body, None])
        elif tag == "A" and pairs and pairs[-1][1] is None:
            pairs[-1][1] = body
        else:
            raise ValueError(f"{path.name}:{number}: expected 'W: ...' or one 'A: ...' after it")
    return [(w, a if a is not None else derive_asr(w)) for w, a in pairs]


def build(path: Path = TEMPLATES) -> list[dict]:
    rows = []
    for i, (w_template, a_template) in enumerate(read_templates(path), 1):
        uid = f"u{i:03d}"
        written, asr = parse(w_template), parse(a_template)
        check_pair(uid, written, asr)
        rows.append({"id": uid, "split": split_of(uid), "written": written[0],
                     "written_spans": written[1], "asr": asr[0], "asr_spans": asr[1]})
    return rows


def summarise(rows: list[dict]) -> dict[str, int]:
    counts = {t: 0 for t in TYPES}
    for row in rows:
        for s in row["written_spans"]:
            counts[s["type"]] += 1
    counts["utterances"] = len(rows)
    counts["no_pii_utterances"] = sum(not r["written_spans"] for r in rows)
    counts["test_utterances"] = sum(r["split"] == "test" for r in rows)
    return counts


def main() -> int:
    try:
        rows = build()
    except ValueError as e:
        print(f"make_eval_set: {e}", file=sys.stderr)
        return 1
    counts = summarise(rows)
    short = [t for t in TYPES if counts[t] < MIN_PER_TYPE]
    all_written = "\n".join(r["written"] for r in rows)
    missing = [n["text"] for n in LOCAL_NAMES if n["text"] not in all_written]
    if short or missing:
        print(f"make_eval_set: too few items of {short}; local names not in set: {missing}",
              file=sys.stderr)
        return 1
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    LOCAL_NAMES_OUT.write_text(json.dumps({"local_names": LOCAL_NAMES, "allow": ALLOW},
                                          indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(counts))
    print(f"wrote {OUT.relative_to(DATA.parent.parent)} and "
          f"{LOCAL_NAMES_OUT.relative_to(DATA.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
