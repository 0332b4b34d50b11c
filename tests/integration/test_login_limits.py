"""Sign-in limits that cannot lock everyone out: failed attempts only, counted per client
address (through the trusted proxy hops, and no further) and per account; kiosk pairing
keyed the same way; `next=` that cannot break the redirect; secrets pages not cached.
The lockout behind a proxy is checked against a real `diaryroom serve` too."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher

from diaryroom import accounts
from diaryroom.auth import passwords
from diaryroom.config import TestConfig as AppConfig  # not collected by pytest
from diaryroom.domain.roles import Role
from diaryroom.errors import ConfigError
from diaryroom.extensions import db
from tests.browser.e2e_support import Installation, ServerProcess, served
from tests.conftest import PASSWORD, World, csrf_from, make_app
from tests.integration.test_sessions import cookie_of, http

WRONG = "not the password at all"
ATTACKER, COLLEAGUE = "203.0.113.5", "198.51.100.7"  # documentation addresses


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: these tests fail to sign in many times."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def world_with(tmp_path, _postgres_schema) -> Iterator[Callable[..., World]]:
    """A World (organisation A, one account of each role) on an app with these settings."""
    apps = []

    def make(**overrides: str) -> World:
        app = make_app(tmp_path / f"app{len(apps)}", **overrides)
        apps.append(app)
        world = World(app)
        world.add_org("A")
        return world

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def sign_in(app, email: str, password: str = PASSWORD, *, forwarded_for: str | None = None,
            next_url: str | None = None):
    """The sign-in form, from a browser behind the proxy at ``forwarded_for``."""
    client = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = client.get("/auth/login", headers=headers)
    return client.post("/auth/login", headers=headers,
                       query_string={"next": next_url} if next_url else None,
                       data={"email": email, "password": password,
                             "csrf_token": csrf_from(page.text)})


def fail_many(app, times: int, *, forwarded_for: str | None = None) -> None:
    """Wrong passwords for as many different emails, so no one account's limit is hit."""
    for i in range(times):
        response = sign_in(app, f"guess{i}@a.example.org", WRONG, forwarded_for=forwarded_for)
        assert response.status_code == 401, (i, response.status_code)


def locked_out(response) -> bool:
    return (response.status_code == 429
            and "Too many sign-in attempts have failed" in response.text
            and "Wait 15 minutes" in response.text)


def test_failures_behind_a_proxy_lock_out_one_address_not_the_office(world_with):
    world = world_with(TRUSTED_PROXIES="1")
    app, staff = world.app, world.account(Role.STAFF)
    fail_many(app, 10, forwarded_for=ATTACKER)
    # The attacker's address is stopped, even with a right password...
    assert locked_out(sign_in(app, world.account(Role.ADMIN).email, forwarded_for=ATTACKER))
    # ...while a colleague behind the same proxy (the same socket address) signs in.
    assert sign_in(app, staff.email, forwarded_for=COLLEAGUE).status_code == 302


def test_one_accounts_failures_do_not_block_other_accounts(world_with):
    world = world_with(TRUSTED_PROXIES="1")
    app, staff, admin = world.app, world.account(Role.STAFF), world.account(Role.ADMIN)
    # A guesser spreading five tries over five addresses still locks that one account...
    for i in range(5):
        assert sign_in(app, staff.email, WRONG,
                       forwarded_for=f"192.0.2.{i + 1}").status_code == 401
    assert locked_out(sign_in(app, staff.email, forwarded_for="192.0.2.99"))
    # ...and no other: from the very same addresses, other people sign in.
    for i in range(5):
        assert sign_in(app, admin.email, forwarded_for=f"192.0.2.{i + 1}").status_code == 302
    # The email is compared as sign-in compares it, so case and spaces are no way round.
    assert locked_out(sign_in(app, f"  {staff.email.upper()} ", forwarded_for="192.0.2.98"))


