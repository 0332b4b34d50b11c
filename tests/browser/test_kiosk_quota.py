"""A kiosk whose unfinished uploads fill its quota (issue 8, finding 4): the real server
answers the tus create with 429, the person is told plainly, and the recording stays in
IndexedDB to be sent later."""
from __future__ import annotations

import requests
from playwright.sync_api import expect

from kiosk.pages import client_texts
from tests.browser.e2e_support import idb_records
from tests.browser.test_kiosk_pages import (  # noqa: F401 - fixtures used by name
    CARD_TEXT,
    expect_screen,
    kiosk,
    media_browser,
    open_kiosk,
    question_card,
    record_for,
    speech_wav,
)

TUS = {"Tus-Resumable": "1.0.0"}


def client_texts_retry(app) -> str:
    with app.test_request_context():
        return client_texts()["saving_retry"]


def test_a_full_quota_is_explained_and_the_recording_kept(kiosk, live_server):  # noqa: F811
    page = kiosk
    auth = {**TUS, "Authorization": f"Bearer {live_server.world.kiosk_tokens['A']}"}
    blockers = []
    for _ in range(live_server.app.config["MAX_OPEN_UPLOADS"]):
        created = requests.post(live_server("/api/v1/uploads"), timeout=10,
                                headers={**auth, "Upload-Length": "1000"})
        assert created.status_code == 201, created.text
        blockers.append(live_server(created.headers["Location"]))
    try:
        page.get_by_role("button", name="Record with sound").click()
        page.get_by_role("button", name=CARD_TEXT).click()
        page.get_by_role("button", name="Next: start recording").click()
        record_for(page, 1.5)
        page.get_by_role("button", name="Keep it").click()
        expect_screen(page, "saving", "Saving")
        with live_server.app.test_request_context():
            full = client_texts()["saving_full"]  # the quota's own words, not a drop's
        assert full != client_texts_retry(live_server.app)
        expect(page.locator("#saving-status")).to_have_text(full)
        (kept,) = idb_records(page)
        assert kept["state"] == "kept" and kept["blob"] > 0
    finally:
        for url in blockers:
            requests.delete(url, headers=auth, timeout=10)
