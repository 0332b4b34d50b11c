"""Listeners' private feed links through the API and the CLI: made, replaced, revoked,
kept to the organisation, never stored in the clear."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.cli import cli
from diaryroom.extensions import db
from diaryroom.models import User, hash_token
from podcast.publishing import listeners
from podcast.publishing.models import INTERNAL, PUBLIC, Listener
from tests.conftest import bearer
from tests.integration.publish_support import publish_row, rendered_episode, tone_mp3


def make_link(client, token: str, email: str):
    return client.post("/api/v1/listeners", headers=bearer(token), json={"email": email})


def test_staff_give_a_person_a_link_that_opens_their_feed(world, client, app):
    staff, panel = world.account("staff"), world.account("panel")
    response = make_link(client, staff.token, panel.email.upper())
    assert response.status_code == 201, response.text
    body = response.json
    assert set(body) == {"id", "feed_url"}
    assert body["feed_url"].startswith(app.config["BASE_URL"] + "/feeds/a/private/")
    feed = client.get(urlsplit(body["feed_url"]).path)
    assert feed.status_code == 200 and body["feed_url"] in feed.text

    token = urlsplit(body["feed_url"]).path.rsplit("/", 1)[-1].removesuffix(".xml")
    assert len(token) == 43
    with app.app_context(), tenancy.unscoped():
        row = db.session.get(Listener, body["id"])
        assert row.user_id == panel.user_id and row.created_by_id == staff.user_id
        assert row.token_hash == hash_token(token)
        assert token not in row.token_sealed  # sealed, not stored in the clear
        assert listeners.token_of(row) == token
        assert listeners.listener_for(db.session.get(User, panel.user_id)).id == row.id


def test_a_second_link_replaces_the_first(world, client):
    staff, panel = world.account("staff"), world.account("panel")
    first = make_link(client, staff.token, panel.email).json["feed_url"]
    second = make_link(client, staff.token, panel.email).json["feed_url"]
    assert first != second
    assert client.get(urlsplit(first).path).status_code == 410
    assert client.get(urlsplit(second).path).status_code == 200


def test_revoking_a_link_makes_its_feed_410(world, client):
    admin, panel = world.account("admin"), world.account("panel")
    made = make_link(client, admin.token, panel.email).json
    response = client.delete(f"/api/v1/listeners/{made['id']}", headers=bearer(admin.token))
    assert response.status_code == 204
    assert client.get(urlsplit(made["feed_url"]).path).status_code == 410
    # Revoking again is no error; the link stays off.
    assert client.delete(f"/api/v1/listeners/{made['id']}",
                         headers=bearer(admin.token)).status_code == 204


def test_links_stay_within_the_organisation(world, client):
    world.add_org("B")
    staff_a, staff_b = world.account("staff"), world.account("staff", "B")
    response = make_link(client, staff_a.token, world.account("panel", "B").email)
    assert response.status_code == 404
    assert world.account("panel", "B").email not in response.text
    assert make_link(client, staff_a.token, "nobody@nowhere.example.org").status_code == 404
    made = make_link(client, staff_b.token, world.account("panel", "B").email).json
    assert client.delete(f"/api/v1/listeners/{made['id']}",
                         headers=bearer(staff_a.token)).status_code == 404
    assert client.get(urlsplit(made["feed_url"]).path).status_code == 200


@pytest.mark.parametrize("body", [{}, {"email": ""}, {"email": 7},
                                  {"email": "a@b.org", "role": "admin"}, []])
def test_bad_requests_are_422(world, client, body):
    response = client.post("/api/v1/listeners", headers=bearer(world.account("staff").token),
                           json=body)
    assert response.status_code == 422


def test_co_hosts_and_panel_cannot_hand_out_links(world, client):
    for role in ("cohost", "panel"):
        response = make_link(client, world.account(role).token, world.account("panel").email)
        assert response.status_code == 403


def test_the_api_document_lists_the_listener_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/listeners"]
    assert "delete" in paths["/listeners/{listener_id}"]


def test_feeds_rebuild_builds_and_checks_every_feed(world, app, runner, tmp_path, have_ffmpeg):
    org_id = world.orgs["A"]
    made = rendered_episode(app, org_id, tone_mp3(tmp_path / "t.mp3", seconds=2))
    publish_row(app, org_id, made["episode_id"], INTERNAL, user_id=world.account("staff").user_id)
    publish_row(app, org_id, made["episode_id"], PUBLIC, user_id=world.account("admin").user_id)
    with app.app_context(), tenancy.unscoped():
        for role in ("staff", "panel"):
            listeners.create_listener(db.session.get(User, world.account(role).user_id), by=None)
        tokens = [listeners.token_of(x) for x in db.session.scalars(select(Listener))]
    result = runner.invoke(cli, ["feeds", "rebuild"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[0])
    assert summary["organisation"] == "a"
    assert (summary["public_episodes"], summary["private_episodes"],
            summary["private_feeds"]) == (1, 1, 2)
    # The show has no artwork, owner or description yet: the public feed's check says so,
    # and no problem names a listener's token.
    assert summary["problems"]
    assert not any(t in line for t in tokens for line in summary["problems"])
