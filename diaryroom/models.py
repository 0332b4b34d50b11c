"""Typed database rows. Every row that holds an organisation's data has ``org_id``
(``OrgScoped``), and ``tenancy`` filters every ORM query by it in one place."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from . import keys
from .domain.roles import Role
from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so a fast hash is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


class Organisation(db.Model):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrgScoped:
    """Mixin for rows that belong to exactly one organisation."""

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)


class User(OrgScoped, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique across the installation: sign-in happens before we know the organisation.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Carried in the session cookie; bumping it ends every session of the account (sign-out,
    # password or role change, deactivation), since a cookie alone cannot be taken back.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    organisation: Mapped[Organisation] = relationship()

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class ApiToken(OrgScoped, db.Model):
    """A personal token for the JSON API, shown once and stored only as a hash."""

    __tablename__ = "api_tokens"
    PREFIX = "drp_"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[ApiToken, str]:
        token = cls.PREFIX + secrets.token_urlsafe(32)
        return cls(user_id=user.id, org_id=user.org_id, name=name,
                   token_hash=hash_token(token)), token


class Kiosk(OrgScoped, db.Model):
    """A paired kiosk device. It authenticates with its own revocable token, never as staff."""

    __tablename__ = "kiosks"
    PREFIX = "drk_"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # A short code staff can read out or type on the device, instead of opening a link.
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_expires_at: Mapped[dt.datetime | None]

    @classmethod
    def pair(cls, org_id: int, name: str) -> tuple[Kiosk, str]:
        token = cls.PREFIX + secrets.token_urlsafe(32)
        return cls(org_id=org_id, name=name, token_hash=hash_token(token)), token


class Entry(OrgScoped, db.Model):
    """One diary-room recording (or written entry) and where it is in the pipeline."""

    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="audio")
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[dict[str, Any]] = mapped_column(JSON)
    original_key: Mapped[str | None] = mapped_column(String(300))
    original_sha256: Mapped[str | None] = mapped_column(String(64))
    original_filename: Mapped[str | None] = mapped_column(String(200))
    transcript_key: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(10))
    duration: Mapped[float | None]
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The question card the person chose, if any (cards can be deleted; no FK on purpose).
    question_card_id: Mapped[int | None]
    # The receipt code is shown once to the person; we keep a keyed hash to find the
    # entry again and a sealed (encrypted) copy so staff can help on the person's behalf.
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]
    # A video entry's sound on its own (the team's copy; only redacted audio is shared).
    audio_key: Mapped[str | None] = mapped_column(String(300))
    # Safeguarding: set when a disclosure was flagged; only staff and admins see why.
    urgent: Mapped[bool] = mapped_column(default=False, index=True)
    # Every change to the redactions bumps the revision; the redacted text and audio
    # rendered for a revision carry its number, and approval needs them to match.
    redaction_revision: Mapped[int] = mapped_column(default=0)
    rendered_revision: Mapped[int | None]
    approved_at: Mapped[dt.datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Digest of the client's Idempotency-Key with who sent it (see idempotency.py): a
    # retried request finds this entry instead of making a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    def result_key(self, name: str, revision: int | None = None) -> str:
        """Where a rendered result (redacted.json/.vtt/.mp3/.opus) of a revision lives:
        ``revision``, or the last one rendered."""
        rev = self.rendered_revision if revision is None else revision
        if rev is None:  # nothing rendered yet: there is no such file to name
            raise ValueError(f"entry {self.id} has no rendered revision")
        return keys.entry_result(self.org_id, self.id, rev, name)

    @property
    def rendered(self) -> bool:
        return self.rendered_revision is not None and \
            self.rendered_revision == self.redaction_revision


class ConsentRecord(OrgScoped, db.Model):
    """One consent decision. Rows are only ever added: the history is never rewritten."""

    __tablename__ = "consent_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))  # given | changed | withdrawn
    audience: Mapped[str] = mapped_column(String(20))
    voice: Mapped[str] = mapped_column(String(10))
    panel_quotes: Mapped[bool]
    actor: Mapped[str] = mapped_column(String(40))  # kiosk:3, staff:7, receipt@kiosk:3
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Redaction(OrgScoped, db.Model):
    """One hidden run of words in an entry's transcript. It keeps a keyed hash of the words,
    never the words: enough to tell two redactions apart, not to read them."""

    __tablename__ = "redactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    first_word: Mapped[int]
    last_word: Mapped[int]
    type: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))  # auto | local | staff | sweep
    text_hash: Mapped[str] = mapped_column(String(64))
    start: Mapped[float | None]  # seconds; none for a written entry
    end: Mapped[float | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SafeguardingFlag(OrgScoped, db.Model):
    """A passage that may need a staff response. ``phrase`` is from the reviewed list,
    not the person's words; the passage itself is found by word index."""

    __tablename__ = "safeguarding_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    first_word: Mapped[int]
    last_word: Mapped[int]
    phrase: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LocalName(OrgScoped, db.Model):
    """An organisation's own words: names always redacted (hostels, streets, staff) or
    never redacted (the allow-list, e.g. the service's own name)."""

    __tablename__ = "local_names"
    __table_args__ = (db.UniqueConstraint("org_id", "list", "text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list: Mapped[str] = mapped_column(String(10))  # redact | allow
    text: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))  # NAME | PLACE | ORGANISATION
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEvent(OrgScoped, db.Model):
    """Who did what to an entry, and when: review decisions, looking at the original
    words. Added, never changed; ``detail`` holds ids and types, never personal text."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), index=True)
    actor: Mapped[str] = mapped_column(String(40))  # staff:7, kiosk:3, worker
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Job(OrgScoped, db.Model):
    """The durable record of a background job. The queue only carries its id."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[dt.datetime | None]
    # A queued job is not sent before this (its back-off after a transient failure), and
    # is sent by the sweeper once it has passed (also "now" when the queue refused it).
    retry_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state,
                "progress": self.progress, "error": self.error, "attempts": self.attempts,
                "retry_at": self.retry_at.isoformat() + "Z" if self.retry_at else None}



HISTORIES = (ConsentRecord, AuditEvent)


@event.listens_for(ConsentRecord, "before_update")
@event.listens_for(ConsentRecord, "before_delete")
@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _history_is_append_only(mapper, connection, target) -> None:
    raise PermissionError("consent records and audit events are a history: "
                          "they are added, never changed")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_history_changes(state: ORMExecuteState) -> None:
    """``update(ConsentRecord)`` and ``delete(AuditEvent)`` skip the mapper events."""
    if (state.is_update or state.is_delete) and any(
            m.class_ in HISTORIES for m in state.all_mappers):
        _history_is_append_only(None, None, None)
