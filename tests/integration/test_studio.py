"""The studio's episodes, segments and edit lists through its own routes, as the page's
script (JSON) and its forms (no JavaScript) use them: which entries may go in, two people
changing one thing at once, undo, the episode's audience, and the collaboration rows."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.extensions import db
from podcast.studio.models import EpisodeCohost, SegmentEdit
from tests.conftest import csrf_from

from .studio_support import SPEECH, ready_entry, speak, to_mp3

CONFLICT = ("Someone else changed this episode a moment ago. Your change was not saved; "
            "the page now shows theirs.")


@pytest.fixture(scope="module")
def speech_mp3(tmp_path_factory) -> object:
    folder = tmp_path_factory.mktemp("speech")
    return to_mp3(speak(SPEECH, folder / "speech.wav"), folder / "speech.mp3")


class Studio:
    """A signed-in co-host's browser: JSON calls carry the CSRF header, forms the field."""

    def __init__(self, client, auth, email: str):
        self.client = client
        auth.login(email)
        self.token = csrf_from(client.get("/auth/login").text)

    def json(self, path: str, body: dict | None = None):
        return self.client.post(f"/podcast{path}", json=body or {},
                                headers={"X-CSRFToken": self.token,
                                         "Accept": "application/json"})

    def form(self, path: str, data: dict | None = None):
        return self.client.post(f"/podcast{path}",
                                data={**(data or {}), "csrf_token": self.token})

    def state(self, episode_id: int) -> dict:
        response = self.client.get(f"/podcast/episodes/{episode_id}/state")
        assert response.status_code == 200, response.text
        return response.json


@pytest.fixture
def studio(client, auth, world) -> Studio:
    return Studio(client, auth, world.account("cohost").email)


@pytest.fixture
def entry(app, world, speech_mp3):
    """Make an approved entry of organisation A (or another) with the given consent."""
    def entry(audience: str = "public", org: str = "A", **fields) -> int:
        return ready_entry(app, world.orgs[org], speech_mp3, audience=audience, **fields)
    return entry


def new_episode(studio: Studio, *segments: dict, title: str = "Finding a home") -> dict:
    made = studio.json("/episodes", {"title": title, "segments": list(segments)})
    assert made.status_code == 201, made.text
    return made.json


# -- what may go in ------------------------------------------------------------------------

def test_an_approved_entry_goes_in_at_its_approved_revision_with_its_redacted_words(
        studio, entry):
    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id, "trim_start": 0.5})
    [segment] = state["segments"]
    assert segment["kind"] == "entry" and segment["entry_id"] == entry_id
    assert [w["text"] for w in segment["words"]] == SPEECH.split()
    assert segment["edits"]["trim_start"] == 0.5 and segment["problem"] is None
    assert 0 < segment["kept_duration"] < segment["duration"]
    assert state["duration"] == pytest.approx(segment["kept_duration"])
    assert state["audience"] == "public" and state["problems"] == []


@pytest.mark.parametrize("make, code, status", [
    (lambda entry, app, world: entry("team"), "team_only", 422),
    (lambda entry, app, world: entry("public", status="awaiting_review"), "not_approved", 422),
    (lambda entry, app, world: entry("public", org="B"), "not_found", 404),
])
def test_entries_that_may_not_go_in_are_refused(studio, entry, app, world, make, code,
                                                 status):
    world.add_org("B")
    response = studio.json("/episodes", {"title": "Refused", "segments": [
        {"entry_id": make(entry, app, world)}]})
    assert response.status_code == status, response.text
    assert response.json["error"]["code"] == code
    assert studio.client.get("/podcast/").status_code == 200
    with app.app_context(), tenancy.unscoped():
        from podcast.studio.models import Episode
        assert db.session.scalars(select(Episode)).all() == []  # all or nothing


def test_the_team_only_refusal_says_why_in_plain_words(studio, entry):
    refused = studio.json("/episodes", {"title": "x", "segments": [{"entry_id": entry("team")}]})
    assert refused.json["error"]["message"] == (
        "This person asked that only the diary-room team hears their recording, so it "
        "cannot go into an episode.")


def test_a_withdrawn_entry_is_refused(app, studio, entry, world, client):
    from diaryroom import intake
    from diaryroom.models import Entry

    entry_id = entry("public")
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        intake.withdraw(db.session.get(Entry, entry_id), actor="staff:1")
    state = new_episode(studio)
    added = studio.json(f"/episodes/{state['id']}/segments",
                        {"entry_id": entry_id, "version": state["version"]})
    assert added.status_code == 422 and added.json["error"]["code"] == "withdrawn"


