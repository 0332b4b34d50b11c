"""Sessions that end when they should, and off-boarding: a session cookie stops working
after sign-out, a password or role change and deactivation; admins deactivate accounts and
revoke tokens of their own organisation only; `diaryroom users deactivate`; and the same
against a real `diaryroom serve` process with a replayed cookie."""
from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from diaryroom import accounts, tenancy
from diaryroom.auth import passwords
from diaryroom.domain.roles import Role
from diaryroom.extensions import db
from diaryroom.models import ApiToken, User
from tests.browser.e2e_support import SCRIPT, Installation, ServerProcess, served
from tests.conftest import PASSWORD, AuthActions, bearer, csrf_from

NEW_PASSWORD = "another perfectly long passphrase"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: these tests sign in many times."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def signed_in(app, email: str, password: str = PASSWORD):
    client = app.test_client()
    assert AuthActions(client).login(email, password).status_code == 302
    return client


def session_cookie(app, client) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def replay(app, cookie: str, url: str = "/review/"):
    """A fresh browser presenting a copied session cookie."""
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client.get(url)


def sent_to_sign_in(response) -> bool:
    return (response.status_code == 302
            and urlsplit(response.headers["Location"]).path == "/auth/login")


def user_row(app, user_id: int) -> User:
    with app.app_context(), tenancy.unscoped():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def post_form(client, page_url: str, action: str, **form: str):
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**form, "csrf_token": csrf_from(page.text)})


# --- sign-out, password change, role change -----------------------------------------------

def test_cookie_copied_before_sign_out_is_refused_after(world):
    app, staff = world.app, world.account(Role.STAFF)
    client = signed_in(app, staff.email)
    other_device = signed_in(app, staff.email)
    copied = session_cookie(app, client)
    assert replay(app, copied).status_code == 200

    assert AuthActions(client).logout().status_code == 302
    assert sent_to_sign_in(replay(app, copied))
    # Signing out ends every session of the account, on every device: a cookie cannot be
    # taken back, so the only sign-out that holds is one that ends them all.
    assert sent_to_sign_in(other_device.get("/review/"))
    assert signed_in(app, staff.email).get("/review/").status_code == 200


def test_password_change_keeps_this_browser_and_ends_the_others(world):
    app, staff = world.app, world.account(Role.STAFF)
    client = signed_in(app, staff.email)
    other_device = signed_in(app, staff.email)
    old_cookie = session_cookie(app, client)

    response = post_form(client, "/auth/password", "/auth/password",
                         current_password=PASSWORD, new_password=NEW_PASSWORD,
                         confirm_password=NEW_PASSWORD)
    assert response.status_code == 302
    assert client.get("/review/").status_code == 200
    assert sent_to_sign_in(other_device.get("/review/"))
    assert sent_to_sign_in(replay(app, old_cookie))
    # The API token is a separate credential the user manages on /auth/tokens.
    assert app.test_client().get("/api/v1/me", headers=bearer(staff.token)).status_code == 200


def test_role_change_ends_the_sessions_it_applies_to(world):
    app, staff = world.app, world.account(Role.STAFF)
    staff_client = signed_in(app, staff.email)
    admin_client = signed_in(app, world.account(Role.ADMIN).email)

    response = post_form(admin_client, "/admin/users", f"/admin/users/{staff.user_id}/role",
                         role="panel")
    assert response.status_code == 302
    assert "is now panel" in admin_client.get("/admin/users").text
    assert user_row(app, staff.user_id).role == "panel"
    assert sent_to_sign_in(staff_client.get("/review/"))
    assert signed_in(app, staff.email).get("/review/").status_code == 403


# --- deactivation ---------------------------------------------------------------------------

