"""One walk over every kiosk screen, the way a person goes through them, for the tests that
look at each screen in turn: where its main button is (test_kiosk_layout.py) and what its
words say (test_kiosk_words.py).

The walk presses controls by what they do (``data-action``) or presses the screen's main
button (``data-primary``), never by their words, so the words can change without breaking
it. ``visit(name)`` is called on each screen once it shows. The JSON actions are answered
by ``FakeServer`` (tests/browser/test_kiosk_pages.py); reloading the page between parts
brings the kiosk back to its welcome screen, because nothing is left waiting to be sent.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import expect

from tests.browser.test_kiosk_pages import FakeServer

# A receipt code from the kiosk's word list made of its widest words: the hardest to fit.
WIDE_CODE = "swarm-mower-gummy-88"
SHOWN = "section.screen:not([hidden])"
# Whatever the person is looking at: an open dialog (idle warning, "Have you got your
# code?") is in front of the screen behind it.
FRONT = "() => document.querySelector('dialog[open]') || document.body"
IN_FRONT_IS_DIALOG = "() => document.querySelector('dialog[open]') !== null"
MESSAGE = "It was a good week. The staff listened to me."
MOST_TAPS_TO_RECORD = 8  # the walk gives up beyond this; the test asks for at most 4

Visit = Callable[[str], None]


def screen(page) -> str:
    return page.locator("body").get_attribute("data-screen") or ""


def expect_screen(page, name: str) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name)


def tap(page, selector: str) -> None:
    """Press a control of the screen now showing."""
    page.locator(f"{SHOWN} {selector}").filter(visible=True).first.click()


def tap_primary(page) -> None:
    """Press the main button of whatever is in front: the one marked ``data-primary`` or,
    where none is marked (test_kiosk_layout.py says so), the screen's form's submit
    button, so that the walk still reaches and measures every screen."""
    scope = "dialog[open]" if page.evaluate(IN_FRONT_IS_DIALOG) else "body"
    marked = page.locator(f"{scope} [data-primary]").filter(visible=True)
    if marked.count():
        marked.first.click()
    else:
        tap(page, "form [type=submit]")


def advance(page, selector: str | None = None) -> str:
    """Press the main button (or the control ``selector``) and wait for the next screen;
    its name."""
    before = screen(page)
    if selector is None:
        tap_primary(page)
    else:
        tap(page, selector)
    page.wait_for_function("before => document.body.dataset.screen !== before", arg=before)
    return screen(page)


def _withdrawn_lookup(route, request) -> None:
    route.fulfill(status=200, content_type="application/json", body=json.dumps({
        "consent": {"audience": "team", "voice": "disguise", "panel_quotes": False},
        "status": "withdrawn", "kind": "audio", "received": "2025-03-14"}))


@dataclass
class Walk:
    """What a walk found beyond the screens themselves."""

    taps_to_record: int = 0  # from the welcome screen until recording started
    problems: list[str] = field(default_factory=list)


def walk_kiosk(page, base_url: str, card_id: int, visit: Visit) -> Walk:
    """Walk every screen, calling ``visit(name)`` on each."""
    server = FakeServer(base_url, receipt=WIDE_CODE).install(page)
    server.csrf = ""  # each reload renders a new token
    walk = Walk()
    _record_keep_and_finish(page, server, card_id, visit, walk)
    _write(page, visit)
    _change_my_mind(page, visit, walk)
    _idle_warning(page, visit)
    return walk


def _record_keep_and_finish(page, server: FakeServer, card_id: int, visit: Visit,
                            walk: Walk) -> None:
    expect_screen(page, "welcome")
    visit("welcome")
    tap(page, '[data-action="start"][data-kind="audio"]')
    expect_screen(page, "cards")
    visit("cards")
    now = advance(page, f'[data-card-id="{card_id}"]')
    taps = 2
    # However many screens come before it (one decision per screen, or all on one), the
    # main button of each leads on to recording.
    while now != "record":
        assert taps < MOST_TAPS_TO_RECORD, f"no way to the record screen from {now}"
        visit(now)
        now = advance(page)
        taps += 1
    start = page.locator(f'{SHOWN} [data-action="record"]')
    expect(start).to_be_enabled()
    visit("record")
    start.click()
    taps += 1
    walk.taps_to_record = taps
    stop = page.locator(f'{SHOWN} [data-action="stop"]')
    expect(stop).to_be_visible()
    page.wait_for_timeout(1000)  # a recording long enough to listen back to
    visit("recording")
    stop.click()
    expect_screen(page, "review")
    expect(page.locator(f"{SHOWN} [data-action='keep']")).to_be_visible()
    visit("review")
    tap(page, '[data-action="discard"]')
    expect_screen(page, "discard")
    visit("discard")
    tap(page, '[data-action="discard-no"]')
    expect_screen(page, "review")

    server.entries_down = True  # so the saving screen stays long enough to look at
    tap(page, '[data-action="keep"]')
    expect_screen(page, "saving")
    expect(page.locator("#saving-status")).not_to_be_empty()
    visit("saving")
    server.entries_down = False
    expect_screen(page, "receipt")
    expect(page.locator("#receipt-code")).to_contain_text("88")
    visit("receipt")
    tap(page, '[data-action="finish"]')
    # Finish asks first ("Have you got your code?"): in a dialog or on a screen of its own.
    page.wait_for_function(f"() => ({IN_FRONT_IS_DIALOG})()"
                           " || document.body.dataset.screen !== 'receipt'")
    if screen(page) == "welcome" and not page.evaluate(IN_FRONT_IS_DIALOG):
        walk.problems.append("Finish on the saved screen went straight back to the start, "
                             "wiping the code, without asking first")
    else:
        visit("finish-confirm")


def _write(page, visit: Visit) -> None:
    page.reload()
    expect_screen(page, "welcome")
    tap(page, '[data-action="start"][data-kind="text"]')
    expect_screen(page, "cards")
    visit("cards-write")
    tap(page, '[data-card-id=""]')
    expect_screen(page, "write")
    visit("write")
    page.locator(f"{SHOWN} textarea").fill(MESSAGE)
    now = advance(page)
    while now not in ("saving", "receipt"):
        visit(f"{now}-write")
        now = advance(page)
    expect_screen(page, "receipt")


def _look_up(page, visit: Visit | None = None) -> None:
    page.reload()
    expect_screen(page, "welcome")
    tap(page, '[data-action="change"]')
    expect_screen(page, "change")
    if visit:
        visit("change")
    page.locator(f"{SHOWN} input[type=text]").fill(WIDE_CODE.replace("-", " "))
    assert advance(page) == "change-found"


def _change_my_mind(page, visit: Visit, walk: Walk) -> None:
    _look_up(page, visit)
    visit("change-found")
    tap(page, '[data-action="withdraw"]')
    expect_screen(page, "withdraw")
    visit("withdraw")
    tap(page, '[data-action="withdraw-yes"]')
    expect_screen(page, "change-done")
    visit("withdrawn-done")

    _look_up(page)
    tap(page, '#change-form [type="submit"]')
    expect_screen(page, "change-done")
    visit("changed-done")

    page.route("**/kiosk/receipts/lookup", _withdrawn_lookup)
    try:
        _look_up(page)
        expect(page.locator("#found-withdrawn")).to_be_visible()
        visit("found-withdrawn")
        offered = page.locator(f"{SHOWN} input, {SHOWN} [data-action='withdraw']").filter(
            visible=True).count()
        if offered:
            walk.problems.append(f"after it was taken back, the found screen still offers "
                                 f"{offered} control(s) to change it")
    finally:
        page.unroute("**/kiosk/receipts/lookup", _withdrawn_lookup)


def _idle_warning(page, visit: Visit) -> None:
    page.reload()
    tap(page, '[data-action="start"][data-kind="text"]')
    tap(page, '[data-card-id=""]')
    expect_screen(page, "write")
    # Quiet for a second brings the warning; its countdown is long enough to look at it.
    page.evaluate("Object.assign(document.body.dataset,"
                  " {idleSeconds: '1', idleWarningSeconds: '60'})")
    page.locator(f"{SHOWN} textarea").press("End")  # activity restarts the shorter timer
    expect(page.locator("dialog[open]")).to_be_visible(timeout=5000)
    visit("idle-warning")
