"""Who may hear which episode in the web player, and what its page shows.

The rules are the feeds' own (``publishing.query``): a live public publication is for
anyone; an internal one for the signed-in people of that organisation (any role), since
podcast apps reach it through private feed links and a browser through its session.
Kiosks are not people: they see only what anyone sees. Anything else is not there:
404, or 410 when the viewer could once have heard it (the link worked before, and
saying "taken down" beats "not found"), never a hint of why it was taken down.
"""
from __future__ import annotations

from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.auth import Principal
from diaryroom.errors import Gone, NotFound
from diaryroom.extensions import db
from diaryroom.models import Organisation
from diaryroom.storage import NoSuchObject

from ..publishing.models import INTERNAL, Show
from ..publishing.query import Live, audiences_for, live, live_episode, was_published
from .cues import Chapter, Cue, parse_chapters, parse_vtt

NOT_FOUND = "We could not find that episode. Check the link, or ask who sent it."
TAKEN_DOWN = "This episode is no longer available."
NO_SHOW = "We could not find that podcast. Check the link, or ask who sent it."
TEXT_LIMIT = 2_000_000  # bytes: a transcript or chapters file larger than this is not ours


class SignInNeeded(Exception):
    """The episode is live for the organisation's people only, and nobody is signed in."""


def organisation(slug: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound(NO_SHOW)
    return org


def home(principal: Principal | None) -> Organisation:
    """Whose podcast ``/listen/`` opens: the signed-in person's (or kiosk's)
    organisation, else the first one (the default, as ``/feeds/public.xml``)."""
    org = None
    if principal is not None:
        org = db.session.get(Organisation, principal.org_id)
    if org is None:
        org = db.session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    if org is None:
        raise NotFound(NO_SHOW)
    return org


def is_member(principal: Principal | None, org_id: int) -> bool:
    """A signed-in person of the organisation (a kiosk is a device anyone can use)."""
    return principal is not None and principal.kind == "user" and principal.org_id == org_id


def show_title(org: Organisation) -> str:
    """The show's title if the organisation has set one up, else its name (read only:
    a page view does not make the show)."""
    with tenancy.as_org(org.id):
        title = db.session.scalar(select(Show.title).where(Show.org_id == org.id))
    return title or org.name


def episodes(org_id: int, *, member: bool) -> list[Live]:
    """What the viewer may hear, newest first."""
    return live(org_id, audiences_for(member))


def episode(org_id: int, guid: str, principal: Principal | None) -> Live:
    """The live publication of the episode this viewer may hear, or why not: raises
    ``SignInNeeded``, ``Gone`` (it was there for them before) or ``NotFound``."""
    member = is_member(principal, org_id)
    audiences = audiences_for(member)
    found = live_episode(org_id, guid, audiences)
    if found is not None:
        return found
    if not member and live_episode(org_id, guid, (INTERNAL,)) is not None:
        if principal is None:
            raise SignInNeeded()
        raise NotFound(NOT_FOUND)  # someone of another organisation, or a kiosk
    if was_published(org_id, guid, audiences):
        raise Gone(TAKEN_DOWN)
    raise NotFound(NOT_FOUND)


def _text(found: Live, name: str) -> str | None:
    key = (found.render.files or {}).get(name)
    if key is None:
        return None
    try:
        with get_private_storage().open(key) as fh:
            data = fh.read(TEXT_LIMIT + 1)
    except NoSuchObject:
        return None  # a withdrawal deleting the files under us: the audio is gone too
    if len(data) > TEXT_LIMIT:
        return None
    return data.decode("utf-8", errors="replace")


def transcript(found: Live) -> list[Cue]:
    text = _text(found, "transcript.vtt")
    return parse_vtt(text) if text else []


def chapters(found: Live) -> list[Chapter]:
    text = _text(found, "chapters.json")
    return parse_chapters(text) if text else []
