"""The role matrix, and the rest of authentication: who may call which route, tokens,
kiosks, CSRF, sign-in limits, redirects, cookies, password hashes and security headers.

The expected access of every route is written out below by hand (``EXPECTED``), not read
from the ``@allow`` declarations, so a wrong declaration fails here; and the table must
name exactly the routes the app has, so a new route without a row fails too.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask import Flask
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from diaryroom import accounts, intake, keys, tenancy
from diaryroom.adapters import get_private_storage, get_storage
from diaryroom.auth import passwords
from diaryroom.auth.access import KIOSK, PUBLIC, declared_access
from diaryroom.auth.principal import KIOSK_COOKIE, Principal
from diaryroom.domain import receipts
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent
from diaryroom.domain.roles import Role
from diaryroom.extensions import db
from diaryroom.models import (
    ApiToken,
    Entry,
    Job,
    Kiosk,
    LocalName,
    Organisation,
    User,
    hash_token,
    utcnow,
)
from diaryroom.uploads import Upload, part_path
from podcast.publishing import listeners
from podcast.publishing.models import INTERNAL, Publication
from podcast.publishing.models import PUBLIC as PUBLIC_AUDIENCE
from podcast.publishing.show import show_for
from podcast.studio.models import Episode
from tests.conftest import PASSWORD, AuthActions, World, bearer, csrf_from, make_app
from tests.integration.studio_support import stored_episode

PRODUCTION_HASHER = passwords._hasher


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: these tests hash and check many passwords.
    ``test_passwords_are_stored_as_argon2id`` checks the real cost."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- the table ------------------------------------------------------------------------

ANON, ADMIN, STAFF, COHOST, PANEL, KIOSK_DEVICE = (
    "anonymous", "admin", "staff", "cohost", "panel", "kiosk")
ROLES = (ADMIN, STAFF, COHOST, PANEL)
EVERYONE = frozenset({ANON, *ROLES, KIOSK_DEVICE})
USERS = frozenset(ROLES)
TEAM = frozenset({ADMIN, STAFF})
STUDIO = frozenset({ADMIN, STAFF, COHOST})

EXPECTED: dict[str, frozenset[str]] = {
    "home": EVERYONE,
    "healthz": EVERYONE,
    "readyz": EVERYONE,
    "favicon": EVERYONE,
    "signed_media": EVERYONE,
    "auth.login": EVERYONE,
    "auth.logout": USERS,
    "auth.change_password": USERS,
    "auth.tokens": USERS,
    "auth.revoke_token": USERS,
    "api.openapi": EVERYONE,
    "api.me": USERS | {KIOSK_DEVICE},
    # Co-hosts follow their episodes' renders (the view shows them no other job).
    "api.get_job": TEAM | {COHOST},
    "api.create_entry": TEAM | {KIOSK_DEVICE},
    "api.list_entries": TEAM,
    "api.get_entry": TEAM,
    "api.get_transcript": TEAM,
    # Only the team withdraws by entry id; a receipt code is what the person holds, so
    # the kiosk may use it too (staff use it when helping someone who has one).
    "api.withdraw_entry": TEAM,
    "api.receipt_consent": TEAM | {KIOSK_DEVICE},
    "api.receipt_withdraw": TEAM | {KIOSK_DEVICE},
    # Resumable uploads: whoever may make an entry from a recording, and co-hosts for
    # their own recordings and show music.
    "api.tus_options": STUDIO | {KIOSK_DEVICE},
    "api.tus_create": STUDIO | {KIOSK_DEVICE},
    "api.tus_head": STUDIO | {KIOSK_DEVICE},
    "api.tus_patch": STUDIO | {KIOSK_DEVICE},
    "api.tus_delete": STUDIO | {KIOSK_DEVICE},
    "review.index": TEAM,
    "review.entry": TEAM,
    "review.state": TEAM,
    "review.audio": TEAM,
    "review.change_redactions": TEAM,
    "review.approve": TEAM,
    "review.send_back": TEAM,
    "review.reprocess": TEAM,
    "review.local_names": TEAM,
    "review.add_local_name": TEAM,
    "review.remove_local_name": TEAM,
    "api.list_redactions": TEAM,
    "api.change_redactions": TEAM,
    "api.approve_entry": TEAM,
    "api.send_back_entry": TEAM,
    "api.reprocess_entry": TEAM,
    "admin.users": frozenset({ADMIN}),
    # Off-boarding: only an admin, and only within their organisation (test_sessions.py).
    "admin.deactivate_user": frozenset({ADMIN}),
    "admin.activate_user": frozenset({ADMIN}),
    "admin.change_role": frozenset({ADMIN}),
    "admin.revoke_token": frozenset({ADMIN}),
    "admin.kiosks": TEAM,
    "admin.revoke_kiosk": TEAM,
    "kiosk.pair": EVERYONE,
    "kiosk.home": frozenset({KIOSK_DEVICE}),
    # The kiosk page's own calls: nobody else has a reason to make them.
    "kiosk.create_entry": frozenset({KIOSK_DEVICE}),
    "kiosk.receipt_lookup": frozenset({KIOSK_DEVICE}),
    "kiosk.receipt_consent": frozenset({KIOSK_DEVICE}),
    "kiosk.receipt_withdraw": frozenset({KIOSK_DEVICE}),
    "kiosk.tus_options": frozenset({KIOSK_DEVICE}),
    "kiosk.tus_create": frozenset({KIOSK_DEVICE}),
    "kiosk.tus_head": frozenset({KIOSK_DEVICE}),
    "kiosk.tus_patch": frozenset({KIOSK_DEVICE}),
    "kiosk.tus_delete": frozenset({KIOSK_DEVICE}),
    "kiosk.voice_prompt": frozenset({KIOSK_DEVICE}),
    "kiosk.voice_word": frozenset({KIOSK_DEVICE}),
    # The question cards the kiosk offers are kept by the people who run sessions.
    "kiosk.cards": frozenset({ADMIN, STAFF, COHOST}),
    # The podcast studio: co-hosts make episodes, with staff and admins beside them.
    **{f"podcast.{name}": STUDIO for name in (
        "index", "create_episode", "studio", "state", "update_episode", "upload_cover",
        "episode_cover", "add_segment", "move_segment", "remove_segment", "save_edits",
        "undo_edits", "refresh_segment", "segment_audio", "segment_peaks", "add_recording",
        "render", "render_file", "comment", "join", "release", "music")},
    # The studio page's own resumable uploads (session and CSRF token; the API takes
    # bearer tokens only): a co-host's recording, show music.
    **{f"podcast.{name}": STUDIO for name in (
        "tus_options", "tus_create", "tus_head", "tus_patch", "tus_delete")},
    "api.create_episode": STUDIO,
    "api.get_episode": STUDIO,
    "api.render_episode": STUDIO,
    # Each person's own private feed link, and the show's details and its listeners'
    # links for the people who run the podcast (admins alone see who used which link).
    "account.feed": USERS,
    "account.new_feed_link": USERS,
    "admin.listeners": frozenset({ADMIN}),
    "admin.revoke_listener": frozenset({ADMIN}),
    "podcast.show": TEAM,
    # Publishing needs an accountable approver: staff or an admin, never a co-host.
    "podcast.publish": TEAM,
    "podcast.unpublish": TEAM,
    "api.publish_episode": TEAM,
    "api.unpublish_episode": TEAM,
    # The web player: open to anyone; the page itself applies the feeds' consent rules
    # (an internal episode only for the organisation's people: tests/integration/test_player.py).
    "player.home": EVERYONE,
    "player.index": EVERYONE,
    "player.episode": EVERYONE,
    "player.audio": EVERYONE,
    # Feeds and their files are for podcast apps, which cannot sign in: open to anyone;
    # a private feed's token in the URL is its credential (test_feeds_serving.py).
    **{f"feeds.{name}": EVERYONE for name in (
        "default_public_feed", "public_feed", "private_feed", "public_file", "private_file",
        "artwork")},
    "api.create_listener": TEAM,
    "api.revoke_listener": TEAM,
}

# Requests the right principal makes correctly that still fail validation on purpose,
# with the status they must get: an empty form (so the test does not change passwords or
# upload media), and a tus creation without its headers. Any other allowed request must
# succeed: a 404 would mean the URL held the wrong objects.
ALLOWED_BUT_INVALID = {
    ("auth.change_password", "POST"): 422,
    ("api.create_entry", "POST"): 422,   # no media
    ("api.tus_create", "POST"): 412,     # no Tus-Resumable and Upload-Length
    ("kiosk.tus_create", "POST"): 412,
    ("podcast.tus_create", "POST"): 412,
    ("api.publish_episode", "POST"): 422,  # no audience
}
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
CHUNK = b"hello"


@dataclass(frozen=True)
class Who:
    """One kind of caller: its row in EXPECTED and how it proves who it is."""

    label: str
    kind: str  # anonymous, a role, or kiosk
    via: str   # none, session, bearer or cookie


PRINCIPALS = (
    [Who(ANON, ANON, "none")]
    + [Who(f"session-{r}", r, "session") for r in ROLES]
    + [Who(f"token-{r}", r, "bearer") for r in ROLES]
    + [Who("kiosk-bearer", KIOSK_DEVICE, "bearer"), Who("kiosk-cookie", KIOSK_DEVICE, "cookie")]
)


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


# Kiosk routes the page calls with JSON or the tus protocol: a machine is asking, so an
# anonymous caller gets a JSON 401 it can act on, not a sign-in page.
MACHINE_ENDPOINTS = {"kiosk.tus_options", "kiosk.tus_create", "kiosk.tus_head",
                     "kiosk.tus_patch", "kiosk.tus_delete", "kiosk.create_entry",
                     "kiosk.receipt_lookup", "kiosk.receipt_consent", "kiosk.receipt_withdraw",
                     "podcast.tus_options", "podcast.tus_create", "podcast.tus_head",
                     "podcast.tus_patch", "podcast.tus_delete"}


def is_machine_call(rule: Rule) -> bool:
    return rule.endpoint in MACHINE_ENDPOINTS


def seen_as(who: Who, rule: Rule) -> str:
    """The API takes bearer tokens only: there a cookie (session or kiosk) is no credential,
    which is what makes exempting the API from CSRF safe."""
    if is_api(rule) and who.via in ("session", "cookie"):
        return ANON
    return who.kind


def routes(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def methods(rule: Rule) -> list[str]:
    """Every method a rule answers, less the ones added for it (HEAD beside GET, and the
    automatic OPTIONS): so tus's own HEAD, PATCH, DELETE and OPTIONS are called too."""
    found = set(rule.methods or ())
    if "GET" in found:
        found.discard("HEAD")
    if getattr(rule, "provide_automatic_options", False):
        found.discard("OPTIONS")
    return sorted(found)


