"""Settings from DIARYROOM_* environment variables, validated once when the app is made.

Nothing here runs at import time: ``Config()`` reads the environment it is given, so
tests and the CLI can build as many differently configured apps as they like.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from .errors import ConfigError

PREFIX = "DIARYROOM_"
ASR_MODELS = ("base", "tiny.en")
ASR_ENGINES = ("faster-whisper", "openai-whisper")
ADDRESSING_STYLES = ("auto", "path", "virtual")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Every variable we understand. An unknown DIARYROOM_* name is almost always a typo that
# would silently fall back to a default, so it is an error instead.
KNOWN = {
    "SECRET_KEY", "DATA_DIR", "DATABASE_URL", "STORAGE_URL", "S3_ENDPOINT_URL", "S3_REGION",
    "S3_ADDRESSING_STYLE", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_MULTIPART_MB",
    "QUEUE_URL", "WORKERS", "JOB_MAX_ATTEMPTS", "JOB_STALE_SECONDS", "SWEEP_INTERVAL",
    "JOB_RETRY_SECONDS",
    "ASR_MODEL", "ASR_ENGINE", "ASR_CHECKPOINT", "ASR_THREADS", "RATELIMIT_STORAGE_URL",
    "LOGIN_RATE_LIMIT", "COOKIE_SECURE", "MAX_UPLOAD_MB", "BASE_URL", "ORG_NAME",
    "TEST_DATABASE_URL", "LOG_LEVEL", "ENCRYPTION_KEY", "MAX_RECORDING_SECONDS",
    "KIOSK_IDLE_SECONDS", "RECEIPT_RATE_LIMIT", "UPLOAD_EXPIRY_HOURS",
    "REDACTION_PAD_MS", "REDACTION_SOUND",
    "MEDIA_TIMEOUT_SECONDS",
    "MODELS_DIR",  # read by diaryroom.asr.models, which also runs without an app
    "LOGIN_ACCOUNT_RATE_LIMIT", "TRUSTED_PROXIES",
    "MAX_JSON_KB", "MAX_OPEN_UPLOADS", "MAX_RESERVED_MB",
    "PUBLIC_AUDIO_BASE_URL",
    "REFRESH_DOCS",  # read by tests/browser/test_kiosk_layout.py only: copy its pictures
}
# Files 0600 and folders 0700: the data folder holds recordings and their transcripts.
PRIVATE_UMASK = 0o077


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name} must be at least {minimum}, not {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, not {raw!r}")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(PREFIX + name) or default
    if value not in choices:
        raise ConfigError(f"{PREFIX}{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def restrict_file_modes(data_dir: str | Path) -> None:
    """Make every file this process creates owner-only (0600, folders 0700), and the data
    folder one only its owner may enter.

    The umask covers what we do not create ourselves (SQLite's -wal and -shm, temporary
    files, spoken prompts, the job queue); the folders that matter are also made with an
    explicit mode by ``private_dir`` in case something else in the process widens it.
    """
    os.umask(PRIVATE_UMASK)
    private_dir(Path(data_dir))


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (0700), made if missing. An older
    install's looser folder is tightened when it is ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        path.chmod(0o700)
    return path


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    """The env var wins; otherwise a key generated once and kept beside the data (mode 600).

    A one-laptop install should not need the operator to invent a secret, but restarting
    must not sign everybody out, so the generated key is persisted.
    """
    if env.get(PREFIX + "SECRET_KEY"):
        return env[PREFIX + "SECRET_KEY"]
    path = data_dir / "secret_key"
    if not path.exists():
        private_dir(data_dir)
        # Written whole under a temporary name, then linked into place: processes starting
        # together on a new data dir all end up reading the one complete key.
        tmp = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate such as ``10 per 15 minutes``, checked now rather than on the first request."""
    from limits import parse_many

    value = env.get(PREFIX + name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a rate such as '10 per 15 minutes', "
                          f"not {value!r}") from None
    return value


