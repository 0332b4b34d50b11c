"""Organisation isolation: one organisation never sees, nor changes, another's rows.

Every route that takes an integer id is found in the URL map and called with the other
organisation's ids; every list shows only the caller's own rows; and ``tenancy`` itself
is checked directly (scoped reads, fail-closed without an organisation, refused writes).
"""
from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select, update
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from diaryroom import accounts, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.auth import passwords
from diaryroom.auth.access import declared_access
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent
from diaryroom.extensions import db
from diaryroom.models import (
    ApiToken,
    ConsentRecord,
    Entry,
    Job,
    Kiosk,
    LocalName,
    OrgScoped,
    User,
)
from diaryroom.uploads import Upload, part_path
from podcast.publishing import listeners
from tests.conftest import AuthActions, World, bearer, csrf_from
from tests.integration.studio_support import stored_episode

INT_ARGUMENT = re.compile(r"<int:(\w+)>")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: two organisations hash eight passwords."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class OrgData:
    """One organisation's rows, each carrying a marker no other organisation's data has."""

    name: str
    org_id: int
    marker: str
    entry_ids: list[int]
    job_id: int
    kiosk_id: int
    kiosk_name: str
    token_id: int  # the admin's
    token_name: str
    emails: list[str]
    name_id: int  # a name on its list of local names
    user_id: int  # an account (its co-host's), for the off-boarding routes
    episode: dict[str, int]  # an episode's id, its segment's and its render's
    listener_id: int = 0  # a private feed link (its panel member's)

    def object_for(self, argument: str, endpoint: str = "") -> int:
        ids = {"entry_id": self.entry_ids[0], "job_id": self.job_id,
               "token_id": self.token_id, "kiosk_id": self.kiosk_id,
               "name_id": self.name_id, "user_id": self.user_id,
               "listener_id": self.listener_id, **self.episode}
        if argument not in ids:
            pytest.fail(f"teach OrgData.object_for a real {argument!r} of an organisation")
        if endpoint == "api.withdraw_entry":  # not the entry the other routes read
            return self.entry_ids[1]
        return ids[argument]


def _transcript(text: str) -> bytes:
    return json.dumps({"language": "en", "language_probability": 1.0, "duration": 2.0,
                       "segments": [{"start": 0.0, "end": 2.0, "text": text,
                                     "words": []}]}).encode()


def seed_episode(org_id: int, marker: str, entry_id: int) -> dict[str, int]:
    """An episode (its title, audio and cover carry the marker) with the entry in it."""
    return stored_episode(org_id, entry_id, title=f"{marker} episode",
                          audio=f"{marker} audio".encode(), cover=f"{marker} cover".encode())


def seed(world: World, name: str) -> OrgData:
    """Entries (approved, with transcripts), a job, a kiosk and a token for ``name``."""
    app, org_id, marker = world.app, world.orgs[name], f"{name.lower()}-secret"
    with app.app_context():
        with tenancy.as_org(org_id):
            entry_ids = []
            for n in range(2):
                entry = Entry(org_id=org_id, consent=Consent().to_dict(), status=st.APPROVED,
                              status_reason=f"{marker}-reason-{n}", duration=2.0,
                              original_filename=f"{marker}.webm")
                db.session.add(entry)
                db.session.flush()
                key = f"org/{org_id}/entries/{entry.id}/transcript.json"
                get_private_storage().put(key, BytesIO(_transcript(f" {marker} words {n}")))
                entry.transcript_key, entry.language = key, "en"
                entry.rendered_revision = 0  # and the pipeline's redacted results
                for result in ("redacted.json", "redacted.mp3"):
                    get_private_storage().put(entry.result_key(result),
                                              BytesIO(_transcript(f" {marker} redacted")))
                entry_ids.append(entry.id)
            job = Job(org_id=org_id, kind="transcribe_entry", target_id=entry_ids[0],
                      state="failed", error=f"{marker}-job-error")
            local = LocalName(org_id=org_id, list="redact", text=f"{marker}-hostel",
                              type="PLACE")
            db.session.add_all([job, local])
            episode = seed_episode(org_id, marker, entry_ids[0])
            db.session.commit()
            job_id, name_id = job.id, local.id
        kiosk, _ = accounts.pair_kiosk(org_id, f"{marker}-kiosk")
        with tenancy.unscoped():
            admin = db.session.get(User, world.account("admin", name).user_id)
            token, _ = accounts.issue_api_token(admin, f"{marker}-token")
            panel = db.session.get(User, world.account("panel", name).user_id)
        listener, _ = listeners.create_listener(panel, by=None)
        return OrgData(name, org_id, marker, entry_ids, job_id, kiosk.id, kiosk.name,
                       token.id, token.name,
                       [a.email for (org, _), a in world.accounts.items() if org == name],
                       name_id, world.account("cohost", name).user_id, episode,
                       listener.id)