def expand(declared: frozenset[str]) -> frozenset[str]:
    """What a declaration means in the table's terms (PUBLIC is everyone)."""
    if PUBLIC in declared:
        return EVERYONE
    return frozenset(KIOSK_DEVICE if d == KIOSK else d for d in declared)


def error_shape_ok(response: TestResponse) -> bool:
    if response.request.method == "HEAD":  # no body, so only its type can be checked
        return response.mimetype == "application/json"
    body = response.get_json(silent=True)
    return (isinstance(body, dict) and set(body) == {"error"}
            and isinstance(body["error"].get("code"), str)
            and isinstance(body["error"].get("message"), str)
            and bool(body["error"]["message"]))


# --- callers and objects --------------------------------------------------------------

@dataclass
class Caller:
    """Credentials of one principal; every request starts from a fresh test client, so a
    sign-out or a new sign-in by one request cannot change what the next one proves."""

    app: Flask
    who: Who
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, url: str, body: Body | None = None) -> TestResponse:
        client = self.app.test_client()
        for name, value in self.cookies.items():
            client.set_cookie(name, value)
        body = body or Body()
        form, headers = dict(body.form), {**self.headers, **body.headers}
        if method not in ("GET", "HEAD", "OPTIONS") and not url.startswith("/api/"):
            # A valid CSRF token, so CSRF never hides the access decision: in the form,
            # and as the header the kiosk page's own calls send.
            page = client.get("/auth/login", headers=self.headers)
            form["csrf_token"] = headers["X-CSRFToken"] = csrf_from(page.text)
        if body.json is not None:
            return client.open(url, method=method, json=body.json, headers=headers)
        if body.raw is not None:
            return client.open(url, method=method, data=body.raw, headers=headers)
        return client.open(url, method=method, data=form, headers=headers)


