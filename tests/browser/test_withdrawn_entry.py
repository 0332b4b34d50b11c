"""A withdrawn entry on the staff side, in a real browser (issue 9, staff side): the entries
list still links to it, and the link opens its tombstone (when it came and went, who took
it back, the consent history), never an error page and never a storage key."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import bearer, run_jobs

TEXT = "My name is Sandra Kowalski and the staff at the hostel helped me a lot."


def _api(client, method: str, path: str, token: str, **kwargs) -> dict:
    response = client.open(f"/api/v1{path}", method=method, headers=bearer(token), **kwargs)
    assert response.status_code < 300, response.text
    return response.get_json()


def withdrawn_entry(live_server) -> int:
    """A written entry, processed, its choices changed and then taken back by the person
    with their code at the kiosk."""
    app, world = live_server.app, live_server.world
    client = app.test_client()
    staff, kiosk = world.account("staff").token, world.kiosk_tokens["A"]
    created = _api(client, "POST", "/entries", staff, json={"kind": "text", "text": TEXT})
    run_jobs(app)  # so there were results (redacted text) that must not be asked for
    code = created["receipt_code"]
    _api(client, "POST", f"/receipts/{code}/consent", kiosk, json={"consent": {
        "audience": "organisation", "voice": "disguise", "panel_quotes": True}})
    _api(client, "POST", f"/receipts/{code}/withdraw", kiosk)
    return created["id"]


def test_the_entries_list_leads_to_the_tombstone(page, live_server, axe_check):
    entry_id = withdrawn_entry(live_server)
    sign_in(page, live_server.world.account("staff").email)
    page.goto("/review/")
    row = page.get_by_role("row").filter(has=page.get_by_role(
        "link", name=f"Entry {entry_id}", exact=True))
    expect(row).to_contain_text("withdrawn")
    row.get_by_role("link", name=f"Entry {entry_id}", exact=True).click()

    expect(page).to_have_url(live_server(f"/review/entries/{entry_id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Entry {entry_id}: withdrawn")
    facts = page.locator("dl.facts")
    date = re.compile(r"\d{2} \w{3} \d{4} \d{2}:\d{2}")
    expect(facts.locator("dt", has_text="Received").locator("+ dd")).to_have_text(date)
    expect(facts.locator("dt", has_text="Withdrawn (UTC)").locator("+ dd")).to_have_text(date)
    expect(page.locator("#withdrawn-by")).to_contain_text(
        "the person who recorded it, with their receipt code")
    history = page.get_by_role("region", name="Consent history").locator("tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Consent given")
    expect(history.nth(1)).to_contain_text("Consent changed")
    expect(history.nth(1)).to_contain_text("People in our organisation")
    expect(history.nth(2)).to_contain_text("Withdrawn")

    body = page.locator("body").inner_text()
    html = page.content()
    assert not re.search(r"org/\d+/", html), "the page names a storage key"
    assert str(live_server.app.config["DATA_DIR"]) not in html
    for error in ("Sorry", "did not work", "no stored object", "Traceback", "Error"):
        assert error not in body, f"the tombstone shows {error!r}"
    for words in ("Kowalski", "hostel"):  # nothing of what was said is left
        assert words not in html
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("audio, video, #transcript")).to_have_count(0)
    axe_check(page, "review-withdrawn")
