"""A fail-closed sweep of the shared text, after redaction and before anything is rendered.

The detector is tuned on speech it has heard; Whisper garbles speech it has not. So once
the plan is made, the text anyone outside the team would read (placeholders in place of
redacted words) is swept for what should not be there:

- ``digits``: a run of five or more digits that is no quantity (:mod:`diaryroom.pii.runs`);
- ``tail``: any digits right beside a number's placeholder ("[NUMBER] 416 ,001");
- ``shape``: a postcode or NI number spelt with letter names that are also words;
- ``code``: a token of letters and digits not on a short allow-list ("C17", "7PB"), with
  the neighbours that complete its shape ("C17 PB");
- ``email``: what is left of an address read out ("at gmail dot com", "x@", "jo dot com");
- ``unsure``: a word Whisper itself was unsure of (low word probability) next to a
  redaction or a cue ("my name is", "postcode"): a misheard surname or street.

Each is redacted with ``source="sweep"``, so review shows it highlighted for a person to
check. The sweep runs again on its own result; where it cannot decide (a long run of
unsure words, or passes that keep finding more) it says why in ``undecided``, by word
number and never by word, and the pipeline sends the entry to the team
(``needs_attention``), never out.

Pure: words, probabilities and a plan in; a plan out.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from diaryroom.domain.redaction import PLACEHOLDERS, Redaction, join_words, merge
from diaryroom.pii.runs import find_number_runs, find_shapes, is_quantity, number_runs
from diaryroom.pii.spoken import LETTER_NAMES

SWEEP = "sweep"  # the source of every redaction the sweep adds; review highlights it
LOW_PROBABILITY = 0.4  # Whisper's word probability below which it was guessing
MAX_UNSURE_WORDS = 3  # a longer run of guesses beside a redaction: a person decides
MAX_PASSES = 3  # the last pass must find nothing
# Letters-and-digits tokens that are not identifiers: formats, consoles, ordinals, decades,
# times and units ("mp3", "2nd", "1990s", "10am", "5k", "100mg").
ALLOWED_CODES = frozenset("mp3 mp4 4x4 ps4 ps5 covid19 covid 3d 2d 4g 5g 24h 24hrs".split())
_ALLOWED_SHAPE = re.compile(
    r"\d+(?:[.:]\d+)?(?:s|st|nd|rd|th|am|pm|k|p|m|g|kg|mg|ml|km|mb|gb|h|hr|hrs|min|mins|x|yo)"
    r"|\d+(?:-[a-z]{2,})+"  # "3-year-old", "24-hour"
    r"|[a-z]{3,}-\d+s?",  # "covid-19", "under-18s"
    re.IGNORECASE)
_DIGIT_TYPES = frozenset({"PHONE", "NUMBER", "NHS_NUMBER", "NI_NUMBER", "POSTCODE"})
CUE_WORDS = frozenset(
    "name name's names called named surname postcode address street road avenue lane "
    "close number number's phone mobile landline email e-mail born birth birthday dob nhs "
    "insurance reference mr mrs ms miss dr lives live lived".split())
_TOKEN = re.compile(r"[^\W_]+(?:['’@.-][^\W_]+)*")
_GAP = re.compile(r"[\s,.()\-–]{0,4}")
_PARTIAL_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?(?:\d[A-Z]{0,2})?|\d[A-Z]{2}")
_AT_DOT = re.compile(
    r"\bat\s+(?!(?:the|a|an|my|your|his|her|their|our|this|that|home|work|school|least|all|"
    r"first|last|night|it|one)\b)(?:[^\W_]+[\s.]+){0,3}?dot\s+[^\W_]+(?:\s+dot\s+[^\W_]+)*",
    re.IGNORECASE)
_DOT_DOMAIN = re.compile(r"[^\W_]+\]?\s+dot\s+(?:com|co|org|net|uk|io)\b(?:\s+dot\s+[^\W_]+)*",
                         re.IGNORECASE)
_AT_SIGN = re.compile(r"\S*@\S*")
_NOT_ADDRESS = frozenset("me us him her them it is was on or and be email mail address "
                         "e-mail to".split())


@dataclass(frozen=True, slots=True)
class Finding:
    """Words ``first..last`` (original indices) the sweep hid, and why."""

    first: int
    last: int
    type: str
    reason: str  # digits | tail | shape | code | email | unsure


@dataclass(frozen=True, slots=True)
class SweepResult:
    plan: tuple[Redaction, ...]  # the plan given, with the sweep's redactions added
    found: tuple[Finding, ...]
    undecided: tuple[str, ...]  # why a person must decide; word numbers, never words


@dataclass(frozen=True, slots=True)
class _Shared:
    """The shared text, and for each of its words the original words it stands for."""

    text: str
    offsets: list[tuple[int, int]]
    origin: list[tuple[int, int, str | None]]  # first, last, placeholder type or None


def sweep(words: Sequence[str], plan: Sequence[Redaction], *,
          probabilities: Sequence[float | None] | None = None, language: str | None = "en",
          low_probability: float = LOW_PROBABILITY) -> SweepResult:
    """Sweep the text ``plan`` leaves of ``words``; see the module's docstring.

    >>> words = "ring 0161 496 0018 or 07700 900 416 ,001 or C17 PB at 9".split()
    >>> result = sweep(words, [Redaction(5, 6, "PHONE")])  # "07700 900" was found
    >>> [(f.first, f.last, f.type, f.reason) for f in result.found]
    [(1, 3, 'PHONE', 'digits'), (7, 8, 'PHONE', 'tail'), (10, 11, 'POSTCODE', 'shape')]
    >>> [(r.first, r.last, r.source) for r in result.plan], result.undecided
    ([(1, 3, 'sweep'), (5, 6, 'auto'), (7, 8, 'sweep'), (10, 11, 'sweep')], ())
    """
    english = (language or "en").lower().replace("_", "-").split("-")[0] == "en"
    current = merge(plan)
    found: list[Finding] = []
    undecided: list[str] = []
    for _ in range(MAX_PASSES):
        shared = _share(words, current)
        new, unsure_runs = _findings(shared, probabilities, english, low_probability)
        for f in unsure_runs:
            undecided.append(f"{_words(f.first, f.last)}: {f.last - f.first + 1} words Whisper "
                             "was unsure of beside a redaction or a cue; how far the "
                             "personal data goes cannot be told")
        if not new:
            break
        found += new
        current = merge([*current, *(Redaction(f.first, f.last, f.type, SWEEP) for f in new)])
    else:
        undecided.append(f"the sweep still found something after {MAX_PASSES} passes "
                         f"({_words(found[-1].first, found[-1].last)})")
    return SweepResult(tuple(current), tuple(found), tuple(undecided))


def _words(first: int, last: int) -> str:
    return f"word {first}" if first == last else f"words {first}–{last}"


def _share(words: Sequence[str], plan: Sequence[Redaction]) -> _Shared:
    by_first = {r.first: r for r in plan}
    texts: list[str] = []
    origin: list[tuple[int, int, str | None]] = []
    i = 0
    while i < len(words):
        r = by_first.get(i)
        if r is None:
            texts.append(words[i])
            origin.append((i, i, None))
            i += 1
            continue
        lead = words[i][:len(words[i]) - len(words[i].lstrip())]
        texts.append(lead + r.placeholder)
        origin.append((r.first, r.last, r.type))
        i = r.last + 1
    text, offsets = join_words(texts)
    return _Shared(text, offsets, origin)


def _findings(shared: _Shared, probabilities: Sequence[float | None] | None, english: bool,
              low: float) -> tuple[list[Finding], list[Finding]]:
    """What one pass finds (merged, in order), and the unsure runs too long to decide."""
    text = shared.text
    spans: list[tuple[int, int, str, str]] = [
        (s.start, s.end, s.type, "digits") for s in find_number_runs(text, spoken=english)]
    spans += _tails(shared, english)
    if english:
        spans += [(s.start, s.end, s.type, "shape") for s in find_shapes(text)]
        spans += _emails(text)
    spans += _codes(shared)
    found: list[Finding] = []
    for start, end, kind, reason in spans:
        hit = [k for k, (a, b) in enumerate(shared.offsets) if a < end and start < b]
        found += _to_words(shared, hit, kind, reason)
    too_long: list[Finding] = []
    if probabilities is not None:
        for run in _unsure(shared, probabilities, low, english):
            found += _to_words(shared, run, "OTHER", "unsure")
            if len(run) > MAX_UNSURE_WORDS:
                too_long += _to_words(shared, run, "OTHER", "unsure")
    return _merged(found), too_long


def _to_words(shared: _Shared, hit: list[int], kind: str, reason: str) -> list[Finding]:
    """Findings over the original words of shared words ``hit``, placeholders left out."""
    out: list[Finding] = []
    for k in hit:
        first, last, placeholder = shared.origin[k]
        if placeholder is not None:
            continue
        if out and out[-1].last == first - 1:
            out[-1] = Finding(out[-1].first, last, kind, reason)
        else:
            out.append(Finding(first, last, kind, reason))
    return out


def _merged(found: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    order = list(PLACEHOLDERS)
    for f in sorted(found, key=lambda f: (f.first, f.last)):
        if out and f.first <= out[-1].last:
            prev = out[-1]
            keep = prev if order.index(prev.type) <= order.index(f.type) else f
            out[-1] = Finding(prev.first, max(prev.last, f.last), keep.type, keep.reason)
        else:
            out.append(f)
    return out


def _placeholder_at(shared: _Shared, k: int) -> str | None:
    return shared.origin[k][2] if 0 <= k < len(shared.origin) else None


def _tails(shared: _Shared, english: bool) -> list[tuple[int, int, str, str]]:
    """Digits right beside a number's placeholder: the head or tail of what it hid."""
    text, out = shared.text, []
    beside = [(a, b, kind) for (a, b), (_, _, kind) in zip(shared.offsets, shared.origin,
                                                          strict=True) if kind in _DIGIT_TYPES]
    for run in number_runs(text, spoken=english):
        kinds = [kind for a, b, kind in beside
                 if (b <= run.start and _GAP.fullmatch(text[b:run.start]))
                 or (run.end <= a and _GAP.fullmatch(text[run.end:a]))]
        if kinds and not is_quantity(text, run):
            out.append((run.start, run.end, kinds[0], "tail"))
    return out


