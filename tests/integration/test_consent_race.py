"""A consent change racing a withdrawal (issue 8, item 7): the withdrawal always wins.

The race is played out step by step: the consent change has read the entry (approved),
a withdrawal then commits through another session and connection, and only then does
the consent change write. On PostgreSQL nothing locks the row in between, so only a
conditional write keeps the withdrawn entry from going back to review.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from diaryroom import intake, tenancy
from diaryroom.domain.consent import Consent
from diaryroom.errors import Conflict, InvalidInput
from diaryroom.extensions import db
from diaryroom.models import ConsentRecord, Entry
from tests.conftest import bearer

NATURAL = Consent(audience="public", voice="natural")  # a voice change: re-render, re-review


@pytest.fixture
def approved_entry(app, world) -> int:
    """An approved audio entry with rendered audio (set directly: no pipeline needed)."""
    created = app.test_client().post("/api/v1/entries", json={"kind": "text", "text": "hello"},
                                     headers=bearer(world.account("staff").token))
    assert created.status_code == 201, created.text
    entry_id = created.json["id"]
    with app.app_context(), tenancy.unscoped():
        db.session.execute(update(Entry).where(Entry.id == entry_id).values(
            kind="audio", status="approved", rendered_revision=1))
        db.session.commit()
    return entry_id


def changes(entry_id: int) -> int:
    return len(db.session.scalars(select(ConsentRecord).where(
        ConsentRecord.entry_id == entry_id, ConsentRecord.action == "changed")).all())


def test_a_withdrawal_between_read_and_write_wins(app, world, approved_entry):
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        entry = db.session.get(Entry, approved_entry)  # the consent change has read it...
        assert entry.status == "approved"
        with app.app_context():  # ...another request, its own session and connection...
            intake.withdraw(db.session.get(Entry, approved_entry), actor="staff:1")
            db.session.remove()
        assert entry.status == "approved"  # (this session still holds what it read)
        with pytest.raises(InvalidInput) as refused:  # ...and only then does it write
            intake.change_consent(entry, NATURAL, actor="receipt@kiosk:1")
        assert refused.value.code == "withdrawn"
        db.session.remove()
        stored = db.session.get(Entry, approved_entry)
        assert stored.status == "withdrawn"
        assert stored.consent != NATURAL.to_dict()
        assert changes(approved_entry) == 0


def test_any_other_change_in_between_is_a_conflict(app, world, approved_entry):
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        entry = db.session.get(Entry, approved_entry)
        with app.app_context():  # staff send it back meanwhile
            db.session.execute(update(Entry).where(Entry.id == approved_entry).values(
                status="awaiting_review"))
            db.session.commit()
            db.session.remove()
        with pytest.raises(Conflict, match="try again"):
            intake.change_consent(entry, NATURAL, actor="receipt@kiosk:1")
        assert changes(approved_entry) == 0
        # Asked again with the entry as it now is, it goes through.
        intake.change_consent(db.session.get(Entry, approved_entry), NATURAL,
                              actor="receipt@kiosk:1")
        assert changes(approved_entry) == 1


def test_without_a_race_the_change_sends_an_approved_entry_back_to_review(
        app, world, approved_entry):
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        entry = intake.change_consent(db.session.get(Entry, approved_entry), NATURAL,
                                      actor="receipt@kiosk:1")
        assert entry.status == "awaiting_review"
        assert entry.consent == NATURAL.to_dict()
        assert entry.redaction_revision == 1 and entry.approved_at is None
        assert changes(approved_entry) == 1
