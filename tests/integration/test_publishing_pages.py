"""The publishing pages for people, through real requests: "Your podcast feed" (every
role: its link, QR code and a new link), the admin's feed links page (when each link was
used, turning one off) and the show settings (what feeds say about the podcast, checked
and escaped). The same pages in a real browser: tests/browser/test_publishing_pages.py."""
from __future__ import annotations

import html
import io
import re

import pytest
import segno
from argon2 import PasswordHasher
from lxml import etree
from PIL import Image

from diaryroom import accounts, keys, tenancy
from diaryroom.adapters import get_private_storage, get_storage
from diaryroom.auth import passwords
from diaryroom.errors import Gone
from diaryroom.extensions import db
from diaryroom.models import Organisation, User
from podcast.feeds.check import feed_problems
from podcast.publishing import listeners
from podcast.publishing.models import Listener, Show
from podcast.publishing.show import show_for
from tests.conftest import AuthActions, csrf_from

ROLES = ("admin", "staff", "cohost", "panel")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, at a cheap cost: every test makes and signs in several accounts."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


FEED_URL = re.compile(r'id="feed-url"[^>]*value="([^"]+)"')
GOOD_DETAILS = {"title": "Voices from the day centre", "description": "Stories, told by us.",
                "language": "en-GB", "category": "Society & Culture|Documentary",
                "author": "Hope House", "owner_name": "Podcast team",
                "owner_email": "podcast@hope.example.org", "link": ""}


def signed_in(app, email: str):
    client = app.test_client()
    assert AuthActions(client).login(email).status_code == 302
    return client


def post(client, url: str, data: dict | None = None, *, page: str = "/account/feed", **kw):
    """A form sent the way the page sends it: with the page's CSRF token."""
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kw)


def feed_link_on(client) -> str | None:
    page = client.get("/account/feed")
    assert page.status_code == 200
    match = FEED_URL.search(page.text)
    return html.unescape(match.group(1)) if match else None


def user_row(app, account) -> User:
    with app.app_context(), tenancy.unscoped():
        user = db.session.get(User, account.user_id)
        db.session.expunge(user)
        return user


def dark_modules(svg: str) -> set[tuple[int, int]]:
    """(row, column) of each dark module an SVG QR code draws: its dark path is runs of
    ``h<n>`` (n modules from the pen) between ``M``/``m`` moves to each row's middle."""
    d = re.search(r'<path [^>]*stroke="#000"[^>]*\bd="([^"]+)"', svg).group(1)
    x = y = 0.0
    dark = set()
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", d):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(y), int(x) + i) for i in range(int(a)))
            x += float(a)
    return dark


def dark_modules_of(text: str, border: int = 4) -> set[tuple[int, int]]:
    """The dark modules of ``text``'s QR code (medium error correction), from segno's
    module matrix rather than from any SVG."""
    matrix = segno.make(text, error="m").matrix
    return {(r + border, c + border) for r, row in enumerate(matrix)
            for c, on in enumerate(row) if on}


def picture(width: int, height: int, fmt: str = "PNG") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, fmt)
    out.seek(0)
    return out


# --- your podcast feed ------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_their_own_feed_link_with_a_qr_code(app, world, role):
    account = world.account(role)
    client = signed_in(app, account.email)
    first = client.get("/account/feed")
    assert first.status_code == 200 and "Get my feed link" in first.text
    assert FEED_URL.search(first.text) is None

    assert post(client, "/account/feed/new").status_code == 302
    page = client.get("/account/feed")
    url = feed_link_on(client)
    with app.app_context():
        listener = listeners.listener_for(user_row(app, account))
        org = db.session.get(Organisation, account.org_id)
        assert url == listeners.feed_url(org, listeners.token_of(listener))
    assert url.startswith(app.config["BASE_URL"] + "/feeds/") and url.endswith(".xml")
    # The link is a key: no cache may keep the page.
    assert page.headers["Cache-Control"] == "no-store"
    # The QR code is this very link (segno draws the same modules for the same text),
    # and it has a name a screen reader reads out.
    svg = re.search(r"<svg [^>]*>.*?</svg>", page.text, re.S).group(0)
    assert 'role="img"' in svg and 'aria-label="QR code of your feed link' in svg
    assert dark_modules(svg) == dark_modules_of(url)


