"""The ``diaryroom`` command. Errors are one clear line and exit code 2, never a traceback."""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import accounts, create_app, jobs, preflight
from .config import ASR_MODELS
from .domain.roles import Role
from .errors import DiaryRoomError

ROLE_NAMES = [r.value for r in Role]


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False,
             add_version_option=False)
def cli() -> None:
    """Diary Room: record, anonymise and share lived-experience voices safely."""


@cli.command()
@click.option("--admin-email", default="admin@diaryroom.local", show_default=True,
              help="Email of the first admin account, created if there is none.")
@with_appcontext
def init(admin_email: str) -> None:
    """Create or upgrade the database, the organisation and a first admin."""
    from flask_migrate import upgrade

    from . import tenancy
    upgrade()
    org = accounts.default_organisation(current_app.config["ORG_NAME"])
    with tenancy.unscoped():
        has_admin = any(u.role == Role.ADMIN.value for u in accounts.list_users())
    if has_admin:
        click.echo("Database is up to date; an admin account already exists.")
        return
    user, password = accounts.create_user(org.id, admin_email, Role.ADMIN)
    click.echo(f"Created admin {user.email} with one-time password: {password}")
    click.echo("Sign in and choose your own password; this one is not shown again.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers/--no-workers", default=None,
              help="Run job workers inside this process (default: yes unless the queue is Redis).")
@with_appcontext
def serve(host: str, port: int, workers: bool | None) -> None:
    """Serve the app (waitress) with embedded job workers."""
    from waitress import serve as waitress_serve
    app = current_app._get_current_object()
    preflight.check(app)
    embedded = None
    if workers is None:
        workers = not jobs.runtime(app).uses_redis
    if workers:
        embedded = jobs.EmbeddedWorkers(app, app.config["WORKERS"])
        embedded.start()
    click.echo(f"Diary Room on http://{host}:{port}/ "
               f"({'with' if workers else 'without'} embedded workers)")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        # waitress drops X-Forwarded-* itself unless told otherwise; with trusted proxy hops
        # configured, proxy.py (ProxyFix) reads them, the same under gunicorn.
        waitress_serve(app, host=host, port=port, threads=8, ident="diaryroom",
                       clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"])
    finally:
        if embedded:
            embedded.shutdown()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """Container stops send SIGTERM: leave like Ctrl-C, so workers finish cleanly."""
    raise KeyboardInterrupt


@cli.command()
@click.option("--threads", default=None, type=int, help="Worker threads (DIARYROOM_WORKERS).")
@with_appcontext
def worker(threads: int | None) -> None:
    """Run a job worker (scale out with Redis: DIARYROOM_QUEUE_URL=redis://...)."""
    app = current_app._get_current_object()
    preflight.check(app)
    click.echo(f"Diary Room worker on {app.config['QUEUE_URL'].split('@')[-1]}")
    jobs.run_consumer(app, threads or app.config["WORKERS"])


@cli.command("check")
@with_appcontext
def check_command() -> None:
    """Check ffmpeg, the database, storage and the queue, as `serve` does at start; exit 2
    naming the first that is missing (the worker's container health check)."""
    preflight.check(current_app._get_current_object())
    click.echo("ok: ffmpeg, database, storage and queue")


@cli.group()
def users() -> None:
    """Manage staff, co-host and panel accounts."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLE_NAMES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_add(email: str, role: str, password_stdin: bool) -> None:
    """Add an account; prints a one-time password unless one is given on stdin."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    org = accounts.default_organisation(current_app.config["ORG_NAME"])
    user, generated = accounts.create_user(org.id, email, role, password)
    click.echo(f"Added {user.email} ({user.role}).")
    if generated:
        click.echo(f"One-time password: {generated}")


@users.command("deactivate")
@click.argument("email")
@with_appcontext
def users_deactivate(email: str) -> None:
    """Off-board an account: it cannot sign in, its sessions end and its API tokens are
    revoked, at once."""
    user = accounts.find_user(email)
    revoked = accounts.deactivate_user(user)
    click.echo(f"Deactivated {user.email}: signed out everywhere, {revoked} API token(s) "
               "revoked.")


@users.command("activate")
@click.argument("email")
@with_appcontext
def users_activate(email: str) -> None:
    """Let a deactivated account sign in again (its old API tokens stay revoked)."""
    user = accounts.find_user(email)
    accounts.activate_user(user)
    click.echo(f"Activated {user.email}.")


@cli.group()
def kiosk() -> None:
    """Pair kiosk devices."""


@kiosk.command("pair")
@click.argument("name")
@with_appcontext
def kiosk_pair(name: str) -> None:
    """Pair a kiosk: prints its token and the link to open on the device."""
    org = accounts.default_organisation(current_app.config["ORG_NAME"])
    row, token = accounts.pair_kiosk(org.id, name)
    click.echo(f"Kiosk {row.name!r} paired. Token (shown once): {token}")
    click.echo(f"Open on the device: {current_app.config['BASE_URL']}/kiosk/pair#token={token}")
    code = accounts.issue_pairing_code(row)
    click.echo(f"Or type this code at {current_app.config['BASE_URL']}/kiosk/pair within "
               f"{accounts.PAIRING_MINUTES} minutes: {code}")


@cli.group()
def token() -> None:
    """Personal API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True)
@with_appcontext
def token_create(email: str, name: str) -> None:
    """Create an API token for an account and print it (shown once)."""
    _, value = accounts.issue_api_token(accounts.find_user(email), name)
    click.echo(value)


@cli.group()
def feeds() -> None:
    """Podcast feeds."""


@feeds.command("rebuild")
@with_appcontext
def feeds_rebuild() -> None:
    """Mark every feed changed (web processes rebuild them on their next request), build
    each once here, and print per organisation the episodes in them and any problem the
    iTunes and Podcasting 2.0 check finds."""
    from podcast.feeds.catalog import rebuild_all

    for summary in rebuild_all():
        click.echo(json.dumps(summary))


@cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Re-queue jobs whose worker died (workers also do this on their own)."""
    click.echo(json.dumps({"requeued": jobs.sweep(current_app._get_current_object())}))


@cli.command("anonymise", with_appcontext=False)
@click.argument("source", metavar="INPUT",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False,
              path_type=Path), help="Folder for redacted.mp3, transcript.json and .vtt.")
