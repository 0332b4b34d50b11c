"""A pairing link opened on a device that is already a kiosk asks before re-pairing it
(issue 8, item 7): anyone can send a link, and following one must not quietly move a
working kiosk (and the recordings made on it) to another kiosk or organisation."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from diaryroom import accounts


def pair_another_kiosk(live_server, name: str) -> str:
    with live_server.app.app_context():
        _, token = accounts.pair_kiosk(live_server.org_id, name)
    return token


def test_a_paired_kiosk_asks_before_following_a_new_pairing_link(new_page, live_server,
                                                                  axe_check):
    page = new_page()
    page.goto("/kiosk/pair")
    page.get_by_label("Pairing code").fill(live_server.world.kiosk_tokens["A"])
    page.get_by_role("button", name="Pair").click()
    expect(page).to_have_url(live_server("/kiosk/"))
    page.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(page.get_by_text('This kiosk is paired as "A kiosk".')).to_be_visible()
    page.goto("/kiosk/")

    token = pair_another_kiosk(live_server, "Somebody else's kiosk")
    link = live_server(f"/kiosk/pair#token={token}")
    page.goto(link)
    question = page.get_by_text(
        "This kiosk is already set up. Set it up again with the new link?")
    expect(question).to_be_visible()
    expect(question).to_be_focused()
    assert token not in page.url
    expect(page.get_by_label("Pairing code")).to_have_count(0)
    axe_check(page, "kiosk-pair-again")

    # No: nothing changes.
    page.get_by_role("button", name="No, keep it as it is").click()
    expect(page).to_have_url(re.compile(re.escape(live_server("/kiosk/")) + r"\??$"))
    page.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(page.get_by_text('This kiosk is paired as "A kiosk".')).to_be_visible()
    page.goto("/kiosk/")

    # Yes: it is set up again with the new link.
    page.goto(link)
    page.get_by_role("button", name="Yes, set it up again").click()
    expect(page).to_have_url(live_server("/kiosk/"))
    page.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(page.get_by_text("This kiosk is paired as \"Somebody else's kiosk\".")).to_be_visible()
    page.goto("/kiosk/")

    # The same link again on the kiosk it set up: nothing to ask.
    page.goto(link)
    expect(page).to_have_url(live_server("/kiosk/"))


def test_a_device_that_is_not_a_kiosk_pairs_from_the_link_at_once(new_page, live_server):
    token = pair_another_kiosk(live_server, "Fresh kiosk")
    page = new_page()
    page.goto(live_server(f"/kiosk/pair#token={token}"))
    expect(page).to_have_url(live_server("/kiosk/"))
    page.goto("/kiosk/pair")  # its name is for staff, never on the kiosk's screens
    expect(page.get_by_text('This kiosk is paired as "Fresh kiosk".')).to_be_visible()
    page.goto("/kiosk/")
