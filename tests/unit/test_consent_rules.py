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
