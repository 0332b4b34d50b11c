"""Consent as a value object and the rules that follow from it. Safe defaults: only the
team hears it, voice disguised, no quotes for the panel. The kiosk asks; nothing beyond
these defaults is pre-ticked.

Audiences are ordered, each wider than the one before: ``team`` (the diary-room team
only) < ``organisation`` (staff, co-hosts and the panel; internal podcast feeds) <
``public``. Everything that shares an entry asks these functions, never the raw values."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

AUDIENCES = ("team", "organisation", "public")  # narrowest first
TEAM, ORGANISATION, PUBLIC = AUDIENCES
# The narrowest audience an episode can have: an entry for the team alone never goes in one.
EPISODE_AUDIENCES = (ORGANISATION, PUBLIC)
VOICES = ("disguise", "natural")
# Audiences for which the voice is always disguised: nobody is asked, nothing to untick.
VOICE_LOCKED_FOR = frozenset({"team"})
# What is made without a voice (a written entry): its voice value stays the safe default.
VOICELESS_KINDS = frozenset({"text"})


@dataclass(frozen=True)
class Consent:
    audience: str = "team"
    voice: str = "disguise"
    panel_quotes: bool = False

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
        if self.voice not in VOICES:
            raise ValueError(f"voice must be one of {', '.join(VOICES)}")
        if not isinstance(self.panel_quotes, bool):
            raise ValueError("panel_quotes must be true or false")
        # The rule, not the client, decides the voice: an audience that is always
        # disguised stays disguised whatever a client sent (or an older row holds).
        object.__setattr__(self, "voice", voice_for(self.audience, self.voice))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Consent:
        """Build from request JSON, rejecting unknown keys rather than ignoring them.

        >>> Consent.from_dict({"audience": "public"}).voice
        'disguise'
        """
        data = dict(data or {})
        unknown = set(data) - {"audience", "voice", "panel_quotes"}
        if unknown:
            raise ValueError(f"unknown consent field {sorted(unknown)[0]!r}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def for_kind(self, kind: str) -> Consent:
        """This consent as it holds for an entry of ``kind``: what has no voice (a
        written entry) keeps the safe voice value, whatever a client sent.

        >>> Consent("public", "natural").for_kind("text").voice
        'disguise'
        >>> Consent("public", "natural").for_kind("audio").voice
        'natural'
        """
        return replace(self, voice=voice_for(self.audience, self.voice, kind))


def allowed_voices(audience: str, kind: str = "audio") -> tuple[str, ...]:
    """The voice choices open to someone choosing ``audience`` for a ``kind`` of entry;
    the first is the one used when they choose nothing.

    >>> allowed_voices("team")
    ('disguise',)
    >>> allowed_voices("public")
    ('disguise', 'natural')
    >>> allowed_voices("public", kind="text")
    ('disguise',)
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    if audience in VOICE_LOCKED_FOR or kind in VOICELESS_KINDS:
        return ("disguise",)
    return VOICES


def voice_choice_open(audience: str, kind: str = "audio") -> bool:
    """Whether the person is asked about their voice at all (else it is disguised)."""
    return len(allowed_voices(audience, kind)) > 1


def voice_for(audience: str, wanted: str | None, kind: str = "audio") -> str:
    """The voice to record: what they wanted if it is open to them, else the safe one.

    >>> voice_for("team", "natural")
    'disguise'
    >>> voice_for("organisation", "natural")
    'natural'
    """
    allowed = allowed_voices(audience, kind)
    return wanted if wanted in allowed else allowed[0]


def _rank(audience: str) -> int:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    return AUDIENCES.index(audience)


def may_hear(consent: Consent, audience: str) -> bool:
    """Whether an entry with this consent may reach ``audience``.

    >>> may_hear(Consent("organisation"), "team"), may_hear(Consent("organisation"), "public")
    (True, False)
    """
    return _rank(audience) <= _rank(consent.audience)


def may_be_in_episode(consent: Consent) -> bool:
    """An episode is heard at least across the organisation: a team-only entry never is.

    >>> may_be_in_episode(Consent("team")), may_be_in_episode(Consent("public"))
    (False, True)
    """
    return may_hear(consent, EPISODE_AUDIENCES[0])


def narrowest(audiences: Iterable[str], *, widest: str = PUBLIC) -> str:
    """The narrowest of ``audiences`` (``widest`` when there are none): what a whole made
    of several entries may reach.

    >>> narrowest(["public", "organisation"]), narrowest([])
    ('organisation', 'public')
    """
    return min(audiences, key=_rank, default=widest)


def is_narrower(new: Consent, old: Consent) -> bool:
    """Whether ``new`` takes anything away that ``old`` allowed: a smaller audience, the
    natural voice replaced by the disguise, or quotes no longer allowed. (Widening is not:
    nothing already shared breaks.)

    >>> is_narrower(Consent("organisation"), Consent("public"))
    True
    >>> is_narrower(Consent("public", "natural"), Consent("public"))
    False
    """
    return (_rank(new.audience) < _rank(old.audience)
            or (old.voice == "natural" and new.voice != "natural")
            or (old.panel_quotes and not new.panel_quotes))


def may_quote(consent: Consent) -> bool:
    """Whether short quotes (names removed) may go into summaries for the panel. Only ever
    by an explicit yes: the default, and every older consent without it, is no."""
    return consent.panel_quotes is True


def client_rules() -> dict[str, Any]:
    """The rules above as plain data, for the kiosk page's script (static/kiosk/consent.js)
    to apply without encoding them a second time."""
    return {
        "defaults": Consent().to_dict(),
        "audiences": list(AUDIENCES),
        "voices": {audience: list(allowed_voices(audience)) for audience in AUDIENCES},
        "voicelessKinds": sorted(VOICELESS_KINDS),
    }
