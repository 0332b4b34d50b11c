"""Finding safeguarding concerns in a transcript's words with the reviewed phrase list.

Matching is on spaCy lemmas (dictionary forms), so one list entry, "cut myself", covers
"cutting myself" and "I cut myself" in the lower-case, loosely punctuated text Whisper
writes. A flag only asks a person to read an entry soon; it never blocks saving, and the
caller stores ``Concern.phrase`` (list text), never the person's words.
"""
from __future__ import annotations

import functools
import itertools
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from spacy.matcher import Matcher

from diaryroom.domain.redaction import join_words
from diaryroom.safeguarding.phrases import CATEGORIES, MAX_GAP, Phrase, Slot, load_phrases

if TYPE_CHECKING:
    from spacy.language import Language

# Lemmas need tok2vec, tagger, attribute_ruler and lemmatizer; the parser and entity
# recogniser would about double the time and tell us nothing here.
_NOT_NEEDED = ("parser", "ner", "senter")
_GAP_TOKEN = {"OP": f"{{0,{MAX_GAP}}}"}

_LOCK = threading.Lock()  # one Matcher built per pipeline, even with many worker threads
_DETECTORS: weakref.WeakKeyDictionary[Language, _Detector] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Concern:
    """Words ``first..last`` (inclusive indices into the transcript's words) that matched
    list phrase ``phrase`` of ``category``."""

    category: str
    first: int
    last: int
    phrase: str


def load_default_nlp() -> Language:
    """The packaged en_core_web_md pipeline, loaded once per process (a second or two).
    Never ``spacy.load(name)``: nothing may be downloaded at run time."""
    with _LOCK:
        return _load_default_nlp()


@functools.cache
def _load_default_nlp() -> Language:
    from ..nlp import load_english

    return load_english()


def find_concerns(words: Sequence[str], *, nlp: Language | None = None) -> list[Concern]:
    """Concerns in ``words``, sorted by first word; overlapping ones of a category merged.

    ``nlp`` is any spaCy English pipeline (pass the one you already hold); without one,
    ``load_default_nlp()``. A pipeline without a lemmatizer still works, on exact words.
    """
    text, offsets = join_words(words)
    if not text.strip():
        return []
    nlp = nlp if nlp is not None else load_default_nlp()
    with _LOCK:
        detector = _DETECTORS.get(nlp)
        if detector is None:
            detector = _DETECTORS[nlp] = _Detector(nlp, load_phrases())
    return detector.find(text, offsets)


def summary(concerns: Iterable[Concern]) -> dict[str, int]:
    """How many concerns of each category (every category present, zero if none)."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for concern in concerns:
        counts[concern.category] += 1
    return counts


def merge(concerns: Iterable[Concern]) -> list[Concern]:
    """Overlapping concerns of one category joined (the earliest phrase names them).

    >>> merge([Concern("abuse", 4, 6, "b"), Concern("abuse", 2, 4, "a")])
    [Concern(category='abuse', first=2, last=6, phrase='a')]
    """
    out: list[Concern] = []
    for c in sorted(concerns, key=lambda c: (c.category, c.first, -c.last)):
        if out and out[-1].category == c.category and c.first <= out[-1].last:
            out[-1] = replace(out[-1], last=max(out[-1].last, c.last))
        else:
            out.append(c)
    return sorted(out, key=lambda c: (c.first, c.last, CATEGORIES.index(c.category)))


class _Detector:
    """The phrase list compiled into one spaCy ``Matcher`` for one pipeline's vocabulary.
    Read-only after construction, so worker threads can share it."""

    def __init__(self, nlp: Language, phrases: Sequence[Phrase]):
        self.nlp = nlp
        self.disable = [name for name in nlp.pipe_names if name in _NOT_NEEDED]
        self.matcher = Matcher(nlp.vocab)
        self.phrases: dict[int, Phrase] = {}
        plain = sorted({w for p in phrases for s in p.slots if s for alt in s for w in alt
                        if not w.startswith("=")})
        self.tokens = {w: tuple(_lemma_token(t) for t in doc)
                       for w, doc in zip(plain, nlp.pipe(plain, disable=self.disable),
                                         strict=True)}
        for i, phrase in enumerate(phrases):
            key = nlp.vocab.strings.add(f"diaryroom.safeguarding.{i}")
            self.phrases[key] = phrase
            self.matcher.add(key, self._patterns(phrase.slots))

    def find(self, text: str, offsets: Sequence[tuple[int, int]]) -> list[Concern]:
        doc = self.nlp(text, disable=self.disable)
        for token in doc:  # match case-blind: lemmas keep "I" and a sentence's capitals
            lemma = token.lemma_ or token.text
            if lemma != token.lemma_ or not lemma.islower():
                token.lemma_ = lemma.lower()
        word_at = [-1] * len(text)
        for index, (start, end) in enumerate(offsets):
            word_at[start:end] = [index] * (end - start)
        flags, excluded = [], defaultdict(list)
        for key, start, end in self.matcher(doc):
            phrase = self.phrases[key]
            if phrase.exclude:
                excluded[phrase.category].append((start, end))
            else:
                flags.append((phrase, start, end))
        found = []
        for phrase, start, end in flags:
            if any(s < end and start < e for s, e in excluded[phrase.category]):
                continue
            last = doc[end - 1]
            found.append(Concern(phrase.category, word_at[doc[start].idx],
                                 word_at[last.idx + len(last) - 1], phrase.text))
        return merge(found)

    def _patterns(self, slots: Sequence[Slot]) -> list[list[dict]]:
        """Matcher patterns for one phrase: one per combination of alternatives whose
        lengths differ; same-length one-token alternatives share a single token test."""
        options: list[list[list[dict]]] = []
        for slot in slots:
            if slot is None:
                options.append([[_GAP_TOKEN]])
                continue
            lemmas: set[str] = set()
            exact: set[str] = set()
            longer: list[list[dict]] = []
            for alt in slot:
                seq = [t for w in alt for t in self._word_tokens(w)]
                if len(seq) == 1 and "LEMMA" in seq[0]:
                    lemmas.update(seq[0]["LEMMA"]["IN"])
                elif len(seq) == 1:
                    exact.add(seq[0]["LOWER"])
                else:
                    longer.append(seq)
            merged = [[{"LEMMA": {"IN": sorted(lemmas)}}]] if lemmas else []
            merged += [[{"LOWER": {"IN": sorted(exact)}}]] if exact else []
            options.append(merged + longer)
        return [[t for seq in combo for t in seq] for combo in itertools.product(*options)]

    def _word_tokens(self, word: str) -> tuple[dict, ...]:
        if word.startswith("="):
            return tuple({"LOWER": t.lower_} for t in self.nlp.tokenizer(word[1:]))
        return self.tokens[word]


def _lemma_token(token) -> dict:
    forms = {token.lower_, (token.lemma_ or token.text).lower()}
    return {"LEMMA": {"IN": sorted(forms)}}
