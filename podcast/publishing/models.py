"""Publishing's rows: the show's details, each publication of an episode to an audience,
every change to them (who and when), and the listeners who hold private feed links.
Every row is ``OrgScoped``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from diaryroom.extensions import db
from diaryroom.models import OrgScoped, utcnow

INTERNAL, PUBLIC = "internal", "public"
STAGES = (INTERNAL, PUBLIC)
LIVE, ENDED = "live", "ended"


class Show(OrgScoped, db.Model):
    """An organisation's podcast: what its feeds say about it, and a counter bumped by
    every change that alters a feed (the feed cache's generation). One per organisation,
    made when first needed."""

    __tablename__ = "podcast_shows"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(20), default="en-GB")
    category: Mapped[str] = mapped_column(String(100), default="Society & Culture")
    subcategory: Mapped[str | None] = mapped_column(String(100), default="Documentary")
    explicit: Mapped[bool] = mapped_column(default=False)
    author: Mapped[str | None] = mapped_column(String(200))  # the organisation, as credited
    owner_name: Mapped[str | None] = mapped_column(String(200))   # public feed only
    owner_email: Mapped[str | None] = mapped_column(String(254))  # public feed only
    link: Mapped[str | None] = mapped_column(String(500))  # the show's web page, if any
    artwork_key: Mapped[str | None] = mapped_column(String(300))
    artwork_type: Mapped[str | None] = mapped_column(String(20))
    # podcast:guid: a UUIDv5 of the public feed's URL, fixed when first made so that a
    # later change of host name does not make the show a new one in every directory.
    guid: Mapped[str] = mapped_column(String(36))
    feed_version: Mapped[int] = mapped_column(default=1)
    feed_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Publication(OrgScoped, db.Model):
    """One episode render shared with one audience: ``internal`` (the organisation's
    listeners) or ``public`` (the public feed). It stays ``live`` until unpublished, or
    ended because what it holds may no longer be heard that widely."""

    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    audience: Mapped[str] = mapped_column(String(10))  # internal | public
    render_id: Mapped[int] = mapped_column(ForeignKey("episode_renders.id"))
    # The approved audio's hash, taken from the stored bytes at approval: the public
    # stage checks the render it publishes is byte for byte the one approved.
    mp3_sha256: Mapped[str] = mapped_column(String(64))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default=LIVE, index=True)  # live | ended
    ended_at: Mapped[dt.datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(String(200))
    # Only with S3 storage: a plain copy of the audio that presigned links (or a CDN)
    # serve; deleted when the publication ends. Local storage streams from the
    # encrypted store instead and keeps no copy.
    copy_key: Mapped[str | None] = mapped_column(String(300))


class PublicationEvent(OrgScoped, db.Model):
    """Every change to what is published, with who made it and when (the history)."""

    __tablename__ = "publication_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))
    # published | unpublished | ended (by a lifecycle event) | refused
    action: Mapped[str] = mapped_column(String(20))
    audience: Mapped[str] = mapped_column(String(10))
    render_id: Mapped[int | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str | None] = mapped_column(String(60))  # "staff:7", "worker"
    detail: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Listener(OrgScoped, db.Model):
    """A person's private feed link. Podcast apps cannot sign in, so the link carries a
    long random token: its hash finds the row, and the token itself is sealed so the
    person's account page can show the link again. Revoked links answer 410."""

    __tablename__ = "feed_listeners"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What admins see: whether and when the link was used, nothing more.
    last_feed_at: Mapped[dt.datetime | None]
    last_audio_at: Mapped[dt.datetime | None]