def test_a_new_link_turns_the_old_one_off(app, world):
    account = world.account("panel")
    client = signed_in(app, account.email)
    post(client, "/account/feed/new")
    old = feed_link_on(client)
    response = post(client, "/account/feed/new", follow_redirects=True)
    assert "The old link does not work any more" in response.text
    new = feed_link_on(client)
    assert new != old
    assert old.split("/")[-1] not in client.get("/account/feed").text
    slug, old_token = old.split("/feeds/")[1].split("/private/")
    new_token = new.rsplit("/", 1)[1].removesuffix(".xml")
    with app.app_context():
        with pytest.raises(Gone):
            listeners.resolve(slug, old_token.removesuffix(".xml"))
        assert listeners.resolve(slug, new_token).user_id == account.user_id
    # Podcast apps holding the old link are told it is gone (the feeds' own routes).
    anyone = app.test_client()
    assert anyone.get(old.removeprefix(app.config["BASE_URL"])).status_code == 410
    assert anyone.get(new.removeprefix(app.config["BASE_URL"])).status_code == 200


def test_the_new_link_form_needs_its_csrf_token(app, world):
    client = signed_in(app, world.account("panel").email)
    assert client.post("/account/feed/new").status_code == 400
    assert feed_link_on(client) is None


# --- who may see what -------------------------------------------------------------------

@pytest.mark.parametrize("role", ["panel", "cohost"])
def test_panel_and_cohosts_see_only_their_own_feed_page(app, world, role):
    client = signed_in(app, world.account(role).email)
    assert client.get("/account/feed").status_code == 200
    assert client.get("/admin/listeners").status_code == 403
    assert client.get("/podcast/show").status_code == 403
    assert post(client, "/podcast/show", GOOD_DETAILS).status_code == 403
    nav = client.get("/account/feed").text
    assert "Your feed link" in nav and "Feed links" not in nav and "Show settings" not in nav


def test_staff_edit_the_show_but_do_not_see_feed_links(app, world):
    client = signed_in(app, world.account("staff").email)
    assert client.get("/podcast/show").status_code == 200
    assert client.get("/admin/listeners").status_code == 403


# --- the admin's feed links page ----------------------------------------------------------

def test_admin_sees_when_each_link_was_used_and_nothing_more(app, world):
    panel, cohost = world.account("panel"), world.account("cohost")
    with app.app_context():
        _, panel_token = listeners.create_listener(user_row(app, panel), by=None)
        cohost_listener, cohost_token = listeners.create_listener(user_row(app, cohost),
                                                                  by=None)
        listeners.record_use(db.session.merge(cohost_listener), "feed")
    admin = signed_in(app, world.account("admin").email)
    page = admin.get("/admin/listeners")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    rows = {email: row for row, email in (
        (row, re.search(r"<td>([^<]+@[^<]+)</td>", row).group(1))
        for row in re.findall(r"<tr><td>.*?</tr>", page.text, re.S))}
    assert set(rows) == {panel.email, cohost.email}
    cells = {email: re.findall(r"<td>([^<]*)</td>", row) for email, row in rows.items()}
    assert cells[panel.email][2:5] == ["never", "never", "no"]
    assert cells[cohost.email][2] != "never" and cells[cohost.email][3:5] == ["never", "no"]
    # The links themselves are never shown to anyone but their owner.
    assert panel_token not in page.text and cohost_token not in page.text


def test_admin_turns_a_link_off(app, world):
    panel = world.account("panel")
    person = signed_in(app, panel.email)
    post(person, "/account/feed/new")
    link = feed_link_on(person)
    with app.app_context():
        listener_id = listeners.listener_for(user_row(app, panel)).id
    admin = signed_in(app, world.account("admin").email)
    response = post(admin, f"/admin/listeners/{listener_id}/revoke", page="/admin/listeners",
                    follow_redirects=True)
    assert "The feed link has been turned off" in response.text
    assert f"/admin/listeners/{listener_id}/revoke" not in response.text  # no button now
    with app.app_context(), tenancy.as_org(panel.org_id):
        assert db.session.get(Listener, listener_id).revoked_at is not None
    assert feed_link_on(person) is None  # their page offers a new link instead
    assert app.test_client().get(link.removeprefix(app.config["BASE_URL"])).status_code == 410


