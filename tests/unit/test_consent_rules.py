"""The consent rules the kiosk is given (diaryroom.domain.consent), pure."""
import pytest

from diaryroom.domain import consent as rules
from diaryroom.domain.consent import Consent


@pytest.mark.parametrize("audience,kind,allowed", [
    ("team", "audio", ("disguise",)),
    ("team", "video", ("disguise",)),
    ("organisation", "audio", ("disguise", "natural")),
    ("public", "video", ("disguise", "natural")),
    ("public", "text", ("disguise",)),
    ("team", "text", ("disguise",)),
])
def test_allowed_voices(audience, kind, allowed):
    assert rules.allowed_voices(audience, kind) == allowed
    assert rules.voice_choice_open(audience, kind) is (len(allowed) > 1)


def test_the_safe_voice_comes_first_everywhere():
    for audience in rules.AUDIENCES:
        for kind in ("audio", "video", "text"):
            assert rules.allowed_voices(audience, kind)[0] == Consent().voice == "disguise"


def test_an_unknown_audience_is_refused():
    with pytest.raises(ValueError):
        rules.allowed_voices("everyone")


@pytest.mark.parametrize("audience,wanted,kind,voice", [
    ("team", "natural", "audio", "disguise"),
    ("team", None, "audio", "disguise"),
    ("organisation", "natural", "audio", "natural"),
    ("organisation", None, "audio", "disguise"),
    ("public", "robot", "audio", "disguise"),
    ("public", "natural", "text", "disguise"),
])
def test_voice_for(audience, wanted, kind, voice):
    assert rules.voice_for(audience, wanted, kind) == voice


def test_may_quote_only_on_an_explicit_yes():
    assert rules.may_quote(Consent(panel_quotes=True)) is True
    assert rules.may_quote(Consent()) is False


def test_client_rules_say_the_same_as_the_functions():
    data = rules.client_rules()
    assert data["defaults"] == {"audience": "team", "voice": "disguise", "panel_quotes": False}
    assert data["audiences"] == ["team", "organisation", "public"]
    for audience in rules.AUDIENCES:
        assert tuple(data["voices"][audience]) == rules.allowed_voices(audience)
    assert data["voicelessKinds"] == ["text"]


def test_the_kiosk_page_is_given_the_rules_it_always_had():
    # static/kiosk/consent.js applies exactly this; the server's coercion adds nothing to it.
    assert rules.client_rules() == {
        "defaults": {"audience": "team", "voice": "disguise", "panel_quotes": False},
        "audiences": ["team", "organisation", "public"],
        "voices": {"team": ["disguise"], "organisation": ["disguise", "natural"],
                   "public": ["disguise", "natural"]},
        "voicelessKinds": ["text"]}


# -- the rules the server applies itself, whatever a client sent ------------------------

@pytest.mark.parametrize("data", [
    {"audience": "team", "voice": "natural"},
    {"voice": "natural"},  # team is the default audience
])
def test_a_team_only_consent_is_always_disguised(data):
    assert Consent.from_dict(data).voice == "disguise"
    assert Consent.from_dict(data).to_dict()["voice"] == "disguise"  # and stored so


def test_a_wider_audience_keeps_the_voice_chosen():
    assert Consent("organisation", "natural").voice == "natural"
    assert Consent("public", "natural").voice == "natural"


@pytest.mark.parametrize("kind,voice", [("audio", "natural"), ("video", "natural"),
                                        ("text", "disguise")])
def test_for_kind_keeps_the_safe_voice_where_there_is_no_voice(kind, voice):
    consent = Consent("public", "natural", panel_quotes=True)
    assert consent.for_kind(kind) == Consent("public", voice, panel_quotes=True)


def test_audiences_are_ordered_narrowest_first():
    assert rules.AUDIENCES == ("team", "organisation", "public")
    assert rules.narrowest(["public", "team", "organisation"]) == "team"
    org = Consent("organisation")
    assert [rules.may_hear(org, a) for a in rules.AUDIENCES] == [True, True, False]
    assert [rules.may_be_in_episode(Consent(a)) for a in rules.AUDIENCES] == [
        False, True, True]


@pytest.mark.parametrize("old,new,narrower", [
    (Consent("public"), Consent("organisation"), True),
    (Consent("organisation"), Consent("team"), True),
    (Consent("public", "natural"), Consent("public", "disguise"), True),
    (Consent("public", panel_quotes=True), Consent("public"), True),
    # natural -> team: the audience and (by the rule) the voice both narrow
    (Consent("organisation", "natural"), Consent("team", "natural"), True),
    (Consent("organisation"), Consent("public"), False),
    (Consent("public"), Consent("public", "natural"), False),
    (Consent("public"), Consent("public", panel_quotes=True), False),
    (Consent("public"), Consent("public"), False),
])
def test_is_narrower(old, new, narrower):
    assert rules.is_narrower(new, old) is narrower