@dataclass
class Body:
    """What a request sends besides its credentials: a form, JSON or raw bytes."""

    form: dict[str, str] = field(default_factory=dict)
    json: object = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def session_cookie(app: Flask, email: str, password: str = PASSWORD) -> str:
    client = app.test_client()
    response = AuthActions(client).login(email, password)
    assert response.status_code == 302, response.text
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def paired_kiosk_cookie(app: Flask, token: str) -> str:
    """Pair a browser the way the kiosk page does, and return the cookie it was given."""
    client = app.test_client()
    page = client.get("/kiosk/pair")
    response = client.post("/kiosk/pair", data={"token": token,
                                                "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, response.text
    return client.get_cookie(KIOSK_COOKIE).value


def make_caller(world: World, who: Who, org: str = "A") -> Caller:
    app = world.app
    if who.via == "none":
        return Caller(app, who)
    if who.kind == KIOSK_DEVICE:
        token = world.kiosk_tokens[org]
        if who.via == "bearer":
            return Caller(app, who, headers=bearer(token))
        return Caller(app, who, cookies={KIOSK_COOKIE: paired_kiosk_cookie(app, token)})
    account = world.account(who.kind, org)
    if who.via == "bearer":
        return Caller(app, who, headers=bearer(account.token))
    return Caller(app, who, cookies={
        app.config["SESSION_COOKIE_NAME"]: session_cookie(app, account.email)})


WORDS = [{"start": 0.4 * i, "end": 0.4 * i + 0.3, "text": f" {w}", "probability": 0.9}
         for i, w in enumerate("hello from the diary room".split())]
TRANSCRIPT = {"language": "en", "language_probability": 1.0, "duration": 2.0,
              "segments": [{"start": 0.0, "end": 2.0, "text": " hello from the diary room",
                            "words": WORDS}]}


def make_entry(app: Flask, org_id: int, status: str = st.AWAITING_REVIEW, **fields) -> int:
    """An entry row of the organisation, with a stored transcript and a rendered
    (redacted) result, as the pipeline leaves it for review."""
    with app.app_context(), tenancy.as_org(org_id):
        fields.setdefault("consent", Consent().to_dict())
        entry = Entry(org_id=org_id, status=status, duration=2.0, rendered_revision=0,
                      **fields)
        db.session.add(entry)
        db.session.flush()
        key = f"org/{org_id}/entries/{entry.id}/transcript.json"
        private = get_private_storage()
        private.put(key, BytesIO(json.dumps(TRANSCRIPT).encode()))
        redacted = {**TRANSCRIPT, "words": WORDS, "redactions": []}
        private.put(entry.result_key("redacted.json"), BytesIO(json.dumps(redacted).encode()))
        private.put(entry.result_key("redacted.mp3"), BytesIO(b"ID3 not really audio"))
        entry.transcript_key, entry.language = key, "en"
        entry.original_key = key  # something to run again (reprocess only queues a job)
        db.session.commit()
        return entry.id


def make_episode(app: Flask, org_id: int) -> dict[str, int]:
    """An episode with one approved entry in it, a finished render and a cover."""
    entry_id = make_entry(app, org_id, status=st.APPROVED,
                          consent=Consent("organisation").to_dict())
    with app.app_context(), tenancy.as_org(org_id):
        made = stored_episode(org_id, entry_id, title="An episode",
                              audio=b"ID3 not really audio", cover=b"not really a picture")
        db.session.commit()
        return made


def make_local_name(app: Flask, org_id: int, text: str) -> int:
    with app.app_context(), tenancy.as_org(org_id):
        name = LocalName(org_id=org_id, list="redact", text=text, type="PLACE")
        db.session.add(name)
        db.session.commit()
        return name.id


def make_job(app: Flask, org_id: int, kind: str = "transcribe_entry", **fields) -> int:
    with app.app_context(), tenancy.as_org(org_id):
        job = Job(org_id=org_id, kind=kind, state="done", progress=100, **fields)
        db.session.add(job)
        db.session.commit()
        return job.id


class Objects:
    """Real rows of an organisation to put in URLs. Rows a request may change (tokens and
    kiosks to revoke, entries to withdraw, receipts, uploads) are made fresh for each
    request, never the caller's own."""

    _names = itertools.count()

    def __init__(self, world: World, org: str = "A"):
        self.world, self.app, self.org = world, world.app, org
        self.org_id = world.orgs[org]
        self.entry_id = make_entry(self.app, self.org_id)
        self.job_id = make_job(self.app, self.org_id, target_id=self.entry_id)
        self.episode = make_episode(self.app, self.org_id)
        self._guid: str | None = None
        with self.app.app_context(), tenancy.as_org(self.org_id):
            self.kiosk = db.session.scalar(select(Kiosk.id).where(
                Kiosk.token_hash == hash_token(world.kiosk_tokens[org])))

    def guid(self) -> str:
        """The episode's feed guid, published internally and to the public (made once):
        a public episode is for every caller."""
        if self._guid is None:
            with self.app.app_context(), tenancy.as_org(self.org_id):
                episode = db.session.get(Episode, self.episode["episode_id"])
                episode.guid = str(uuid.uuid4())
                for audience in (INTERNAL, PUBLIC_AUDIENCE):
                    db.session.add(Publication(
                        org_id=self.org_id, episode_id=episode.id, audience=audience,
                        render_id=self.episode["render_id"], mp3_sha256="0" * 64))
                db.session.commit()
                self._guid = episode.guid
        return self._guid

    def new_account_email(self) -> str:
        with self.app.app_context():
            user, _ = accounts.create_user(self.org_id, self.unique("listener") + "@a.example.org",
                                           PANEL, PASSWORD)
            return user.email

    def new_listener(self) -> tuple[int, str]:
        """A private feed link of a new account (never the caller's: it may be revoked)."""
        email = self.new_account_email()
        with self.app.app_context():
            row, token = listeners.create_listener(accounts.find_user(email), by=None)
            return row.id, token

    def feed_token(self) -> dict[str, str]:
        return {"token": self.new_listener()[1]}

    def artwork(self) -> dict[str, str]:
        """The show's artwork, stored as the show settings store it."""
        key = keys.show_artwork(self.org_id, "artwork-1.jpg")
        with self.app.app_context(), tenancy.as_org(self.org_id):
            get_private_storage().put(key, BytesIO(b"not really a picture"))
            show = show_for(self.org_id)
            show.artwork_key, show.artwork_type = key, "image/jpeg"
            db.session.commit()
        return {"name": "artwork-1.jpg"}

    def slug(self) -> str:
        with self.app.app_context():
            return db.session.get(Organisation, self.org_id).slug

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    def token_id(self, who: Who) -> int:
        role = who.kind if who.kind in ROLES else ADMIN
        with self.app.app_context(), tenancy.unscoped():
            user = db.session.get(User, self.world.account(role, self.org).user_id)
            row, _ = accounts.issue_api_token(user, self.unique("throwaway"))
            return row.id

    def user_id(self) -> int:
        """A new account of the organisation, never the caller's own (it may be deactivated)."""
        with self.app.app_context():
            user, _ = accounts.create_user(self.org_id, self.unique("someone") + "@a.example.org",
                                           PANEL, PASSWORD)
            return user.id

    def kiosk_id(self, who: Who) -> int:
        with self.app.app_context():
            kiosk, _ = accounts.pair_kiosk(self.org_id, self.unique("throwaway kiosk"))
            return kiosk.id

    def signed_media(self) -> dict[str, str]:
        """The key and signature of a stored object, as in a signed URL."""
        key = f"org/{self.org_id}/test/{self.unique('hello')}.txt"
        with self.app.app_context():
            storage = get_storage()
            storage.put(key, BytesIO(b"hello"))
            query = parse_qs(urlsplit(storage.signed_url(key)).query)
        return {"key": key, "expires": query["expires"][0], "sig": query["sig"][0]}

    def receipt_code(self) -> str:
        """The receipt code of a new written entry (the request may withdraw it)."""
        with self.app.app_context(), tenancy.as_org(self.org_id):
            admin = db.session.get(User, self.world.account(ADMIN, self.org).user_id)
            received = intake.receive_text(Principal("user", self.org_id, user=admin),
                                           self.unique("a throwaway entry"),
                                           consent=Consent())
            return received.receipt_code

    def upload_id(self, who: Who) -> str:
        """A new upload of the caller's own, with nothing sent yet (the admin's for
        anonymous callers): tus shows an upload only to the kiosk or user that made it."""
        if who.kind == KIOSK_DEVICE:
            owner = {"kiosk_id": self.kiosk}
        else:
            role = who.kind if who.kind in ROLES else ADMIN
            owner = {"user_id": self.world.account(role, self.org).user_id}
        with self.app.app_context(), tenancy.as_org(self.org_id):
            upload = Upload(org_id=self.org_id, length=len(CHUNK), offset=0, meta={},
                            expires_at=utcnow() + dt.timedelta(hours=1), **owner)
            db.session.add(upload)
            db.session.commit()
            part_path(upload.id).parent.mkdir(parents=True, exist_ok=True)
            part_path(upload.id).touch()
            return upload.id

    def url_values(self, rule: Rule, who: Who) -> dict[str, object]:
        fillers: dict[str, Callable[[], dict[str, object]]] = {
            "entry_id": lambda: {"entry_id": self.entry_id},
            "job_id": lambda: {"job_id": self.job_id},
            "token_id": lambda: {"token_id": self.token_id(who)},
            "kiosk_id": lambda: {"kiosk_id": self.kiosk_id(who)},
            "user_id": lambda: {"user_id": self.user_id()},
            "code": lambda: {"code": self.receipt_code()},
            "upload_id": lambda: {"upload_id": self.upload_id(who)},
            "word": lambda: {"word": receipts.wordlist()[0]},
            "episode_id": lambda: {"episode_id": self.episode["episode_id"]},
            "segment_id": lambda: {"segment_id": self.episode["segment_id"]},
            "render_id": lambda: {"render_id": self.episode["render_id"]},
            "name": lambda: {"name": "episode.mp3"},
            "slug": lambda: {"slug": self.slug()},
            "guid": lambda: {"guid": self.guid()},
        }
        # Arguments whose meaning depends on the route.
        by_endpoint: dict[str, dict[str, Callable[[], dict[str, object]]]] = {
            "signed_media": {"key": self.signed_media},
            "kiosk.voice_prompt": {"key": lambda: {"key": "welcome"}},
            "review.audio": {"fmt": lambda: {"fmt": "mp3"}},
            # A co-host may read a render's job (and no other: test_studio_api.py).
            "api.get_job": {"job_id": lambda: {"job_id": make_job(
                self.app, self.org_id, "render_episode", target_id=self.episode["render_id"])}},
            "review.remove_local_name": {"name_id": lambda: {
                "name_id": make_local_name(self.app, self.org_id, self.unique("Hope House"))}},
            "admin.revoke_listener": {"listener_id": lambda: {
                "listener_id": self.new_listener()[0]}},
            "feeds.private_feed": {"token": self.feed_token},
            "feeds.private_file": {"token": self.feed_token},
            "feeds.artwork": {"name": self.artwork},
            "api.revoke_listener": {"listener_id": lambda: {
                "listener_id": self.new_listener()[0]}},
        }
        # Routes that change an entry get one of their own, in the state they act on.
        fresh_in = {"api.withdraw_entry": st.AWAITING_REVIEW,
                    "api.change_redactions": st.AWAITING_REVIEW,
                    "review.change_redactions": st.AWAITING_REVIEW,
                    "api.approve_entry": st.AWAITING_REVIEW,
                    "review.approve": st.AWAITING_REVIEW,
                    "api.send_back_entry": st.APPROVED,
                    "review.send_back": st.APPROVED,
                    "api.reprocess_entry": st.NEEDS_ATTENTION,
                    "review.reprocess": st.NEEDS_ATTENTION}
        if rule.endpoint in fresh_in:
            status = fresh_in[rule.endpoint]
            by_endpoint[rule.endpoint] = {"entry_id": lambda: {
                "entry_id": make_entry(self.app, self.org_id, status=status)}}
        values: dict[str, object] = {}
        for argument in sorted(rule.arguments):
            filler = by_endpoint.get(rule.endpoint, {}).get(argument) or fillers.get(argument)
            if filler is None:
                pytest.fail(f"route {rule.rule}: teach Objects.url_values a real "
                            f"{argument!r} of the caller's organisation")
            values.update(filler())
        return values

    def url(self, rule: Rule, method: str, who: Who) -> str:
        adapter = self.app.url_map.bind("localhost")
        url = adapter.build(rule.endpoint, self.url_values(rule, who), method=method)
        assert adapter.match(urlsplit(url).path, method=method)[0] == rule.endpoint, url
        return url

    def body(self, rule: Rule, method: str) -> Body:
        """A correct request for each route (but ALLOWED_BUT_INVALID's), so an allowed
        caller gets a 2xx or 3xx and a refused one could have done something."""
        admin = self.world.account(ADMIN, self.org)
        some = {"audience": "organisation"}
        forms: dict[str, Callable[[], dict[str, str]]] = {
            "auth.login": lambda: {"email": admin.email, "password": admin.password},
            "auth.tokens": lambda: {"name": self.unique("token")},
            "admin.users": lambda: {"email": self.unique("new") + "@a.example.org",
                                    "role": PANEL},
            "admin.kiosks": lambda: {"name": self.unique("kiosk")},
            "admin.change_role": lambda: {"role": STAFF},
            "podcast.show": lambda: {"title": "Our show", "author": "Hope House",
                                     "language": "en-GB", "category": "History"},
            "kiosk.pair": lambda: {"token": self.world.kiosk_tokens[self.org]},
            "kiosk.cards": lambda: {"action": "add", "text": self.unique("What helped?")},
            "review.change_redactions": lambda: {"action": "add", "first": "1", "last": "2",
                                                 "type": "NAME"},
            "review.send_back": lambda: {"reason": "the voice is recognisable"},
            "review.add_local_name": lambda: {"text": self.unique("Hope House"),
                                              "type": "PLACE", "list": "redact"},
        }
        json_bodies: dict[str, Callable[[], object]] = {
            "kiosk.create_entry": lambda: {"kind": "text", "text": self.unique("written")},
            "kiosk.receipt_lookup": lambda: {"code": self.receipt_code()},
            "kiosk.receipt_consent": lambda: {"code": self.receipt_code(), "consent": some},
            "kiosk.receipt_withdraw": lambda: {"code": self.receipt_code()},
            "api.receipt_consent": lambda: {"consent": some},
            "api.change_redactions": lambda: {"action": "add", "first": 1, "last": 2,
                                              "type": "NAME"},
            "api.send_back_entry": lambda: {"reason": "the voice is recognisable"},
            "api.create_episode": lambda: {"title": self.unique("An episode")},
            "api.create_listener": lambda: {"email": self.new_account_email()},
        }
        if method == "PATCH":  # the first bytes of the new upload in the URL
            return Body(raw=CHUNK, headers={**TUS, "Upload-Offset": "0",
                                            "Content-Type": OCTETS})
        if rule.endpoint.split(".")[-1] in ("tus_head", "tus_delete"):
            return Body(headers=TUS)
        if method != "POST":
            return Body()
        if rule.endpoint in json_bodies:
            return Body(json=json_bodies[rule.endpoint]())
        return Body(form=forms.get(rule.endpoint, dict)())


@pytest.fixture
def objects(world) -> Objects:
    return Objects(world)


# --- the matrix -----------------------------------------------------------------------

def test_every_view_declares_access(app):
    undeclared = [r.endpoint for r in routes(app)
                  if declared_access(app.view_functions[r.endpoint]) is None]
    assert undeclared == []


def test_table_covers_exactly_the_routes(app):
    endpoints = {r.endpoint for r in routes(app)}
    assert set(EXPECTED) - endpoints == set(), "rows for routes that no longer exist"
    assert endpoints - set(EXPECTED) == set(), "routes without a row in EXPECTED"


def test_declarations_match_the_table(app):
    wrong = {r.endpoint: sorted(expand(declared_access(app.view_functions[r.endpoint])))
             for r in routes(app)
             if expand(declared_access(app.view_functions[r.endpoint]) or frozenset())
             != EXPECTED[r.endpoint]}
    assert wrong == {}, "declared access differs from the table"


@pytest.mark.parametrize("who", PRINCIPALS, ids=lambda w: w.label)
def test_role_matrix(world, objects, who):
    app = world.app
    caller = make_caller(world, who)
    failures = []
    for rule in routes(app):
        for method in methods(rule):
            url = objects.url(rule, method, who)
            response = caller.request(method, url, objects.body(rule, method))
            seen = seen_as(who, rule)
            status = response.status_code
            if seen in EXPECTED[rule.endpoint]:
                invalid = ALLOWED_BUT_INVALID.get((rule.endpoint, method))
                expected, ok = "allowed (2xx or 3xx)", status < 400
                if invalid is not None:
                    expected, ok = f"allowed but invalid ({invalid})", status == invalid
            elif seen == ANON and (is_api(rule) or is_machine_call(rule)):
                expected = "401 with a JSON error"
                ok = status == 401 and error_shape_ok(response)
            elif seen == ANON:
                expected = "redirect to /auth/login?next=..."
                location = urlsplit(response.headers.get("Location", ""))
                ok = (status == 302 and location.path == "/auth/login"
                      and parse_qs(location.query).get("next") == [url])
            else:
                expected, ok = "403", status == 403
            if not ok:
                failures.append(f"{method} {url} ({rule.endpoint}): got {status}, "
                                f"expected {expected}")
            if rule.endpoint == "auth.logout" and who.via == "session":
                caller = make_caller(world, who)  # signing out ended every session of theirs
    assert failures == [], f"as {who.label}:\n" + "\n".join(failures)


def test_route_without_declaration_is_refused(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "undeclared")
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret", methods=["GET"])
    try:
        with app.app_context():
            org = accounts.create_organisation("Solo")
            user, _ = accounts.create_user(org.id, "admin@solo.example.org", Role.ADMIN,
                                           PASSWORD)
            _, token = accounts.issue_api_token(user)
        client = app.test_client()
        for headers in ({}, bearer(token)):
            response = client.get("/undeclared", headers=headers)
            assert response.status_code == 403
            assert "secret" not in response.text
        AuthActions(client).login("admin@solo.example.org")
        assert client.get("/undeclared").status_code == 403
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- accounts, tokens and kiosks ------------------------------------------------------

def test_new_user_must_change_password_first(world, objects, client, auth):
    app = world.app
    with app.app_context():
        user, one_time = accounts.create_user(world.orgs["A"], "new.admin@a.example.org",
                                              Role.ADMIN)
        assert one_time and user.must_change_password
    assert auth.login("new.admin@a.example.org", one_time).status_code == 302

    new_user = Who("new-admin", ADMIN, "session")
    gated = [r for r in routes(app)
             if not is_api(r) and "GET" in methods(r) and ADMIN in EXPECTED[r.endpoint]
             and EXPECTED[r.endpoint] != EVERYONE and r.endpoint != "auth.change_password"]
    assert {"review.index", "admin.users", "auth.tokens"} <= {r.endpoint for r in gated}
    for rule in gated:
        response = client.get(objects.url(rule, "GET", new_user))
        assert response.status_code == 302, rule.endpoint
        assert urlsplit(response.headers["Location"]).path == "/auth/password", rule.endpoint

    page = client.get("/auth/tokens", follow_redirects=True)
    assert client.post("/auth/tokens", data={"name": "sneaky", "csrf_token": csrf_from(
        page.text)}).headers["Location"].endswith("/auth/password")
    page = client.get("/auth/password")
    assert page.status_code == 200 and "one-time password" in page.text
    response = client.post("/auth/password", data={
        "current_password": one_time, "new_password": "a brand new passphrase",
        "confirm_password": "a brand new passphrase", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert client.get("/review/").status_code == 200
    with app.app_context(), tenancy.unscoped():
        user = db.session.get(User, user.id)
        assert not user.must_change_password
        assert user.password_hash.startswith("$argon2id$")
        assert db.session.scalar(select(func.count()).select_from(ApiToken)
                                 .where(ApiToken.name == "sneaky")) == 0


def test_revoked_api_token_is_refused(world, client, auth):
    staff = world.account(STAFF)
    assert client.get("/api/v1/me", headers=bearer(staff.token)).status_code == 200
    auth.login(staff.email)
    page = client.get("/auth/tokens")
    token_ids = re.findall(r'/auth/tokens/(\d+)/revoke', page.text)
    assert len(token_ids) == 1
    response = client.post(f"/auth/tokens/{token_ids[0]}/revoke",
                           data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    response = world.app.test_client().get("/api/v1/me", headers=bearer(staff.token))
    assert response.status_code == 401 and error_shape_ok(response)


def test_revoked_kiosk_is_refused(world, client, auth):
    app = world.app
    token = world.kiosk_tokens["A"]
    kiosk_client = app.test_client()
    kiosk_client.set_cookie(KIOSK_COOKIE, paired_kiosk_cookie(app, token))
    assert kiosk_client.get("/kiosk/").status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).json["kind"] == "kiosk"

    auth.login(world.account(STAFF).email)
    page = client.get("/admin/kiosks")
    kiosk_ids = re.findall(r'/admin/kiosks/(\d+)/revoke', page.text)
    assert len(kiosk_ids) == 1
    assert client.post(f"/admin/kiosks/{kiosk_ids[0]}/revoke",
                       data={"csrf_token": csrf_from(page.text)}).status_code == 302
    with app.app_context(), tenancy.unscoped():
        assert db.session.get(Kiosk, int(kiosk_ids[0])).revoked_at is not None

    response = app.test_client().get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401 and error_shape_ok(response)
    response = kiosk_client.get("/kiosk/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    page = kiosk_client.get("/kiosk/pair")
    assert kiosk_client.post("/kiosk/pair", data={
        "token": token, "csrf_token": csrf_from(page.text)}).status_code == 401


def test_kiosk_cookie_is_httponly_and_strict(world):
    client = world.app.test_client()
    page = client.get("/kiosk/pair")
    response = client.post("/kiosk/pair", data={"token": world.kiosk_tokens["A"],
                                                "csrf_token": csrf_from(page.text)})
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith(KIOSK_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


MALFORMED = ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "drp_abc", "Token drp_abc",
             "Bearer drp_not-a-real-token", "Bearer drk_not-a-real-token", "Bearer other"]


def test_malformed_or_unknown_authorization_is_401_json(world, client):
    for header in MALFORMED:
        for url in ("/api/v1/me", "/api/v1/entries"):
            response = client.get(url, headers={"Authorization": header})
            assert response.status_code == 401, (header, url)
            assert error_shape_ok(response), (header, url, response.text)


def test_api_ignores_the_session_cookie(world, client, auth):
    """The API is exempt from CSRF, so a session cookie must not authenticate there."""
    auth.login(world.account(STAFF).email)
    assert client.get("/review/").status_code == 200
    for method, url in (("GET", "/api/v1/entries"), ("POST", "/api/v1/entries"),
                        ("GET", "/api/v1/me")):
        response = client.open(url, method=method)
        assert response.status_code == 401 and error_shape_ok(response), (method, url)


# --- CSRF -----------------------------------------------------------------------------

def _token_count(app: Flask) -> int:
    with app.app_context(), tenancy.unscoped():
        return db.session.scalar(select(func.count()).select_from(ApiToken))


def test_session_form_without_csrf_token_is_400(world, client, auth):
    auth.login(world.account(STAFF).email)
    before = _token_count(world.app)
    for data in ({"name": "no csrf"}, {"name": "bad csrf", "csrf_token": "forged"}):
        response = client.post("/auth/tokens", data=data)
        assert response.status_code == 400, data
    assert _token_count(world.app) == before
    page = client.get("/auth/tokens")  # the same form with its token goes through
    assert client.post("/auth/tokens", data={"name": "good", "csrf_token": csrf_from(
        page.text)}).status_code == 200
    assert _token_count(world.app) == before + 1


def test_api_post_with_bearer_needs_no_csrf(world, client):
    response = client.post("/api/v1/entries", headers=bearer(world.account(STAFF).token))
    assert response.status_code == 422  # reached the view: it wants the media
    assert response.json["error"]["code"] == "missing_media"


# --- signing in -----------------------------------------------------------------------

def test_login_rate_limit(tmp_path, _postgres_schema):
    app = make_app(tmp_path / "limited", LOGIN_RATE_LIMIT="3 per minute")
    try:
        with app.app_context():
            org = accounts.create_organisation("Limited")
            accounts.create_user(org.id, "staff@limited.example.org", Role.STAFF, PASSWORD)
        client = app.test_client()
        auth = AuthActions(client)
        for _ in range(3):
            assert auth.login("staff@limited.example.org", "wrong password!").status_code == 401
        assert auth.login("staff@limited.example.org", "wrong password!").status_code == 429
        assert auth.login("staff@limited.example.org").status_code == 429
        assert client.get("/auth/login").status_code == 200  # only POST is limited
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _session_data(app: Flask, client) -> dict:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_wrong_password_is_401_without_session(world, client, auth):
    for email in ("staff@a.example.org", "nobody@a.example.org"):
        response = auth.login(email, "not the password at all")
        assert response.status_code == 401, email
        assert "_user_id" not in _session_data(world.app, client), email
        response = client.get("/review/")
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/auth/login"


OFFSITE = ["//evil.example", "//evil.example/review/", "https://evil.example/",
           "/\t/evil.example", "http:/evil.example"]


def test_login_ignores_offsite_next(world, client):
    staff = world.account(STAFF)
    for target, expected in [(t, "/") for t in OFFSITE] + [("/review/", "/review/")]:
        page = client.get("/auth/login")
        response = client.post("/auth/login", query_string={"next": target}, data={
            "email": staff.email, "password": staff.password,
            "csrf_token": csrf_from(page.text)})
        assert response.status_code == 302, target
        location = urlsplit(response.headers["Location"])
        assert location.netloc in ("", "localhost"), target
        assert location.path == expected, target


def test_session_cookie_is_httponly_and_lax(world, auth):
    response = auth.login(world.account(STAFF).email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_stored_as_argon2id(world, monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    with world.app.app_context():
        user, _ = accounts.create_user(world.orgs["A"], "real.cost@a.example.org", PANEL,
                                       PASSWORD)
    with world.app.app_context(), tenancy.unscoped():
        hashes = dict(db.session.execute(select(User.email, User.password_hash)).all())
    assert len(hashes) == len(ROLES) + 1
    assert all(h.startswith("$argon2id$") for h in hashes.values())
    assert not any(PASSWORD in h for h in hashes.values())
    params = dict(p.split("=") for p in hashes["real.cost@a.example.org"].split("$")[3]
                  .split(","))
    profile = RFC_9106_LOW_MEMORY
    assert (int(params["m"]), int(params["t"]), int(params["p"])) == (
        profile.memory_cost, profile.time_cost, profile.parallelism)
    assert AuthActions(world.app.test_client()).login("real.cost@a.example.org"
                                                      ).status_code == 302


def test_security_headers(world, client, auth):
    def check(url: str, **kwargs) -> None:
        response = client.get(url, **kwargs)
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert response.headers.get("X-Frame-Options") == "DENY", url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", url

    for url in ("/auth/login", "/api/v1/openapi.json", "/api/v1/me", "/no/such/page",
                "/review/"):
        check(url)
    check("/api/v1/entries", headers=bearer(world.account(STAFF).token))
    auth.login(world.account(STAFF).email)
    check("/review/")
    assert client.get("/review/").headers.get("Cache-Control") == "no-store"
