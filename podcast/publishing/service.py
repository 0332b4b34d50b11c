"""Publishing an episode: first to the organisation's private feeds (``internal``), then,
after a second sign-off by someone else, to the public feed (``public``).

Each stage publishes one render, the episode's current one, and only while everything
in it may be heard that widely: the render is done and not stale, every entry in it is
still approved at the revision rendered, and every entry's consent reaches the audience
(``organisation`` for internal, ``public`` for public). The public stage also needs the
same render live internally, approved by a different person, every co-host's release,
the show's details complete, and the stored audio byte for byte the audio approved (its
sha256 is taken from the stored bytes at the internal approval and checked again).

A publication ends when it is unpublished, replaced by a newer render's, or when
``revalidate`` finds that what it holds may no longer be heard by its audience (the
lifecycle listeners in ``events`` call it). Ending the internal stage ends the public
one too. Every change, and every refused attempt, is a ``PublicationEvent`` (who, when),
and every change bumps the organisation's feed generation in the same transaction.

With S3 storage a publication gets a plain copy of its audio in the raw store, for
presigned links; it is deleted when the publication ends (before the end is committed,
so withdrawn audio never outlives its publication). Local storage keeps no copy.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from diaryroom import keys, tenancy
from diaryroom.adapters import get_private_storage, get_storage
from diaryroom.crypto import DecryptionError
from diaryroom.domain.consent import Consent, may_hear
from diaryroom.domain.roles import TEAM
from diaryroom.errors import Conflict, DiaryRoomError, InvalidInput
from diaryroom.extensions import db
from diaryroom.models import Entry, User, utcnow
from diaryroom.storage import NoSuchObject, S3Storage

from ..feeds import build, catalog, check
from ..studio.assets import RELEASE_VERSION
from ..studio.jobs import entries_problem
from ..studio.models import Episode, EpisodeCohost, EpisodeRender
from .models import ENDED, INTERNAL, LIVE, PUBLIC, STAGES, Publication, PublicationEvent, Show
from .query import playable
from .show import feed_changed

log = logging.getLogger(__name__)

# The consent audience each stage needs from every entry in the episode.
CONSENT_FOR = {INTERNAL: "organisation", PUBLIC: "public"}
STAGE_NAMES = {INTERNAL: "inside the organisation", PUBLIC: "on the public feed"}
# Refusals about the episode's current state (409); the others are 422.
CONFLICTS = frozenset({"stale_render", "not_internal_first", "already_published",
                       "hash_mismatch"})
# Why a live publication was ended by ``revalidate``, by the studio's problem names.
ENDED_BECAUSE = {
    "withdrawn": "An entry in it was withdrawn.",
    "narrowed": "The person in one of its entries narrowed their consent.",
    "unapproved": "One of its entries was sent back for another check.",
    "changed": "One of its entries was re-rendered after review changes.",
    "audio": "The render it plays is no longer available.",
}
MP3 = "episode.mp3"
READ_CHUNK = 1024 * 1024  # bytes per read while hashing


def _refuse(code: str, message: str) -> DiaryRoomError:
    error = Conflict(message) if code in CONFLICTS else InvalidInput(message, code=code)
    error.code = code
    return error


def _actor(user: User | None) -> str | None:
    return f"{user.role}:{user.id}" if user is not None else None


# -- reading ---------------------------------------------------------------------------------

def _live(episode_id: int, audience: str | None = None) -> list[Publication]:
    query = select(Publication).where(Publication.episode_id == episode_id,
                                      Publication.state == LIVE)
    if audience is not None:
        query = query.where(Publication.audience == audience)
    return list(db.session.scalars(query.order_by(Publication.id)))


def _entries(render: EpisodeRender) -> list[Entry]:
    ids = sorted({item["entry_id"] for item in render.sources or []
                  if item.get("entry_id") is not None} | set(render.entry_ids or []))
    if not ids:
        return []
    return list(db.session.scalars(select(Entry).where(Entry.id.in_(ids)).order_by(Entry.id)))


def _too_narrow(entries: Iterable[Entry], audience: str) -> list[int]:
    wanted = CONSENT_FOR[audience]
    return [e.id for e in entries if not may_hear(Consent.from_dict(e.consent), wanted)]


def show_problems(org_id: int) -> list[str]:
    """What the public feed still lacks of the show's details (none: it can go public)."""
    show = db.session.scalar(select(Show).where(Show.org_id == org_id))
    missing = []
    if show is None or not show.artwork_key:
        missing.append("artwork")
    if show is None or not (show.owner_email or "").strip():
        missing.append("the owner's e-mail address")
    if show is None or not (show.description or "").strip():
        missing.append("a description")
    return missing


