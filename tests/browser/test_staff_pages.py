"""The staff pages in a real browser: headless Chromium signs in through the real form,
uses the pages as a person would, and axe-core checks every page it sees for
WCAG 2.0/2.1/2.2 A and AA problems. Keyboard use and 200% zoom are checked too.

Screenshots of every checked page land in artifacts/screenshots/.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from diaryroom import accounts
from tests.browser.conftest import sign_in

NEW_PASSWORD = "a brand new passphrase of mine"


def nav(page):
    return page.get_by_role("navigation", name="Main")


def go_to(page, link_name: str) -> None:
    """Follow a link of the main navigation, as a person would."""
    nav(page).get_by_role("link", name=link_name, exact=True).click()


@pytest.fixture
def staff(live_server):
    return live_server.world.account("staff")


@pytest.fixture
def admin(live_server):
    return live_server.world.account("admin")


@pytest.fixture
def staff_page(page, staff):
    sign_in(page, staff.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    return page


FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    // WCAG relative luminance and contrast ratio of two computed rgb() colours.
    const lum = c => {
        const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => {
            v = v / 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const [a, b] = [lum(style.outlineColor), lum(getComputedStyle(document.body).backgroundColor)];
    return {tag: el.tagName.toLowerCase(), id: el.id, text: el.textContent.trim(),
            outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
            outlineContrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
            inViewport: box.left >= 0 && box.top >= 0
              && box.right <= innerWidth && box.bottom <= innerHeight};
}"""


def focused(page) -> dict:
    """What has keyboard focus, and whether its focus outline can be seen."""
    return page.evaluate(FOCUSED)


def assert_visible_focus(now: dict) -> None:
    # WCAG 2.4.7 (focus visible) and 1.4.11 (3:1 against what is around it).
    where = f"{now['tag']}#{now['id']} {now['text']!r}"
    assert now["outline"] != "none" and now["outlineWidth"] >= 2, f"no focus outline on {where}"
    assert now["outlineContrast"] >= 3, f"focus outline too faint on {where}: {now}"


# --- signed out ------------------------------------------------------------------------

