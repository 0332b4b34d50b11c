"""Consent as a value object. Safe defaults: only the team hears it, voice disguised,
no quotes for the panel. The kiosk asks; nothing beyond these defaults is pre-ticked."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

AUDIENCES = ("team", "organisation", "public")
VOICES = ("disguise", "natural")


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