@pytest.fixture
def orgs(world) -> dict[str, OrgData]:
    world.add_org("B")
    return {name: seed(world, name) for name in ("A", "B")}


def org_models() -> list[type]:
    """Every model whose rows belong to one organisation."""
    models = [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, OrgScoped)]
    assert {User, ApiToken, Kiosk, Entry, Job, ConsentRecord, Upload} <= set(models)
    return sorted(models, key=lambda m: m.__name__)


def snapshot(app: Flask, org_id: int) -> dict:
    """Every organisation-scoped row of one organisation, column by column."""
    rows = {}
    with app.app_context(), tenancy.unscoped():
        for model in org_models():
            for row in db.session.scalars(select(model).where(model.org_id == org_id)):
                rows[(model.__name__, row.id)] = {
                    c.key: getattr(row, c.key) for c in model.__table__.columns}
    return rows


class Caller:
    """Requests as one principal; forms get a valid CSRF token, so only scoping decides."""

    _names = itertools.count()

    def __init__(self, world: World, org: str, role: str, via: str):
        self.app, self.via, self.label = world.app, via, f"{org} {role} via {via}"
        account = world.account(role, org)
        self.headers = bearer(account.token) if via == "token" else {}
        self.client = world.app.test_client()
        if via == "session":
            assert AuthActions(self.client).login(account.email).status_code == 302

    def request(self, method: str, url: str) -> TestResponse:
        data = {}
        if method == "POST" and not url.startswith("/api/"):
            page = self.client.get("/auth/login", headers=self.headers)
            data["csrf_token"] = csrf_from(page.text)
        return self.client.open(url, method=method, data=data, headers=self.headers)

    def reaches(self, rule: Rule) -> bool:
        """The API takes bearer tokens only (a session there is anonymous: 401)."""
        return self.via == "token" or not rule.rule.startswith("/api/")

    def get(self, url: str) -> TestResponse:
        response = self.request("GET", url)
        assert response.status_code == 200, (self.label, url, response.status_code)
        return response


def id_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if INT_ARGUMENT.search(r.rule)]


def url_for_rule(app: Flask, rule: Rule, method: str, data: OrgData) -> str:
    values = {arg: data.object_for(arg, rule.endpoint)
              for arg in INT_ARGUMENT.findall(rule.rule)}
    if "fmt" in rule.arguments:  # the redacted audio's format
        values["fmt"] = "mp3"
    if "name" in rule.arguments:  # a render's file
        values["name"] = "episode.mp3"
    other = set(rule.arguments) - set(values)
    assert not other, f"{rule.rule}: fill {sorted(other)} too"
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=method)


def leaks(body: str, other: OrgData) -> list[str]:
    markers = [other.marker, other.kiosk_name, *other.emails]
    return [m for m in markers if m in body]


# --- every route with an id -----------------------------------------------------------

def test_id_routes_are_discovered(app):
    endpoints = {r.endpoint for r in id_rules(app)}
    assert endpoints, "no route takes an integer id"
    assert {"api.get_entry", "api.get_transcript", "api.get_job"} <= endpoints


@pytest.mark.parametrize("role,via", [("admin", "token"), ("staff", "token"),
                                      ("admin", "session")])
def test_other_organisations_ids_are_not_found(world, orgs, role, via):
    app, a, b = world.app, orgs["A"], orgs["B"]
    caller = Caller(world, "A", role, via)
    before = snapshot(app, b.org_id)
    rules = [r for r in id_rules(app) if caller.reaches(r)]
    assert rules
    failures = []
    for rule in rules:
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            url = url_for_rule(app, rule, method, b)
            response = caller.request(method, url)
            if response.status_code not in (403, 404):
                failures.append(f"{method} {url}: got {response.status_code}")
            if found := leaks(response.get_data(as_text=True), b):
                failures.append(f"{method} {url}: body shows B's {found}")
            if url.startswith("/api/") and response.status_code == 404:
                assert set(response.json) == {"error"}, url
    assert failures == [], f"as {caller.label}:\n" + "\n".join(failures)
    assert snapshot(app, b.org_id) == before, "a request changed organisation B's rows"

    # The same routes with A's own ids work, so the 404s above come from scoping.
    # (A's token in OrgData is the admin's, which only the admin may revoke.)
    for rule in rules:
        if rule.endpoint == "auth.revoke_token" and role != "admin":
            continue
        if role not in declared_access(app.view_functions[rule.endpoint]):
            continue  # another role's route (off-boarding is the admin's): 403 above is right
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = caller.request(method, url_for_rule(app, rule, method, a))
            if method == "GET":
                assert response.status_code in (200, 302), (rule.rule, response.status_code)
            else:  # found and allowed; an empty POST may still be refused for its content
                assert response.status_code in (200, 202, 302, 409, 422), (
                    rule.rule, response.status_code)


