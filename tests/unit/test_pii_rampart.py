"""The second name model (Rampart, ONNX) on its own and inside the detector.

The model loads once for the module (a fraction of a second); the detector once per
process, as everywhere else."""
from __future__ import annotations

import doctest

import pytest

from diaryroom.domain.redaction import Span
from diaryroom.pii import Detector, get_detector, rampart
from diaryroom.pii.engine import build_analyzer, join_initials, load_pipeline
from diaryroom.pii.recognisers import RampartRecognizer
from diaryroom.pii.vocabulary import everyday_words
from tests.unit.test_pii_detector import refuse_network

# A name nobody's word list holds, said the way Whisper writes it: spaCy alone finds
# nothing here, the name cues do not fire, and Rampart does.
ASR_MISSED_BY_SPACY = "me and tariq slept in the doorway by the bus station"


@pytest.fixture(scope="module")
def model() -> rampart.RampartModel:
    """The model, loaded with every connection refused: it must never go online."""
    with pytest.MonkeyPatch.context() as mp:
        refuse_network(mp)
        rampart.load_model.cache_clear()
        return rampart.load_model()


def found(text: str, spans) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.type) for s in spans]


def test_model_files_come_from_the_installed_wheel(model: rampart.RampartModel) -> None:
    assert "B-GIVEN_NAME" in model.labels and "B-CITY" in model.labels
    assert rampart.load_model() is model  # cached


@pytest.mark.parametrize(("text", "expected"), [
    ("My key worker Oluwaseun Adeyemi moved me to Wolverhampton.",
     [("Oluwaseun Adeyemi", "NAME"), ("Wolverhampton", "PLACE")]),
    ("i saw siobhan mcallister in kirkcaldy last week",
     [("siobhan mcallister", "NAME"), ("kirkcaldy", "PLACE")]),
    ("me and dwayne went down to brixton", [("dwayne", "NAME"), ("brixton", "PLACE")]),
    ("i live at 14 acacia avenue in leeds", [("14 acacia avenue", "ADDRESS"), ("leeds", "PLACE")]),
    ("we went to the park and then the shop, it took three days", []),
])
def test_names_and_places_written_and_as_whisper_writes(
        model: rampart.RampartModel, text: str, expected: list) -> None:
    assert found(text, rampart.find_entities(text)) == expected


def test_word_pieces_merge_into_whole_words_at_the_right_offsets(
        model: rampart.RampartModel) -> None:
    text = "so yeah, siobhan mcallister from kirkcaldy came round"
    pieces = [p for p in rampart.label_pieces(model, text) if p.score >= rampart.THRESHOLD]
    assert len(pieces) > 3  # "si", "##ob", "##han", "mca", ...: one label a piece
    spans = rampart.find_entities(text)
    assert [(s.start, s.end) for s in spans] == [(9, 27), (33, 42)]
    assert found(text, spans) == [("siobhan mcallister", "NAME"), ("kirkcaldy", "PLACE")]


def test_a_word_counts_when_any_piece_of_it_is_labelled() -> None:
    text = "ask oluwaseun"
    pieces = [rampart.Piece(4, 6, "GIVEN_NAME", 0.9), rampart.Piece(6, 9, "O", 0.8),
              rampart.Piece(9, 13, "GIVEN_NAME", 0.4)]  # below the threshold
    assert found(text, rampart.merge_pieces(text, pieces)) == [("oluwaseun", "NAME")]


def test_a_piece_spanning_several_words_marks_each_of_them() -> None:
    text = "suite eight three eight charleroi"  # "838" as the model read it
    pieces = [rampart.Piece(6, 23, "SECONDARY_ADDRESS", 0.9),
              rampart.Piece(24, 33, "CITY", 0.9)]
    assert found(text, rampart.merge_pieces(text, pieces)) == [("charleroi", "PLACE")]
    pieces[0] = rampart.Piece(6, 23, "BUILDING_NUMBER", 0.9)
    text = "suite eight three eight acacia avenue"
    pieces[1] = rampart.Piece(24, 37, "STREET_NAME", 0.9)
    assert found(text, rampart.merge_pieces(text, pieces)) == [
        ("eight three eight acacia avenue", "ADDRESS")]


