"""The recognisers Presidio runs for us: some of Presidio's own, and our pure finders.

Reused from Presidio: spaCy NER (names, places, organisations), written emails (with an
offline public-suffix check), written phone numbers that ``phonenumbers`` calls valid,
and the UK NHS and National Insurance number patterns. A second name model, Rampart
(:mod:`diaryroom.pii.rampart`), finds names and places in lower-case text, reported as
Presidio's PERSON and LOCATION so the detector treats them exactly like spaCy's. Ours
(pure functions over text, each tested alone): identifiers written or spoken, spoken
emails, street addresses and dates of birth.

Two recogniser sets are built: one for English, and one for any other language, which
runs only what does not depend on English words (digits, capitals, @ addresses) plus
spaCy's English NER for capitalised names and places.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    EmailRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UkNinoRecognizer,
)

from diaryroom.domain.redaction import Span
from diaryroom.pii import emails, rampart
from diaryroom.pii.addresses import find_addresses
from diaryroom.pii.birth import find_dates_of_birth
from diaryroom.pii.identifiers import find_identifiers
from diaryroom.pii.runs import find_number_runs, find_shapes

# Presidio's entity names to ours; anything else Presidio finds is dropped.
PRESIDIO_TYPES = {
    "PERSON": "NAME",
    "LOCATION": "PLACE",
    "ORGANIZATION": "ORGANISATION",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "UK_NHS": "NHS_NUMBER",
    "UK_NINO": "NI_NUMBER",
}
# spaCy's labels to Presidio's. Nationalities and groups (NORP), dates, amounts, events and
# the like are not redacted, so they are ignored here rather than found and dropped.
NER_MAPPING = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
               "FAC": "LOCATION", "ORG": "ORGANIZATION"}
NER_IGNORED = ("NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "QUANTITY", "PERCENT",
               "LANGUAGE", "WORK_OF_ART", "EVENT", "LAW", "PRODUCT")
NER_SCORE = 0.85
_RUN_TYPES = ("PHONE", "NHS_NUMBER", "NUMBER", "DATE_OF_BIRTH")  # what a run of digits is


class FinderRecognizer(EntityRecognizer):
    """One of our pure finders (``text -> list[Span]``) as a Presidio recogniser; the
    entity names it reports are already our types."""

    def __init__(self, name: str, find: Callable[[str], list[Span]], entities: Sequence[str],
                 language: str) -> None:
        self._find = find
        super().__init__(supported_entities=list(entities), name=name,
                         supported_language=language)

    def load(self) -> None:  # nothing to load: the finders are plain functions
        pass

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        return [RecognizerResult(s.type, s.start, s.end, s.score)
                for s in self._find(text) if s.type in entities]


class RampartRecognizer(EntityRecognizer):
    """The Rampart model's finds. Names and places are reported under Presidio's NER names
    (PERSON, LOCATION), so the detector filters and ranks them as it does spaCy's. A
    single word in ``everyday`` (lower case) is not reported as a name or place unless
    written with a capital mid-sentence (:func:`diaryroom.pii.rampart.plain_word`)."""

    ENTITIES = {"NAME": "PERSON", "PLACE": "LOCATION", "ADDRESS": "ADDRESS",
                "POSTCODE": "POSTCODE"}

    def __init__(self, language: str, *, everyday: Collection[str] = frozenset()) -> None:
        self._everyday = everyday
        super().__init__(supported_entities=list(self.ENTITIES.values()), name="Rampart",
                         supported_language=language)

    def load(self) -> None:
        rampart.load_model()  # cached: one model for every recogniser and thread

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        return [RecognizerResult(kind, s.start, s.end, s.score)
                for s in rampart.find_entities(text, everyday=self._everyday)
                if (kind := self.ENTITIES[s.type]) in entities]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recogniser checking the domain against tldextract's bundled
    public-suffix snapshot. The stock one calls ``tldextract.extract``, which downloads
    the list on first use, and the kiosk server has no internet."""

    def validate_result(self, pattern_text: str) -> bool:
        return emails.OFFLINE_TLD(pattern_text).fqdn != ""


def english(language: str = "en", *, everyday: Collection[str] = frozenset()
            ) -> list[EntityRecognizer]:
    """Everything, for text Whisper heard as English; ``everyday``: the lower-case words
    the name model must not report alone (:mod:`diaryroom.pii.vocabulary`)."""
    return [
        SpacyRecognizer(supported_language=language, ner_strength=NER_SCORE,
                        supported_entities=["PERSON", "LOCATION", "ORGANIZATION"]),
        RampartRecognizer(language, everyday=everyday),
        *_structured(language),
        FinderRecognizer("SpokenIdentifiers", find_identifiers,
                         ("PHONE", "NHS_NUMBER", "NI_NUMBER", "POSTCODE", "NUMBER"), language),
        FinderRecognizer("SpokenEmails", emails.find_spoken_emails, ("EMAIL",), language),
        FinderRecognizer("Addresses", find_addresses, ("ADDRESS", "PLACE"), language),
        FinderRecognizer("DatesOfBirth", find_dates_of_birth, ("DATE_OF_BIRTH",), language),
        FinderRecognizer("NumberRuns", find_number_runs, _RUN_TYPES, language),
        FinderRecognizer("SpeltShapes", find_shapes, ("POSTCODE", "NI_NUMBER"), language),
    ]


def any_language(language: str) -> list[EntityRecognizer]:
    """What holds in any language: written identifiers and capitalised names."""
    return [
        SpacyRecognizer(supported_language=language, ner_strength=NER_SCORE,
                        supported_entities=["PERSON", "LOCATION"]),
        *_structured(language),
        FinderRecognizer("WrittenIdentifiers", _written_identifiers,
                         ("PHONE", "NHS_NUMBER", "NI_NUMBER", "POSTCODE", "NUMBER"), language),
        FinderRecognizer("WrittenNumberRuns", _written_runs, _RUN_TYPES, language),
    ]


def _structured(language: str) -> list[EntityRecognizer]:
    return [
        OfflineEmailRecognizer(supported_language=language),
        PhoneRecognizer(supported_language=language, supported_regions=("GB",), leniency=1),
        NhsRecognizer(supported_language=language),
        UkNinoRecognizer(supported_language=language),
    ]


def _written_identifiers(text: str) -> list[Span]:
    return find_identifiers(text, spoken=False)


def _written_runs(text: str) -> list[Span]:
    return find_number_runs(text, spoken=False)