def test_a_cut_that_removes_everything_is_refused(studio, entry):
    refused = studio.json("/episodes", {"title": "Nothing", "segments": [
        {"entry_id": entry("public"), "cut_ranges": [[0.0, 60.0]]}]})
    assert refused.status_code == 422, refused.text
    assert refused.json["error"]["code"] == "invalid_edits"
    assert "Nothing is left" in refused.json["error"]["message"]


def test_the_studio_offers_only_entries_that_may_be_in_an_episode(studio, entry):
    public, organisation, team = entry("public"), entry("organisation"), entry("team")
    waiting = entry("public", status="awaiting_review")
    state = new_episode(studio)
    page = studio.client.get(f"/podcast/episodes/{state['id']}")
    assert page.status_code == 200
    offered = {i for i in (public, organisation, team, waiting)
               if f'id="add-entry-{i}"' in page.text}
    assert offered == {public, organisation}


# -- audience --------------------------------------------------------------------------------

def test_the_audience_is_the_narrowest_consent_with_the_entries_that_set_it(studio, entry):
    public, org_a, org_b = entry("public"), entry("organisation"), entry("organisation")
    state = new_episode(studio, {"entry_id": public}, {"entry_id": org_a},
                        {"entry_id": org_b})
    assert state["audience"] == "organisation"
    assert state["limited_by"] == [{"entry_id": org_a, "audience": "organisation"},
                                   {"entry_id": org_b, "audience": "organisation"}]
    only_public = new_episode(studio, {"entry_id": public})
    assert only_public["audience"] == "public"
    assert only_public["limited_by"] == [{"entry_id": public, "audience": "public"}]
    assert new_episode(studio)["audience"] is None


# -- two people at once ------------------------------------------------------------------------

def test_two_saves_of_one_segment_on_the_same_version_the_second_is_refused(
        studio, entry, app):
    state = new_episode(studio, {"entry_id": entry("public")})
    [segment] = state["segments"]
    path = f"/episodes/{state['id']}/segments/{segment['id']}/edits"
    first = studio.json(path, {"edits": {"cut_words": [[2, 3]]}, "version": segment["version"]})
    assert first.status_code == 200, first.text
    assert first.json["version"] == segment["version"] + 1
    second = studio.json(path, {"edits": {"gain_db": 6}, "version": segment["version"]})
    assert second.status_code == 409
    assert "Your change was not saved" in second.json["error"]["message"]
    [now] = studio.state(state["id"])["segments"]
    assert now["edits"]["cut_words"] == [[2, 3]] and now["edits"]["gain_db"] == 0
    assert now["version"] == segment["version"] + 1


def test_two_changes_to_the_episode_on_one_version_never_overwrite(studio, entry):
    state = new_episode(studio, {"entry_id": entry("public")}, {"entry_id": entry("public")})
    first = studio.json(f"/episodes/{state['id']}", {"title": "Our title",
                                                     "version": state["version"]})
    assert first.status_code == 200 and first.json["version"] == state["version"] + 1
    stale = studio.json(f"/episodes/{state['id']}/segments/{state['segments'][1]['id']}/move",
                        {"position": 0, "version": state["version"]})
    assert stale.status_code == 409
    assert stale.json["error"]["message"] == CONFLICT
    now = studio.state(state["id"])
    assert now["title"] == "Our title"
    assert [s["id"] for s in now["segments"]] == [s["id"] for s in state["segments"]]


def test_a_stale_form_shows_the_message_on_the_page_instead_of_saving(studio, entry):
    state = new_episode(studio, {"entry_id": entry("public")})
    assert studio.form(f"/episodes/{state['id']}", {"title": "One",
                                                    "version": state["version"]}
                       ).status_code == 302
    stale = studio.form(f"/episodes/{state['id']}", {"title": "Two",
                                                     "version": state["version"]})
    assert stale.status_code == 302
    assert stale.headers["Location"].endswith(f"/podcast/episodes/{state['id']}")
    with studio.client.session_transaction() as session:
        assert ("error", CONFLICT) in session["_flashes"]
    assert studio.state(state["id"])["title"] == "One"


