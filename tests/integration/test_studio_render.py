"""Rendering episodes and what happens to renders when an entry's life changes: real
ffmpeg, real encrypted storage, the real render job and the real lifecycle events sent
by intake and review. The last good render stays available while a new one runs; audio
that may no longer be heard leaves every render that holds it, even one being made."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from diaryroom import intake, jobs, tenancy
from diaryroom.domain.consent import Consent
from diaryroom.extensions import db
from diaryroom.models import Entry, Job
from podcast.studio import files
from podcast.studio import jobs as render_jobs
from tests.conftest import bearer, run_jobs

from .studio_support import SPEECH, exists, ready_entry, renders, speak, to_mp3
from .test_studio import Studio, new_episode


@pytest.fixture(scope="module")
def speech_mp3(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech")
    return to_mp3(speak(SPEECH, folder / "speech.wav"), folder / "speech.mp3")


@pytest.fixture
def studio(client, auth, world) -> Studio:
    return Studio(client, auth, world.account("cohost").email)


@pytest.fixture
def entry(app, world, speech_mp3):
    def entry(audience: str = "public", **fields) -> int:
        return ready_entry(app, world.orgs["A"], speech_mp3, audience=audience, **fields)
    return entry


def rendered(app, studio: Studio, episode_id: int) -> dict:
    """Ask for a render, run the job, and return the episode's state."""
    started = studio.json(f"/episodes/{episode_id}/render")
    assert started.status_code == 202, started.text
    run_jobs(app)
    state = studio.state(episode_id)
    assert state["render"]["state"] == "done", state["render"]
    return state


def file_keys(app, episode_id: int) -> dict[int, list[str]]:
    """Render id -> the storage keys of its files that exist now (of every name)."""
    out = {}
    for render in renders(app, episode_id):
        out[render.id] = [k for k in (files.render_key(render, n) for n in files.RENDER_FILES)
                          if exists(app, k)]
    return out


def withdraw(app, world, entry_id: int) -> None:
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        intake.withdraw(db.session.get(Entry, entry_id), actor="staff:1")


def peaks_key_of(app, segment_id: int) -> str:
    with app.app_context(), tenancy.unscoped():
        from podcast.studio.models import Segment
        from podcast.studio.sources import peaks_key
        return peaks_key(db.session.get(Segment, segment_id))


# -- rendering -----------------------------------------------------------------------------

