"""The role matrix, and the rest of authentication: who may call which route, tokens,
kiosks, CSRF, sign-in limits, redirects, cookies, password hashes and security headers.

The expected access of every route is written out below by hand (``EXPECTED``), not read
from the ``@allow`` declarations, so a wrong declaration fails here; and the table must
name exactly the routes the app has, so a new route without a row fails too.
"""
from __future__ import annotations

import itertools
import json
import re
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

from diaryroom import accounts, tenancy
from diaryroom.adapters import get_storage
from diaryroom.auth import passwords
from diaryroom.auth.access import KIOSK, PUBLIC, declared_access
from diaryroom.auth.principal import KIOSK_COOKIE
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent
from diaryroom.domain.roles import Role
from diaryroom.extensions import db
from diaryroom.models import ApiToken, Entry, Job, Kiosk, User
from tests.conftest import PASSWORD, AuthActions, World, bearer, csrf_from, make_app

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

EXPECTED: dict[str, frozenset[str]] = {
    "home": EVERYONE,
    "healthz": EVERYONE,
    "signed_media": EVERYONE,
    "auth.login": EVERYONE,
    "auth.logout": USERS,
    "auth.change_password": USERS,
    "auth.tokens": USERS,
    "auth.revoke_token": USERS,
    "api.openapi": EVERYONE,
    "api.me": USERS | {KIOSK_DEVICE},
    "api.get_job": TEAM,
    "api.create_entry": TEAM | {KIOSK_DEVICE},
    "api.list_entries": TEAM,
    "api.get_entry": TEAM,
    "api.get_transcript": TEAM,
    "review.index": TEAM,
    "review.entry": TEAM,
    "admin.users": frozenset({ADMIN}),
    "admin.kiosks": TEAM,
    "admin.revoke_kiosk": TEAM,
    "kiosk.pair": EVERYONE,
    "kiosk.home": frozenset({KIOSK_DEVICE}),
    "podcast.index": frozenset({ADMIN, COHOST}),
}

# Requests the right principal makes correctly that still fail validation on purpose
# (an empty form), so the test does not change passwords or upload media. Any other
# allowed request must succeed: a 404 would mean the URL held the wrong objects.
ALLOWED_BUT_INVALID = {("auth.change_password", "POST"), ("api.create_entry", "POST")}


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


def seen_as(who: Who, rule: Rule) -> str:
    """The API takes bearer tokens only: there a cookie (session or kiosk) is no credential,
    which is what makes exempting the API from CSRF safe."""
    if is_api(rule) and who.via in ("session", "cookie"):
        return ANON
    return who.kind


def routes(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) & {"GET", "POST"})


def expand(declared: frozenset[str]) -> frozenset[str]:
    """What a declaration means in the table's terms (PUBLIC is everyone)."""
    if PUBLIC in declared:
        return EVERYONE
    return frozenset(KIOSK_DEVICE if d == KIOSK else d for d in declared)


def error_shape_ok(response: TestResponse) -> bool:
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

    def request(self, method: str, url: str, data: dict | None = None) -> TestResponse:
        client = self.app.test_client()
        for name, value in self.cookies.items():
            client.set_cookie(name, value)
        data = dict(data or {})
        if method == "POST" and not url.startswith("/api/"):
            # A valid CSRF token, so CSRF never hides the access decision.
            page = client.get("/auth/login", headers=self.headers)
            data["csrf_token"] = csrf_from(page.text)
        return client.open(url, method=method, data=data, headers=self.headers)


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


TRANSCRIPT = {"language": "en", "language_probability": 1.0, "duration": 2.0,
              "segments": [{"start": 0.0, "end": 2.0, "text": " hello from the diary room",
                            "words": []}]}


def make_entry(app: Flask, org_id: int, **fields) -> int:
    """An entry row of the organisation, with a stored transcript."""
    with app.app_context(), tenancy.as_org(org_id):
        entry = Entry(org_id=org_id, consent=Consent().to_dict(), status=st.AWAITING_REVIEW,
                      duration=2.0, **fields)
        db.session.add(entry)
        db.session.flush()
        key = f"org/{org_id}/entries/{entry.id}/transcript.json"
        get_storage().put(key, BytesIO(json.dumps(TRANSCRIPT).encode()))
        entry.transcript_key, entry.language = key, "en"
        db.session.commit()
        return entry.id


def make_job(app: Flask, org_id: int, **fields) -> int:
    with app.app_context(), tenancy.as_org(org_id):
        job = Job(org_id=org_id, kind="transcribe_entry", state="done", progress=100,
                  **fields)
        db.session.add(job)
        db.session.commit()
        return job.id


class Objects:
    """Real rows of an organisation to put in URLs. Rows a request may change (tokens and
    kiosks to revoke) are made fresh for each request, never the caller's own."""

    _names = itertools.count()

    def __init__(self, world: World, org: str = "A"):
        self.world, self.app, self.org = world, world.app, org
        self.org_id = world.orgs[org]
        self.entry_id = make_entry(self.app, self.org_id)
        self.job_id = make_job(self.app, self.org_id, target_id=self.entry_id)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    def token_id(self, who: Who) -> int:
        role = who.kind if who.kind in ROLES else ADMIN
        with self.app.app_context(), tenancy.unscoped():
            user = db.session.get(User, self.world.account(role, self.org).user_id)
            row, _ = accounts.issue_api_token(user, self.unique("throwaway"))
            return row.id

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

    def url_values(self, rule: Rule, who: Who) -> dict[str, object]:
        fillers: dict[str, Callable[[], dict[str, object]]] = {
            "entry_id": lambda: {"entry_id": self.entry_id},
            "job_id": lambda: {"job_id": self.job_id},
            "token_id": lambda: {"token_id": self.token_id(who)},
            "kiosk_id": lambda: {"kiosk_id": self.kiosk_id(who)},
            "key": self.signed_media,
        }
        values: dict[str, object] = {}
        for argument in sorted(rule.arguments):
            if argument not in fillers:
                pytest.fail(f"route {rule.rule}: teach Objects.url_values a real "
                            f"{argument!r} of the caller's organisation")
            values.update(fillers[argument]())
        return values

    def url(self, rule: Rule, method: str, who: Who) -> str:
        adapter = self.app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, self.url_values(rule, who), method=method)

    def form(self, rule: Rule, method: str) -> dict[str, str]:
        if method != "POST":
            return {}
        admin = self.world.account(ADMIN, self.org)
        forms: dict[str, Callable[[], dict[str, str]]] = {
            "auth.login": lambda: {"email": admin.email, "password": admin.password},
            "auth.tokens": lambda: {"name": self.unique("token")},
            "admin.users": lambda: {"email": self.unique("new") + "@a.example.org",
                                    "role": PANEL},
            "admin.kiosks": lambda: {"name": self.unique("kiosk")},
            "kiosk.pair": lambda: {"token": self.world.kiosk_tokens[self.org]},
        }
        return forms.get(rule.endpoint, dict)()


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
            response = caller.request(method, url, objects.form(rule, method))
            seen = seen_as(who, rule)
            status = response.status_code
            if seen in EXPECTED[rule.endpoint]:
                expected = "allowed (not 401, 403, 404 or 5xx)"
                ok = status not in (401, 403, 404) and status < 500
                if (rule.endpoint, method) not in ALLOWED_BUT_INVALID:
                    expected, ok = "allowed (2xx or 3xx)", status < 400
            elif seen == ANON and is_api(rule):
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