def test_undo_brings_back_the_previous_edit_list_and_is_versioned(studio, entry, app):
    state = new_episode(studio, {"entry_id": entry("public")})
    [segment] = state["segments"]
    base = f"/episodes/{state['id']}/segments/{segment['id']}"
    v = segment["version"]
    assert studio.json(base + "/edits", {"edits": {"cut_words": [[1, 1]]}, "version": v}
                       ).status_code == 200
    assert studio.json(base + "/edits", {"edits": {"cut_words": [[1, 1]], "gain_db": -3},
                                         "version": v + 1}).status_code == 200
    undone = studio.json(base + "/undo", {"version": v + 2})
    assert undone.status_code == 200, undone.text
    assert undone.json["edits"]["gain_db"] == 0 and undone.json["edits"]["cut_words"] == [[1, 1]]
    assert studio.json(base + "/undo", {"version": v + 2}).status_code == 409  # stale undo
    again = studio.json(base + "/undo", {"version": v + 3})
    assert again.json["edits"]["cut_words"] == [] and again.json["version"] == v + 4
    nothing = studio.json(base + "/undo", {"version": v + 4})
    assert nothing.status_code == 422 and nothing.json["error"]["code"] == "nothing_to_undo"
    with app.app_context(), tenancy.unscoped():
        assert db.session.scalars(select(SegmentEdit)).all() == []


def test_segments_are_added_moved_and_removed_each_bumping_the_version(studio, entry):
    a, b, c = entry("public"), entry("public"), entry("public")
    state = new_episode(studio, {"entry_id": a})
    v = state["version"]
    added = studio.json(f"/episodes/{state['id']}/segments", {"entry_id": b, "version": v})
    assert added.status_code == 200 and added.json["version"] == v + 1
    first = studio.json(f"/episodes/{state['id']}/segments",
                        {"entry_id": c, "position": 0, "version": v + 1}).json
    assert [s["entry_id"] for s in first["segments"]] == [c, a, b]
    moved = studio.json(f"/episodes/{state['id']}/segments/{first['segments'][0]['id']}/move",
                        {"position": 2, "version": v + 2}).json
    assert [s["entry_id"] for s in moved["segments"]] == [a, b, c]
    assert [s["position"] for s in moved["segments"]] == [0, 1, 2]
    removed = studio.json(
        f"/episodes/{state['id']}/segments/{moved['segments'][1]['id']}/delete",
        {"version": v + 3}).json
    assert [s["entry_id"] for s in removed["segments"]] == [a, c]
    assert removed["version"] == v + 4


# -- the rest of the episode -----------------------------------------------------------------

def test_details_notes_comments_and_co_hosts_by_their_chosen_names(studio, entry, app, world):
    state = new_episode(studio)
    saved = studio.json(f"/episodes/{state['id']}", {
        "notes": "Thanks to *everyone* <script>alert(1)</script>", "season": "1",
        "number": 3, "theme": "Home", "version": state["version"]}).json
    assert saved["season"] == 1 and saved["number"] == 3 and saved["theme"] == "Home"
    assert "<em>everyone</em>" in saved["notes_html"] and "<script>" not in saved["notes_html"]
    assert studio.json(f"/episodes/{state['id']}/cohosts",
                       {"display_name": "  "}).status_code == 422
    joined = studio.json(f"/episodes/{state['id']}/cohosts", {"display_name": " Sunny "}).json
    cohost = world.account("cohost").user_id
    assert joined["cohosts"] == [{"user_id": cohost, "name": "Sunny", "released": False}]
    released = studio.json(f"/episodes/{state['id']}/release").json
    assert released["cohosts"][0]["released"] is True
    with app.app_context(), tenancy.unscoped():
        row = db.session.scalar(select(EpisodeCohost))
        assert row.release_version and row.released_at is not None
    commented = studio.json(f"/episodes/{state['id']}/comments", {"body": "Love part two"}).json
    assert [(c["author"], c["body"]) for c in commented["comments"]] == [
        ("Sunny", "Love part two")]


def test_a_release_needs_a_chosen_name_first(studio):
    state = new_episode(studio)
    refused = studio.json(f"/episodes/{state['id']}/release")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "not_joined"


def test_a_render_is_refused_while_the_episode_is_empty(studio):
    state = new_episode(studio)
    refused = studio.json(f"/episodes/{state['id']}/render")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "empty"


def test_another_organisations_episode_is_not_found(studio, client, auth, world, entry):
    state = new_episode(studio, {"entry_id": entry("public")})
    world.add_org("B")
    other = Studio(client, auth, world.account("cohost", "B").email)
    assert other.client.get(f"/podcast/episodes/{state['id']}/state").status_code == 404
    assert other.json(f"/episodes/{state['id']}", {"title": "Mine now",
                                                   "version": state["version"]}
                      ).status_code == 404
