"""The publishing workflow (``podcast.publishing.service``): two stages, each refusal with
its code, a second approver, the byte check, the history, the plain copy on S3, and the
lifecycle: a withdrawal or narrowed consent ends what may no longer be heard, in the
same call, while the episode's guid never changes."""
from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from diaryroom import accounts, intake, keys, tenancy
from diaryroom.adapters import get_private_storage, get_storage
from diaryroom.domain.consent import Consent
from diaryroom.domain.roles import Role
from diaryroom.errors import Conflict, InvalidInput
from diaryroom.extensions import db
from diaryroom.models import Entry, User, utcnow
from podcast.publishing import query, service
from podcast.publishing.models import (
    ENDED,
    INTERNAL,
    LIVE,
    PUBLIC,
    Publication,
    PublicationEvent,
)
from podcast.publishing.show import show_for
from podcast.studio import files
from podcast.studio import service as studio
from podcast.studio.models import Episode, EpisodeRender, Segment
from tests.conftest import PASSWORD, World, bearer, make_app
from tests.integration.conftest import admin_client
from tests.integration.publish_support import rendered_episode, tone_mp3

# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def mp3(tmp_path, have_ffmpeg) -> Path:
    return tone_mp3(tmp_path / "tone.mp3", 2.0)


@pytest.fixture
def org_id(world) -> int:
    return world.orgs["A"]


@pytest.fixture
def staff(world) -> int:
    return world.account("staff").user_id


@pytest.fixture
def second(app, org_id) -> int:
    """Another staff member, for the second approval."""
    with app.app_context():
        user, _ = accounts.create_user(org_id, "second.staff@a.example.org", Role.STAFF,
                                       PASSWORD)
        return user.id


def complete_show(app, org_id: int) -> None:
    """The details the public feed needs: artwork (a stored JPEG), owner, description."""
    picture = io.BytesIO()
    Image.new("RGB", (1400, 1400), (200, 120, 40)).save(picture, "JPEG")
    with app.app_context(), tenancy.as_org(org_id):
        key = keys.show_artwork(org_id, "artwork-1.jpg")
        get_private_storage().put(key, io.BytesIO(picture.getvalue()))
        show = show_for(org_id)
        show.artwork_key, show.artwork_type = key, "image/jpeg"
        show.owner_name, show.owner_email = "Hope House", "podcast@hope.example.org"
        show.description = "Stories of finding a home, told by the people who lived them."
        db.session.commit()


def publish(app, org_id: int, episode_id: int, audience: str, user_id: int) -> int:
    with app.app_context(), tenancy.as_org(org_id):
        publication = service.publish(db.session.get(Episode, episode_id), audience,
                                      user=db.session.get(User, user_id))
        return publication.id


def refused(app, org_id: int, episode_id: int, audience: str, user_id: int,
            kind: type[Exception] = InvalidInput) -> str:
    """Publishing is refused with ``kind``; the refusal's code."""
    with pytest.raises(kind) as caught:
        publish(app, org_id, episode_id, audience, user_id)
    return caught.value.code


def unpublish(app, org_id: int, episode_id: int, audience: str | None, user_id: int) -> int:
    with app.app_context(), tenancy.as_org(org_id):
        return len(service.unpublish(db.session.get(Episode, episode_id), audience,
                                     user=db.session.get(User, user_id)))


def publications(app, org_id: int, episode_id: int) -> list[tuple[str, str, str | None]]:
    """(audience, state, end_reason) of every publication, oldest first."""
    with app.app_context(), tenancy.as_org(org_id):
        return [(p.audience, p.state, p.end_reason) for p in db.session.scalars(
            select(Publication).where(Publication.episode_id == episode_id)
            .order_by(Publication.id))]


def live_guids(app, org_id: int, audiences: tuple[str, ...]) -> list[str]:
    with app.app_context():
        return [x.episode.guid for x in query.live(org_id, audiences)]


def feed_version(app, org_id: int) -> int:
    with app.app_context():
        return show_for(org_id).feed_version


def guid_of(app, org_id: int, episode_id: int) -> str | None:
    with app.app_context(), tenancy.as_org(org_id):
        return db.session.get(Episode, episode_id).guid


