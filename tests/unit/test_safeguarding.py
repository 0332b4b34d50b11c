"""Safeguarding flags: disclosures in ASR-style and written transcripts, idioms that must
stay quiet, word-index mapping, merging and the phrase file itself."""
from __future__ import annotations

import doctest
import threading

import pytest
import spacy

from diaryroom.safeguarding import (
    CATEGORIES,
    Concern,
    PhraseListError,
    detect,
    find_concerns,
    load_default_nlp,
    load_phrases,
    merge,
    phrases,
    summary,
)
from diaryroom.safeguarding.phrases import expand_variants, parse


@pytest.fixture(scope="module")
def nlp():
    return load_default_nlp()


def flagged(sentence: str, nlp) -> set[tuple[str, str]]:
    """(category, flagged words) for a sentence split into words as Whisper would."""
    words = [" " + w for w in sentence.split()]
    return {(c.category, " ".join(w.strip() for w in words[c.first:c.last + 1]))
            for c in find_concerns(words, nlp=nlp)}


DISCLOSURES = [
    # risk to life
    ("i just want to kill myself", "risk_to_life", "kill myself"),
    ("I want to kill myself.", "risk_to_life", "kill myself."),
    ("i wanted to kill my self last winter", "risk_to_life", "kill my self"),
    ("sometimes i dont want to be here anymore", "risk_to_life",
     "dont want to be here anymore"),
    ("Honestly, I don't want to be here any more.", "risk_to_life",
     "don't want to be here any more."),
    ("i've been feeling suicidal again", "risk_to_life", "suicidal"),
    ("I keep thinking about ending it all.", "risk_to_life", "ending it all."),
    ("i'd be better off dead", "risk_to_life", "better off dead"),
    ("i've been saving up my tablets", "risk_to_life", "saving up my tablets"),
    ("i took an overdose on purpose", "risk_to_life", "took an overdose on purpose"),
    # self harm
    ("i've been cutting myself again", "self_harm", "been cutting myself"),
    ("I cut my arms last night.", "self_harm", "cut my arms"),
    ("i keep hurting my self", "self_harm", "hurting my self"),
    ("I've started self-harming again.", "self_harm", "self-harming"),
    ("burning myself with cigarettes helps", "self_harm", "burning myself"),
    ("i took an overdose on purpose", "self_harm", "overdose"),
    # abuse
    ("my boyfriend hits me when he's drunk", "abuse", "boyfriend hits me"),
    ("He takes all my money.", "abuse", "takes all my money."),
    ("he won't let me see my friends", "abuse", "won't let me see"),
    ("i was sexually abused as a kid", "abuse", "abused"),
    ("my ex used to strangle me", "abuse", "ex used to strangle me"),
    ("I'm always walking on eggshells around him.", "abuse", "walking on eggshells"),
    ("I left because of domestic violence.", "abuse", "domestic violence."),
    ("he raped me", "abuse", "raped"),
    # violence
    ("i got beaten up by some lads last night", "violence", "beaten up"),
    ("Someone stabbed me outside the hostel.", "violence", "stabbed"),
    ("he said he was going to kill me", "violence", "kill me"),
    ("i got jumped on the way back", "violence", "got jumped"),
    ("I was attacked in the park.", "violence", "attacked"),
    ("if he does it again i'll kill him", "violence", "kill him"),
    ("he pulled a knife on me", "violence", "pulled a knife"),
    # exploitation
    ("they took over my flat and deal from it", "exploitation", "took over my flat"),
    ("These lads have been cuckooing me for months.", "exploitation", "cuckooing"),
    ("they make me sell drugs for them", "exploitation", "make me sell drugs for"),
    ("i was made to work for no pay", "exploitation", "made to work for no pay"),
    ("I got pulled into county lines when I was 15.", "exploitation", "county lines"),
    ("i owe them money so i hold stuff", "exploitation", "owe them money"),
    ("I was trafficked to the UK.", "exploitation", "trafficked"),
]


@pytest.mark.parametrize(("sentence", "category", "words"), DISCLOSURES)
def test_disclosure_is_flagged_on_the_right_words(nlp, sentence, category, words):
    assert (category, words) in flagged(sentence, nlp)


def test_every_category_has_disclosure_examples():
    assert {category for _, category, _ in DISCLOSURES} == set(CATEGORIES)


ORDINARY = [
    "this queue is killing me",
    "I could murder a cup of tea.",
    "i nearly died laughing",
    "my feet are killing me after all that walking",
    "i was killing myself laughing at that film",
    "I had a battered sausage and chips.",
    "then it hit me that i need to sort my benefits out",
    "hit me up if you want to play football",
    "I've been cutting back on the drink.",
    "my hours have been cut again",
    "i had a panic attack at the jobcentre",
    "I'm not suicidal, just really tired.",
    "i was stuck in traffic for ages",
    "i like rap music",
    "the staff here are kind and the food is good",
    "the drug abuse round here is bad",
    "i got my hair cut on tuesday",
]