def test_a_render_makes_its_files_and_becomes_the_current_render(app, studio, entry):
    state = new_episode(studio, {"entry_id": entry("public"), "title": "Opening"},
                        {"entry_id": entry("organisation"), "crossfade": 0.3,
                         "cut_words": [[3, 5]]})
    started = studio.json(f"/episodes/{state['id']}/render")
    assert started.status_code == 202
    queued = studio.state(state["id"])
    assert queued["render"]["id"] == started.json["render_id"]
    assert queued["render"]["state"] == "queued" and queued["current"] is None
    run_jobs(app)

    state = studio.state(state["id"])
    current = state["current"]
    assert current["id"] == started.json["render_id"] and state["render"]["progress"] == 100
    assert current["audio_url"].endswith(".mp3")
    [render] = renders(app, state["id"])
    assert render.state == "done" and sorted(render.files) == sorted(files.RENDER_FILES)
    assert all(exists(app, key) for key in render.files.values())
    assert render.audience == "organisation" and len(render.entry_ids) == 2
    assert render.duration == pytest.approx(state["duration"], abs=0.05)
    assert render.lufs == pytest.approx(-16, abs=1) and render.true_peak <= -1.0

    audio = studio.client.get(current["audio_url"])
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    assert audio.headers["Cache-Control"] == "no-store"
    assert len(audio.data) == render.mp3_size
    part = studio.client.get(current["audio_url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == audio.data[100:200]
    chapters = json.loads(studio.client.get(current["chapters_url"]).data)
    assert [c["title"] for c in chapters["chapters"]] == ["Opening", state["segments"][1]["title"]]
    vtt = studio.client.get(current["vtt_url"])
    assert vtt.mimetype == "text/vtt" and vtt.text.startswith("WEBVTT")
    # Both entries say the same; words 3-5 ("the hostel listened") are cut from the second.
    assert vtt.text.count("listened") == 1 and "the staff at to me" in vtt.text


def test_the_last_good_render_stays_current_while_a_new_one_is_made(app, studio, entry):
    state = new_episode(studio, {"entry_id": entry("public")})
    first = rendered(app, studio, state["id"])["current"]
    second = studio.json(f"/episodes/{state['id']}/render").json
    meanwhile = studio.state(state["id"])
    assert meanwhile["current"]["id"] == first["id"]
    assert meanwhile["render"] == {"id": second["render_id"], "state": "queued", "progress": 0,
                                   "job_id": second["job_id"], "error": None}
    assert studio.client.get(first["audio_url"]).status_code == 200
    run_jobs(app)
    after = studio.state(state["id"])
    assert after["current"]["id"] == second["render_id"]
    assert [h["id"] for h in after["history"]] == [second["render_id"], first["id"]]


def test_only_the_newest_renders_keep_their_files(app, studio, entry):
    state = new_episode(studio, {"entry_id": entry("public")})
    for _ in range(files.KEEP_RENDERS + 1):
        rendered(app, studio, state["id"])
    kept = file_keys(app, state["id"])
    oldest, *newest = sorted(kept)
    assert kept[oldest] == [] and all(len(kept[r]) == len(files.RENDER_FILES) for r in newest)
    history = studio.state(state["id"])["history"]
    assert [h["state"] for h in history] == ["done"] * files.KEEP_RENDERS + ["deleted"]
    assert history[-1]["deleted_reason"] == files.PRUNED


def test_a_render_of_a_part_with_a_problem_is_refused_with_its_message(app, studio, entry,
                                                                      world):
    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id})
    withdraw(app, world, entry_id)
    refused = studio.json(f"/episodes/{state['id']}/render")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "withdrawn"
    assert refused.json["error"]["message"].startswith("Part 1 (Entry")


