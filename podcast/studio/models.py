"""The studio's rows: episodes, their segments and edit lists, renders, co-host
recordings, music, co-hosts' releases and comments. Every row is ``OrgScoped``."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from diaryroom.extensions import db
from diaryroom.models import OrgScoped, utcnow


class Episode(OrgScoped, db.Model):
    __tablename__ = "episodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")  # Markdown as typed; sanitised on output
    season: Mapped[int | None]
    number: Mapped[int | None]
    theme: Mapped[str | None] = mapped_column(String(100))
    cover_key: Mapped[str | None] = mapped_column(String(300))
    cover_type: Mapped[str | None] = mapped_column(String(20))  # image/jpeg | image/png
    # Bumped by every change to the episode's details or to the order of its segments;
    # a save that names an older version is refused (two people editing at once).
    version: Mapped[int] = mapped_column(default=1)
    # The render people hear now: kept while a newer one runs, deleted with withdrawn
    # audio. (No foreign key: renders point at their episode, and a cycle of keys would
    # make the tables impossible to create in one pass.)
    current_render_id: Mapped[int | None]
    # The item guid in every feed, fixed at first publication and never changed, so
    # podcast apps keep one episode across re-renders and unpublishing.
    guid: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Segment(OrgScoped, db.Model):
    """One piece of an episode, in order: an approved entry's redacted audio, a co-host's
    recording, or a music track. ``edits`` is the non-destructive edit list over it."""

    __tablename__ = "episode_segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))  # entry | recording | music
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), index=True)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("cohost_recordings.id"))
    music_id: Mapped[int | None] = mapped_column(ForeignKey("music_tracks.id"))
    # The entry revision whose redacted audio this segment uses (its words and times).
    entry_revision: Mapped[int | None]
    title: Mapped[str | None] = mapped_column(String(200))  # its chapter title
    edits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Every saved edit bumps it; a save naming an older version is refused, never merged.
    version: Mapped[int] = mapped_column(default=1)
    # Set when the entry under it was withdrawn, narrowed or sent back: what co-hosts
    # must do (remove or replace this segment) is shown until it is resolved.
    problem: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SegmentEdit(OrgScoped, db.Model):
    """The edit lists a segment had before, newest last: undo restores the previous."""

    __tablename__ = "segment_edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("episode_segments.id"), index=True)
    version: Mapped[int]
    edits: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EpisodeRender(OrgScoped, db.Model):
    """One render of an episode, kept in a history with who asked for it."""

    __tablename__ = "episode_renders"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # queued | running | done | failed | deleted
    state: Mapped[str] = mapped_column(String(12), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    # What went in: [{"segment_id", "kind", "entry_id", "entry_revision", ...}]; a
    # withdrawal finds the renders holding its audio here.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    entry_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    episode_version: Mapped[int | None]
    audience: Mapped[str | None] = mapped_column(String(20))  # the narrowest consent in it
    duration: Mapped[float | None]
    lufs: Mapped[float | None]
    true_peak: Mapped[float | None]  # dBTP
    mp3_sha256: Mapped[str | None] = mapped_column(String(64))
    mp3_size: Mapped[int | None]
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # name -> storage key
    deleted_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class CohostRecording(OrgScoped, db.Model):
    """A co-host's own recording (a link between entries): encrypted like an entry,
    transcribed, and checked for personal details they may want to cut."""

    __tablename__ = "cohost_recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # processing | ready | needs_attention
    status: Mapped[str] = mapped_column(String(20), default="processing")
    status_reason: Mapped[str | None] = mapped_column(Text)
    original_key: Mapped[str | None] = mapped_column(String(300))
    transcript_key: Mapped[str | None] = mapped_column(String(300))
    duration: Mapped[float | None]
    # What the personal-data detector found: [{"first", "last", "type", "kept"}] by word
    # index (never the words); the co-host cuts or keeps each.
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MusicTrack(OrgScoped, db.Model):
    """Intro or outro music, uploaded once per show (organisation), with its credit."""

    __tablename__ = "music_tracks"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    made_by: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(String(200))
    key: Mapped[str | None] = mapped_column(String(300))
    duration: Mapped[float | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EpisodeCohost(OrgScoped, db.Model):
    """A co-host on an episode, by the name they choose to use, and their release."""

    __tablename__ = "episode_cohosts"
    __table_args__ = (db.UniqueConstraint("episode_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    display_name: Mapped[str] = mapped_column(String(80))
    release_version: Mapped[str | None] = mapped_column(String(20))
    released_at: Mapped[dt.datetime | None]


class EpisodeComment(OrgScoped, db.Model):
    __tablename__ = "episode_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