# --- receipt codes and upload ids -----------------------------------------------------

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


class KioskPage:
    """A browser paired as an organisation's kiosk, calling the kiosk page's actions."""

    def __init__(self, world: World, org: str):
        self.client = world.app.test_client()
        page = self.client.get("/kiosk/pair")
        assert self.client.post("/kiosk/pair", data={
            "token": world.kiosk_tokens[org], "csrf_token": csrf_from(page.text)}
        ).status_code == 302
        home = self.client.get("/kiosk/")
        self.headers = {"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"',
                                                 home.text).group(1)}

    def action(self, path: str, body: dict) -> TestResponse:
        return self.client.post(f"/kiosk{path}", json=body, headers=self.headers)


def new_upload(client, base: str, headers: dict, data: bytes, send: int) -> str:
    """A tus upload of ``data`` with its first ``send`` bytes sent; returns its id."""
    created = client.post(base, headers={**headers, **TUS, "Upload-Length": str(len(data))})
    assert created.status_code == 201, created.text
    upload_id = created.headers["Location"].rsplit("/", 1)[1]
    if send:
        sent = client.patch(f"{base}/{upload_id}", data=data[:send], content_type=OCTETS,
                            headers={**headers, **TUS, "Upload-Offset": "0"})
        assert sent.status_code == 204, sent.text
    return upload_id


def stored_objects(app: Flask, org_id: int) -> dict[str, bytes]:
    root = Path(app.config["DATA_DIR"]) / "media" / "org" / str(org_id)
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_other_organisations_receipt_codes_are_not_found(world, orgs):
    app, a, b = world.app, orgs["A"], orgs["B"]
    b_kiosk, a_kiosk = KioskPage(world, "B"), KioskPage(world, "A")
    b_made = b_kiosk.action("/entries", {"kind": "text", "text": f"{b.marker} written"})
    a_made = a_kiosk.action("/entries", {"kind": "text", "text": f"{a.marker} written"})
    assert b_made.status_code == a_made.status_code == 201
    code = b_made.json["receipt_code"]
    before, files = snapshot(app, b.org_id), stored_objects(app, b.org_id)

    forms = [code, code.upper().replace("-", " ")]
    tried = []
    for typed in forms:
        tried += [a_kiosk.action("/receipts/lookup", {"code": typed}),
                  a_kiosk.action("/receipts/consent", {"code": typed, "consent": {
                      "audience": "public", "voice": "natural", "panel_quotes": True}}),
                  a_kiosk.action("/receipts/withdraw", {"code": typed})]
    api = world.app.test_client()
    for token in (world.kiosk_tokens["A"], world.account("staff", "A").token,
                  world.account("admin", "A").token):
        tried += [api.post(f"/api/v1/receipts/{code}/consent", headers=bearer(token),
                           json={"consent": {"audience": "public"}}),
                  api.post(f"/api/v1/receipts/{code}/withdraw", headers=bearer(token))]
    for response in tried:
        assert response.status_code == 404, (response.request.path, response.text)
        assert response.json["error"]["code"] == "not_found"
        assert leaks(response.text, b) == [] and "received" not in response.text

    assert snapshot(app, b.org_id) == before, "A changed B's entry or its consent history"
    assert stored_objects(app, b.org_id) == files
    # The codes are real: each organisation's own kiosk finds its own.
    assert b_kiosk.action("/receipts/lookup", {"code": code}).status_code == 200
    assert a_kiosk.action("/receipts/lookup", {"code": a_made.json["receipt_code"]}
                          ).status_code == 200