def test_the_editor_gets_the_redacted_audio_with_ranges_and_cached_peaks(app, studio, entry,
                                                                         speech_mp3):
    state = new_episode(studio, {"entry_id": entry("public")})
    [segment] = state["segments"]
    audio = studio.client.get(segment["audio_url"])
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    assert audio.data == speech_mp3.read_bytes()
    assert audio.headers["Cache-Control"] == "no-store"
    part = studio.client.get(segment["audio_url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == audio.data[10:20]

    key = peaks_key_of(app, segment["id"])
    assert not exists(app, key)
    peaks = studio.client.get(segment["peaks_url"])
    assert peaks.status_code == 200
    assert peaks.json["duration"] == pytest.approx(segment["duration"], abs=0.1)
    assert exists(app, key), "peaks are kept after the first look"
    assert studio.client.get(segment["peaks_url"]).json == peaks.json




def test_peaks_are_ready_before_a_part_is_first_opened(app, studio, entry, world):
    """A part added (or a new episode's parts) has its peaks computed by a job, so even
    the first opening of a long part reads them back instead of decoding the audio."""
    state = new_episode(studio, {"entry_id": entry("public")})
    [first] = state["segments"]
    added = studio.json(f"/episodes/{state['id']}/segments",
                        {"entry_id": entry("public"), "version": state["version"]})
    assert added.status_code < 300, added.text
    second = studio.state(state["id"])["segments"][1]
    keys = [peaks_key_of(app, s["id"]) for s in (first, second)]
    assert not any(exists(app, k) for k in keys)  # queued, not yet run
    run_jobs(app)
    assert all(exists(app, k) for k in keys)
    peaks = studio.client.get(second["peaks_url"])
    assert peaks.status_code == 200
    assert peaks.json["duration"] == pytest.approx(second["duration"], abs=0.1)


def test_a_peaks_job_for_a_withdrawn_entry_keeps_nothing(app, studio, entry, world):
    leaving = entry("public")
    [segment] = new_episode(studio, {"entry_id": leaving})["segments"]
    withdraw(app, world, leaving)  # before the queued peaks job runs
    run_jobs(app)
    assert not exists(app, peaks_key_of(app, segment["id"]))
    with app.app_context(), tenancy.unscoped():
        states = db.session.scalars(db.select(Job.state).where(
            Job.kind == files.SEGMENT_PEAKS)).all()
    assert states == ["done"]

# -- withdrawal, narrowed consent, approval undone -----------------------------------------

def test_a_withdrawal_deletes_every_render_holding_the_entry_and_marks_its_part(
        app, studio, entry, world):
    leaving, staying, elsewhere = entry("public"), entry("public"), entry("public")
    holding = new_episode(studio, {"entry_id": staying}, {"entry_id": leaving})
    other = new_episode(studio, {"entry_id": elsewhere})
    old = rendered(app, studio, holding["id"])["current"]
    rendered(app, studio, holding["id"])
    untouched = rendered(app, studio, other["id"])["current"]
    studio.client.get(holding["segments"][1]["peaks_url"])

    response = studio.client.post(f"/api/v1/entries/{leaving}/withdraw",
                                  headers=bearer(world.account("staff").token))
    assert response.status_code == 200

    assert all(keys == [] for keys in file_keys(app, holding["id"]).values())
    state = studio.state(holding["id"])
    assert state["current"] is None
    assert {h["state"] for h in state["history"]} == {"deleted"}
    assert all("withdrawn" in h["deleted_reason"] for h in state["history"])
    assert studio.client.get(old["audio_url"]).status_code == 404
    [problem] = state["problems"]
    assert problem["segment_id"] == holding["segments"][1]["id"]
    assert problem["problem"] == "withdrawn" and "Part 2" in problem["message"]
    assert state["segments"][1]["audio_url"] is None
    assert not exists(app, peaks_key_of(app, holding["segments"][1]["id"]))

    kept = studio.state(other["id"])
    assert kept["current"] == untouched and kept["problems"] == []
    assert all(len(keys) == len(files.RENDER_FILES)
               for keys in file_keys(app, other["id"]).values())


def test_an_entry_withdrawn_while_its_episode_renders_ends_with_no_files(
        app, studio, entry, world):
    first, late = entry("public"), entry("public")
    state = new_episode(studio, {"entry_id": first})
    good = rendered(app, studio, state["id"])["current"]
    state = studio.state(state["id"])
    assert studio.json(f"/episodes/{state['id']}/segments",
                       {"entry_id": late, "version": state["version"]}).status_code == 200
    started = studio.json(f"/episodes/{state['id']}/render").json

    # The job's steps, run as the worker runs them, with the withdrawal between the
    # files being written and the render being recorded.
    org_id = world.orgs["A"]
    with app.app_context(), tenancy.as_org(org_id):
        ctx = jobs.JobContext(started["job_id"], org_id)
        render = render_jobs.start(started["render_id"])
        made = render_jobs.make_files(ctx, render)
        assert all(exists(app, key) for key in made.files.values())
        intake.withdraw(db.session.get(Entry, late), actor="staff:1")
        assert render_jobs.finish(started["render_id"], made) is False

    assert not any(exists(app, key) for key in made.files.values())
    after = studio.state(state["id"])
    assert after["render"]["state"] == "failed"
    assert after["render"]["error"] == ("An entry in this episode was withdrawn while it was "
                                        "rendering; remove it and render again.")
    assert after["current"] == good, "the last good render (without it) stays current"
    assert studio.client.get(good["audio_url"]).status_code == 200


def test_the_last_step_checks_the_entries_itself(app, studio, entry, world):
    """A change the studio's listeners have not heard of yet (a failed listener is told
    again later, by a job) still stops the render at its last, conditional step."""
    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id})
    started = studio.json(f"/episodes/{state['id']}/render").json
    org_id = world.orgs["A"]
    with app.app_context(), tenancy.as_org(org_id):
        render = render_jobs.start(started["render_id"])
        made = render_jobs.make_files(jobs.JobContext(started["job_id"], org_id), render)
        db.session.execute(update(Entry).where(Entry.id == entry_id)
                           .values(status="awaiting_review"))
        db.session.commit()
        assert render_jobs.finish(started["render_id"], made) is False
    assert not any(exists(app, key) for key in made.files.values())
    after = studio.state(state["id"])
    assert after["render"]["state"] == "failed" and after["current"] is None
    assert after["render"]["error"] == render_jobs.CHANGED_WHILE_RENDERING


