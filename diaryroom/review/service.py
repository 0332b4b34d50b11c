"""Review decisions: what staff may do to an entry between the pipeline and approval.

Each decision checks the entry's state, changes it, records who and when in the audit
trail, and commits. Views (pages and API) only translate HTTP into these calls. Undoing
an approval is announced (``lifecycle.APPROVAL_UNDONE``) after the commit, for features
that took the entry while it was approved.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from .. import jobs, lifecycle, processing
from ..adapters import encryption_key
from ..anonymise import LOCAL_TYPES, written_words
from ..domain import redaction as rd
from ..domain import status as st
from ..entries import load_text, load_transcript
from ..entry_events import announce
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import (
    AuditEvent,
    ConsentRecord,
    Entry,
    Kiosk,
    LocalName,
    Redaction,
    SafeguardingFlag,
    User,
    utcnow,
)

LISTS = ("redact", "allow")


def record(entry: Entry | None, actor: User | str, action: str, **detail) -> None:
    """Add an audit event (committed with the decision it records)."""
    db.session.add(AuditEvent(org_id=entry.org_id if entry else actor.org_id,
                              entry_id=entry.id if entry else None, actor=_who(actor),
                              action=action, detail=detail))


def _who(actor: User | str) -> str:
    """How an actor is written in the audit trail and lifecycle events: ``staff:7``."""
    return actor if isinstance(actor, str) else f"{actor.role}:{actor.id}"


def history(entry: Entry) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.entry_id == entry.id)
                                   .order_by(AuditEvent.id)))


@dataclass(frozen=True)
class ReviewWord:
    index: int
    text: str
    start: float | None
    end: float | None


def original_words(entry: Entry) -> list[ReviewWord]:
    """The unredacted words, for the review page only (never shared)."""
    transcript = load_transcript(entry)
    if transcript is not None:
        return [ReviewWord(i, w.text, w.start, w.end) for i, w in enumerate(transcript.words)]
    text = load_text(entry)
    if text is not None:
        return [ReviewWord(i, w, None, None) for i, w in enumerate(written_words(text))]
    return []


def redactions(entry: Entry) -> list[Redaction]:
    return list(db.session.scalars(select(Redaction).where(Redaction.entry_id == entry.id)
                                   .order_by(Redaction.first_word)))


def flags(entry: Entry) -> list[SafeguardingFlag]:
    return list(db.session.scalars(select(SafeguardingFlag).where(
        SafeguardingFlag.entry_id == entry.id).order_by(SafeguardingFlag.first_word)))


def _editable(entry: Entry) -> None:
    if entry.status != st.AWAITING_REVIEW:
        raise Conflict(f"redactions can only be changed while an entry awaits review "
                       f"(this one is {entry.status.replace('_', ' ')})")


def _changed(entry: Entry) -> None:
    """Bump the revision and queue a re-render; approval waits for it."""
    entry.redaction_revision += 1
    db.session.commit()
    jobs.enqueue(processing.RENDER, entry.id, org_id=entry.org_id)


def add_redaction(entry: Entry, first: int, last: int, kind: str, *, actor: User) -> None:
    _editable(entry)
    words = original_words(entry)
    if not (isinstance(first, int) and isinstance(last, int)) or not 0 <= first <= last:
        raise InvalidInput("first and last must be word indexes, first <= last",
                           code="invalid_words")
    if last >= len(words):
        raise InvalidInput(f"this transcript has {len(words)} words (0..{len(words) - 1})",
                           code="invalid_words")
    if kind not in rd.TYPES:
        raise InvalidInput(f"type must be one of {', '.join(rd.TYPES)}", code="invalid_type")
    # Redactions never overlap: a new one swallows any it touches.
    for row in redactions(entry):
        if row.first_word <= last and first <= row.last_word:
            first, last = min(first, row.first_word), max(last, row.last_word)
            db.session.delete(row)
    times = [(w.start, w.end) if w.start is not None else None for w in words]
    db.session.add(processing.redaction_row(entry, [w.text for w in words], times,
                                            rd.Redaction(first, last, kind, "staff"),
                                            encryption_key()))
    record(entry, actor, "redaction_added", first=first, last=last, type=kind)
    _changed(entry)


def remove_redaction(entry: Entry, word: int, *, actor: User) -> None:
    _editable(entry)
    row = next((r for r in redactions(entry) if r.first_word <= word <= r.last_word), None)
    if row is None:
        raise InvalidInput(f"no redaction covers word {word}", code="no_redaction")
    db.session.delete(row)
    record(entry, actor, "redaction_removed", first=row.first_word, last=row.last_word,
           type=row.type, source=row.source)
    _changed(entry)


def approve(entry: Entry, *, actor: User) -> None:
    if entry.status != st.AWAITING_REVIEW:
        raise Conflict(f"only an entry awaiting review can be approved "
                       f"(this one is {entry.status.replace('_', ' ')})")
    if not entry.rendered:
        raise Conflict("the redacted audio and text are being re-rendered after a change; "
                       "listen to the new version, then approve")
    st.check_transition(entry.status, st.APPROVED)
    entry.status, entry.status_reason = st.APPROVED, None
    entry.approved_at, entry.approved_by_id = utcnow(), actor.id
    record(entry, actor, "approved", revision=entry.rendered_revision)
    db.session.commit()


def send_back(entry: Entry, reason: str, *, actor: User) -> None:
    """Undo an approval (back to review), or stop an entry in review from going further
    (it waits with the team, with the reviewer's reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why it is being sent back", code="reason_required")
    was_approved = entry.status == st.APPROVED
    if was_approved:
        st.check_transition(entry.status, st.AWAITING_REVIEW, decision=True)
        entry.status, entry.status_reason = st.AWAITING_REVIEW, f"sent back: {reason}"
        entry.approved_at = entry.approved_by_id = None
    elif entry.status == st.AWAITING_REVIEW:
        st.check_transition(entry.status, st.NEEDS_ATTENTION)
        entry.status, entry.status_reason = st.NEEDS_ATTENTION, f"sent back: {reason}"
    else:
        raise Conflict(f"an entry that is {entry.status.replace('_', ' ')} cannot be sent back")
    # The reason is staff's words about the entry, not the person's: safe to keep.
    record(entry, actor, "sent_back", reason=reason[:500])
    db.session.commit()
    if was_approved:
        announce(lifecycle.APPROVAL_UNDONE, entry_id=entry.id, org_id=entry.org_id,
                 actor=_who(actor))


def reprocess(entry: Entry, *, actor: User) -> None:
    """Run the whole pipeline again (after fixing what made an entry need attention)."""
    if entry.status != st.NEEDS_ATTENTION:
        raise Conflict("only an entry that needs attention can be run again")
    if not entry.original_key:
        raise Conflict("this entry has no original to process")
    st.check_transition(entry.status, st.PROCESSING, decision=True)
    processing.erase_results(entry)
    entry.status, entry.status_reason = st.PROCESSING, None
    entry.transcript_key = entry.audio_key = None
    entry.rendered_revision, entry.urgent = None, False
    record(entry, actor, "reprocessed")
    db.session.commit()
    jobs.enqueue(processing.PROCESS, entry.id, org_id=entry.org_id)


def viewed_original(entry: Entry, *, actor: User, where: str,
                    quiet_for: dt.timedelta | None = None) -> None:
    """Reading the unredacted words is allowed to staff, and always leaves a trace. With
    ``quiet_for``, a reviewer reloading the page does not add a trace each time."""
    who = f"{actor.role}:{actor.id}"
    if quiet_for is not None and db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.entry_id == entry.id, AuditEvent.actor == who,
            AuditEvent.action == "viewed_original",
            AuditEvent.created_at > utcnow() - quiet_for).limit(1)):
        return
    record(entry, actor, "viewed_original", where=where)
    db.session.commit()


