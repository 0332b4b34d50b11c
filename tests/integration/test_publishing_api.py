"""Publishing through the API and the studio page's publish panel: staff and admins
publish and unpublish; co-hosts and the panel are refused; another organisation's
episode does not exist; refusals carry their codes; the OpenAPI document lists it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from diaryroom import accounts
from diaryroom.domain.roles import Role
from tests.conftest import PASSWORD, bearer, csrf_from
from tests.integration.publish_support import rendered_episode, tone_mp3
from tests.integration.test_publishing import complete_show, live_guids


@pytest.fixture
def mp3(tmp_path, have_ffmpeg) -> Path:
    return tone_mp3(tmp_path / "tone.mp3", 2.0)


@pytest.fixture
def episode_id(app, world, mp3) -> int:
    org_id = world.orgs["A"]
    complete_show(app, org_id)
    return rendered_episode(app, org_id, mp3)["episode_id"]


@pytest.fixture
def second_token(app, world) -> str:
    with app.app_context():
        user, _ = accounts.create_user(world.orgs["A"], "second.staff@a.example.org",
                                       Role.STAFF, PASSWORD)
        _, token = accounts.issue_api_token(user, "tests")
        return token


def post(client, token: str, episode_id: int, action: str, body: object = None):
    return client.post(f"/api/v1/episodes/{episode_id}/{action}", json=body,
                       headers=bearer(token))


def test_publish_and_unpublish_through_the_api(app, client, world, episode_id, second_token):
    staff = world.account("staff")
    org_id = world.orgs["A"]
    answer = post(client, staff.token, episode_id, "publish", {"audience": "internal"})
    assert answer.status_code == 200, answer.text
    state = answer.json
    assert state["internal"]["approved_by"] == staff.email
    assert state["public"] is None
    assert state["can_publish"]["public"]["code"] == "same_approver"
    assert state["history"][0]["action"] == "published"
    guid = state["guid"]
    assert live_guids(app, org_id, ("internal",)) == [guid]

    refused = post(client, staff.token, episode_id, "publish", {"audience": "public"})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "same_approver"
    again = post(client, staff.token, episode_id, "publish", {"audience": "internal"})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_published"

    public = post(client, second_token, episode_id, "publish", {"audience": "public"})
    assert public.status_code == 200, public.text
    assert public.json["public"]["approved_by"] == "second.staff@a.example.org"
    assert live_guids(app, org_id, ("public",)) == [guid]

    ended = post(client, staff.token, episode_id, "unpublish", {"audience": "public"})
    assert ended.status_code == 200
    assert ended.json["public"] is None and ended.json["internal"] is not None
    everything = post(client, staff.token, episode_id, "unpublish")  # no body: both
    assert everything.status_code == 200
    assert everything.json["internal"] is None
    assert live_guids(app, org_id, ("internal", "public")) == []
    newest = [(h["action"], h["audience"], h["by"]) for h in everything.json["history"][:2]]
    assert newest == [("unpublished", "internal", staff.email),
                      ("unpublished", "public", staff.email)]
    assert everything.json["guid"] == guid


def test_bad_requests_are_422_with_a_code(client, world, episode_id):
    token = world.account("admin").token
    for body, code in (({"audience": "everyone"}, "invalid_audience"),
                       ({}, "invalid_audience"),
                       ({"audience": "public", "extra": 1}, "invalid_json"),
                       (["internal"], "invalid_json")):
        answer = post(client, token, episode_id, "publish", body)
        assert answer.status_code == 422, body
        assert answer.json["error"]["code"] == code, body
    answer = post(client, token, episode_id, "publish", {"audience": "public"})
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "not_internal_first"
    assert post(client, token, episode_id, "unpublish",
                {"audience": "nobody"}).status_code == 422


@pytest.mark.parametrize("role", ["cohost", "panel"])
def test_cohosts_and_the_panel_cannot_publish(app, client, world, episode_id, role):
    token = world.account(role).token
    for action, body in (("publish", {"audience": "internal"}), ("unpublish", None)):
        answer = post(client, token, episode_id, action, body)
        assert answer.status_code == 403, (role, action)
    assert live_guids(app, world.orgs["A"], ("internal", "public")) == []


def test_another_organisations_episode_is_not_found(app, client, world, episode_id):
    world.add_org("B")
    token = world.account("admin", "B").token
    for action in ("publish", "unpublish"):
        answer = post(client, token, episode_id, action, {"audience": "internal"})
        assert answer.status_code == 404, action
        assert answer.json["error"]["code"] == "not_found"
    assert live_guids(app, world.orgs["A"], ("internal", "public")) == []


def test_the_openapi_document_lists_publishing(client):
    spec = client.get("/api/v1/openapi.json").json
    for action in ("publish", "unpublish"):
        op = spec["paths"][f"/episodes/{{episode_id}}/{action}"]["post"]
        assert {"200", "401", "403", "404", "422"} <= set(op["responses"])
        assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/PublicationState"}
    publish = spec["paths"]["/episodes/{episode_id}/publish"]["post"]
    assert "409" in publish["responses"]
    for code in ("stale_render", "consent_too_narrow", "same_approver", "hash_mismatch",
                 "not_internal_first", "not_released", "show_incomplete"):
        assert code in publish["summary"]
    schemas = spec["components"]["schemas"]
    assert schemas["PublishRequest"]["properties"]["audience"]["enum"] == ["internal", "public"]
    assert {"internal", "public", "can_publish", "history", "guid"} <= set(
        schemas["PublicationState"]["properties"])


# -- the studio page's panel (plain forms, no script) -------------------------------------------

def test_the_publish_panel_works_without_javascript(app, client, auth, world, episode_id):
    staff = world.account("staff")
    auth.login(staff.email)
    page = client.get(f"/podcast/episodes/{episode_id}")
    assert page.status_code == 200
    assert 'id="publish-internal"' in page.text
    assert "Cannot be published yet:" in page.text  # public: not shared internally first

    answer = client.post(f"/podcast/episodes/{episode_id}/publish",
                         data={"audience": "internal", "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"])
    assert "Published inside the organisation" in page.text
    assert re.search(r'id="stage-internal">\s*Published \d{4}-\d{2}-\d{2} \d{2}:\d{2} '
                     r'\(UTC\)', page.text)
    assert staff.email in page.text  # who approved it, in the history too
    assert 'id="unpublish-internal"' in page.text
    assert "the same person cannot approve both stages" not in page.text

    # A refusal comes back as a message on the page.
    answer = client.post(f"/podcast/episodes/{episode_id}/publish",
                         data={"audience": "public", "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"])
    assert "Someone else must approve it for the public." in page.text
    assert "the same person cannot approve both stages" in page.text  # the history's record

    answer = client.post(f"/podcast/episodes/{episode_id}/unpublish",
                         data={"audience": "internal", "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 302
    assert live_guids(app, world.orgs["A"], ("internal", "public")) == []


def test_cohosts_see_the_stages_but_no_buttons(client, auth, world, episode_id):
    auth.login(world.account("cohost").email)
    page = client.get(f"/podcast/episodes/{episode_id}")
    assert page.status_code == 200
    assert 'id="stage-internal">Not published.' in page.text
    assert 'id="publish-internal"' not in page.text
    assert "/publish" not in page.text.split('id="publish"', 1)[1].split("</section>", 1)[0]
    answer = client.post(f"/podcast/episodes/{episode_id}/publish",
                         data={"audience": "internal", "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 403