def test_numbers_said_as_words_are_read_as_digits() -> None:
    read, origin = rampart.model_text("flat two at nine four one two two harbour view")
    assert read == "flat two at 94122 harbour view"  # one digit stays a word
    assert {origin[k] for k in range(12, 17)} == {(12, 33)}  # each digit: all five words
    assert origin[read.index("harbour")] == (34, 35)
    written = "call 07700 900123 or 0161 496 0018"
    assert rampart.model_text(written) == (written, [(k, k + 1) for k in range(len(written))])


def test_a_place_after_a_number_said_as_words_is_found(model: rampart.RampartModel) -> None:
    """Read as words, the numbers hid the town from the model (it learnt addresses
    written with digits); read as digits, it finds the town and the whole address."""
    text = "ship it to three three one nine fenwick street suite five zero two ardrossan"
    assert found(text, rampart.find_entities(text)) == [
        ("three three one nine fenwick street suite five zero two", "ADDRESS"),
        ("ardrossan", "PLACE")]


@pytest.mark.parametrize("text", ["it cost me £2,450 to fix the van",
                                  "i owe about £3,100 in arrears"])
def test_an_amount_of_money_is_no_postcode(model: rampart.RampartModel, text: str) -> None:
    assert rampart.find_entities(text) == []


def test_a_number_or_flat_without_a_street_is_not_redacted() -> None:
    text = "room 14 and flat 3"
    pieces = [rampart.Piece(5, 7, "BUILDING_NUMBER", 0.9),
              rampart.Piece(12, 18, "SECONDARY_ADDRESS", 0.9)]
    assert rampart.merge_pieces(text, pieces) == []


def test_long_text_is_read_a_sentence_and_a_window_at_a_time(
        model: rampart.RampartModel) -> None:
    sentence = "i stayed with siobhan mcallister in kirkcaldy for a week"
    long = " and then ".join([sentence] * 12)  # over 150 tokens and no full stop
    spans = rampart.find_entities(long)
    assert sum(long[s.start:s.end] == "kirkcaldy" for s in spans) >= 10
    assert all(long[s.start:s.end] in ("siobhan mcallister", "kirkcaldy") for s in spans)


def test_windows_cover_every_token_once() -> None:
    ws = rampart.windows(100, [9, 40])
    labelled = [k for w in ws for k in w.labelled]
    assert labelled == list(range(100))
    assert all(w.seen.start <= w.labelled.start and w.labelled.stop <= w.seen.stop
               for w in ws)
    assert doctest.testmod(rampart).failed == 0


def test_recogniser_reports_names_and_places_under_presidio_ner_names(
        model: rampart.RampartModel) -> None:
    text = "me and dwayne went down to brixton"
    results = RampartRecognizer("en").analyze(text, ["PERSON", "LOCATION"])
    assert [(text[r.start:r.end], r.entity_type) for r in results] == [
        ("dwayne", "PERSON"), ("brixton", "LOCATION")]


@pytest.fixture(scope="module")
def spacy_only() -> Detector:
    """The detector as it was before Rampart: the same analyzer less its recogniser."""
    analyzer = build_analyzer(load_pipeline())
    analyzer.registry.remove_recognizer("Rampart")
    return Detector(analyzer)


def test_the_combined_detector_finds_a_name_spacy_alone_misses(spacy_only: Detector) -> None:
    text = ASR_MISSED_BY_SPACY
    assert spacy_only.detect(text) == []
    assert found(text, get_detector().detect(text)) == [("tariq", "NAME")]


