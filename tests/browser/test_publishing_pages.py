"""The publishing pages for people in a real browser: "Your podcast feed" (the copy
button, the QR code, a new link), the admin's feed links and the show settings. Each
page, in each state a person sees, is checked by axe-core; screenshots land in
artifacts/screenshots/."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from diaryroom import tenancy
from diaryroom.extensions import db
from diaryroom.models import Organisation, User
from podcast.publishing import listeners
from tests.browser.conftest import sign_in

QR_NAME = re.compile(r"^QR code of your feed link")


def nav_to(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=name, exact=True).click()


def link_of(live_server, role: str) -> str | None:
    """The person's feed URL as the app makes it, or None when they have no live link."""
    account = live_server.world.account(role)
    with live_server.app.app_context(), tenancy.unscoped():
        user = db.session.get(User, account.user_id)
        listener = listeners.listener_for(user)
        if listener is None:
            return None
        org = db.session.get(Organisation, account.org_id)
        return listeners.feed_url(org, listeners.token_of(listener))


def open_feed_page(page, live_server, role: str):
    """Signed in as ``role`` on "Your podcast feed", with a link made if they had none."""
    sign_in(page, live_server.world.account(role).email)
    nav_to(page, "Your feed link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your podcast feed")
    get_one = page.get_by_role("button", name="Get my feed link")
    if get_one.count():
        get_one.click()
        expect(page.get_by_role("status").filter(
            has_text="Here is your feed link")).to_be_visible()
    return page.get_by_role("textbox", name="Your feed link")


def test_a_panel_member_copies_their_feed_link(new_page, live_server, axe_check):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, live_server.world.account("panel").email)
    nav_to(page, "Your feed link")
    if link_of(live_server, "panel") is None:
        expect(page.get_by_role("button", name="Get my feed link")).to_be_visible()
        axe_check(page, "account-feed-none")
    field = open_feed_page(page, live_server, "panel")
    url = link_of(live_server, "panel")
    assert url and url.startswith(live_server.url + "/feeds/")
    expect(field).to_have_value(url)
    expect(field).to_have_attribute("readonly", "")
    # The QR code is an image with a name a screen reader reads out.
    qr = page.get_by_role("img", name=QR_NAME)
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 200 and abs(box["width"] - box["height"]) < 1  # scannable, square
    axe_check(page, "account-feed")

    page.get_by_role("button", name="Copy the link").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text(
        "Copied. Now paste it in your podcast app.")
    assert page.evaluate("navigator.clipboard.readText()") == url
    axe_check(page, "account-feed-copied")


def test_without_javascript_the_link_is_a_plain_text_box(new_page, live_server):
    page = new_page(java_script_enabled=False)
    field = open_feed_page(page, live_server, "cohost")
    expect(field).to_have_value(link_of(live_server, "cohost"))
    # No button that would do nothing: it shows only when the script runs.
    expect(page.get_by_role("button", name="Copy the link")).to_have_count(0)
    field.focus()
    page.keyboard.press("Control+A")
    selected = page.evaluate("""() => { const f = document.getElementById('feed-url');
        return f.value.slice(f.selectionStart, f.selectionEnd); }""")
    assert selected == link_of(live_server, "cohost")


def test_a_new_link_replaces_the_old_one(new_page, live_server, axe_check):
    page = new_page()
    field = open_feed_page(page, live_server, "staff")
    old = field.input_value()
    assert page.request.get(old).status == 200  # the feed, as a podcast app asks
    page.get_by_role("button", name="Get a new link").click()
    expect(page.get_by_role("status").filter(has_text="old link")).to_have_text(
        "Here is your new link. The old link does not work any more, so put the new one "
        "in your podcast app.")
    new = page.get_by_role("textbox", name="Your feed link").input_value()
    assert new != old and new == link_of(live_server, "staff")
    axe_check(page, "account-feed-new")
    assert page.request.get(old).status == 410
    assert page.request.get(new).status == 200


def test_admin_sees_and_turns_off_feed_links(new_page, live_server, axe_check):
    # A panel member with a link, so the table has a row to turn off.
    person = new_page()
    open_feed_page(person, live_server, "panel")
    link = link_of(live_server, "panel")
    panel_email = live_server.world.account("panel").email

    page = new_page()
    sign_in(page, live_server.world.account("admin").email)
    nav_to(page, "Feed links")
    expect(page.get_by_role("heading", level=1)).to_have_text("Feed links")
    table = page.get_by_role("region", name="Every link")
    row = table.get_by_role("row").filter(has_text=panel_email).filter(
        has=page.get_by_role("button"))
    expect(row).to_have_count(1)
    expect(table.get_by_role("columnheader")).to_have_text(
        ["Person", "Made", "Feed last checked", "Audio last downloaded", "Turned off",
         "Actions"])
    assert link.rsplit("/", 1)[1] not in page.content()  # never the link itself
    axe_check(page, "admin-listeners")

    row.get_by_role("button", name=f"Turn off the link of {panel_email}").click()
    expect(page.get_by_role("status").filter(has_text="turned off")).to_be_visible()
    axe_check(page, "admin-listeners-turned-off")
    assert page.request.get(link).status == 410
    assert link_of(live_server, "panel") is None


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def staff_on_show_settings(page, live_server):
    sign_in(page, live_server.world.account("staff").email)
    nav_to(page, "Show settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Show settings")
    return page


def test_staff_change_the_show_and_its_artwork(staff_on_show_settings, live_server,
                                              axe_check):
    page = staff_on_show_settings
    axe_check(page, "podcast-show")
    page.get_by_label("Title").fill("Voices from the day centre")
    page.get_by_label("What the show is about").fill("Stories from people who use the centre.")
    page.get_by_label("Category").select_option(label="Society & Culture: Personal Journals")
    page.get_by_label("Contact email").fill("podcast@a.example.org")
    page.get_by_label(re.compile("^Choose (new )?artwork")).set_input_files(
        files=[{"name": "cover.png", "mimeType": "image/png", "buffer": png(1500, 1500)}])
    page.get_by_role("button", name="Save the show settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Voices from the day centre")
    expect(page.get_by_label("Category")).to_have_value("Society & Culture|Personal Journals")
    artwork = page.get_by_role("img", name="The show's artwork now")
    expect(artwork).to_be_visible()
    assert artwork.evaluate("img => img.complete && img.naturalWidth") == 1500
    expect(page.get_by_text("The show has everything the public feed needs.")).to_be_visible()
    axe_check(page, "podcast-show-saved")


def test_show_settings_say_what_to_fix(staff_on_show_settings, axe_check):
    page = staff_on_show_settings
    page.get_by_label("Language").fill("klingon")
    page.get_by_label(re.compile("^Choose (new )?artwork")).set_input_files(
        files=[{"name": "small.png", "mimeType": "image/png", "buffer": png(500, 500)}])
    page.get_by_role("button", name="Save the show settings").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Nothing was saved")
    expect(summary.get_by_role("link")).to_have_count(2)
    language = page.get_by_label("Language")
    expect(language).to_have_attribute("aria-invalid", "true")
    expect(language).to_have_accessible_description(re.compile(
        "This is not a language code we know"))
    expect(page.get_by_label(re.compile("^Choose (new )?artwork"))).to_have_accessible_description(
        re.compile("This picture is too small"))
    axe_check(page, "podcast-show-problems")
    # The summary's link takes a keyboard user to the field to fix.
    summary.get_by_role("link", name=re.compile("language code")).click()
    expect(language).to_be_focused()