def stored_sha256(render: EpisodeRender) -> str | None:
    """The sha256 of the render's MP3 as stored now (decrypted), or None when it cannot
    be read back whole (missing, or altered so that it no longer decrypts)."""
    digest = hashlib.sha256()
    try:
        with get_private_storage().open(render.files[MP3]) as fh:
            for chunk in iter(lambda: fh.read(READ_CHUNK), b""):
                digest.update(chunk)
    except (NoSuchObject, DecryptionError, KeyError):
        return None
    return digest.hexdigest()


# -- the rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Ready:
    """What a publication would hold: the render, and for the public stage the internal
    publication of that render whose approval it follows."""

    render: EpisodeRender
    internal: Publication | None


def _check(episode: Episode, audience: Any, user: User | None) -> _Ready:
    """Everything but the byte check, in the order people fix things. Raises the refusal.
    Without a ``user`` (a preview for the page) the approver rules are left out."""
    if audience not in STAGES:
        raise InvalidInput('audience must be "internal" or "public".', code="invalid_audience")
    if user is not None and user.role not in TEAM:
        raise InvalidInput("Only staff or an administrator can approve publishing.",
                           code="not_allowed")
    render = db.session.get(EpisodeRender, episode.current_render_id) \
        if episode.current_render_id else None
    if not playable(render) or render.episode_id != episode.id:
        raise _refuse("stale_render", "This episode has no finished render to publish. "
                                      "Make the episode first (step 4).")
    if render.episode_version != episode.version:
        raise _refuse("stale_render", "The episode was changed after it was last made. Make "
                                      "it again, listen to it, then publish that version.")
    problem = entries_problem(render)
    if problem == "narrowed":
        raise _refuse("consent_too_narrow", "The person in one of its entries no longer "
                                            "agrees to be in an episode. Remove that part.")
    if problem is not None:
        raise _refuse("stale_render", "An entry in the last render has changed since it was "
                                      "made (see the problems above). Fix that part and "
                                      "make the episode again.")
    if any(p.render_id == render.id for p in _live(episode.id, audience)):
        raise _refuse("already_published", f"This version is already published "
                                           f"{STAGE_NAMES[audience]}.")
    narrow = _too_narrow(_entries(render), audience)
    if narrow:
        listed = ", ".join(f"entry {i}" for i in narrow)
        raise _refuse("consent_too_narrow", f"Not everyone in it agreed to be heard "
                                            f"{STAGE_NAMES[audience]} ({listed}).")
    if audience == INTERNAL:
        return _Ready(render, None)
    internal = next((p for p in _live(episode.id, INTERNAL) if p.render_id == render.id), None)
    if internal is None:
        raise _refuse("not_internal_first", "Share this version inside the organisation "
                                            "first: the public feed needs a second sign-off "
                                            "of the same version.")
    if user is not None and internal.approved_by_id == user.id:
        raise _refuse("same_approver", "You approved this version inside the organisation. "
                                       "Someone else must approve it for the public.")
    waiting = [c.display_name for c in db.session.scalars(select(EpisodeCohost).where(
        EpisodeCohost.episode_id == episode.id).order_by(EpisodeCohost.id))
        if c.release_version != RELEASE_VERSION]
    if waiting:
        raise _refuse("not_released", "Every co-host must accept the release first; waiting "
                                      f"for {', '.join(waiting)}.")
    missing = show_problems(episode.org_id)
    if missing:
        raise _refuse("show_incomplete", "The show's details are not complete for the public "
                                         f"feed: add {', '.join(missing)} in the show "
                                         "settings.")
    return _Ready(render, internal)


def _verified_digest(ready: _Ready) -> str:
    """The stored audio's hash, checked against what was recorded when it was made (and
    for the public stage against what the internal approval heard)."""
    digest = stored_sha256(ready.render)
    approved = ready.internal.mp3_sha256 if ready.internal else ready.render.mp3_sha256
    if digest is None or digest != approved:
        raise _refuse("hash_mismatch", "The stored audio is not the audio that was approved. "
                                       "Make the episode again and approve the new version.")
    return digest


def _feed_problems(org_id: int) -> list[str]:
    """The schema check of the public feed as it will be with the new publication in it
    (flushed, not committed): the episode's own tags are checked, not only the show's."""
    show, items = catalog.feed_data(org_id)
    return check.feed_problems(build.build_feed(show, items), private=False)


# -- changes ---------------------------------------------------------------------------------

def _record(episode_id: int, org_id: int, action: str, audience: str, *,
            publication: Publication | None = None, render_id: int | None = None,
            user: User | None = None, actor: str | None = None,
            detail: str | None = None) -> None:
    db.session.add(PublicationEvent(
        org_id=org_id, episode_id=episode_id, audience=audience, action=action,
        publication_id=publication.id if publication else None,
        render_id=publication.render_id if publication else render_id,
        user_id=user.id if user else None, actor=actor or _actor(user),
        detail=detail[:300] if detail else None))