def test_other_organisations_uploads_are_not_found(world, orgs):
    app, b = world.app, orgs["B"]
    data = bytes(range(256)) * 8
    b_kiosk = KioskPage(world, "B")
    b_staff = bearer(world.account("staff", "B").token)
    b_ids = [new_upload(b_kiosk.client, "/kiosk/uploads", b_kiosk.headers, data, 1000),
             new_upload(app.test_client(), "/api/v1/uploads", b_staff, data, len(data))]
    before = snapshot(app, b.org_id)
    with app.app_context():
        parts = {i: part_path(i).read_bytes() for i in b_ids}

    a_kiosk = KioskPage(world, "A")
    api = app.test_client()
    doors = [(a_kiosk.client, "/kiosk/uploads", a_kiosk.headers)] + [
        (api, "/api/v1/uploads", bearer(token)) for token in (
            world.kiosk_tokens["A"], world.account("staff", "A").token,
            world.account("admin", "A").token)]
    for client, base, headers in doors:
        for upload_id in b_ids:
            url = f"{base}/{upload_id}"
            offset = str(1000 if upload_id == b_ids[0] else len(data))
            for response in (
                    client.head(url, headers={**headers, **TUS}),
                    client.patch(url, data=b"more", content_type=OCTETS,
                                 headers={**headers, **TUS, "Upload-Offset": offset}),
                    client.delete(url, headers={**headers, **TUS})):
                assert response.status_code == 404, (response.request.method, url)
                assert "Upload-Offset" not in response.headers
    for upload_id in b_ids:
        for response in (
                a_kiosk.action("/entries", {"upload_id": upload_id, "kind": "audio"}),
                api.post("/api/v1/entries", json={"upload_id": upload_id, "kind": "audio"},
                         headers=bearer(world.account("staff", "A").token))):
            assert response.status_code == 422, response.text
            assert response.json["error"]["code"] == "upload_not_found"

    assert snapshot(app, b.org_id) == before
    with app.app_context():
        assert {i: part_path(i).read_bytes() for i in b_ids} == parts
    assert b_kiosk.client.head(f"/kiosk/uploads/{b_ids[0]}", headers={
        **b_kiosk.headers, **TUS}).headers["Upload-Offset"] == "1000"


def test_other_organisations_question_cards_are_not_found(world, orgs):
    app, a, b = world.app, orgs["A"], orgs["B"]
    b_staff = Caller(world, "B", "staff", "session")
    page = b_staff.client.get("/kiosk/cards")
    added = b_staff.client.post("/kiosk/cards", data={
        "action": "add", "text": f"{b.marker} question?", "csrf_token": csrf_from(page.text)})
    assert added.status_code == 302
    card_ids = _ids(r'name="card_id" value="(\d+)"', b_staff.get("/kiosk/cards").text)
    assert len(card_ids) == 1
    before = snapshot(app, b.org_id)

    a_staff = Caller(world, "A", "staff", "session")
    assert b.marker not in a_staff.get("/kiosk/cards").text
    assert b.marker not in KioskPage(world, "A").client.get("/kiosk/").text
    for action in ("hide", "show", "delete"):
        page = a_staff.client.get("/kiosk/cards")
        response = a_staff.client.post("/kiosk/cards", data={
            "action": action, "card_id": str(*card_ids), "csrf_token": csrf_from(page.text)})
        assert response.status_code == 404, action
    assert snapshot(app, b.org_id) == before
    assert f"{b.marker} question?" in KioskPage(world, "B").client.get("/kiosk/").text
    assert a.marker not in KioskPage(world, "B").client.get("/kiosk/").text


# --- every list -----------------------------------------------------------------------

def _ids(pattern: str, body: str) -> set[int]:
    return {int(i) for i in re.findall(pattern, body)}


@pytest.mark.parametrize("viewer", ["A", "B"])
def test_lists_show_only_the_callers_organisation(world, orgs, viewer):
    own, other = orgs[viewer], orgs["B" if viewer == "A" else "A"]
    api = Caller(world, viewer, "admin", "token")
    page = Caller(world, viewer, "admin", "session")
    bodies = {}

    response = api.get("/api/v1/entries")
    assert {e["id"] for e in response.json["entries"]} == set(own.entry_ids)
    bodies["/api/v1/entries"] = response.text
    assert api.get("/api/v1/me").json["organisation_id"] == own.org_id

    body = bodies["/review/"] = page.get("/review/").text
    assert _ids(r'/review/entries/(\d+)"', body) == set(own.entry_ids)
    body = bodies["/podcast/"] = page.get("/podcast/").text
    assert _ids(r'/podcast/episodes/(\d+)"', body) == {own.episode["episode_id"]}
    body = bodies["/admin/users"] = page.get("/admin/users").text
    assert all(email in body for email in own.emails)
    body = bodies["/admin/kiosks"] = page.get("/admin/kiosks").text
    assert own.kiosk_name in body and f"{own.name} kiosk" in body
    assert f"{other.name} kiosk" not in body
    body = bodies["/admin/listeners"] = page.get("/admin/listeners").text
    assert _ids(r"/admin/listeners/(\d+)/revoke", body) == {own.listener_id}
    bodies["/podcast/show"] = page.get("/podcast/show").text
    body = bodies["/auth/tokens"] = page.get("/auth/tokens").text
    assert own.token_name in body
    assert _ids(r"/auth/tokens/(\d+)/revoke", body) <= _owned_token_ids(world, own)

    for url, body in bodies.items():
        assert leaks(body, other) == [], url


