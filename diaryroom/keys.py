"""Every storage key, in one place: where an organisation's files live.

Keys say what a file is and whose it is, never anything the person said. Everything of
one organisation is under ``org/<id>/``; of one entry, episode or recording under its own
folder, so deleting "everything of X" is deleting one prefix's known names.
"""
from __future__ import annotations

from pathlib import PurePosixPath


def _org(org_id: int) -> str:
    return f"org/{int(org_id)}"


def _name(name: str) -> str:
    # A name is one path part chosen by our code; refuse anything that could climb out.
    if not name or "/" in name or name in (".", "..") or PurePosixPath(name).name != name:
        raise ValueError(f"not a file name: {name!r}")
    return name


# -- entries ---------------------------------------------------------------------------

def entry_file(org_id: int, entry_id: int, name: str) -> str:
    """An entry's own files: ``original.<ext>``, ``transcript.json``, ``audio.ogg``."""
    return f"{_org(org_id)}/entries/{int(entry_id)}/{_name(name)}"


def entry_original(org_id: int, entry_id: int, suffix: str) -> str:
    """The original as received (encrypted), e.g. suffix ``.webm`` or ``.txt``."""
    return entry_file(org_id, entry_id, f"original{suffix.lower()}")


def entry_result(org_id: int, entry_id: int, revision: int, name: str) -> str:
    """A redacted result of one revision: ``redacted.json|.vtt|.mp3|.opus``, peaks."""
    return f"{_org(org_id)}/entries/{int(entry_id)}/r{int(revision)}/{_name(name)}"


# -- the podcast studio ----------------------------------------------------------------

def episode_cover(org_id: int, episode_id: int, name: str) -> str:
    """An episode's cover, ``cover-<n>.jpg|.png`` (a new name per change, for caches)."""
    return f"{_org(org_id)}/episodes/{int(episode_id)}/{_name(name)}"


def episode_render(org_id: int, episode_id: int, render_id: int, name: str) -> str:
    """One render's files: ``episode.mp3|.opus``, ``chapters.json``, ``transcript.vtt|.srt``."""
    return f"{_org(org_id)}/episodes/{int(episode_id)}/renders/{int(render_id)}/{_name(name)}"


def recording_file(org_id: int, recording_id: int, name: str) -> str:
    """A co-host's recording: ``original.<ext>``, ``transcript.json``, ``peaks.json``."""
    return f"{_org(org_id)}/recordings/{int(recording_id)}/{_name(name)}"


def music_file(org_id: int, track_id: int, name: str) -> str:
    """Intro and outro music: ``original.<ext>``, ``peaks.json``."""
    return f"{_org(org_id)}/music/{int(track_id)}/{_name(name)}"


# -- publishing ------------------------------------------------------------------------

def show_artwork(org_id: int, name: str) -> str:
    """The show's artwork for its feeds, ``artwork-<n>.jpg|.png`` (a new name per change)."""
    return f"{_org(org_id)}/show/{_name(name)}"


def published_copy(org_id: int, audience: str, episode_guid: str, publication_id: int,
                   name: str) -> str:
    """A publication's plain copy for presigned links (S3 only): ``episode.mp3``. Under
    its audience first, so an operator who opens ``org/*/published/public/`` to a CDN
    never opens internal episodes with it; then the episode's guid, which a listener
    already sees, never its database id."""
    if audience not in ("internal", "public"):
        raise ValueError(f"not an audience: {audience!r}")
    return (f"{_org(org_id)}/published/{audience}/{_name(episode_guid)}/"
            f"{int(publication_id)}/{_name(name)}")
