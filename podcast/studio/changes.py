"""Checking what people send the studio, and landing a change made on a version.

Two people may change one episode at once. Every change names the version it was made
on and is written by an UPDATE conditional on that version: a change made on an older
version is refused with ``Conflict`` (never merged, never silently overwriting), and the
page then shows what the other person saved.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from diaryroom.errors import Conflict, InvalidInput
from diaryroom.extensions import db
from diaryroom.models import User, utcnow

from .models import Episode

EPISODE_CHANGED = ("Someone else changed this episode a moment ago. Your change was not "
                   "saved; the page now shows theirs.")
MAX_TITLE = 200  # characters, of an episode's or a part's title
SEGMENT_CHANGED = ("Someone else changed this part a moment ago. Your change was not "
                   "saved; the page now shows theirs.")


def parse_version(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("Say which version of the episode you changed (reload the page "
                           "and try again).", code="invalid_version")
    return value


def parse_text(data: Mapping, name: str, *, limit: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"The episode needs a {name}.", code=f"invalid_{name}")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"The {name} must be text.", code=f"invalid_{name}")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"The episode needs a {name}.", code=f"invalid_{name}")
    if len(value) > limit:
        raise InvalidInput(f"The {name} is too long (at most {limit} characters).",
                           code=f"invalid_{name}")
    return value


def parse_number(data: Mapping, name: str) -> int | None:
    value = data.get(name)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not (value.isascii() and value.isdigit()):
            raise InvalidInput(f"The {name} must be a whole number.", code=f"invalid_{name}")
        value = int(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise InvalidInput(f"The {name} must be a whole number.", code=f"invalid_{name}")
    return value


def parse_id(value: Any, name: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be a number.", code="invalid_segment")
    return value


def parse_position(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("position must be a number (0 is the first place).",
                           code="invalid_position")
    return value


def user_id(user: User | None) -> int | None:
    return user.id if user is not None else None


def bump(episode: Episode, version: Any, **values: Any) -> None:
    """Move the episode from ``version`` to the next, with ``values``, or refuse: the
    condition is in the UPDATE, so of two changes made on one version only one lands."""
    seen = parse_version(version)
    moved = db.session.execute(
        update(Episode).where(Episode.id == episode.id, Episode.version == seen)
        .values(version=seen + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(EPISODE_CHANGED)
    db.session.refresh(episode)