def available_cores() -> int:
    """The CPUs this process may run on (a container's cpuset, not the whole host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def log_level(env: Mapping[str, str]) -> str:
    """DIARYROOM_LOG_LEVEL, upper-cased (``debug`` works too) and checked."""
    raw = env.get(PREFIX + "LOG_LEVEL") or "INFO"
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"{PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return value


class Config:
    """Production settings, read from ``environ`` (``os.environ`` by default)."""

    TESTING = False

    def __init__(self, environ: Mapping[str, str] | None = None):
        env = dict(os.environ if environ is None else environ)
        unknown = sorted(k for k in env if k.startswith(PREFIX) and k[len(PREFIX):] not in KNOWN)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]} (check the spelling; see README)")

        data_dir = Path(env.get(PREFIX + "DATA_DIR") or "instance").resolve()
        self.DATA_DIR = str(data_dir)
        self.SECRET_KEY = _secret_key(env, data_dir)

        self.SQLALCHEMY_DATABASE_URI = (
            env.get(PREFIX + "DATABASE_URL") or f"sqlite:///{data_dir / 'diaryroom.db'}"
        )
        scheme = urlparse(self.SQLALCHEMY_DATABASE_URI).scheme.split("+")[0]
        if scheme == "postgres":  # Heroku-style URLs; SQLAlchemy 2 wants postgresql
            self.SQLALCHEMY_DATABASE_URI = self.SQLALCHEMY_DATABASE_URI.replace(
                "postgres://", "postgresql+psycopg://", 1)
        elif scheme == "postgresql" and "+" not in urlparse(self.SQLALCHEMY_DATABASE_URI).scheme:
            self.SQLALCHEMY_DATABASE_URI = self.SQLALCHEMY_DATABASE_URI.replace(
                "postgresql://", "postgresql+psycopg://", 1)
        elif scheme not in ("sqlite", "postgresql", "postgres"):
            raise ConfigError(
                f"{PREFIX}DATABASE_URL must be a sqlite:// or postgresql:// URL, not {scheme!r}")

        self.STORAGE_URL = env.get(PREFIX + "STORAGE_URL") or f"file://{data_dir / 'media'}"
        if urlparse(self.STORAGE_URL).scheme not in ("file", "s3"):
            raise ConfigError(f"{PREFIX}STORAGE_URL must start with file:// or s3://")
        self.S3_ENDPOINT_URL = env.get(PREFIX + "S3_ENDPOINT_URL") or None
        self.S3_REGION = env.get(PREFIX + "S3_REGION") or "us-east-1"
        self.S3_ADDRESSING_STYLE = _choice(env, "S3_ADDRESSING_STYLE", ADDRESSING_STYLES, "auto")
        self.S3_ACCESS_KEY_ID = env.get(PREFIX + "S3_ACCESS_KEY_ID") or None
        self.S3_SECRET_ACCESS_KEY = env.get(PREFIX + "S3_SECRET_ACCESS_KEY") or None
        self.S3_MULTIPART_MB = _int(env, "S3_MULTIPART_MB", 8, minimum=5)

        self.QUEUE_URL = env.get(PREFIX + "QUEUE_URL") or f"sqlite://{data_dir / 'queue.db'}"
        if urlparse(self.QUEUE_URL).scheme not in ("sqlite", "redis", "rediss", "memory"):
            raise ConfigError(f"{PREFIX}QUEUE_URL must be sqlite://PATH or redis://HOST:PORT/DB")
        self.WORKERS = _int(env, "WORKERS", 2, minimum=1)
        # Six attempts with back-off from 5 s (5, 10, 20, 40, 80 s, each +-50%) span at
        # least 77 s, so a one-minute outage of storage, queue or database is survived.
        self.JOB_MAX_ATTEMPTS = _int(env, "JOB_MAX_ATTEMPTS", 6, minimum=1)
        self.JOB_RETRY_SECONDS = _int(env, "JOB_RETRY_SECONDS", 5)
        # A dead worker's job is sent again within stale + sweep (70 s); live jobs beat
        # every 5 s (at most a quarter of this), however long they run.
        self.JOB_STALE_SECONDS = _int(env, "JOB_STALE_SECONDS", 60, minimum=1)
        self.SWEEP_INTERVAL = _int(env, "SWEEP_INTERVAL", 10, minimum=1)

        self.ASR_MODEL = _choice(env, "ASR_MODEL", ASR_MODELS, "base")
        self.ASR_ENGINE = _choice(env, "ASR_ENGINE", ASR_ENGINES, "faster-whisper")
        self.ASR_CHECKPOINT = env.get(PREFIX + "ASR_CHECKPOINT") or None
        if self.ASR_ENGINE == "openai-whisper" and not self.ASR_CHECKPOINT:
            raise ConfigError(
                f"{PREFIX}ASR_ENGINE=openai-whisper needs {PREFIX}ASR_CHECKPOINT, the path of a "
                "Whisper .pt checkpoint you supply (nothing is downloaded)")
        # Threads per transcription. By default the cores are shared out among the job
        # threads, so WORKERS jobs transcribing at once stay within the CPU; 0 lets
        # CTranslate2 choose for each transcription, whatever the cores.
        self.ASR_THREADS = _int(env, "ASR_THREADS", max(1, available_cores() // self.WORKERS))

        default_limits = "memory://"
        if urlparse(self.QUEUE_URL).scheme in ("redis", "rediss"):
            default_limits = self.QUEUE_URL  # share counters between web processes
        self.RATELIMIT_STORAGE_URI = env.get(PREFIX + "RATELIMIT_STORAGE_URL") or default_limits
        # With Redis down, count in this process's memory rather than answer every sign-in
        # with a 500: the limits hold per process until Redis is back.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        # Failed sign-ins only (a right password never counts), per client address and,
        # separately, per account: so one person's typos cannot lock out a whole office.
        self.LOGIN_RATE_LIMIT = _rate_limit(env, "LOGIN_RATE_LIMIT", "10 per 15 minutes")
        self.LOGIN_ACCOUNT_RATE_LIMIT = _rate_limit(env, "LOGIN_ACCOUNT_RATE_LIMIT",
                                                    "5 per 15 minutes")
        # Reverse proxies in front of us whose X-Forwarded-For we believe (0: none).
        self.TRUSTED_PROXIES = _int(env, "TRUSTED_PROXIES", 0)

        secure = _bool(env, "COOKIE_SECURE", True)
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_SECURE = secure
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = 8 * 3600  # seconds: one working day
        self.MAX_CONTENT_LENGTH = _int(env, "MAX_UPLOAD_MB", 500, minimum=1) * 1024 * 1024
        # Every body that is not media (JSON, forms) is refused beyond this, before it is read.
        self.MAX_JSON_BYTES = _int(env, "MAX_JSON_KB", 1024, minimum=1) * 1024
        # Unfinished resumable uploads one kiosk or one account may hold open at a time,
        # and the bytes they may reserve between them (by default two full-size uploads).
        self.MAX_OPEN_UPLOADS = _int(env, "MAX_OPEN_UPLOADS", 4, minimum=1)
        self.MAX_RESERVED_BYTES = _int(
            env, "MAX_RESERVED_MB", 2 * self.MAX_CONTENT_LENGTH // (1024 * 1024),
            minimum=1) * 1024 * 1024
        if self.MAX_RESERVED_BYTES < self.MAX_CONTENT_LENGTH:
            raise ConfigError(f"{PREFIX}MAX_RESERVED_MB must be at least {PREFIX}MAX_UPLOAD_MB, "
                              "or no upload of the largest size could ever start")
        self.BASE_URL = (env.get(PREFIX + "BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        self.ORG_NAME = env.get(PREFIX + "ORG_NAME") or "Our service"
        # With S3 storage: a CDN or public bucket URL whose paths are the bucket's keys, for
        # public episodes' audio (private audio always gets a short-lived presigned URL).
        self.PUBLIC_AUDIO_BASE_URL = (env.get(PREFIX + "PUBLIC_AUDIO_BASE_URL") or "").rstrip("/")
        self.LOG_LEVEL = log_level(env)

        # Originals and unredacted text are encrypted with this key, kept apart from the
        # database; base64 of 32 random bytes. Generated into the data dir when unset.
        self.ENCRYPTION_KEY = env.get(PREFIX + "ENCRYPTION_KEY") or None
        self.MAX_RECORDING_SECONDS = _int(env, "MAX_RECORDING_SECONDS", 15 * 60, minimum=10)
        # Hard limit for checking an upload (ffprobe + remux) inside a web request; the
        # ffmpeg process group is killed past it. Pipeline decodes get their own limit.
        self.MEDIA_TIMEOUT_SECONDS = _int(env, "MEDIA_TIMEOUT_SECONDS", 60, minimum=1)
        self.KIOSK_IDLE_SECONDS = _int(env, "KIOSK_IDLE_SECONDS", 120, minimum=5)
        self.RECEIPT_RATE_LIMIT = env.get(PREFIX + "RECEIPT_RATE_LIMIT") or "20 per hour"
        self.UPLOAD_EXPIRY_HOURS = _int(env, "UPLOAD_EXPIRY_HOURS", 48, minimum=1)
        # Audio hidden either side of each redacted word, so no syllable edge is heard.
        self.REDACTION_PAD_MS = _int(env, "REDACTION_PAD_MS", 120)
        self.REDACTION_SOUND = _choice(env, "REDACTION_SOUND", ("tone", "silence"), "tone")
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, which expires
        self.RUN_EMBEDDED_WORKERS = False  # `diaryroom serve` turns this on


class TestConfig(Config):
    """Settings for the test suite: an isolated data dir, the tiny model, an in-memory
    queue drained by the test itself. Only DIARYROOM_TEST_DATABASE_URL is read from the
    environment (to run the suite on PostgreSQL); everything else is explicit."""

    TESTING = True

    def __init__(self, data_dir: str | Path, **overrides: str):
        env = {
            PREFIX + "DATA_DIR": str(data_dir),
            PREFIX + "SECRET_KEY": "test-secret-key-not-for-production",
            PREFIX + "ASR_MODEL": "tiny.en",
            PREFIX + "COOKIE_SECURE": "false",
            PREFIX + "QUEUE_URL": "memory://",
            PREFIX + "JOB_STALE_SECONDS": "5",
            PREFIX + "SWEEP_INTERVAL": "1",
            PREFIX + "JOB_RETRY_SECONDS": "0",  # retries at once; fault tests set their own
        }
        if os.environ.get(PREFIX + "TEST_DATABASE_URL"):
            env[PREFIX + "DATABASE_URL"] = os.environ[PREFIX + "TEST_DATABASE_URL"]
        env.update({PREFIX + k: str(v) for k, v in overrides.items()})
        super().__init__(env)
        self.RATELIMIT_STORAGE_URI = "memory://"
