"""The pure core: consent, entry states, roles and access decisions. No Flask, no DB."""
import doctest

import pytest

from diaryroom import accounts
from diaryroom.auth import access
from diaryroom.domain import consent, redaction, roles, status
from diaryroom.domain.consent import Consent
from diaryroom.domain.status import TransitionError, check_transition


@pytest.mark.parametrize("module", [consent, status, roles, access, accounts, redaction])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_consent_defaults_are_the_safe_ones():
    c = Consent()
    assert (c.audience, c.voice, c.panel_quotes) == ("team", "disguise", False)


@pytest.mark.parametrize("bad", [
    {"audience": "everyone"}, {"voice": "robot"}, {"panel_quotes": "yes"}, {"extra": 1},
])
def test_consent_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        Consent.from_dict(bad)


def test_consent_round_trip():
    c = Consent.from_dict({"audience": "public", "voice": "natural", "panel_quotes": True})
    assert Consent.from_dict(c.to_dict()) == c


@pytest.mark.parametrize("current,new", [
    ("received", "processing"), ("processing", "awaiting_review"),
    ("awaiting_review", "approved"), ("processing", "needs_attention"),
    ("approved", "withdrawn"), ("received", "withdrawn"),
])
def test_forward_moves(current, new):
    check_transition(current, new)


@pytest.mark.parametrize("current,new", [
    ("approved", "awaiting_review"), ("awaiting_review", "processing"),
    ("needs_attention", "processing"),
])
def test_backward_moves_need_a_decision(current, new):
    with pytest.raises(TransitionError):
        check_transition(current, new)
    check_transition(current, new, decision=True)


@pytest.mark.parametrize("new", [s for s in status.STATES if s != "withdrawn"] + ["withdrawn"])
def test_withdrawn_is_final(new):
    with pytest.raises(TransitionError):
        check_transition("withdrawn", new, decision=True)


def test_allow_rejects_unknown_names():
    with pytest.raises(ValueError):
        access.allow("superuser")
    with pytest.raises(ValueError):
        access.allow()


def test_permits_matrix():
    staff_only = frozenset({"staff"})
    assert access.permits(staff_only, "user", "staff")
    assert not access.permits(staff_only, "user", "panel")
    assert not access.permits(staff_only, None, None)
    assert access.permits(frozenset({"kiosk"}), "kiosk", None)
    assert not access.permits(frozenset({"kiosk"}), "user", "admin")