def test_deactivated_account_loses_cookie_and_tokens_at_once(world):
    app, staff = world.app, world.account(Role.STAFF)
    with app.app_context(), tenancy.unscoped():
        _, second_token = accounts.issue_api_token(db.session.get(User, staff.user_id), "ci")
    staff_client = signed_in(app, staff.email)
    cookie = session_cookie(app, staff_client)
    admin_client = signed_in(app, world.account(Role.ADMIN).email)
    for token in (staff.token, second_token):
        assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200

    response = post_form(admin_client, "/admin/users",
                         f"/admin/users/{staff.user_id}/deactivate")
    assert response.status_code == 302
    page = admin_client.get("/admin/users").text
    assert "can no longer sign in" in page and "2 API tokens were revoked" in page

    assert sent_to_sign_in(replay(app, cookie))
    for token in (staff.token, second_token):
        response = app.test_client().get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401 and response.json["error"]["message"]
    assert AuthActions(app.test_client()).login(staff.email).status_code == 401

    # Activated again: the person signs in afresh; the revoked tokens stay revoked.
    assert post_form(admin_client, "/admin/users",
                     f"/admin/users/{staff.user_id}/activate").status_code == 302
    assert signed_in(app, staff.email).get("/review/").status_code == 200
    assert sent_to_sign_in(replay(app, cookie))
    assert app.test_client().get("/api/v1/me", headers=bearer(staff.token)).status_code == 401


def test_admin_cannot_deactivate_or_demote_themself(world):
    app, admin = world.app, world.account(Role.ADMIN)
    client = signed_in(app, admin.email)
    page = client.get("/admin/users").text
    assert f"/admin/users/{admin.user_id}/deactivate" not in page  # no button for oneself
    for action, form in (("deactivate", {}), ("role", {"role": "panel"})):
        response = post_form(client, "/admin/users", f"/admin/users/{admin.user_id}/{action}",
                             **form)
        assert response.status_code == 302
        assert "your own account" in client.get("/admin/users").text
    row = user_row(app, admin.user_id)
    assert row.active and row.role == "admin"
    assert client.get("/admin/users").status_code == 200  # still signed in


def test_off_boarding_stays_inside_the_organisation(world):
    app = world.app
    world.add_org("B")
    victim = world.account(Role.STAFF, "A")
    with app.app_context(), tenancy.unscoped():
        token_id = db.session.scalar(select(ApiToken.id).where(
            ApiToken.user_id == victim.user_id))
    admin_b = signed_in(app, world.account(Role.ADMIN, "B").email)
    page = admin_b.get("/admin/users").text
    assert victim.email not in page and "a.example.org" not in page
    for action, form in ((f"/admin/users/{victim.user_id}/deactivate", {}),
                         (f"/admin/users/{victim.user_id}/activate", {}),
                         (f"/admin/users/{victim.user_id}/role", {"role": "panel"}),
                         (f"/admin/tokens/{token_id}/revoke", {})):
        assert post_form(admin_b, "/admin/users", action, **form).status_code == 404, action

    staff_a = signed_in(app, world.account(Role.STAFF, "A").email)
    for action in (f"/admin/users/{world.account(Role.PANEL, 'A').user_id}/deactivate",
                   f"/admin/tokens/{token_id}/revoke"):
        assert post_form(staff_a, "/auth/tokens", action).status_code == 403, action

    row = user_row(app, victim.user_id)
    assert row.active and row.role == "staff"
    assert app.test_client().get("/api/v1/me", headers=bearer(victim.token)).status_code == 200