def _owned_token_ids(world: World, data: OrgData) -> set[int]:
    with world.app.app_context(), tenancy.unscoped():
        return set(db.session.scalars(select(ApiToken.id).where(
            ApiToken.org_id == data.org_id)))


# --- tenancy itself -------------------------------------------------------------------

def test_scoped_reads_see_only_the_current_organisation(world, orgs):
    a, b = orgs["A"], orgs["B"]
    with world.app.app_context(), tenancy.as_org(a.org_id):
        assert db.session.get(Entry, b.entry_ids[0]) is None
        assert db.session.get(Job, b.job_id) is None
        assert db.session.get(Kiosk, b.kiosk_id) is None
        assert db.session.get(ApiToken, b.token_id) is None
        assert db.session.get(Entry, a.entry_ids[0]) is not None
        assert set(db.session.scalars(select(Entry.id))) == set(a.entry_ids)
        assert {e.org_id for e in db.session.scalars(select(Entry))} == {a.org_id}
        assert set(db.session.scalars(select(User.email))) == set(a.emails)
        # a join is scoped on both sides
        joined = db.session.execute(select(Job.id, Entry.id).join(
            Entry, Entry.id == Job.target_id)).all()
        assert joined == [(a.job_id, a.entry_ids[0])]


def test_no_organisation_in_context_sees_nothing(world, orgs):
    a = orgs["A"]
    with world.app.app_context():
        assert tenancy.current_org_id() is None
        for model in (Entry, Job, Kiosk, ApiToken, User):
            assert db.session.scalars(select(model)).all() == [], model.__name__
        assert db.session.get(Entry, a.entry_ids[0]) is None
        with pytest.raises(tenancy.CrossOrganisationWrite):
            db.session.add(Entry(org_id=a.org_id, consent={}))
            db.session.flush()
        db.session.rollback()


def test_bulk_update_is_scoped(world, orgs):
    a, b = orgs["A"], orgs["B"]
    before = snapshot(world.app, b.org_id)
    with world.app.app_context(), tenancy.as_org(a.org_id):
        result = db.session.execute(update(Entry).values(status_reason="bulk"))
        db.session.commit()
        assert result.rowcount == len(a.entry_ids)
    assert snapshot(world.app, b.org_id) == before


def test_writing_another_organisations_row_is_refused(world, orgs):
    a, b = orgs["A"], orgs["B"]
    before = snapshot(world.app, b.org_id)

    def load(model, row_id):
        with tenancy.unscoped():
            return db.session.get(model, row_id)

    with world.app.app_context():
        attempts = {
            "change B's entry": lambda: setattr(load(Entry, b.entry_ids[0]),
                                                "status_reason", "changed by A"),
            "delete B's kiosk": lambda: db.session.delete(load(Kiosk, b.kiosk_id)),
            "add a row for B": lambda: db.session.add(Entry(org_id=b.org_id, consent={})),
            "move A's entry to B": lambda: setattr(load(Entry, a.entry_ids[0]),
                                                   "org_id", b.org_id),
        }
        for what, attempt in attempts.items():
            with tenancy.as_org(a.org_id):
                attempt()
                with pytest.raises(tenancy.CrossOrganisationWrite):
                    db.session.flush()
                    pytest.fail(f"{what} was allowed")
                db.session.rollback()
    assert snapshot(world.app, b.org_id) == before


def test_new_rows_get_the_current_organisation(world, orgs):
    a = orgs["A"]
    with world.app.app_context(), tenancy.as_org(a.org_id):
        entry = Entry(consent={})
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    with world.app.app_context(), tenancy.unscoped():
        assert db.session.get(Entry, entry_id).org_id == a.org_id