def test_successful_sign_ins_never_count(world_with):
    world = world_with(LOGIN_RATE_LIMIT="3 per 15 minutes",
                       LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes")
    for _ in range(8):
        assert sign_in(world.app, world.account(Role.STAFF).email).status_code == 302


def test_without_trusted_proxies_a_spoofed_forwarded_for_is_ignored(world_with):
    world = world_with()  # DIARYROOM_TRUSTED_PROXIES unset: trust no header
    app = world.app
    for i in range(10):
        assert sign_in(app, f"guess{i}@a.example.org", WRONG,
                       forwarded_for=f"192.0.2.{i + 1}").status_code == 401
    assert locked_out(sign_in(app, world.account(Role.STAFF).email,
                              forwarded_for="192.0.2.200"))


def test_only_the_trusted_hops_of_forwarded_for_are_believed(world_with):
    """With one trusted proxy, addresses a client writes in front of the proxy's are not."""
    world = world_with(TRUSTED_PROXIES="1")
    app = world.app
    for i in range(10):
        assert sign_in(app, f"guess{i}@a.example.org", WRONG,
                       forwarded_for=f"192.0.2.{i + 1}, {ATTACKER}").status_code == 401
    assert locked_out(sign_in(app, world.account(Role.STAFF).email,
                              forwarded_for=f"192.0.2.250, {ATTACKER}"))
    assert sign_in(app, world.account(Role.STAFF).email,
                   forwarded_for=f"{ATTACKER}, {COLLEAGUE}").status_code == 302


def test_kiosk_pairing_is_limited_per_client_behind_a_proxy(world_with):
    world = world_with(TRUSTED_PROXIES="1")
    app = world.app

    def pair(code: str, address: str):
        client = app.test_client()
        headers = {"X-Forwarded-For": address}
        page = client.get("/kiosk/pair", headers=headers)
        return client.post("/kiosk/pair", headers=headers,
                           data={"token": code, "csrf_token": csrf_from(page.text)})

    for i in range(10):
        assert pair(f"WRNG-{i:04d}", ATTACKER).status_code == 401
    assert pair(world.kiosk_tokens["A"], ATTACKER).status_code == 429
    assert pair(world.kiosk_tokens["A"], COLLEAGUE).status_code == 302


def test_limits_are_checked_when_the_app_is_made(tmp_path):
    for name, value in (("LOGIN_RATE_LIMIT", "lots"), ("LOGIN_ACCOUNT_RATE_LIMIT", "5 per"),
                        ("TRUSTED_PROXIES", "-1"), ("TRUSTED_PROXIES", "two")):
        with pytest.raises(ConfigError, match=f"DIARYROOM_{name}"):
            AppConfig(tmp_path, **{name: value})


# --- next= and caching ------------------------------------------------------------------

def test_next_with_a_line_break_or_oddity_goes_home(world_with):
    world = world_with()
    staff = world.account(Role.STAFF)
    for target in ("/\r\nSet-Cookie:x=1", "/\rSet-Cookie:x=1", "/\\evil.example",
                   "/review/\x00", "/ review/", '/"onmouseover', "/review/\u2028"):
        response = sign_in(world.app, staff.email, next_url=target)
        assert response.status_code == 302, target
        assert response.headers["Location"] in ("/", "http://localhost/"), target
        assert not any(c.startswith("x=") for c in response.headers.getlist("Set-Cookie"))
    response = sign_in(world.app, staff.email, next_url="/review/?status=flagged")
    assert response.headers["Location"].endswith("/review/?status=flagged")


def test_next_with_encoded_crlf_in_the_url_signs_in(world_with):
    """The request as a browser sends it: the CR/LF percent-encoded in the query."""
    world = world_with()
    client = world.app.test_client()
    page = client.get("/auth/login?next=/%0d%0aSet-Cookie:x=1")
    response = client.post("/auth/login?next=/%0d%0aSet-Cookie:x=1", data={
        "email": world.account(Role.STAFF).email, "password": PASSWORD,
        "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert client.get("/review/").status_code == 200


def test_pages_showing_new_secrets_are_not_stored(world_with):
    world = world_with()
    client = world.app.test_client()
    page = client.get("/auth/login")
    client.post("/auth/login", data={"email": world.account(Role.ADMIN).email,
                                     "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    page = client.get("/auth/tokens")
    response = client.post("/auth/tokens", data={"name": "laptop",
                                                 "csrf_token": csrf_from(page.text)})
    assert "drp_" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    response = client.post("/admin/kiosks", data={"name": "Front desk",
                                                  "csrf_token": csrf_from(page.text)})
    assert "drk_" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/auth/login").headers["Cache-Control"] == "no-store"


# --- a real server behind a (pretend) proxy ---------------------------------------------------

@pytest.fixture
def proxied_server(tmp_path) -> Iterator[ServerProcess]:
    def prepare(install: Installation) -> None:
        org = accounts.create_organisation("Behind a proxy")
        for email in ("guessed@example.org", "colleague@example.org"):
            accounts.create_user(org.id, email, Role.STAFF, PASSWORD)

    with served(tmp_path, label="limits", prepare=prepare, extra_env={
            "DIARYROOM_TRUSTED_PROXIES": "1",
            "DIARYROOM_LOGIN_RATE_LIMIT": "4 per 15 minutes"}) as process:
        yield process


def test_real_server_behind_a_proxy_locks_out_one_address_only(proxied_server):
    server = proxied_server

    def attempt(email: str, password: str, address: str) -> tuple[int, str]:
        via = {"X-Forwarded-For": address}
        status, headers, page = http(server("/auth/login"), headers=via)
        assert status == 200
        status, _, body = http(server("/auth/login"), cookie=cookie_of(headers), headers=via,
                               form={"email": email, "password": password,
                                     "csrf_token": csrf_from(page)})
        return status, body

    for i in range(4):
        assert attempt(f"guess{i}@example.org", WRONG, ATTACKER)[0] == 401
    status, body = attempt("guessed@example.org", PASSWORD, ATTACKER)
    assert status == 429 and "Too many sign-in attempts have failed" in body
    assert not re.search(r"\d+ per \d+", body)  # a sentence, not the limiter's notation
    assert attempt("colleague@example.org", PASSWORD, COLLEAGUE)[0] == 302


def test_sign_in_still_works_and_is_limited_while_the_limit_store_is_down(tmp_path,
                                                                          _postgres_schema):
    """Counters live in Redis in production; with Redis down, sign-in must not become a
    500 for everyone. The limits then hold in this process's memory."""
    import socket

    from diaryroom import create_app
    from tests.conftest import _empty_tables

    with socket.socket() as s:  # a loopback port nobody listens on: Redis is "down"
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    config = AppConfig(tmp_path / "data")
    config.RATELIMIT_STORAGE_URI = f"redis://127.0.0.1:{closed}/0"
    app = create_app(config)
    with app.app_context():
        _empty_tables()
    try:
        world = World(app)
        world.add_org("A")
        staff = world.account("staff")
        assert sign_in(app, staff.email).status_code == 302
        for _ in range(5):
            assert sign_in(app, staff.email, WRONG).status_code == 401
        assert locked_out(sign_in(app, staff.email))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
