"""Pairing a kiosk with a short code typed on the device, as well as with the link."""
import datetime as dt
import re

from sqlalchemy import update

from diaryroom import accounts, tenancy
from diaryroom.auth.principal import KIOSK_COOKIE
from diaryroom.extensions import db
from diaryroom.models import Kiosk
from tests.conftest import bearer, csrf_from


def _new_kiosk(app, world, name="Room 2"):
    with app.app_context():
        kiosk, token = accounts.pair_kiosk(world.orgs["A"], name)
        code = accounts.issue_pairing_code(kiosk)  # as the CLI does: no request, no scope
        return kiosk.id, token, code


def _pair(client, code: str):
    page = client.get("/kiosk/pair")
    return client.post("/kiosk/pair", data={"token": code, "csrf_token": csrf_from(page.text)})


def test_staff_page_shows_a_short_code_that_pairs_the_device_once(app, world, auth, client):
    auth.login(world.account("staff").email)
    page = client.get("/admin/kiosks")
    shown = client.post("/admin/kiosks", data={"name": "Ground floor",
                                               "csrf_token": csrf_from(page.text)})
    code = re.search(r'class="pairing-code"><code class="secret">([A-Z0-9-]+)<', shown.text)
    assert code, shown.text
    assert re.fullmatch(r"[A-HJ-NP-TV-Z2-9]{4}-[A-HJ-NP-TV-Z2-9]{4}", code.group(1))

    device = app.test_client()
    typed = code.group(1).lower().replace("-", " ")  # forgiving: any case, any separator
    paired = _pair(device, typed)
    assert paired.status_code == 302 and paired.headers["Location"].endswith("/kiosk/")
    token = device.get_cookie(KIOSK_COOKIE).value
    assert token.startswith(Kiosk.PREFIX)
    assert device.get("/kiosk/").status_code == 200
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).json["kiosk"] == (
        "Ground floor")

    # Used up: a second device cannot pair with the same code.
    again = _pair(app.test_client(), code.group(1))
    assert again.status_code == 401 and "Ask for a new one" in again.text


def test_redeeming_the_code_retires_the_link_shown_with_it(app, world):
    _, link_token, code = _new_kiosk(app, world)
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(link_token)).status_code == 200
    assert _pair(app.test_client(), code).status_code == 302
    assert client.get("/api/v1/me", headers=bearer(link_token)).status_code == 401


def test_expired_wrong_or_revoked_codes_do_not_pair(app, world):
    kiosk_id, _, expired = _new_kiosk(app, world, "Expired")
    with app.app_context(), tenancy.unscoped():
        db.session.execute(update(Kiosk).where(Kiosk.id == kiosk_id).values(
            pairing_expires_at=dt.datetime(2000, 1, 1)))
        db.session.commit()
    revoked_id, _, revoked = _new_kiosk(app, world, "Revoked")
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        accounts.revoke_kiosk(revoked_id)
    for code in (expired, revoked, "ABCD-EFGH", ""):
        device = app.test_client()
        response = _pair(device, code)
        assert response.status_code == 401, code
        assert device.get_cookie(KIOSK_COOKIE) is None


def test_pairing_attempts_are_rate_limited(app, world):
    device = app.test_client()
    statuses = [_pair(device, "WRNG-CODE").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