def _codes(shared: _Shared) -> list[tuple[int, int, str, str]]:
    """Letters-and-digits tokens not on the allow-list, with the neighbours that could
    complete their shape: digits, capitals, spelt letters and other codes."""
    text, out = shared.text, []
    tokens = list(_TOKEN.finditer(text))
    for k, m in enumerate(tokens):
        word = m.group()
        if not _is_code(word):
            continue
        a = b = k
        while a > 0 and _completes(tokens[a - 1].group()) \
                and _GAP.fullmatch(text[tokens[a - 1].end():tokens[a].start()]):
            a -= 1
        while b + 1 < len(tokens) and _completes(tokens[b + 1].group()) \
                and _GAP.fullmatch(text[tokens[b].end():tokens[b + 1].start()]):
            b += 1
        said = re.sub(r"[^A-Z0-9]", "", "".join(t.group() for t in tokens[a:b + 1]).upper())
        kind = "POSTCODE" if _PARTIAL_POSTCODE.fullmatch(said) else "NUMBER"
        out.append((tokens[a].start(), tokens[b].end(), kind, "code"))
    return out


def _is_code(word: str) -> bool:
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word) \
        and "@" not in word and word.lower() not in ALLOWED_CODES \
        and not _ALLOWED_SHAPE.fullmatch(word)


