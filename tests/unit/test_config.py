"""Settings: defaults, overrides, validation that names the variable, the generated secret
key, no configuration read at import time, and the app factory wiring."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from diaryroom import create_app
from diaryroom.adapters import get_storage
from diaryroom.config import Config
from diaryroom.config import TestConfig as AppTestConfig  # not collected by pytest
from diaryroom.errors import ConfigError
from diaryroom.extensions import db
from diaryroom.storage import LocalStorage

ON_POSTGRES = bool(os.environ.get("DIARYROOM_TEST_DATABASE_URL"))


def config(tmp_path: Path, **values: str) -> Config:
    """A production Config from exactly these DIARYROOM_* values (nothing from os.environ)."""
    env = {"DIARYROOM_DATA_DIR": str(tmp_path / "data")}
    env.update({f"DIARYROOM_{k}": v for k, v in values.items()})
    return Config(env)


# --- defaults and overrides ----------------------------------------------------------

def test_defaults_keep_everything_in_the_data_dir(tmp_path):
    cfg = config(tmp_path)
    data = (tmp_path / "data").resolve()
    assert cfg.DATA_DIR == str(data)
    assert cfg.SQLALCHEMY_DATABASE_URI == f"sqlite:///{data / 'diaryroom.db'}"
    assert cfg.STORAGE_URL == f"file://{data / 'media'}"
    assert cfg.QUEUE_URL == f"sqlite://{data / 'queue.db'}"
    assert cfg.ASR_MODEL == "base"
    assert cfg.ASR_ENGINE == "faster-whisper"
    assert cfg.ASR_CHECKPOINT is None
    assert cfg.SESSION_COOKIE_SECURE is True
    assert cfg.REMEMBER_COOKIE_SECURE is True
    assert cfg.SESSION_COOKIE_HTTPONLY is True
    assert cfg.TESTING is False
    assert cfg.WORKERS == 2
    assert cfg.JOB_MAX_ATTEMPTS == 6
    assert (cfg.JOB_RETRY_SECONDS, cfg.JOB_STALE_SECONDS, cfg.SWEEP_INTERVAL) == (5, 60, 10)
    assert cfg.MAX_CONTENT_LENGTH == 500 * 1024 * 1024
    assert cfg.RATELIMIT_STORAGE_URI == "memory://"
    assert cfg.S3_ENDPOINT_URL is None
    assert cfg.LOG_LEVEL == "INFO"


def test_data_dir_defaults_to_instance_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config({"DIARYROOM_SECRET_KEY": "k"})
    assert cfg.DATA_DIR == str((tmp_path / "instance").resolve())


def test_environment_overrides(tmp_path):
    cfg = config(
        tmp_path, DATABASE_URL="sqlite:////srv/other.db", STORAGE_URL="s3://bucket/prefix",
        S3_ENDPOINT_URL="http://minio:9000", S3_ADDRESSING_STYLE="path",
        QUEUE_URL="redis://redis:6379/0", WORKERS="5", JOB_MAX_ATTEMPTS="7",
        ASR_MODEL="tiny.en", ASR_THREADS="4", COOKIE_SECURE="false", MAX_UPLOAD_MB="10",
        BASE_URL="https://diary.example.org/", ORG_NAME="St Mungo's", LOG_LEVEL="debug",
        SECRET_KEY="from-the-environment")
    assert cfg.SQLALCHEMY_DATABASE_URI == "sqlite:////srv/other.db"
    assert cfg.STORAGE_URL == "s3://bucket/prefix"
    assert cfg.S3_ENDPOINT_URL == "http://minio:9000"
    assert cfg.S3_ADDRESSING_STYLE == "path"
    assert cfg.QUEUE_URL == "redis://redis:6379/0"
    # With Redis as the queue, rate-limit counters are shared through it too.
    assert cfg.RATELIMIT_STORAGE_URI == "redis://redis:6379/0"
    assert (cfg.WORKERS, cfg.JOB_MAX_ATTEMPTS, cfg.ASR_THREADS) == (5, 7, 4)
    assert cfg.ASR_MODEL == "tiny.en"
    assert cfg.SESSION_COOKIE_SECURE is False and cfg.REMEMBER_COOKIE_SECURE is False
    assert cfg.MAX_CONTENT_LENGTH == 10 * 1024 * 1024
    assert cfg.BASE_URL == "https://diary.example.org"
    assert cfg.ORG_NAME == "St Mungo's"
    assert cfg.LOG_LEVEL == "DEBUG"
    assert cfg.SECRET_KEY == "from-the-environment"
    assert not (tmp_path / "data" / "secret_key").exists()


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_true_spellings(tmp_path, value):
    assert config(tmp_path, COOKIE_SECURE=value).SESSION_COOKIE_SECURE is True


@pytest.mark.parametrize("value", ["0", "false", "No", "off"])
def test_false_spellings(tmp_path, value):
    assert config(tmp_path, COOKIE_SECURE=value).SESSION_COOKIE_SECURE is False


def test_empty_values_mean_the_default(tmp_path):
    cfg = config(tmp_path, WORKERS="", COOKIE_SECURE="", ASR_MODEL="", DATABASE_URL="")
    assert cfg.WORKERS == 2
    assert cfg.SESSION_COOKIE_SECURE is True
    assert cfg.ASR_MODEL == "base"
    assert cfg.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@db:5432/diary", "postgresql+psycopg://u:p@db:5432/diary"),
    ("postgresql://u:p@db/diary", "postgresql+psycopg://u:p@db/diary"),
    ("postgresql+psycopg://u@db/diary", "postgresql+psycopg://u@db/diary"),
])
def test_postgres_urls_are_normalised_to_psycopg3(tmp_path, url, expected):
    assert config(tmp_path, DATABASE_URL=url).SQLALCHEMY_DATABASE_URI == expected


# --- validation ----------------------------------------------------------------------

def test_unknown_setting_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="DIARYROOM_FOO"):
        config(tmp_path, FOO="1")


def test_unknown_setting_in_os_environ_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DIARYROOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DIARYROOM_SECRET_KEY", "k")
    monkeypatch.setenv("DIARYROOM_WROKERS", "3")
    with pytest.raises(ConfigError, match="DIARYROOM_WROKERS"):
        Config()


def test_other_environment_variables_are_ignored(tmp_path):
    cfg = Config({"DIARYROOM_DATA_DIR": str(tmp_path), "DIARYROOM_SECRET_KEY": "k",
                  "PATH": "/usr/bin", "DIARY_ROOM_X": "1", "FLASK_APP": "x"})
    assert cfg.SECRET_KEY == "k"


@pytest.mark.parametrize("name, value", [
    ("ASR_MODEL", "huge"),
    ("ASR_ENGINE", "whisper.cpp"),
    ("WORKERS", "zero"),
    ("WORKERS", "0"),
    ("WORKERS", "2.5"),
    ("JOB_MAX_ATTEMPTS", "-1"),
    ("JOB_STALE_SECONDS", "soon"),
    ("SWEEP_INTERVAL", "0"),
    ("ASR_THREADS", "many"),
    ("MAX_UPLOAD_MB", "0"),
    ("S3_MULTIPART_MB", "1"),
    ("S3_ADDRESSING_STYLE", "sideways"),
    ("COOKIE_SECURE", "maybe"),
    ("STORAGE_URL", "ftp://x"),
    ("QUEUE_URL", "amqp://x"),
    ("DATABASE_URL", "mysql://u@db/diary"),
    ("LOG_LEVEL", "chatty"),
])
def test_bad_values_are_errors_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as excinfo:
        config(tmp_path, **{name: value})
    assert f"DIARYROOM_{name}" in str(excinfo.value)


def test_openai_whisper_needs_a_checkpoint(tmp_path):
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_CHECKPOINT"):
        config(tmp_path, ASR_ENGINE="openai-whisper")
    cfg = config(tmp_path, ASR_ENGINE="openai-whisper", ASR_CHECKPOINT="/models/base.pt")
    assert (cfg.ASR_ENGINE, cfg.ASR_CHECKPOINT) == ("openai-whisper", "/models/base.pt")


# --- the generated secret key ----------------------------------------------------------

def test_generated_secret_key_is_private_persisted_and_reused(tmp_path):
    first = config(tmp_path)
    path = tmp_path / "data" / "secret_key"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.SECRET_KEY) >= 32
    assert path.read_text().strip() == first.SECRET_KEY
    assert config(tmp_path).SECRET_KEY == first.SECRET_KEY  # a restart signs nobody out
    assert config(tmp_path / "elsewhere").SECRET_KEY != first.SECRET_KEY
    # An explicit key wins and leaves the file alone.
    assert config(tmp_path, SECRET_KEY="explicit").SECRET_KEY == "explicit"
    assert path.read_text().strip() == first.SECRET_KEY


# --- nothing is read at import time ---------------------------------------------------

IMPORT_EVERYTHING = textwrap.dedent("""
    import os, pkgutil, importlib, sys
    from collections.abc import MutableMapping

    class Spy(MutableMapping):
        '''os.environ, noting every DIARYROOM_* name that is looked up.'''
        def __init__(self, real):
            self.real, self.read = real, set()
        def __getitem__(self, key):
            if str(key).startswith("DIARYROOM_"):
                self.read.add(key)
            return self.real[key]
        def __setitem__(self, key, value):
            self.real[key] = value
        def __delitem__(self, key):
            del self.real[key]
        def __iter__(self):
            return iter(self.real)
        def __len__(self):
            return len(self.real)
        def __contains__(self, key):
            if str(key).startswith("DIARYROOM_"):
                self.read.add(key)
            return key in self.real
        def copy(self):
            return dict(self.real)

    # tqdm (under spaCy and Presidio) scans every variable at import for its TQDM_*
    # settings: a library's own reading, not this project's configuration.
    import tqdm
    real = os.environ
    os.environ = spy = Spy(real)
    import diaryroom, kiosk, podcast
    names = []
    for package in (diaryroom, kiosk, podcast):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
            importlib.import_module(info.name)
    os.environ = real
    assert "diaryroom.cli" in names and "diaryroom.config" in names, names
    assert not spy.read, f"read at import time: {sorted(spy.read)}"

    from diaryroom import create_app
    from diaryroom.errors import ConfigError
    try:
        create_app()
    except ConfigError as e:
        print("CONFIG ERROR:", e)
    else:
        sys.exit("create_app accepted a bad environment")
