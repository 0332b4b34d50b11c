"""Lifecycle events on the real app: whatever changes an entry after it may have been
shared (a withdrawal, narrowed consent, an undone approval, a re-render) is heard once by
every listener, with the entry, organisation and who did it, after the change is
committed; and a listener that fails neither silences the others nor undoes the change."""
from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from sqlalchemy import select

from diaryroom import lifecycle, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.entry_events import RETELL, RETRY_ACTOR
from diaryroom.extensions import db
from diaryroom.lifecycle import (
    APPROVAL_UNDONE,
    CONSENT_NARROWED,
    EVENTS,
    RERENDERED,
    WITHDRAWN,
    EntryEvent,
)
from diaryroom.models import Entry, Job
from tests.conftest import bearer, run_jobs

TEXT = "My name is Sandra Kowalski and the staff at the hostel helped me a lot."


class Heard(list):
    """Every event the app announced, in order (a listener of all of them)."""

    def __call__(self, event: EntryEvent) -> None:
        # What listeners are promised: the change is committed before they hear of it.
        with tenancy.unscoped():
            status = db.session.scalar(select(Entry.status).where(Entry.id == event.entry_id))
        self.append((event, status))

    def events(self) -> list[tuple]:
        return [(e.name, e.entry_id, e.org_id, e.actor) for e, _ in self]


@pytest.fixture
def heard(app) -> Heard:
    heard = Heard()
    for name in EVENTS:
        lifecycle.subscribe(app, name, heard)
    return heard


@pytest.fixture
def staff(world):
    return world.account("staff")


@pytest.fixture
def call(client, staff) -> Callable:
    def call(method: str, path: str, body: dict | None = None, *, token: str | None = None):
        return client.open(f"/api/v1{path}", method=method, json=body,
                           headers=bearer(token or staff.token))
    return call


@pytest.fixture
def kiosk(world, call) -> Callable:
    """Call the API as organisation A's kiosk: ``(method, path, body)``."""
    def kiosk(method: str, path: str, body: dict | None = None):
        return call(method, path, body, token=world.kiosk_tokens["A"])
    return kiosk


def written(call, *, consent: dict | None = None) -> dict:
    """A written entry, made with ``call`` (as staff, or as the kiosk): id, receipt code."""
    body = {"kind": "text", "text": TEXT, **({"consent": consent} if consent else {})}
    made = call("POST", "/entries", body)
    assert made.status_code == 201, made.text
    return made.json


def kiosk_actor(call, entry_id: int) -> str:
    """``receipt@kiosk:<id>`` for organisation A's kiosk, from the consent history."""
    given = call("GET", f"/entries/{entry_id}").json["consent_history"][0]
    assert given["actor"].startswith("kiosk:")
    return "receipt@" + given["actor"]


def jobs_of(app, kind: str) -> list[tuple[int | None, str]]:
    with app.app_context(), tenancy.unscoped():
        return [(j.target_id, j.state) for j in db.session.scalars(
            select(Job).where(Job.kind == kind).order_by(Job.id))]


def test_every_listener_can_be_listed(app, heard):
    listed = lifecycle.listeners(app)
    assert set(listed) == set(EVENTS)
    assert all(heard in listed[name] for name in EVENTS)
    lifecycle.subscribe(app, WITHDRAWN, heard)  # subscribing twice is still once
    assert lifecycle.listeners(app)[WITHDRAWN].count(heard) == 1


def test_a_withdrawal_by_staff_is_heard_once(app, call, heard, staff, world):
    entry_id = written(call)["id"]
    run_jobs(app)
    assert heard == []  # taking it in and processing it is nobody else's business
    for _ in range(2):  # withdrawing again changes nothing, so tells nobody
        assert call("POST", f"/entries/{entry_id}/withdraw").status_code == 200
    assert heard.events() == [(WITHDRAWN, entry_id, world.orgs["A"], f"staff:{staff.user_id}")]
    assert heard[0][1] == "withdrawn"


def test_a_withdrawal_by_receipt_is_heard_once(app, call, kiosk, heard, world):
    made = written(kiosk)
    done = kiosk("POST", f"/receipts/{made['receipt_code']}/withdraw")
    assert done.status_code == 200 and done.json["status"] == "withdrawn"
    assert heard.events() == [(WITHDRAWN, made["id"], world.orgs["A"],
                               kiosk_actor(call, made["id"]))]


def test_narrowed_consent_is_heard_and_widened_consent_is_not(call, kiosk, heard, world):
    made = written(kiosk, consent={"audience": "public", "panel_quotes": True})
    code, org = made["receipt_code"], world.orgs["A"]
    actor = kiosk_actor(call, made["id"])

    def change(consent: dict) -> None:
        changed = kiosk("POST", f"/receipts/{code}/consent", {"consent": consent})
        assert changed.status_code == 200, changed.text

    change({"audience": "organisation", "panel_quotes": True})  # a smaller audience
    assert heard.events() == [(CONSENT_NARROWED, made["id"], org, actor)]
    change({"audience": "public", "panel_quotes": True})  # wider again: nothing breaks
    change({"audience": "public", "panel_quotes": True})  # the same: nothing at all
    assert len(heard) == 1
    change({"audience": "public"})  # quotes no longer allowed
    assert heard.events()[1:] == [(CONSENT_NARROWED, made["id"], org, actor)]
    assert heard[1][1] == "received"