def test_an_admin_cannot_turn_off_another_organisations_link(app, world):
    world.add_org("B")
    with app.app_context():
        theirs, _ = listeners.create_listener(user_row(app, world.account("panel", "B")),
                                              by=None)
        theirs_id = theirs.id
    admin = signed_in(app, world.account("admin").email)
    response = post(admin, f"/admin/listeners/{theirs_id}/revoke", page="/admin/listeners")
    assert response.status_code == 404
    with app.app_context(), tenancy.unscoped():
        assert db.session.get(Listener, theirs_id).revoked_at is None
    assert world.account("panel", "B").email not in admin.get("/admin/listeners").text


def test_listeners_page_escapes_what_it_shows(app, world):
    with app.app_context():
        odd, _ = accounts.create_user(world.orgs["A"], "<b>x</b>@a.example.org", "panel",
                                      "a long enough passphrase here")
        listeners.create_listener(odd, by=None)
    page = signed_in(app, world.account("admin").email).get("/admin/listeners")
    assert "<b>x</b>" not in page.text and "&lt;b&gt;x&lt;/b&gt;@a.example.org" in page.text


# --- show settings ------------------------------------------------------------------------

def show_row(app, org_id: int) -> Show:
    with app.app_context(), tenancy.as_org(org_id):
        show = show_for(org_id)
        db.session.commit()
        db.session.refresh(show)
        db.session.expunge(show)
        return show


def test_show_settings_save_and_mark_every_feed_out_of_date(app, world):
    org_id = world.orgs["A"]
    before = show_row(app, org_id)
    staff = signed_in(app, world.account("staff").email)
    response = post(staff, "/podcast/show", {**GOOD_DETAILS, "explicit": "1",
                                             "language": "cy"}, page="/podcast/show")
    assert response.status_code == 302
    after = show_row(app, org_id)
    assert (after.title, after.language, after.category, after.subcategory) == (
        "Voices from the day centre", "cy", "Society & Culture", "Documentary")
    assert after.explicit is True and after.owner_email == "podcast@hope.example.org"
    assert after.feed_version > before.feed_version
    page = staff.get("/podcast/show").text
    assert 'value="Voices from the day centre"' in page
    assert 'value="Society &amp; Culture|Documentary" selected' in page
    with app.app_context():
        slug = db.session.get(Organisation, org_id).slug
    assert f"{app.config['BASE_URL']}/feeds/{slug}/public.xml" in page
    assert "the show needs artwork." in page


@pytest.mark.parametrize(("field", "value", "words"), [
    ("owner_email", "not an address", "This is not an email address"),
    ("language", "klingon", "This is not a language code we know"),
    ("language", "en-ZZ", "This is not a language code we know"),
    ("category", "Arts|Politics", "Choose a category from the list"),
    ("title", "   ", "Give the show a title"),
    ("link", "javascript:alert(1)", "This is not a web address"),
])
def test_show_settings_refuse_bad_details_with_a_clear_message(app, world, field, value,
                                                                words):
    org_id = world.orgs["A"]
    before = show_row(app, org_id)
    staff = signed_in(app, world.account("staff").email)
    response = post(staff, "/podcast/show", {**GOOD_DETAILS, field: value},
                    page="/podcast/show")
    assert response.status_code == 422
    assert "Nothing was saved" in response.text and words in response.text
    # The message is beside its field, and the field says it is wrong.
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', response.text)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text)
    after = show_row(app, org_id)
    assert (after.title, after.feed_version) == (before.title, before.feed_version)


@pytest.mark.parametrize(("upload", "words"), [
    (lambda: io.BytesIO(b"just some words, not a picture"), "This file is not a picture"),
    (lambda: picture(600, 600), "This picture is too small"),
    (lambda: io.BytesIO(b"GIF89a" + b"\0" * 64), "This is a GIF"),
])
def test_show_settings_refuse_bad_artwork(app, world, upload, words):
    org_id = world.orgs["A"]
    staff = signed_in(app, world.account("staff").email)
    response = post(staff, "/podcast/show",
                    {**GOOD_DETAILS, "artwork": (upload(), "cover.png")}, page="/podcast/show",
                    content_type="multipart/form-data")
    assert response.status_code == 422 and words in response.text
    assert 'aria-describedby="artwork-hint artwork-error"' in response.text
    assert show_row(app, org_id).artwork_key is None