def test_admin_sees_and_revokes_every_token_of_the_organisation(world):
    app = world.app
    world.add_org("B")
    staff = world.account(Role.STAFF)
    admin = signed_in(app, world.account(Role.ADMIN).email)
    page = admin.get("/admin/users").text
    revoke_urls = re.findall(r'action="(/admin/tokens/\d+/revoke)"', page)
    assert len(revoke_urls) == len(Role)  # one per account of A, none of B's
    assert staff.email in page and "b.example.org" not in page

    with app.app_context(), tenancy.unscoped():
        token_id = db.session.scalar(select(ApiToken.id).where(
            ApiToken.user_id == staff.user_id))
    assert post_form(admin, "/admin/users",
                     f"/admin/tokens/{token_id}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=bearer(staff.token)).status_code == 401
    assert f"/admin/tokens/{token_id}/revoke" not in admin.get("/admin/users").text


def test_adding_an_email_in_use_says_the_same_whoever_holds_it(world):
    """An admin must not learn that an address has an account in another organisation."""
    app = world.app
    world.add_org("B")
    admin_b = signed_in(app, world.account(Role.ADMIN, "B").email)
    answers = []
    for email in (world.account(Role.STAFF, "A").email,    # another organisation's
                  world.account(Role.STAFF, "B").email):   # the admin's own
        response = post_form(admin_b, "/admin/users", "/admin/users", email=email, role="panel")
        message = re.search(r'class="flash[^"]*"[^>]*>(.*?)<', response.text, re.S)
        answers.append((response.status_code, message.group(1).strip() if message else
                        response.text))
    assert answers[0] == answers[1]
    status, message = answers[0]
    assert status == 200 and "cannot be used" in message
    assert "already exists" not in message and "organisation" not in message.lower()
    with app.app_context(), tenancy.unscoped():
        assert db.session.scalar(select(User.org_id).where(
            User.email == world.account(Role.STAFF, "A").email)) == world.orgs["A"]


# --- the command line and a real server ---------------------------------------------------

@pytest.fixture
def server(tmp_path):
    """`diaryroom serve` on a fresh installation with a staff account and its API token."""
    def prepare(install: Installation) -> None:
        org = accounts.create_organisation("Real server")
        user, _ = accounts.create_user(org.id, "leaver@example.org", Role.STAFF, PASSWORD)
        _, install.staff_token = accounts.issue_api_token(user, "laptop")

    with served(tmp_path, label="sessions", prepare=prepare) as process:
        yield process


def http(url: str, *, cookie: str | None = None, form: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One request with urllib and a hand-written Cookie header; redirects not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=urlencode(form).encode() if form is not None else None,
        headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")


def cookie_of(headers: dict[str, str]) -> str:
    match = re.match(r"(session=[^;]+)", headers.get("Set-Cookie", ""))
    assert match, headers
    return match.group(1)


def sign_in_over_http(server: ServerProcess, email: str, password: str) -> str:
    status, headers, page = http(server("/auth/login"))
    assert status == 200
    status, headers, _ = http(server("/auth/login"), cookie=cookie_of(headers),
                              form={"email": email, "password": password,
                                    "csrf_token": csrf_from(page)})
    assert status == 302, status
    return cookie_of(headers)


def test_real_server_refuses_replayed_cookie_after_sign_out_and_deactivation(server):
    cookie = sign_in_over_http(server, "leaver@example.org", PASSWORD)
    status, headers, page = http(server("/review/"), cookie=cookie)
    assert status == 200
    cookie = cookie_of(headers)  # now holding the form's CSRF secret too
    copied = cookie

    status, _, _ = http(server("/auth/logout"), cookie=cookie,
                        form={"csrf_token": csrf_from(page)})
    assert status == 302
    status, headers, _ = http(server("/review/"), cookie=copied)  # the copy, replayed
    assert status == 302 and urlsplit(headers["Location"]).path == "/auth/login"

    # Off-boarding from the command line reaches the running server at once.
    cookie = sign_in_over_http(server, "leaver@example.org", PASSWORD)
    api = {"Authorization": f"Bearer {server.install.staff_token}"}
    assert http(server("/review/"), cookie=cookie)[0] == 200
    assert http(server("/api/v1/me"), headers=api)[0] == 200
    out = server.install.run("users", "deactivate", "Leaver@Example.org")
    assert "Deactivated leaver@example.org" in out and "1 API token" in out
    status, headers, _ = http(server("/review/"), cookie=cookie)
    assert status == 302 and urlsplit(headers["Location"]).path == "/auth/login"
    assert http(server("/api/v1/me"), headers=api)[0] == 401

    out = server.install.run("users", "activate", "leaver@example.org")
    assert "Activated leaver@example.org" in out
    assert http(server("/review/"), cookie=cookie)[0] == 302  # old sessions stay ended
    assert http(server("/api/v1/me"), headers=api)[0] == 401  # and old tokens revoked
    sign_in_over_http(server, "leaver@example.org", PASSWORD)

    result = subprocess.run([str(SCRIPT), "users", "deactivate", "nobody@example.org"],
                            env=server.install.env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "diaryroom: no account for nobody@example.org"
