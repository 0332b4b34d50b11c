"""Consent as a value object. Safe defaults: only the team hears it, voice disguised,
no quotes for the panel. The kiosk asks; nothing beyond these defaults is pre-ticked."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

AUDIENCES = ("team", "organisation", "public")
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