def test_login_page_works_by_keyboard(page, live_server, staff, axe_check):
    page.goto("/auth/login")
    expect(page).to_have_title("Sign in · Diary Room")
    axe_check(page, "login")

    # Tab order: the skip link first (and it shows when focused), then the site name,
    # then the form's fields and button in reading order. Each shows a focus outline.
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"] == "Skip to main content"
    assert skip["inViewport"], "the skip link must be visible when it has focus"
    assert_visible_focus(skip)
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Diary Room"
    assert_visible_focus(focused(page))
    expected = [("input", "email", ""), ("input", "password", ""), ("button", "", "Sign in")]
    for tag, id_, text in expected:
        page.keyboard.press("Tab")
        now = focused(page)
        assert (now["tag"], now["id"], now["text"]) == (tag, id_, text)
        assert_visible_focus(now)

    # The skip link jumps past the header straight to the form.
    page.goto("/auth/login")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server("/auth/login#main"))
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "email"

    # Signing in needs no mouse: type, Tab, type, Enter.
    page.keyboard.type(staff.email)
    page.keyboard.press("Tab")
    page.keyboard.type(staff.password)
    page.keyboard.press("Enter")
    # (The browser keeps the #main fragment across the sign-in redirect.)
    expect(page).to_have_url(re.compile(re.escape(live_server("/")) + "(#main)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")


def test_wrong_password_shows_an_error(page, live_server, staff, axe_check):
    sign_in(page, staff.email, "not the password at all")
    expect(page).to_have_url(live_server("/auth/login"))
    expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account.")
    axe_check(page, "login-error")
    # Still signed out.
    page.goto("/review/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))


def test_page_not_found(page, axe_check):
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, that did not work")
    axe_check(page, "error-404")


# --- staff -----------------------------------------------------------------------------

def test_staff_sign_in_lands_on_home(staff_page, live_server, staff, axe_check):
    page = staff_page
    expect(page).to_have_url(live_server("/"))
    expect(page.get_by_text(f"You are signed in as {staff.email} (staff).")).to_be_visible()
    # Staff see the team's pages and the studio (coordinators help co-hosts there), not
    # the admin's.
    expect(nav(page).get_by_role("link", name="Entries", exact=True)).to_be_visible()
    expect(nav(page).get_by_role("link", name="Accounts")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Podcast")).to_be_visible()
    axe_check(page, "home")

    response = page.goto("/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, that did not work")
    axe_check(page, "error-403")


def test_entries_list_and_entry_page(staff_page, live_server, axe_check):
    page = staff_page
    entry_id = live_server.entry_id
    go_to(page, "Entries")
    expect(page).to_have_url(live_server("/review/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Diary-room entries")
    # By whole number: other tests' entries accumulate in the shared server (Entry 10...).
    row = page.get_by_role("row").filter(has_text=re.compile(rf"\bEntry {entry_id}\b"))
    expect(row).to_contain_text("awaiting review")
    expect(row).to_contain_text("1:23")
    axe_check(page, "entries")

    row.get_by_role("link", name=f"Entry {entry_id}", exact=True).click()
    expect(page).to_have_url(live_server(f"/review/entries/{entry_id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Entry {entry_id}")
    expect(page.locator(".facts")).to_contain_text("awaiting review")
    expect(page.get_by_text("No transcript yet.")).to_be_visible()
    axe_check(page, "entry")


def test_api_token_is_shown_once(staff_page, live_server, axe_check):
    page = staff_page
    go_to(page, "API tokens")
    expect(page.get_by_role("heading", level=1)).to_have_text("Personal API tokens")
    axe_check(page, "tokens")

    page.get_by_label("What is this token for?").press_sequentially("Spreadsheet export")
    page.get_by_role("button", name="Create token").click()
    notice = page.get_by_role("status").filter(has_text="Copy it now")
    expect(notice).to_be_visible()
    token = notice.locator("code").inner_text()
    assert token.startswith("drp_") and len(token) > 30
    expect(page.get_by_role("row").filter(has_text="Spreadsheet export")).to_contain_text("never")
    axe_check(page, "tokens-created")

    go_to(page, "API tokens")
    expect(page.get_by_role("row").filter(has_text="Spreadsheet export")).to_be_visible()
    expect(page.get_by_text(token)).to_have_count(0)


def pair_kiosk_through_form(page, name: str, axe_check=None, *, want_code: bool = False):
    """Pair a kiosk on the Kiosks page; returns the one-time pairing link it shows (and,
    with ``want_code``, the short pairing code too)."""
    go_to(page, "Kiosks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiosks")
    if axe_check:
        axe_check(page, "kiosks")
    page.get_by_label("Kiosk name").press_sequentially(name)
    page.get_by_role("button", name="Pair a new kiosk").click()
    notice = page.get_by_role("status").filter(has_text=f'To pair the kiosk "{name}"')
    expect(notice).to_be_visible()
    link = notice.locator("code").last.inner_text()
    code = notice.locator(".pairing-code code").inner_text()
    return (link, code) if want_code else link


def test_kiosks_page_pairs_a_kiosk_and_shows_the_link_once(staff_page, live_server,
                                                           axe_check):
    page = staff_page
    link = pair_kiosk_through_form(page, "Reception kiosk", axe_check)
    assert re.fullmatch(re.escape(live_server("/kiosk/pair#token=")) + r"drk_[\w-]{20,}", link)
    expect(page.get_by_role("row").filter(has_text="Reception kiosk")).to_contain_text("paired")
    axe_check(page, "kiosks-paired")

    go_to(page, "Kiosks")
    expect(page.get_by_role("row").filter(has_text="Reception kiosk")).to_be_visible()
    expect(page.get_by_text("/kiosk/pair#token=")).to_have_count(0)
    expect(page.locator(".pairing-code")).to_have_count(0)


def test_sign_out(staff_page, live_server, axe_check):
    page = staff_page
    nav(page).get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/auth/login"))
    expect(page.get_by_role("status")).to_have_text(
        "You have signed out, here and on any other device signed in as you.")
    axe_check(page, "signed-out")
    page.goto("/review/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))


# --- kiosk -----------------------------------------------------------------------------

def test_kiosk_pairing_link_pairs_the_device(staff_page, new_page, live_server, axe_check):
    link = pair_kiosk_through_form(staff_page, "Diary room, first floor")
    assert link.startswith(live_server("/kiosk/pair#token=drk_"))
    token = link.partition("#token=")[2]

    kiosk = new_page()  # the kiosk's own browser: no staff cookies
    posted = []

    def watch_post(route, request):
        if request.method == "POST":
            # What the address bar says at the moment the form is sent.
            posted.append((kiosk.url, parse_qs(request.post_data or "")))
        route.continue_()

    kiosk.route("**/kiosk/pair", watch_post)
    kiosk.goto(link, wait_until="commit")
    kiosk.wait_for_url(live_server("/kiosk/"))
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Diary Room")
    assert kiosk.url == live_server("/kiosk/")

    # pair.js posted the token from the fragment, after taking it out of the address bar.
    assert len(posted) == 1
    url_when_posted, form = posted[0]
    assert url_when_posted == live_server("/kiosk/pair")
    assert form["token"] == [token]
    assert token not in kiosk.url
    axe_check(kiosk, "kiosk-home")
    kiosk.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(kiosk.get_by_text('This kiosk is paired as "Diary room, first floor".')).to_be_visible()

    # The cookie keeps it paired on the next visit.
    kiosk.goto("/")
    expect(kiosk).to_have_url(live_server("/kiosk/"))


def test_kiosk_pair_page_by_hand(page, live_server, axe_check):
    page.goto("/kiosk/pair")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pair this kiosk")
    axe_check(page, "kiosk-pair")
    page.get_by_label("Pairing code").press_sequentially("drk_not-a-real-code")
    page.get_by_role("button", name="Pair").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That pairing code is not valid, has been used, or has run out. Ask for a new one "
        "on the Kiosks page.")
    axe_check(page, "kiosk-pair-error")

    page.get_by_label("Pairing code").fill(live_server.world.kiosk_tokens["A"])
    page.get_by_role("button", name="Pair").click()
    expect(page).to_have_url(live_server("/kiosk/"))
    page.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(page.get_by_text('This kiosk is paired as "A kiosk".')).to_be_visible()


def test_kiosk_pairs_by_typing_the_short_code(staff_page, new_page, live_server):
    _, code = pair_kiosk_through_form(staff_page, "Diary room, annexe", want_code=True)
    kiosk = new_page()
    kiosk.goto("/kiosk/pair")
    kiosk.get_by_label("Pairing code").press_sequentially(code.lower())
    kiosk.get_by_role("button", name="Pair").click()
    expect(kiosk).to_have_url(live_server("/kiosk/"))
    kiosk.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(kiosk.get_by_text('This kiosk is paired as "Diary room, annexe".')).to_be_visible()


# --- admin -----------------------------------------------------------------------------

def test_admin_adds_an_account_and_sees_the_one_time_password(page, live_server, admin,
                                                              axe_check):
    sign_in(page, admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    go_to(page, "Accounts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    axe_check(page, "accounts")

    page.get_by_label("Email").press_sequentially("new.cohost@a.example.org")
    page.get_by_label("Role").select_option("cohost")
    page.get_by_role("button", name="Add account").click()
    notice = page.get_by_role("status").filter(has_text="Account created for")
    expect(notice).to_contain_text("new.cohost@a.example.org")
    one_time = notice.locator("code").inner_text()
    assert len(one_time) >= 12
    expect(page.get_by_role("row").filter(has_text="new.cohost@a.example.org")).to_contain_text(
        "cohost")
    axe_check(page, "accounts-created")

    go_to(page, "Podcast")
    expect(page.get_by_role("heading", level=1)).to_have_text("Podcast studio")
    axe_check(page, "podcast")


def one_time_account(live_server, email: str) -> str:
    """A new account as the Accounts page makes it: a one-time password to be changed."""
    with live_server.app.app_context():
        _, one_time = accounts.create_user(live_server.org_id, email, "staff")
    return one_time


def test_one_time_password_must_be_changed(page, live_server, axe_check):
    one_time = one_time_account(live_server, "first.login@a.example.org")
    sign_in(page, "first.login@a.example.org", one_time)
    # Signing in with a one-time password leads straight to choosing a new one.
    expect(page).to_have_url(live_server("/auth/password"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(page.get_by_text("You signed in with a one-time password.")).to_be_visible()
    axe_check(page, "password-change")

    # Nothing else is reachable until the password is changed.
    for path in ("/", "/review/", "/auth/tokens"):
        page.goto(path)
        expect(page).to_have_url(live_server("/auth/password"))

    page.get_by_label("Current password").press_sequentially(one_time)
    page.get_by_label("New password (at least 12 characters)").press_sequentially(NEW_PASSWORD)
    page.get_by_label("New password again").press_sequentially(NEW_PASSWORD + " typo")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The two new passwords are not the same.")
    axe_check(page, "password-change-error")

    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password (at least 12 characters)").fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(live_server("/"))
    expect(page.get_by_role("status")).to_have_text(
        "Your password has been changed. Any other device signed in as you has been signed out.")
    axe_check(page, "password-changed")
    go_to(page, "Entries")
    expect(page).to_have_url(live_server("/review/"))


# --- zoom ------------------------------------------------------------------------------

ZOOM_PAGES = ("/", "/review/", "/review/entries/{entry}", "/admin/kiosks", "/auth/tokens",
              "/admin/users", "/podcast/", "/auth/password", "/no-such-page")


def test_pages_reflow_when_zoomed(new_page, live_server, admin, axe_check):
    """A 1024 x 768 window at 200% zoom lays pages out in 512 x 384 CSS pixels; WCAG 1.4.10
    (reflow) asks for 320 CSS pixels (a 1280 px window at 400%). At both, nothing may need
    the whole page scrolled sideways: wide tables scroll inside their own labelled,
    focusable region instead."""
    page = new_page({"width": 512, "height": 384}, device_scale_factor=2)

    def assert_no_horizontal_scroll(path: str) -> None:
        page.goto(path)
        scroll_width, inner_width = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, (
            f"{path} scrolls sideways at {inner_width} px wide ({scroll_width} px of content)")

    assert_no_horizontal_scroll("/auth/login")
    sign_in(page, admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    paths = [p.format(entry=live_server.entry_id) for p in ZOOM_PAGES]
    for path in paths:
        assert_no_horizontal_scroll(path)

    page.set_viewport_size({"width": 320, "height": 256})
    for path in paths:
        assert_no_horizontal_scroll(path)
        if path == "/review/":
            # The entries table scrolls in its own region (which the keyboard can reach).
            region = page.get_by_role("region", name="Diary-room entries")
            assert region.evaluate("el => el.scrollWidth > el.clientWidth")
        axe_check(page, "320px-" + (path.strip("/").replace("/", "-") or "home"))