def _end(publication: Publication, reason: str, *, action: str, user: User | None = None,
         actor: str | None = None) -> str | None:
    """Mark it ended, with the event; returns its plain copy's key for the caller to
    delete (before committing, where the audio may no longer be heard)."""
    copy_key, publication.copy_key = publication.copy_key, None
    publication.state, publication.ended_at = ENDED, utcnow()
    publication.ended_by_id, publication.end_reason = (user.id if user else None), reason[:200]
    _record(publication.episode_id, publication.org_id, action, publication.audience,
            publication=publication, user=user, actor=actor, detail=reason)
    return copy_key


def _with_public(ending: list[Publication], live: list[Publication]) -> list[Publication]:
    """Ending the internal stage ends the public one: nothing reaches the public that the
    organisation can no longer hear."""
    if any(p.audience == INTERNAL for p in ending):
        ending = ending + [p for p in live if p.audience == PUBLIC and p not in ending]
    return ending


def _delete_copies(copy_keys: Iterable[str | None]) -> None:
    storage = get_storage()
    for key in copy_keys:
        if key:
            storage.delete(key)


def _lock(episode: Episode) -> None:
    """Serialise publishing per episode (row locks on PostgreSQL): a render deleted by a
    withdrawal's listener is seen here, or this publication is seen by ``revalidate``."""
    db.session.execute(select(Episode.id).where(Episode.id == episode.id).with_for_update())
    db.session.refresh(episode)
    if episode.current_render_id:
        db.session.execute(select(EpisodeRender).where(
            EpisodeRender.id == episode.current_render_id).with_for_update()
            .execution_options(populate_existing=True))


def _copy(publication: Publication, render: EpisodeRender, digest: str,
          guid: str) -> str | None:
    """The plain copy presigned links serve, with S3 storage (checked byte for byte)."""
    storage = get_storage()
    if not isinstance(storage, S3Storage):
        return None
    key = keys.published_copy(publication.org_id, publication.audience, guid,
                              publication.id, MP3)
    with get_private_storage().open(render.files[MP3]) as fh:
        stored = storage.put(key, fh)
    if stored.sha256 != digest:
        storage.delete(key)
        raise _refuse("hash_mismatch", "The stored audio changed while it was being "
                                       "published. Please try again.")
    return key


def publish(episode: Episode, audience: str, *, user: User) -> Publication:
    """Publish the episode's current render to ``audience`` (see the module's rules),
    replacing an older render's live publication of the same audience. Refusals are
    ``InvalidInput``/``Conflict`` with a ``code``, and are recorded in the history."""
    _lock(episode)
    try:
        ready = _check(episode, audience, user)
        return _publish(episode, audience, ready, _verified_digest(ready), user=user)
    except (InvalidInput, Conflict) as refusal:
        db.session.rollback()
        if audience in STAGES and user is not None:
            _record(episode.id, episode.org_id, "refused", audience, user=user,
                    render_id=episode.current_render_id, detail=refusal.code)
            db.session.commit()
        raise


