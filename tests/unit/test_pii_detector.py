"""The whole detector: Presidio and spaCy with our finders, local names and the allow-list.
spaCy loads once for the module (about a second)."""
from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from diaryroom.domain.redaction import TYPES, join_words, plan_redactions
from diaryroom.pii import DEFAULT_SCORE_THRESHOLD, Detector, LocalName, get_detector
from diaryroom.pii import emails as pii_emails

TRANSCRIPT = (
    "so yeah my name is tommo and i've been staying at hope house in leeds for about three "
    "months now. my support worker john smith helped me sort my universal credit and i went "
    "to the jobcentre on monday. my number is oh seven seven double oh nine hundred one two "
    "three if anyone needs it. i used to live at 14 acacia avenue in manchester before my "
    "mum passed away and then i was on the streets. Yesterday I met Will Brown from the "
    "council and he said my NHS number 943 476 5919 was on the form. email me at j smith "
    "underscore ninety at hotmail dot co dot uk. i was born on the twelfth of march nineteen "
    "eighty five. it cost five hundred pounds. my postcode is m one one a e. welcome to the "
    "diary room, i will be back in 2025."
)
LOCAL = [LocalName("Hope House", "PLACE"), LocalName("Sandra", "NAME")]


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(scope="module")
def detector() -> Detector:
    return get_detector()