def actor_names(events: list[AuditEvent]) -> dict[str, str]:
    """Readable names (emails) for the actors of audit events, for the review page."""
    ids = {int(e.actor.split(":")[1]) for e in events
           if ":" in e.actor and e.actor.split(":")[1].isdigit()
           and not e.actor.startswith("kiosk")}
    users = db.session.scalars(select(User).where(User.id.in_(ids))) if ids else []
    return {f"{u.role}:{u.id}": u.email for u in users}


@dataclass(frozen=True)
class Tombstone:
    """What the team may still see of a withdrawn entry: when it came and went, who
    withdrew it, and the consent history that shows the person's choices were kept."""

    entry_id: int
    kind: str
    created_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: str
    consent: list[tuple[ConsentRecord, str]]  # each record with who made it, readable


def tombstone(entry: Entry) -> Tombstone:
    records = list(db.session.scalars(select(ConsentRecord).where(
        ConsentRecord.entry_id == entry.id).order_by(ConsentRecord.id)))
    steps = [(r, describe_actor(r.actor)) for r in records]
    by = next((who for r, who in reversed(steps) if r.action == "withdrawn"), "not recorded")
    return Tombstone(entry.id, entry.kind, entry.created_at, entry.withdrawn_at, by, steps)


def describe_actor(actor: str) -> str:
    """A consent history actor (``staff:7``, ``kiosk:3``, ``receipt@kiosk:3``) in words."""
    if actor.startswith("receipt@"):
        return ("the person who recorded it, with their receipt code ("
                + describe_actor(actor.removeprefix("receipt@")) + ")")
    kind, _, number = actor.partition(":")
    row = None
    if number.isdigit():
        model = {"staff": User, "kiosk": Kiosk}.get(kind)
        row = db.session.get(model, int(number)) if model else None  # scoped to the org
    if isinstance(row, User):
        return row.email
    if isinstance(row, Kiosk):
        return f"kiosk “{row.name}”"
    return {"staff": "a staff member", "kiosk": "a kiosk"}.get(kind, actor)


# The organisation's lists of local names.

def local_names(listname: str | None = None) -> list[LocalName]:
    query = select(LocalName).order_by(LocalName.list, LocalName.text)
    if listname:
        query = query.where(LocalName.list == listname)
    return list(db.session.scalars(query))


def add_local_name(text: str, kind: str, listname: str, *, actor: User) -> LocalName:
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("type the name to add", code="empty_name")
    if len(text) > 200:
        raise InvalidInput("names are at most 200 characters", code="name_too_long")
    if listname not in LISTS:
        raise InvalidInput("list must be redact or allow", code="invalid_list")
    if kind not in LOCAL_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(LOCAL_TYPES)}", code="invalid_type")
    existing = [n for n in local_names(listname) if n.text.lower() == text.lower()]
    if existing:
        return existing[0]
    name = LocalName(org_id=actor.org_id, list=listname, text=text, type=kind,
                     created_by_id=actor.id)
    db.session.add(name)
    record(None, actor, "local_name_added", list=listname, type=kind)
    db.session.commit()
    return name


def remove_local_name(name_id: int, *, actor: User) -> None:
    name = db.session.get(LocalName, name_id)  # scoped: another organisation's is None
    if name is None:
        raise NotFound("that name is not on the list (already removed?)")
    db.session.delete(name)
    record(None, actor, "local_name_removed", list=name.list, type=name.type)
    db.session.commit()
