"""Listeners' private feed links: one long random token per person, revocable.

Podcast apps cannot sign in, so the feed URL itself is the credential, and so are the
enclosure URLs in it (apps download hours later, from another process, without the
feed). A link is found by the token's hash; the token is also kept sealed, so the
person's account page can show their link again. A revoked link, or one whose person
was deactivated, answers 410 so apps stop asking; an unknown or malformed one, or one
of another organisation, answers 404 like any unknown URL.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets

from flask import current_app
from sqlalchemy import or_, select, update

from diaryroom import tenancy
from diaryroom.adapters import encryption_key
from diaryroom.crypto import seal, unseal
from diaryroom.errors import Gone, NotFound
from diaryroom.extensions import db
from diaryroom.models import Organisation, User, hash_token, utcnow

from .models import Listener
from .show import feed_changed

TOKEN_BYTES = 32  # 256 bits, 43 URL-safe characters
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# Writing "last used" on every fetch would turn a storm of feed requests into a storm
# of writes; once a minute tells an admin all they are allowed to know.
RECORD_EVERY = dt.timedelta(minutes=1)
USE_COLUMNS = {"feed": "last_feed_at", "audio": "last_audio_at"}
NOT_FOUND = "There is no feed at this address."
REVOKED = "This feed link was turned off. Ask for a new one on your account page."


def _context(org_id: int, user_id: int) -> bytes:
    return f"feed listener {int(org_id)}:{int(user_id)}".encode()


def feed_url(org: Organisation, token: str) -> str:
    return f"{current_app.config['BASE_URL']}/feeds/{org.slug}/private/{token}.xml"


def listener_for(user: User) -> Listener | None:
    """The person's live link, if they have one."""
    with tenancy.as_org(user.org_id):
        return db.session.scalar(select(Listener).where(
            Listener.user_id == user.id, Listener.revoked_at.is_(None))
            .order_by(Listener.id.desc()).limit(1))


def token_of(listener: Listener) -> str:
    """The link's token, for showing the person their feed URL again."""
    return unseal(encryption_key(), listener.token_sealed,
                  context=_context(listener.org_id, listener.user_id)).decode("ascii")


def _end(listener: Listener, by: User | None) -> None:
    listener.revoked_at = utcnow()
    listener.revoked_by_id = by.id if by else None


def create_listener(user: User, *, by: User | None) -> tuple[Listener, str]:
    """A new private feed link for ``user`` (their older live one stops working)."""
    if not user.active:
        raise Gone("This account is deactivated: it cannot have a feed link.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with tenancy.as_org(user.org_id):
        old = listener_for(user)
        if old is not None:
            _end(old, by)
        listener = Listener(
            org_id=user.org_id, user_id=user.id, token_hash=hash_token(token),
            token_sealed=seal(encryption_key(), token.encode("ascii"),
                              context=_context(user.org_id, user.id)),
            created_by_id=by.id if by else None)
        db.session.add(listener)
        if old is not None:
            feed_changed(user.org_id)
        db.session.commit()
    return listener, token


def get_listener(org_id: int, listener_id: int) -> Listener:
    with tenancy.as_org(org_id):
        listener = db.session.get(Listener, listener_id)
    if listener is None or listener.org_id != org_id:
        raise NotFound("There is no such feed link.")
    return listener


def revoke(listener: Listener, *, by: User | None) -> None:
    """Turn the link off: its feed and its enclosure links answer 410 from now on."""
    with tenancy.as_org(listener.org_id):
        if listener.revoked_at is None:
            _end(listener, by)
            feed_changed(listener.org_id)
        db.session.commit()


def resolve(org_slug: str, token: str) -> Listener:
    """The live listener a feed or file URL names, in one query.

    NotFound for a malformed or unknown token or one of another organisation (the slug
    and the token must agree); Gone for a revoked link or a deactivated person.
    """
    if not TOKEN_SHAPE.fullmatch(token or ""):
        raise NotFound(NOT_FOUND)
    with tenancy.unscoped():
        row = db.session.execute(
            select(Listener, User.active)
            .join(Organisation, Organisation.id == Listener.org_id)
            .join(User, User.id == Listener.user_id)
            .where(Listener.token_hash == hash_token(token), Organisation.slug == org_slug,
                   User.org_id == Listener.org_id)).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    listener, active = row
    if listener.revoked_at is not None or not active:
        raise Gone(REVOKED)
    return listener


def use_due(listener: Listener, kind: str) -> bool:
    """Whether this use must be written (the last one is over a minute old)."""
    last = getattr(listener, USE_COLUMNS[kind])
    return last is None or utcnow() - last >= RECORD_EVERY


def write_use(org_id: int, listener_id: int, kind: str) -> None:
    """Write "used now", conditionally, so that of many requests at once only one
    writes (never what was fetched, nor from where)."""
    column = USE_COLUMNS[kind]
    now = utcnow()
    attr = getattr(Listener, column)
    with tenancy.as_org(org_id):
        db.session.execute(update(Listener).where(
            Listener.id == listener_id,
            or_(attr.is_(None), attr < now - RECORD_EVERY)).values({column: now})
            .execution_options(synchronize_session=False))
        db.session.commit()


def record_use(listener: Listener, kind: str) -> None:
    """Note that the link was used for a feed or for audio: at most once a minute."""
    if use_due(listener, kind):
        write_use(listener.org_id, listener.id, kind)


def usage(org_id: int) -> list[dict]:
    """Every link of the organisation, newest first, as admins see it: whose, when made,
    when last used for a feed and for audio, and whether revoked. Nothing more."""
    with tenancy.as_org(org_id):
        rows = db.session.execute(
            select(Listener, User.email).join(User, User.id == Listener.user_id)
            .where(Listener.org_id == org_id).order_by(Listener.id.desc())).all()
    return [{"id": listener.id, "user_id": listener.user_id, "email": email,
             "created_at": listener.created_at, "last_feed_at": listener.last_feed_at,
             "last_audio_at": listener.last_audio_at, "revoked_at": listener.revoked_at}
            for listener, email in rows]