def test_a_written_entrys_voice_is_not_a_choice_so_never_narrows(call, kiosk, heard):
    made = written(kiosk, consent={"audience": "public", "voice": "natural"})
    shown = call("GET", f"/entries/{made['id']}").json
    assert shown["consent"]["voice"] == "disguise"  # no voice to keep natural
    changed = kiosk("POST", f"/receipts/{made['receipt_code']}/consent",
                    {"consent": {"audience": "public", "voice": "disguise"}})
    assert changed.status_code == 200 and heard == []


@pytest.fixture
def approved(app, call) -> int:
    entry_id = written(call)["id"]
    run_jobs(app)
    assert call("POST", f"/entries/{entry_id}/approve").status_code == 200
    return entry_id


def test_sending_back_an_approved_entry_is_heard_once(app, call, heard, approved, staff,
                                                     world):
    sent = call("POST", f"/entries/{approved}/send-back", {"reason": "a name was missed"})
    assert sent.status_code == 200 and sent.json["status"] == "awaiting_review"
    assert heard.events() == [(APPROVAL_UNDONE, approved, world.orgs["A"],
                               f"staff:{staff.user_id}")]
    assert heard[0][1] == "awaiting_review"
    # Stopping an entry that was never approved undoes nothing.
    again = call("POST", f"/entries/{approved}/send-back", {"reason": "wait"})
    assert again.status_code == 200 and again.json["status"] == "needs_attention"
    assert len(heard) == 1


def test_a_re_render_after_a_redaction_edit_is_heard_once(app, call, heard, world):
    entry_id = written(call)["id"]
    run_jobs(app)  # the first render replaces nothing
    hostel = TEXT.split().index("hostel")
    added = call("POST", f"/entries/{entry_id}/redactions",
                 {"action": "add", "first": hostel, "type": "PLACE"})
    assert added.status_code == 200, added.text
    assert heard == []  # nothing replaced yet: the edit only queued a render
    run_jobs(app)
    assert heard.events() == [(RERENDERED, entry_id, world.orgs["A"], "worker")]
    entry = call("GET", f"/entries/{entry_id}").json
    assert entry["rendered_revision"] == entry["redaction_revision"] == 2
    assert "[PLACE]" in call("GET", f"/entries/{entry_id}/transcript").json["text"]


@pytest.mark.slow
def test_a_voice_change_that_undoes_approval_is_heard(app, call, kiosk, heard, world, upload,
                                                      tmp_path, have_ffmpeg):
    wav = tmp_path / "v.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(wav),
                    "The day centre was warm and the tea was good."], check=True, timeout=60)
    made = upload(world.kiosk_tokens["A"], wav,
                  consent={"audience": "organisation", "voice": "natural"})
    assert made.status_code == 201, made.text
    entry_id, code, org = made.json["id"], made.json["receipt_code"], world.orgs["A"]
    run_jobs(app)
    assert call("POST", f"/entries/{entry_id}/approve").status_code == 200
    actor = kiosk_actor(call, entry_id)

    changed = kiosk("POST", f"/receipts/{code}/consent",
                    {"consent": {"audience": "organisation", "voice": "disguise"}})
    assert changed.status_code == 200 and changed.json["status"] == "awaiting_review"
    assert heard.events() == [(CONSENT_NARROWED, entry_id, org, actor),
                              (APPROVAL_UNDONE, entry_id, org, actor)]
    run_jobs(app)  # the disguised audio replaces the natural one
    assert heard.events()[2:] == [(RERENDERED, entry_id, org, "worker")]


def test_a_failing_listener_neither_silences_the_others_nor_undoes_a_withdrawal(
        app, call, world, staff):
    failing = {"on": True}

    def broken(event: EntryEvent) -> None:
        if failing["on"]:
            raise RuntimeError("the feed could not be rebuilt")

    lifecycle.subscribe(app, WITHDRAWN, broken)  # before the others: they still hear
    heard = Heard()
    lifecycle.subscribe(app, WITHDRAWN, heard)
    entry_id = written(call)["id"]
    run_jobs(app)
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        files = [entry.original_key, entry.result_key("redacted.json")]

    done = call("POST", f"/entries/{entry_id}/withdraw")
    assert done.status_code == 200 and done.json["status"] == "withdrawn"
    assert call("GET", f"/entries/{entry_id}").json["status"] == "withdrawn"
    with app.app_context():
        assert not any(get_private_storage().exists(key) for key in files)
    assert heard.events() == [(WITHDRAWN, entry_id, world.orgs["A"], f"staff:{staff.user_id}")]
    # The event is kept, so the listener that failed is told again.
    assert jobs_of(app, RETELL[WITHDRAWN]) == [(entry_id, "queued")]
    failing["on"] = False
    run_jobs(app)
    assert jobs_of(app, RETELL[WITHDRAWN]) == [(entry_id, "done")]
    assert heard.events()[1:] == [(WITHDRAWN, entry_id, world.orgs["A"], RETRY_ACTOR)]


def test_a_withdrawal_by_receipt_succeeds_for_the_person_when_a_listener_fails(
        app, kiosk, world):
    def broken(event: EntryEvent) -> None:
        raise RuntimeError("down")

    lifecycle.subscribe(app, WITHDRAWN, broken)
    made = written(kiosk)
    done = kiosk("POST", f"/receipts/{made['receipt_code']}/withdraw")
    assert done.status_code == 200 and done.json == {"id": made["id"], "status": "withdrawn"}
    run_jobs(app)  # it keeps failing: tried again until the job gives up, visibly
    assert jobs_of(app, RETELL[WITHDRAWN]) == [(made["id"], "failed")]