def _completes(word: str) -> bool:
    """A neighbour that can be part of a code: digits, a code, 1-3 capitals, a spelt letter."""
    return word.isdigit() or _is_code(word) or word.lower() in LETTER_NAMES or (
        word.isalpha() and word.isupper() and len(word) <= 3 and word not in ("I", "A"))


def _emails(text: str) -> list[tuple[int, int, str, str]]:
    """What is left of an e-mail address read out, with the word before "at"."""
    out = []
    for m in _AT_DOT.finditer(text):
        start = m.start()
        before = re.search(r"([^\W_][\w.'-]*)\s+$", text[:start])
        if before and before.group(1).lower() not in _NOT_ADDRESS \
                and not text[:start].rstrip().endswith("]"):
            start = before.start(1)
        out.append((start, m.end(), "EMAIL", "email"))
    out += [(m.start(), m.end(), "EMAIL", "email") for m in _DOT_DOMAIN.finditer(text)]
    out += [(m.start(), m.end(), "EMAIL", "email") for m in _AT_SIGN.finditer(text)]
    return out


def _unsure(shared: _Shared, probabilities: Sequence[float | None], low: float,
            english: bool) -> list[list[int]]:
    """Runs of shared words Whisper was unsure of, beside a placeholder or after a cue."""
    def unsure(k: int) -> bool:
        first, last, placeholder = shared.origin[k]
        if placeholder is not None:
            return False
        word = shared.text[shared.offsets[k][0]:shared.offsets[k][1]]
        p = probabilities[first] if first < len(probabilities) else None
        return p is not None and p < low and any(c.isalnum() for c in word)

    def cue(k: int) -> bool:
        if not english or k < 0 or shared.origin[k][2] is not None:
            return False
        word = shared.text[shared.offsets[k][0]:shared.offsets[k][1]]
        return word.lower().strip(",.?!:;\"'") in CUE_WORDS

    runs: list[list[int]] = []
    k, n = 0, len(shared.origin)
    while k < n:
        if not unsure(k):
            k += 1
            continue
        end = k
        while end + 1 < n and unsure(end + 1):
            end += 1
        beside = _placeholder_at(shared, k - 1) or _placeholder_at(shared, end + 1)
        if beside or cue(k - 1) or cue(k - 2):
            runs.append(list(range(k, end + 1)))
        k = end + 1
    return runs