@click.option("--model", type=click.Choice(ASR_MODELS), default="base", show_default=True)
@click.option("--voice", type=click.Choice(["disguise", "natural"]), default="disguise",
              show_default=True)
@click.option("--local-names", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Names always redacted: lines 'PLACE: Hope House' (NAME, PLACE, "
                   "ORGANISATION; ALLOW for never), or JSON [{text, type}].")
@click.option("--sound", type=click.Choice(["tone", "silence"]), default="tone",
              show_default=True, help="What replaces a redacted word in the audio.")
@click.option("--pad-ms", type=click.IntRange(0, 1000), default=120, show_default=True)
@click.option("--keep-original", is_flag=True,
              help="Also write the UNREDACTED transcript (original.json). Handle with care.")
@click.option("--no-relisten", is_flag=True,
              help="Skip hearing the redacted audio again (for speed measurements only).")
def anonymise_command(source: Path, out_dir: Path, model: str, voice: str,
                      local_names: Path | None, sound: str, pad_ms: int,
                      keep_original: bool, no_relisten: bool) -> None:
    """Anonymise one recording without the database, and print a JSON summary."""
    from .anonymise import Settings, anonymise_file, load_local_names
    from .asr import build_transcriber
    from .pii import get_detector

    names, allow = load_local_names(local_names) if local_names else ((), ())
    data_dir = os.environ.get("DIARYROOM_DATA_DIR") or "instance"
    summary = anonymise_file(
        source, out_dir, transcriber=build_transcriber("faster-whisper", model, data_dir),
        detector=get_detector(), disguise=voice == "disguise", keep_original=keep_original,
        settings=Settings(pad=pad_ms / 1000, sound=sound, local_names=names, allow=allow,
                          relisten=not no_relisten))
    click.echo(json.dumps(summary))


def main() -> None:
    try:
        # Checked here, before any app exists: a bad level must be one line, not a traceback.
        preflight.configure_logging()
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except DiaryRoomError as e:
        click.echo(f"diaryroom: {e}", err=True)
        sys.exit(2)
    except PermissionError as e:
        click.echo(f"diaryroom: {e}", err=True)
        sys.exit(2)