def refuse_network(mp: pytest.MonkeyPatch) -> None:
    """From here on (until ``mp`` is undone), any attempt to open a connection or resolve
    a name raises ``NetworkUsed``."""
    def refuse(*args, **kwargs):
        raise NetworkUsed(f"network access attempted: {args[1:] or kwargs}")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
    mp.setattr(socket, "create_connection", refuse)
    mp.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or resolve a name fails the test."""
    refuse_network(monkeypatch)


def found(text: str, spans) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.type) for s in spans]


def test_the_guard_does_catch_network_use(no_network: None) -> None:
    with pytest.raises(NetworkUsed):
        socket.create_connection(("publicsuffix.org", 443), timeout=1)
    with pytest.raises(NetworkUsed):
        socket.socket().connect(("127.0.0.1", 9))


def test_detection_uses_no_network(detector: Detector, no_network: None,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh offline extractor must load its public-suffix list with the guard up.
    monkeypatch.setattr(pii_emails, "OFFLINE_TLD", pii_emails.offline_extractor())
    text = "write to john.smith@gmail.com or ann at hotmail dot co dot uk, ring 07700 900123"
    assert found(text, detector.detect(text)) == [
        ("john.smith@gmail.com", "EMAIL"), ("ann at hotmail dot co dot uk", "EMAIL"),
        ("07700 900123", "PHONE")]


def test_the_detector_is_loaded_once(detector: Detector) -> None:
    assert get_detector() is detector


def test_a_whisper_transcript(detector: Detector) -> None:
    spans = detector.detect(TRANSCRIPT, language="en", local_names=LOCAL, allow=["Diary Room"])
    got = found(TRANSCRIPT, spans)
    for expected in [
        ("tommo", "NAME"), ("hope house", "PLACE"), ("leeds", "PLACE"),
        ("john smith", "NAME"),
        ("oh seven seven double oh nine hundred one two three", "PHONE"),
        ("14 acacia avenue", "ADDRESS"), ("manchester", "PLACE"), ("Will Brown", "NAME"),
        ("943 476 5919", "NHS_NUMBER"),
        ("j smith underscore ninety at hotmail dot co dot uk", "EMAIL"),
        ("twelfth of march nineteen eighty five", "DATE_OF_BIRTH"),
        ("m one one a e", "POSTCODE"),
    ]:
        assert expected in got
    text_found = " | ".join(t.lower() for t, _ in got)
    for kept in ("universal credit", "jobcentre", "nhs", "diary room", "five hundred", "2025",
                 "monday", "council"):
        assert kept not in text_found
    assert [s.source for s in spans if TRANSCRIPT[s.start:s.end] == "hope house"] == ["local"]
    assert all(s.type in TYPES for s in spans)
    assert spans == sorted(spans, key=lambda s: (s.start, -s.end))


def test_everyday_speech_has_nothing_to_redact(detector: Detector) -> None:
    text = ("I will go to the shops tomorrow, may I have some money? It cost five hundred "
            "pounds back in 2019. I've been sleeping rough for two years. I hope things get "
            "better. We're British, from Polish families. Christmas was lonely.")
    assert detector.detect(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Um, a lady called Joy from Crisis helped me.", [("Joy", "NAME"), ("Crisis", "ORGANISATION")]),
    ("i got a trial at greggs", [("greggs", "ORGANISATION")]),
])
def test_organisations_people_name_are_redacted(detector: Detector, text: str,
                                                expected: list) -> None:
    assert found(text, detector.detect(text)) == expected


@pytest.mark.parametrize("text", [
    "My NI number is the one on the card.",  # not Northern Ireland
    "Mum's landline is the same.", "My nan was right, God rest her.",  # relations
    "Rent's due a month for a room.", "Born in February, Valentine's Day, my mum said.",
    "the food bank is open wednesdays",
])
def test_words_ner_mistakes_for_names_are_not_redacted(detector: Detector, text: str) -> None:
    assert detector.detect(text) == []


def test_words_spelling_a_letter_are_not_names(detector: Detector) -> None:
    text = "My email is sandra.k@example.com, that's K for Kilo."
    assert found(text, detector.detect(text)) == [("sandra.k@example.com", "EMAIL")]


def test_recasing_keeps_offsets_on_the_original_text(detector: Detector) -> None:
    text = "yesterday i saw sandra white and kevin in stoke on trent"
    got = found(text, detector.detect(text))
    assert ("sandra white", "NAME") in got
    assert ("kevin", "NAME") in got
    assert ("stoke on trent", "PLACE") in got


def test_written_entry_in_normal_case(detector: Detector) -> None:
    text = ("My name is Priya Sharma. You can call me on 020 7946 0018 or email "
            "priya.sharma@example.org. I live at Flat 2, 7 Mill Lane, SW1A 1AA. "
            "DOB 12/03/1985, NI number AB 12 34 56 C.")
    got = found(text, detector.detect(text))
    for expected in [("Priya Sharma", "NAME"), ("020 7946 0018", "PHONE"),
                     ("priya.sharma@example.org", "EMAIL"), ("Flat 2, 7 Mill Lane", "ADDRESS"),
                     ("SW1A 1AA", "POSTCODE"), ("12/03/1985", "DATE_OF_BIRTH"),
                     ("AB 12 34 56 C", "NI_NUMBER")]:
        assert expected in got


def test_local_names_and_allow_list(detector: Detector) -> None:
    text = "thanks to sandra and everyone at hope-house and the Diary Room team"
    spans = detector.detect(text, local_names=LOCAL, allow=["diary room"])
    assert [(t, k, s.source) for (t, k), s in zip(found(text, spans), spans, strict=True)] == [
        ("sandra", "NAME", "local"), ("hope-house", "PLACE", "local")]
    # Allowing a phrase wins over a local name inside it.
    spans = detector.detect(text, local_names=LOCAL, allow=["Hope House"])
    assert ("hope-house", "PLACE") not in found(text, spans)


def test_other_languages_get_structured_identifiers_and_capitalised_names(
        detector: Detector) -> None:
    text = ("Mam na imię Agnieszka, mieszkam w Leeds w Hope House. Mój numer to 07700 900123, "
            "email agnieszka.k@wp.pl, kod LS1 4AP, NHS 943 476 5919, siedem siedem siedem.")
    got = found(text, detector.detect(text, language="pl", local_names=LOCAL))
    for expected in [("Agnieszka", "NAME"), ("Leeds", "PLACE"), ("Hope House", "PLACE"),
                     ("07700 900123", "PHONE"), ("agnieszka.k@wp.pl", "EMAIL"),
                     ("LS1 4AP", "POSTCODE"), ("943 476 5919", "NHS_NUMBER")]:
        assert expected in got
    assert not any("siedem" in t for t, _ in got)  # English number words only


def test_score_threshold(detector: Detector) -> None:
    text = "nhs 943 476 5919 and account 12345678"
    assert found(text, detector.detect(text)) == [("943 476 5919", "NHS_NUMBER"),
                                                  ("12345678", "NUMBER")]
    assert found(text, detector.detect(text, score_threshold=0.95)) == [
        ("943 476 5919", "NHS_NUMBER")]
    assert 0 < DEFAULT_SCORE_THRESHOLD < 0.6


def test_empty_text(detector: Detector) -> None:
    assert detector.detect("") == [] and detector.detect("   ") == []


def test_spans_plan_onto_whisper_words(detector: Detector) -> None:
    words = [" My", " name", " is", " Sandra,", " ring", " oh", " seven", " seven", " double",
             " oh", " nine", " hundred", " one", " two", " three."]
    text, offsets = join_words(words)
    plan = plan_redactions(detector.detect(text, local_names=LOCAL), offsets)
    assert [(r.first, r.last, r.type) for r in plan] == [(3, 3, "NAME"), (5, 14, "PHONE")]


def test_concurrent_calls_match_sequential_ones(detector: Detector) -> None:
    texts = [TRANSCRIPT, "ring 07700 900123", "my name is tommo", "born on 1st may 1990",
             "Mieszkam w Leeds"] * 4
    languages = ["en", "en", "en", "en", "pl"] * 4
    expected = [detector.detect(t, language=lang) for t, lang in zip(texts, languages,
                                                                     strict=True)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda pair: detector.detect(pair[0], language=pair[1]),
                            zip(texts, languages, strict=True)))
    assert got == expected