""")


def test_importing_reads_no_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYROOM_")}
    env.update(DIARYROOM_FOO="1", DIARYROOM_WORKERS="zero", DIARYROOM_ASR_MODEL="huge",
               DIARYROOM_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "CONFIG ERROR: unknown setting DIARYROOM_FOO" in result.stdout
    assert not (tmp_path / "secret_key").exists()


def test_create_app_reads_os_environ_only_when_called(tmp_path, monkeypatch):
    monkeypatch.setenv("DIARYROOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DIARYROOM_ASR_MODEL", "huge")
    with pytest.raises(ConfigError, match="DIARYROOM_ASR_MODEL"):
        create_app()


# --- the app factory ---------------------------------------------------------------------

@pytest.fixture
def two_apps(tmp_path):
    apps = []
    for name in ("one", "two"):
        overrides = {"SECRET_KEY": f"secret-{name}", "ORG_NAME": f"Org {name}"}
        if not ON_POSTGRES:
            overrides["DATABASE_URL"] = f"sqlite:///{tmp_path / name / 'diaryroom.db'}"
        apps.append(create_app(AppTestConfig(tmp_path / name, **overrides)))
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_factory_registers_blueprints_and_binds_extensions(tmp_path):
    app = create_app(AppTestConfig(tmp_path))
    assert app.testing
    assert {"auth", "api", "review", "admin", "kiosk", "podcast"} <= set(app.blueprints)
    assert {"sqlalchemy", "migrate", "csrf", "limiter", "diaryroom.storage",
            "diaryroom.jobs"} <= set(app.extensions)
    assert app.login_manager is not None
    assert app.config["QUEUE_URL"] == "memory://"
    assert app.config["ASR_MODEL"] == "tiny.en"
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert {"/", "/healthz", "/auth/login", "/api/v1/me"} <= rules
    assert app.test_client().get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_two_apps_share_no_config_or_storage(two_apps, tmp_path):
    one, two = two_apps
    assert one.config["DATA_DIR"] == str((tmp_path / "one").resolve())
    assert two.config["DATA_DIR"] == str((tmp_path / "two").resolve())
    assert (one.config["SECRET_KEY"], two.config["SECRET_KEY"]) == ("secret-one", "secret-two")
    assert (one.config["ORG_NAME"], two.config["ORG_NAME"]) == ("Org one", "Org two")

    s1, s2 = get_storage(one), get_storage(two)
    assert isinstance(s1, LocalStorage) and isinstance(s2, LocalStorage)
    assert s1 is not s2
    assert s1.root == (tmp_path / "one" / "media").resolve()
    assert s2.root == (tmp_path / "two" / "media").resolve()
    import io
    s1.put("a/b.txt", io.BytesIO(b"only in one"))
    assert s1.exists("a/b.txt") and not s2.exists("a/b.txt")

    assert one.extensions["diaryroom.jobs"] is not two.extensions["diaryroom.jobs"]
    assert one.extensions["diaryroom.jobs"].app is one

    one.config["ORG_NAME"] = "changed"
    assert two.config["ORG_NAME"] == "Org two"
    if not ON_POSTGRES:
        with one.app_context():
            url_one = str(db.engine.url)
        with two.app_context():
            url_two = str(db.engine.url)
        assert url_one.endswith("one/diaryroom.db") and url_two.endswith("two/diaryroom.db")


def test_asr_threads_share_the_cores_among_job_threads_by_default(tmp_path):
    cores = len(os.sched_getaffinity(0))
    for workers in (1, 2, cores, cores * 2):
        cfg = config(tmp_path, WORKERS=str(workers))
        assert cfg.ASR_THREADS == max(1, cores // workers)
        assert cfg.ASR_THREADS * workers <= max(cores, workers)  # never oversubscribed
    assert config(tmp_path, ASR_THREADS="0").ASR_THREADS == 0  # explicit: CTranslate2 decides