def _publish(episode: Episode, audience: str, ready: _Ready, digest: str, *,
             user: User) -> Publication:
    replaced = [_end(p, "Replaced by a newer version.", action="ended", user=user)
                for p in _live(episode.id, audience)]
    episode.guid = episode.guid or str(uuid.uuid4())  # once, for good: apps key on it
    publication = Publication(org_id=episode.org_id, episode_id=episode.id, audience=audience,
                              render_id=ready.render.id, mp3_sha256=digest,
                              approved_by_id=user.id, state=LIVE)
    db.session.add(publication)
    db.session.flush()
    copy_key = None
    try:
        if audience == PUBLIC:
            problems = _feed_problems(episode.org_id)
            if problems:
                raise _refuse("show_incomplete", "The public feed would not pass the podcast "
                                                 "apps' checks: " + " ".join(problems[:3]))
        copy_key = publication.copy_key = _copy(publication, ready.render, digest, episode.guid)
        _record(episode.id, episode.org_id, "published", audience, publication=publication,
                user=user)
        feed_changed(episode.org_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        _delete_copies([copy_key])
        raise
    try:  # the old copies: a failure leaves a stray object, never a broken feed
        _delete_copies(replaced)
    except DiaryRoomError:
        log.warning("could not delete the copies of a replaced publication of episode %s",
                    episode.id)
    return publication


def unpublish(episode: Episode, audience: str | None, *, user: User) -> list[Publication]:
    """End the live publications of ``audience`` (both when None; ending the internal one
    ends the public one too). Nothing live is not an error: it returns []."""
    if audience is not None and audience not in STAGES:
        raise InvalidInput('audience must be "internal", "public" or left out.',
                           code="invalid_audience")
    _lock(episode)
    live = _live(episode.id)
    ending = _with_public([p for p in live if audience in (None, p.audience)], live)
    if not ending:
        return []
    copies = [_end(p, "Unpublished.", action="unpublished", user=user) for p in ending]
    _delete_copies(copies)
    feed_changed(episode.org_id)
    db.session.commit()
    return ending


def end_publications(org_id: int, episode_id: int, reason: str, *,
                     actor: str | None) -> int:
    """End every live publication of an episode (for what happens outside this module:
    an episode deleted, say). Returns how many ended."""
    with tenancy.as_org(org_id):
        live = _live(episode_id)
        if not live:
            return 0
        _delete_copies([_end(p, reason, action="ended", actor=actor) for p in live])
        feed_changed(org_id)
        db.session.commit()
        return len(live)


def _why_not(publication: Publication) -> str | None:
    """Why this live publication may no longer be heard by its audience (None: it may)."""
    render = db.session.get(EpisodeRender, publication.render_id)
    if render is None:
        return ENDED_BECAUSE["audio"]
    db.session.refresh(render)
    problem = entries_problem(render)  # first: it says why the studio deleted the render
    if problem is not None:
        return ENDED_BECAUSE[problem]
    if not playable(render):
        return ENDED_BECAUSE["audio"]
    if _too_narrow(_entries(render), publication.audience):
        return ENDED_BECAUSE["narrowed"]
    return None


def revalidate(org_id: int, *, actor: str | None = "worker") -> int:
    """End every live publication of the organisation that may no longer be heard by its
    audience (its render gone, an entry withdrawn, sent back, re-rendered or narrowed).
    Safe to run twice; returns how many ended."""
    with tenancy.as_org(org_id):
        live = list(db.session.scalars(select(Publication).where(
            Publication.state == LIVE).order_by(Publication.id)))
        reasons = {p.id: why for p in live if (why := _why_not(p)) is not None}
        by_episode: dict[int, list[Publication]] = {}
        for p in live:
            by_episode.setdefault(p.episode_id, []).append(p)
        copies = []
        for publications in by_episode.values():
            failing = [p for p in publications if p.id in reasons]
            for p in _with_public(failing, publications):
                why = reasons.get(p.id) or "Ended with the internal stage."
                copies.append(_end(p, why, action="ended", actor=actor))
        if not copies:
            return 0
        _delete_copies(copies)
        feed_changed(org_id)
        db.session.commit()
        return len(copies)


# -- what the page and the API show ------------------------------------------------------------

def _at(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def _who(user_id: int | None) -> str:
    """The person by their account (publishing is approved by accountable staff, and the
    second approver is told apart from the first by it); an ending nobody asked for was
    made by a lifecycle event."""
    user = db.session.get(User, user_id) if user_id is not None else None
    return user.email if user is not None else "automatically, after an entry changed"


def history(episode: Episode) -> list[dict[str, Any]]:
    """Every change to what is published of this episode, newest first."""
    events = db.session.scalars(select(PublicationEvent).where(
        PublicationEvent.episode_id == episode.id)
        .order_by(PublicationEvent.at.desc(), PublicationEvent.id.desc()))
    return [{"at": _at(e.at), "action": e.action, "audience": e.audience,
             "render_id": e.render_id, "publication_id": e.publication_id,
             "user_id": e.user_id, "by": _who(e.user_id), "detail": e.detail}
            for e in events]


def _stage_json(publication: Publication | None, current: int | None) -> dict | None:
    if publication is None:
        return None
    return {"publication_id": publication.id, "render_id": publication.render_id,
            "current_render": publication.render_id == current,
            "approved_by_id": publication.approved_by_id,
            "approved_by": _who(publication.approved_by_id),
            "approved_at": _at(publication.approved_at), "copy": bool(publication.copy_key)}


def _possible(episode: Episode, audience: str, user: User | None) -> dict[str, Any]:
    try:
        _check(episode, audience, user)
    except (InvalidInput, Conflict) as refusal:
        return {"possible": False, "code": refusal.code, "reason": str(refusal)}
    return {"possible": True, "code": None, "reason": None}


def publication_state(episode: Episode, *, user: User | None = None) -> dict[str, Any]:
    """What is live of the episode, who approved it, whether each stage can be published
    now by ``user`` and why not (the byte check runs only when publishing), and the
    history."""
    live = _live(episode.id)
    stage = {a: next((p for p in reversed(live) if p.audience == a), None) for a in STAGES}
    return {
        "episode_id": episode.id, "guid": episode.guid,
        "current_render_id": episode.current_render_id,
        "internal": _stage_json(stage[INTERNAL], episode.current_render_id),
        "public": _stage_json(stage[PUBLIC], episode.current_render_id),
        "can_publish": {a: _possible(episode, a, user) for a in STAGES},
        "history": history(episode),
    }