def events(app, org_id: int, episode_id: int) -> list[PublicationEvent]:
    with app.app_context(), tenancy.as_org(org_id):
        rows = list(db.session.scalars(select(PublicationEvent).where(
            PublicationEvent.episode_id == episode_id).order_by(PublicationEvent.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def new_render(app, org_id: int, episode_id: int, mp3: Path) -> int:
    """Another finished render of the episode (as the render job leaves one), current."""
    audio = mp3.read_bytes()
    with app.app_context(), tenancy.as_org(org_id):
        episode = db.session.get(Episode, episode_id)
        old = db.session.get(EpisodeRender, episode.current_render_id)
        render = EpisodeRender(org_id=org_id, episode_id=episode_id, state="done",
                               entry_ids=list(old.entry_ids), sources=list(old.sources),
                               episode_version=episode.version, audience=old.audience,
                               duration=old.duration, mp3_size=len(audio),
                               mp3_sha256=hashlib.sha256(audio).hexdigest(),
                               finished_at=utcnow())
        db.session.add(render)
        db.session.flush()
        key = keys.episode_render(org_id, episode_id, render.id, "episode.mp3")
        get_private_storage().put(key, io.BytesIO(audio))
        render.files = {"episode.mp3": key}
        episode.current_render_id = render.id
        db.session.commit()
        return render.id


# -- the two stages ----------------------------------------------------------------------------

def test_internal_then_public_by_a_second_approver(app, world, org_id, staff, second, mp3):
    made = rendered_episode(app, org_id, mp3, audience="public")
    episode_id = made["episode_id"]
    complete_show(app, org_id)
    before = feed_version(app, org_id)

    publish(app, org_id, episode_id, INTERNAL, staff)
    guid = guid_of(app, org_id, episode_id)
    assert uuid.UUID(guid).version == 4
    assert feed_version(app, org_id) == before + 1
    assert live_guids(app, org_id, (INTERNAL, PUBLIC)) == [guid]
    assert live_guids(app, org_id, (PUBLIC,)) == []  # internal is never public

    # The same person cannot give the second sign-off.
    assert refused(app, org_id, episode_id, PUBLIC, staff) == "same_approver"
    assert live_guids(app, org_id, (PUBLIC,)) == []

    publish(app, org_id, episode_id, PUBLIC, second)
    assert live_guids(app, org_id, (PUBLIC,)) == [guid]
    assert feed_version(app, org_id) == before + 2
    assert guid_of(app, org_id, episode_id) == guid

    with app.app_context(), tenancy.as_org(org_id):
        rows = {p.audience: p for p in db.session.scalars(select(Publication))}
        assert rows[INTERNAL].approved_by_id == staff
        assert rows[PUBLIC].approved_by_id == second
        # The hash is of the stored audio, which is the file rendered.
        assert rows[PUBLIC].mp3_sha256 == rows[INTERNAL].mp3_sha256 == \
            hashlib.sha256(mp3.read_bytes()).hexdigest()
        assert rows[PUBLIC].copy_key is None  # local storage streams; no copy
        state = service.publication_state(db.session.get(Episode, episode_id),
                                          user=db.session.get(User, staff))
    assert state["internal"]["approved_by"] == world.account("staff").email
    assert state["public"]["approved_by"] == "second.staff@a.example.org"
    assert state["can_publish"]["public"]["code"] == "already_published"

    # The history: who and when, including the refused attempt.
    seen = [(e.action, e.audience, e.user_id, e.detail) for e in events(app, org_id, episode_id)]
    assert seen == [("published", INTERNAL, staff, None),
                    ("refused", PUBLIC, staff, "same_approver"),
                    ("published", PUBLIC, second, None)]
    assert all(e.at is not None and e.render_id == made["render_id"]
               for e in events(app, org_id, episode_id))


def test_public_needs_the_same_render_live_internally_first(app, org_id, staff, second, mp3):
    episode_id = rendered_episode(app, org_id, mp3)["episode_id"]
    complete_show(app, org_id)
    assert refused(app, org_id, episode_id, PUBLIC, second, Conflict) == "not_internal_first"

    publish(app, org_id, episode_id, INTERNAL, staff)
    new_render(app, org_id, episode_id, mp3)  # a newer version, not shared internally
    assert refused(app, org_id, episode_id, PUBLIC, second, Conflict) == "not_internal_first"
    assert live_guids(app, org_id, (PUBLIC,)) == []


def test_consent_must_reach_the_audience(app, org_id, staff, second, mp3):
    organisation = rendered_episode(app, org_id, mp3, audience="organisation")["episode_id"]
    complete_show(app, org_id)
    publish(app, org_id, organisation, INTERNAL, staff)
    assert refused(app, org_id, organisation, PUBLIC, second) == "consent_too_narrow"

    team_only = rendered_episode(app, org_id, mp3, audience="team")["episode_id"]
    assert refused(app, org_id, team_only, INTERNAL, staff) == "consent_too_narrow"
    assert live_guids(app, org_id, (PUBLIC,)) == []
    assert len(live_guids(app, org_id, (INTERNAL, PUBLIC))) == 1


def test_only_staff_or_admins_approve(app, world, org_id, mp3):
    episode_id = rendered_episode(app, org_id, mp3)["episode_id"]
    for role in ("cohost", "panel"):
        user = world.account(role).user_id
        assert refused(app, org_id, episode_id, INTERNAL, user) == "not_allowed"
    publish(app, org_id, episode_id, INTERNAL, world.account("admin").user_id)


def test_a_stale_render_is_refused(app, org_id, staff, mp3):
    made = rendered_episode(app, org_id, mp3)
    episode_id = made["episode_id"]
    with app.app_context(), tenancy.as_org(org_id):
        episode = db.session.get(Episode, episode_id)
        studio.update_episode(episode, {"title": "Warm rooms, again"}, version=episode.version,
                              user=None)
    assert refused(app, org_id, episode_id, INTERNAL, staff, Conflict) == "stale_render"

    # Made again (the episode as it is), but then an entry in it is sent back to review.
    new_render(app, org_id, episode_id, mp3)
    with app.app_context(), tenancy.as_org(org_id):
        db.session.get(Entry, made["entry_id"]).status = "awaiting_review"
        db.session.commit()
    assert refused(app, org_id, episode_id, INTERNAL, staff, Conflict) == "stale_render"

    # No finished render at all.
    with app.app_context(), tenancy.as_org(org_id):
        db.session.get(Episode, episode_id).current_render_id = None
        db.session.commit()
    assert refused(app, org_id, episode_id, INTERNAL, staff, Conflict) == "stale_render"
    assert publications(app, org_id, episode_id) == []


def test_every_cohost_must_accept_the_release(app, world, org_id, staff, second, mp3):
    cohost = world.account("cohost").user_id
    # An older release version was accepted: the current one must be accepted again.
    episode_id = rendered_episode(app, org_id, mp3, cohost_user_id=cohost,
                                  cohost_name="Robin", release_version="2024-1")["episode_id"]
    complete_show(app, org_id)
    publish(app, org_id, episode_id, INTERNAL, staff)  # inside, a release is not needed
    with pytest.raises(InvalidInput, match="Robin") as caught:
        publish(app, org_id, episode_id, PUBLIC, second)
    assert caught.value.code == "not_released"

    with app.app_context(), tenancy.as_org(org_id):
        studio.accept_release(db.session.get(Episode, episode_id),
                              db.session.get(User, cohost))
    publish(app, org_id, episode_id, PUBLIC, second)
    assert len(live_guids(app, org_id, (PUBLIC,))) == 1


def test_the_show_must_be_complete_for_the_public_feed(app, org_id, staff, second, mp3):
    episode_id = rendered_episode(app, org_id, mp3)["episode_id"]
    publish(app, org_id, episode_id, INTERNAL, staff)
    with pytest.raises(InvalidInput, match="artwork") as caught:
        publish(app, org_id, episode_id, PUBLIC, second)
    assert caught.value.code == "show_incomplete"

    complete_show(app, org_id)
    with app.app_context(), tenancy.as_org(org_id):
        show_for(org_id).owner_email = None
        db.session.commit()
    with pytest.raises(InvalidInput, match="e-mail") as caught:
        publish(app, org_id, episode_id, PUBLIC, second)
    assert caught.value.code == "show_incomplete"
    assert live_guids(app, org_id, (PUBLIC,)) == []


def test_the_public_feed_must_pass_the_schema_check(app, org_id, staff, second, mp3):
    """Details present but wrong for Apple: the feed as it would be is checked, and the
    publication it would have made is rolled back."""
    episode_id = rendered_episode(app, org_id, mp3)["episode_id"]
    complete_show(app, org_id)
    publish(app, org_id, episode_id, INTERNAL, staff)
    with app.app_context(), tenancy.as_org(org_id):
        show_for(org_id).category = "Underwater Basket Weaving"
        db.session.commit()
    before = feed_version(app, org_id)
    with pytest.raises(InvalidInput, match="Underwater Basket Weaving") as caught:
        publish(app, org_id, episode_id, PUBLIC, second)
    assert caught.value.code == "show_incomplete"
    assert publications(app, org_id, episode_id) == [(INTERNAL, LIVE, None)]
    assert feed_version(app, org_id) == before
    assert events(app, org_id, episode_id)[-1].detail == "show_incomplete"

    with app.app_context(), tenancy.as_org(org_id):
        show_for(org_id).category = "Society & Culture"
        db.session.commit()
    publish(app, org_id, episode_id, PUBLIC, second)
    assert len(live_guids(app, org_id, (PUBLIC,))) == 1


def test_the_hash_check_catches_a_changed_stored_file(app, tmp_path, org_id, staff, second,
                                                     mp3):
    made = rendered_episode(app, org_id, mp3)
    episode_id = made["episode_id"]
    complete_show(app, org_id)
    publish(app, org_id, episode_id, INTERNAL, staff)

    # The stored audio is replaced behind the app's back (still validly encrypted).
    other = tone_mp3(tmp_path / "other.mp3", 2.0, hz=660)
    with app.app_context(), tenancy.as_org(org_id):
        key = db.session.get(EpisodeRender, made["render_id"]).files["episode.mp3"]
        get_private_storage().put(key, io.BytesIO(other.read_bytes()))
    assert refused(app, org_id, episode_id, PUBLIC, second, Conflict) == "hash_mismatch"
    assert live_guids(app, org_id, (PUBLIC,)) == []

    # Nor does it go out internally again: the render recorded the bytes it made.
    unpublish(app, org_id, episode_id, None, staff)
    assert refused(app, org_id, episode_id, INTERNAL, staff, Conflict) == "hash_mismatch"


def test_publishing_twice_is_refused_and_a_new_version_replaces_the_old(app, org_id, staff,
                                                                        mp3):
    episode_id = rendered_episode(app, org_id, mp3)["episode_id"]
    publish(app, org_id, episode_id, INTERNAL, staff)
    guid = guid_of(app, org_id, episode_id)
    assert refused(app, org_id, episode_id, INTERNAL, staff, Conflict) == "already_published"

    render_id = new_render(app, org_id, episode_id, mp3)
    publish(app, org_id, episode_id, INTERNAL, staff)
    assert publications(app, org_id, episode_id) == [
        (INTERNAL, ENDED, "Replaced by a newer version."), (INTERNAL, LIVE, None)]
    with app.app_context():
        [live] = query.live(org_id, (INTERNAL,))
        assert (live.render.id, live.episode.guid) == (render_id, guid)


def test_pruning_old_renders_keeps_the_one_people_are_listening_to(app, org_id, staff, mp3):
    made = rendered_episode(app, org_id, mp3)
    episode_id, published = made["episode_id"], made["render_id"]
    publish(app, org_id, episode_id, INTERNAL, staff)
    newer = [new_render(app, org_id, episode_id, mp3) for _ in range(files.KEEP_RENDERS + 1)]
    with app.app_context(), tenancy.as_org(org_id):
        files.prune(episode_id)
        state = {r.id: (r.state, bool(r.files)) for r in db.session.scalars(
            select(EpisodeRender).where(EpisodeRender.episode_id == episode_id))}
    assert state[published] == ("done", True)  # older than the kept few, but live
    assert state[newer[0]] == ("deleted", False)  # just as old, and nobody hears it
    assert all(state[r] == ("done", True) for r in newer[1:])
    assert live_guids(app, org_id, (INTERNAL,)) == [guid_of(app, org_id, episode_id)]


def test_unpublish_ends_both_stages_and_the_guid_survives(app, world, org_id, staff, second,
                                                          mp3):
    episode_id = rendered_episode(app, org_id, mp3)["episode_id"]
    complete_show(app, org_id)
    publish(app, org_id, episode_id, INTERNAL, staff)
    guid = guid_of(app, org_id, episode_id)
    publish(app, org_id, episode_id, PUBLIC, second)

    assert unpublish(app, org_id, episode_id, PUBLIC, staff) == 1
    assert live_guids(app, org_id, (PUBLIC,)) == []
    assert live_guids(app, org_id, (INTERNAL,)) == [guid]

    publish(app, org_id, episode_id, PUBLIC, second)
    before = feed_version(app, org_id)
    assert unpublish(app, org_id, episode_id, INTERNAL, second) == 2  # public goes too
    assert live_guids(app, org_id, (INTERNAL, PUBLIC)) == []
    assert feed_version(app, org_id) == before + 1
    assert unpublish(app, org_id, episode_id, None, staff) == 0  # nothing left: no change
    assert feed_version(app, org_id) == before + 1

    last = events(app, org_id, episode_id)[-2:]
    assert {(e.action, e.audience, e.user_id) for e in last} == {
        ("unpublished", INTERNAL, second), ("unpublished", PUBLIC, second)}

    # Published again, after a new render: the same guid, so podcast apps keep one episode.
    new_render(app, org_id, episode_id, mp3)
    publish(app, org_id, episode_id, INTERNAL, staff)
    assert live_guids(app, org_id, (INTERNAL,)) == [guid]
    with pytest.raises(InvalidInput):
        unpublish(app, org_id, episode_id, "everyone", staff)


# -- lifecycle ---------------------------------------------------------------------------------

def both_live(app, org_id, staff, second, mp3, **kwargs) -> dict[str, int]:
    made = rendered_episode(app, org_id, mp3, **kwargs)
    complete_show(app, org_id)
    publish(app, org_id, made["episode_id"], INTERNAL, staff)
    publish(app, org_id, made["episode_id"], PUBLIC, second)
    return made


def test_a_withdrawal_ends_every_publication_in_the_same_call(app, client, world, org_id,
                                                              staff, second, mp3):
    made = both_live(app, org_id, staff, second, mp3)
    other = rendered_episode(app, org_id, mp3, title="Another")  # without that entry
    publish(app, org_id, other["episode_id"], INTERNAL, staff)
    guid = guid_of(app, org_id, made["episode_id"])
    before = feed_version(app, org_id)

    response = client.post(f"/api/v1/entries/{made['entry_id']}/withdraw",
                           headers=bearer(world.account("staff").token))
    assert response.status_code == 200, response.text

    assert guid not in live_guids(app, org_id, (INTERNAL, PUBLIC))
    assert live_guids(app, org_id, (INTERNAL, PUBLIC)) == [guid_of(app, org_id,
                                                                   other["episode_id"])]
    assert [(a, s) for a, s, _ in publications(app, org_id, made["episode_id"])] == [
        (INTERNAL, ENDED), (PUBLIC, ENDED)]
    assert feed_version(app, org_id) > before
    ended = [e for e in events(app, org_id, made["episode_id"]) if e.action == "ended"]
    assert {e.audience for e in ended} == {INTERNAL, PUBLIC}
    assert all(e.user_id is None and e.actor == f"staff:{staff}" for e in ended)
    assert {e.detail for e in ended} == {"An entry in it was withdrawn."}
    # Co-hosts are asked to take the part out (the studio's problem on the segment).
    with app.app_context(), tenancy.as_org(org_id):
        assert db.session.get(Segment, made["segment_id"]).problem == "withdrawn"
    assert guid_of(app, org_id, made["episode_id"]) == guid


def test_narrowed_consent_ends_only_the_public_publication(app, org_id, staff, second, mp3):
    made = both_live(app, org_id, staff, second, mp3)
    guid = guid_of(app, org_id, made["episode_id"])
    before = feed_version(app, org_id)
    with app.app_context(), tenancy.as_org(org_id):
        entry = db.session.get(Entry, made["entry_id"])
        intake.change_consent(entry, Consent("organisation"), actor=f"staff:{staff}")

    assert live_guids(app, org_id, (PUBLIC,)) == []
    assert live_guids(app, org_id, (INTERNAL, PUBLIC)) == [guid]
    assert publications(app, org_id, made["episode_id"]) == [
        (INTERNAL, LIVE, None),
        (PUBLIC, ENDED, "The person in one of its entries narrowed their consent.")]
    assert feed_version(app, org_id) == before + 1


def test_an_undone_approval_ends_both_stages(app, client, world, org_id, staff, second, mp3):
    made = both_live(app, org_id, staff, second, mp3)
    response = client.post(f"/api/v1/entries/{made['entry_id']}/send-back",
                           json={"reason": "a name is still audible"},
                           headers=bearer(world.account("staff").token))
    assert response.status_code == 200, response.text
    assert live_guids(app, org_id, (INTERNAL, PUBLIC)) == []
    assert publications(app, org_id, made["episode_id"]) == [
        (INTERNAL, ENDED, "One of its entries was sent back for another check."),
        (PUBLIC, ENDED, "One of its entries was sent back for another check.")]


def test_revalidate_is_safe_to_run_twice(app, org_id, staff, second, mp3):
    made = both_live(app, org_id, staff, second, mp3)
    with app.app_context():
        assert service.revalidate(org_id) == 0  # everything may still be heard
        with tenancy.as_org(org_id):
            db.session.get(EpisodeRender, made["render_id"]).state = "deleted"
            db.session.commit()
        assert service.revalidate(org_id) == 2
        assert service.revalidate(org_id) == 0


def test_end_publications_ends_every_stage_of_an_episode(app, org_id, staff, second, mp3):
    made = both_live(app, org_id, staff, second, mp3)
    before = feed_version(app, org_id)
    with app.app_context():
        ended = service.end_publications(org_id, made["episode_id"], "The episode was "
                                         "deleted.", actor="admin:1")
        assert ended == 2
        assert service.end_publications(org_id, made["episode_id"], "again", actor=None) == 0
    assert live_guids(app, org_id, (INTERNAL, PUBLIC)) == []
    assert feed_version(app, org_id) == before + 1
    assert [(e.action, e.actor, e.detail) for e in events(app, org_id, made["episode_id"])
            ][-2:] == [("ended", "admin:1", "The episode was deleted.")] * 2


# -- S3: the plain copy ------------------------------------------------------------------------

@pytest.fixture
def s3_app(tmp_path, _postgres_schema, moto_endpoint):
    bucket = f"publishing-{uuid.uuid4().hex[:12]}"
    admin_client(moto_endpoint).create_bucket(Bucket=bucket)
    app = make_app(tmp_path / "s3data", STORAGE_URL=f"s3://{bucket}/diaryroom",
                   S3_ENDPOINT_URL=moto_endpoint, S3_ACCESS_KEY_ID="testing",
                   S3_SECRET_ACCESS_KEY="testing")
    yield app, bucket
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_s3_storage_writes_and_deletes_a_plain_copy(s3_app, moto_endpoint, mp3):
    app, bucket = s3_app
    world = World(app)
    org_id = world.add_org("A")
    staff, admin = world.account("staff").user_id, world.account("admin").user_id
    s3 = admin_client(moto_endpoint)
    made = rendered_episode(app, org_id, mp3)
    complete_show(app, org_id)

    def stored(copy_key: str) -> bytes | None:
        with app.app_context():
            name = get_storage().object_key(copy_key)
        try:
            return s3.get_object(Bucket=bucket, Key=name)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    publish(app, org_id, made["episode_id"], INTERNAL, staff)
    publish(app, org_id, made["episode_id"], PUBLIC, admin)
    guid = guid_of(app, org_id, made["episode_id"])
    with app.app_context(), tenancy.as_org(org_id):
        rows = {p.audience: p for p in db.session.scalars(select(Publication))}
        copies = {audience: p.copy_key for audience, p in rows.items()}
        render_key = db.session.get(EpisodeRender, made["render_id"]).files["episode.mp3"]
    for audience, p in rows.items():
        assert copies[audience] == keys.published_copy(org_id, audience, guid, p.id,
                                                       "episode.mp3")
    # The copy is the plain audio, byte for byte; the render itself stays encrypted.
    assert stored(copies[INTERNAL]) == stored(copies[PUBLIC]) == mp3.read_bytes()
    assert stored(render_key) != mp3.read_bytes()

    unpublish(app, org_id, made["episode_id"], PUBLIC, staff)
    assert stored(copies[PUBLIC]) is None
    assert stored(copies[INTERNAL]) == mp3.read_bytes()

    # A withdrawal deletes the rest in the same call.
    with app.app_context(), tenancy.as_org(org_id):
        intake.withdraw(db.session.get(Entry, made["entry_id"]), actor=f"staff:{staff}")
    assert stored(copies[INTERNAL]) is None
    with app.app_context(), tenancy.as_org(org_id):
        assert all(p.copy_key is None for p in db.session.scalars(select(Publication)))