def test_a_render_waiting_in_the_queue_when_its_entry_is_withdrawn_never_runs(
        app, studio, entry, world):
    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id})
    started = studio.json(f"/episodes/{state['id']}/render").json
    withdraw(app, world, entry_id)
    run_jobs(app)
    after = studio.state(state["id"])
    assert after["render"]["state"] == "failed" and after["current"] is None
    assert file_keys(app, state["id"]) == {started["render_id"]: []}
    with app.app_context(), tenancy.unscoped():
        assert db.session.get(Job, started["job_id"]).state == "done"


def test_consent_narrowed_to_the_team_takes_the_entry_out_of_every_episode(
        app, studio, entry, world):
    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id})
    rendered(app, studio, state["id"])
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        intake.change_consent(db.session.get(Entry, entry_id), Consent("team"),
                              actor="staff:1")
    after = studio.state(state["id"])
    assert after["current"] is None and after["history"][0]["state"] == "deleted"
    assert all(keys == [] for keys in file_keys(app, state["id"]).values())
    assert [p["problem"] for p in after["problems"]] == ["narrowed"]
    assert after["audience"] is None
    assert after["limited_by"] == [{"entry_id": entry_id, "audience": "team"}]


def test_consent_narrowed_to_the_organisation_narrows_the_episode_and_keeps_it(
        app, studio, entry, world):
    entry_id, other = entry("public"), entry("public")
    state = new_episode(studio, {"entry_id": entry_id}, {"entry_id": other})
    current = rendered(app, studio, state["id"])["current"]
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        intake.change_consent(db.session.get(Entry, entry_id), Consent("organisation"),
                              actor="staff:1")
    after = studio.state(state["id"])
    assert after["current"] == current and after["problems"] == []
    assert after["audience"] == "organisation"
    assert after["limited_by"] == [{"entry_id": entry_id, "audience": "organisation"}]
    assert renders(app, state["id"])[0].audience == "organisation"


def test_an_approval_undone_deletes_renders_and_a_new_approval_can_be_refreshed_in(
        app, studio, entry, world):
    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id})
    rendered(app, studio, state["id"])
    staff = bearer(world.account("staff").token)
    assert studio.client.post(f"/api/v1/entries/{entry_id}/send-back", headers=staff,
                              json={"reason": "a name is still audible"}).status_code == 200
    after = studio.state(state["id"])
    assert after["current"] is None
    assert all(keys == [] for keys in file_keys(app, state["id"]).values())
    assert [p["problem"] for p in after["problems"]] == ["unapproved"]
    [segment] = after["segments"]
    path = f"/episodes/{state['id']}/segments/{segment['id']}/refresh"
    early = studio.json(path, {"version": segment["version"]})
    assert early.status_code == 422 and early.json["error"]["code"] == "not_approved"

    assert studio.client.post(f"/api/v1/entries/{entry_id}/approve",
                              headers=staff).status_code == 200
    assert studio.state(state["id"])["problems"][0]["problem"] == "unapproved"
    refreshed = studio.json(path, {"version": segment["version"]})
    assert refreshed.status_code == 200 and refreshed.json["problem"] is None
    assert studio.state(state["id"])["problems"] == []
    rendered(app, studio, state["id"])


def test_listeners_are_safe_to_run_twice(app, studio, entry, world):
    from diaryroom import lifecycle

    entry_id = entry("public")
    state = new_episode(studio, {"entry_id": entry_id})
    rendered(app, studio, state["id"])
    withdraw(app, world, entry_id)
    before = studio.state(state["id"])
    with app.app_context():
        lifecycle.notify(lifecycle.WITHDRAWN, entry_id=entry_id, org_id=world.orgs["A"])
    assert studio.state(state["id"]) == before