@pytest.mark.parametrize("text", [
    "Born in February, Valentine's Day, my mum said.",  # a festival, not a Valentine
    "i got a trial at greggs",  # the organisation list knows it is a shop
])
def test_detector_keeps_its_lists_over_the_model(text: str) -> None:
    assert all(s.type != "NAME" and s.type != "PLACE" for s in get_detector().detect(text))


# Everyday words the model took for names or places, each with the word it took.
EVERYDAY = [
    ("The food here is rubbish but the beds are warm.", "rubbish"),
    ("We walked for miles and miles.", "miles"),
    ("My national insurance number, hang on, it's on a letter somewhere.", "hang"),
    ("Hiya, it's me again, back at the day centre.", "Hiya"),
]


@pytest.mark.parametrize(("text", "word"), EVERYDAY)
def test_everyday_words_are_not_names(model: rampart.RampartModel, text: str,
                                      word: str) -> None:
    """The model alone takes each word for a name or place; the detector does not."""
    taken = [text[s.start:s.end] for s in rampart.find_entities(text)]
    assert any(word in t for t in taken), "the model no longer errs here: pick another"
    assert get_detector().detect(text) == []


@pytest.mark.parametrize(("text", "name"), [
    ("Hiya Miles, how are you?", "Miles"),  # a capital mid-sentence is a name's
    ("me and dawn stopped at the hostel", "dawn"),  # a name the lists know, in context
    ("me and tariq slept in the doorway", "tariq"),  # unknown to the vocabulary
])
def test_names_that_are_words_or_unknown_still_count(text: str, name: str) -> None:
    hidden = [text[s.start:s.end] for s in get_detector().detect(text) if s.type == "NAME"]
    assert any(name in h for h in hidden)


def test_everyday_words_come_from_the_vocabulary() -> None:
    nlp = load_pipeline()
    order = {nlp.vocab.strings[k]: rank for rank, k in enumerate(nlp.vocab.vectors.key2row)}
    assert order["the"] < order["helicopter"] < order["salarymen"]  # most frequent first
    everyday = everyday_words(nlp.vocab)
    assert {"rubbish", "hang", "miles", "helicopter", "the"} <= everyday
    assert not everyday & {"sandra", "tariq", "siobhan", "leeds", "belgium", "hiya"}


def test_plain_word_needs_one_lower_case_everyday_word() -> None:
    words = {"rubbish", "court"}
    assert rampart.plain_word("it's rubbish", Span(5, 12, "NAME"), words)
    assert not rampart.plain_word("ask Rubbish", Span(4, 11, "NAME"), words)  # a capital
    assert not rampart.plain_word("willow court", Span(0, 12, "PLACE"), words)  # two words
    assert not rampart.plain_word("rubbish", Span(0, 7, "ADDRESS"), words)


@pytest.mark.parametrize(("text", "name"), [
    ("i'm staying with marta j kowalczyk at the moment", "marta j kowalczyk"),
    ("it's under my sister's name, priya r anand", "priya r anand"),
])
def test_a_middle_initial_goes_with_the_name(text: str, name: str) -> None:
    assert (name, "NAME") in found(text, get_detector().detect(text))


def test_two_names_around_a_letter_become_one() -> None:
    text = "ravil g yefimov"
    spans = [Span(0, 5, "NAME", 0.6), Span(8, 15, "NAME", 0.9)]
    assert found(text, join_initials(text, spans)) == [
        ("ravil", "NAME"), ("yefimov", "NAME"), ("ravil g yefimov", "NAME")]
    assert join_initials("ravil, g, yefimov", spans) == spans  # not one name


@pytest.mark.parametrize(("text", "expected"), [
    ("i came over from eritrea two years ago", [("eritrea", "PLACE")]),
    ("my mum lives in the czech republic now", [("czech republic", "PLACE")]),
    ("i grew up in turkey near the sea", [("turkey", "PLACE")]),
    ("we had turkey for christmas dinner", []),  # an everyday word: needs a cue
])
def test_countries_are_places(text: str, expected: list) -> None:
    assert found(text, get_detector().detect(text)) == expected