def test_show_artwork_is_rebuilt_stored_encrypted_and_replaced(app, world):
    org_id = world.orgs["A"]
    staff = signed_in(app, world.account("staff").email)
    send = {**GOOD_DETAILS, "artwork": (picture(1600, 1500), "cover.png")}
    assert post(staff, "/podcast/show", send, page="/podcast/show",
                content_type="multipart/form-data").status_code == 302
    first = show_row(app, org_id)
    assert first.artwork_key.startswith(keys.show_artwork(org_id, "x")[:-1])
    assert first.artwork_type == "image/jpeg"
    with app.app_context():
        with get_private_storage().open(first.artwork_key) as fh:
            stored = Image.open(io.BytesIO(fh.read()))
            assert (stored.format, stored.size) == ("JPEG", (1500, 1500))
        with get_storage().open(first.artwork_key) as fh:  # as it lies in storage
            assert fh.read(4) == b"DRE1"  # encrypted, not a JPEG anyone could open
    # The page shows it as the feeds serve it.
    page = staff.get("/podcast/show").text
    src = html.unescape(re.search(r'<img [^>]*src="([^"]+)"[^>]*alt="The show\'s artwork now"',
                                  page).group(1))
    shown = staff.get(src)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(shown.data)).size == (1500, 1500)

    send = {**GOOD_DETAILS, "artwork": (picture(1400, 1400, "JPEG"), "new.jpg")}
    assert post(staff, "/podcast/show", send, page="/podcast/show",
                content_type="multipart/form-data").status_code == 302
    second = show_row(app, org_id)
    assert second.artwork_key != first.artwork_key
    with app.app_context():
        assert not get_private_storage().exists(first.artwork_key)
        assert get_private_storage().exists(second.artwork_key)
    # Saving the words alone keeps the artwork.
    post(staff, "/podcast/show", GOOD_DETAILS, page="/podcast/show")
    assert show_row(app, org_id).artwork_key == second.artwork_key


def test_show_settings_escape_and_clean_what_is_typed(app, world):
    org_id = world.orgs["A"]
    staff = signed_in(app, world.account("staff").email)
    sneaky = '<script>alert("x")</script> Warm\x00 rooms\x1b'
    assert post(staff, "/podcast/show", {**GOOD_DETAILS, "title": sneaky,
                                         "description": "Line one\r\nLine two\x07"},
                page="/podcast/show").status_code == 302
    show = show_row(app, org_id)
    # Characters no feed can hold are gone (XML 1.0 refuses them).
    assert show.title == '<script>alert("x")</script> Warm rooms'
    assert show.description == "Line one\nLine two"
    page = staff.get("/podcast/show").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Warm rooms" in page
    # A refused form shows what was typed back, escaped too.
    refused = post(staff, "/podcast/show", {**GOOD_DETAILS, "owner_email": '"><img src=x>'},
                   page="/podcast/show")
    assert refused.status_code == 422 and "<img src=x>" not in refused.text


def test_what_the_settings_save_makes_a_public_feed_with_no_problems(app, world):
    """The page holds people to the feed check's own rules: a show saved through it, with
    its artwork, contact and description, gives a public feed the check finds nothing
    wrong with (and the details are in it, escaped by the builder)."""
    org_id = world.orgs["A"]
    staff = signed_in(app, world.account("staff").email)
    send = {**GOOD_DETAILS, "title": "Tea & <talk>", "link": "https://hope.example.org/pod",
            "artwork": (picture(1500, 1500), "cover.png")}
    assert post(staff, "/podcast/show", send, page="/podcast/show",
                content_type="multipart/form-data").status_code == 302
    with app.app_context():
        slug = db.session.get(Organisation, org_id).slug
    xml = app.test_client().get(f"/feeds/{slug}/public.xml").data
    assert feed_problems(xml, private=False) == []
    channel = etree.fromstring(xml).find("channel")
    assert channel.findtext("title") == "Tea & <talk>"
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    assert channel.find(f"{itunes}owner/{itunes}email").text == "podcast@hope.example.org"
    assert channel.find(f"{itunes}category").get("text") == "Society & Culture"