@pytest.mark.parametrize("sentence", ORDINARY)
def test_idioms_and_ordinary_talk_are_not_flagged(nlp, sentence):
    assert flagged(sentence, nlp) == set()


def test_whisper_words_map_back_to_word_indices(nlp):
    words = [" So", " I", " want", " to", " kill", " my", " self", " sometimes."]
    assert find_concerns(words, nlp=nlp) == [
        Concern("risk_to_life", 4, 6, "kill|top|hang|unalive myself")]


def test_words_holding_several_tokens_or_none_map_whole(nlp):
    words = ["", " ", " I", " don't want", " to be here", " any more."]
    [concern] = find_concerns(words, nlp=nlp)
    assert (concern.category, concern.first, concern.last) == ("risk_to_life", 3, 5)


def test_overlapping_matches_of_a_category_merge(nlp):
    words = "i've been cutting again since christmas".split()  # two phrases, one flag
    assert find_concerns(words, nlp=nlp) == [Concern("self_harm", 1, 3, "=been =cutting")]


def test_categories_do_not_merge_with_each_other_and_are_sorted(nlp):
    concerns = find_concerns("he stabbed me then my boyfriend hit me".split(), nlp=nlp)
    assert [(c.category, c.first, c.last) for c in concerns] == [
        ("violence", 1, 1), ("abuse", 5, 7), ("violence", 6, 7)]
    assert summary(concerns) == {"risk_to_life": 0, "self_harm": 0, "abuse": 1,
                                 "violence": 2, "exploitation": 0}


def test_merge_keeps_the_earliest_phrase():
    assert merge([Concern("abuse", 4, 6, "b"), Concern("abuse", 2, 4, "a"),
                  Concern("violence", 3, 3, "c")]) == [
        Concern("abuse", 2, 6, "a"), Concern("violence", 3, 3, "c")]


def test_phrase_is_list_text_never_the_persons_words(nlp):
    listed = {p.text for p in load_phrases() if not p.exclude}
    concerns = find_concerns("Dave keeps hurting my self and says Dave wants to die".split(),
                             nlp=nlp)
    assert concerns
    for concern in concerns:
        assert concern.phrase in listed
        assert "Dave" not in concern.phrase and "hurting" not in concern.phrase


def test_nothing_to_read_is_no_concern(nlp):
    assert find_concerns([], nlp=nlp) == []
    assert find_concerns(["", "  "], nlp=nlp) == []


def test_the_phrase_file_parses_and_covers_every_category():
    listed = load_phrases()
    for category in CATEGORIES:
        assert any(p.category == category and not p.exclude for p in listed), category
    assert {p.category for p in listed} == set(CATEGORIES)
    assert len(listed) > 100


def test_phrase_syntax_and_variants():
    assert parse("cut|burn ... =wrist") == ((("cut",), ("burn",)), None, (("=wrist",),))
    variants = {("any", "more"): (("anymore",),), ("myself",): (("my", "self"),)}
    assert expand_variants(parse("hurt myself any more"), variants) == (
        (("hurt",),), (("myself",), ("my", "self")), (("any", "more"), ("anymore",)))


@pytest.mark.parametrize("bad", ["... kill", "kill ...", "cut| myself", "   "])
def test_a_phrase_that_cannot_be_read_is_refused(bad):
    with pytest.raises(PhraseListError):
        parse(bad)


def test_a_list_with_a_missing_or_unknown_category_is_refused(tmp_path):
    path = tmp_path / "phrases.toml"
    path.write_text('[risk_to_life]\nphrases = ["suicide"]\n')
    with pytest.raises(PhraseListError, match="self_harm"):
        load_phrases(path)
    body = "".join(f'[{c}]\nphrases = ["x"]\n' for c in CATEGORIES)
    path.write_text(body + '[gossip]\nphrases = ["y"]\n')
    with pytest.raises(PhraseListError, match="gossip"):
        load_phrases(path)
    path.write_text(body + "[abuse\n")
    with pytest.raises(PhraseListError, match="cannot read"):
        load_phrases(path)


def test_a_pipeline_without_a_lemmatizer_still_flags_exact_words_from_many_threads():
    blank = spacy.blank("en")
    results: list[list[Concern]] = []

    def run() -> None:
        results.append(find_concerns("i want to kill myself".split(), nlp=blank))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[Concern("risk_to_life", 3, 4, "kill|top|hang|unalive myself")]] * 6


@pytest.mark.parametrize("module", [detect, phrases])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0
