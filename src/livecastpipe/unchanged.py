"""A rerun that would change nothing, told before Prefect starts (`livecast run`, issue #30).

After a run whose every session was published and whose site was rebuilt, `record_run` keeps what decided
it (`RunInputs`: the paths given, the settings with their secrets, the installed code, and every file of
the recordings' folders) and the stamp of every file the run left in the output folder. A later run whose
inputs and output folder are all the same would only publish again what is there: `unchanged_results`
says so before Prefect starts. Anything different, or another run living beside it, goes the normal way.

A file's stamp is its size, modification and change times and inode: rewriting a file changes its change
time even when its modification time is put back, so a changed file is always seen without hashing it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from livecastpipe import workspace
from livecastpipe.models import SessionResult, from_jsonable, is_url
from livecastpipe.package import outputs
from livecastpipe.settings import Settings
from livecastpipe.storage import atomic_write_text

LIBRARY = Path(__file__).resolve().parent
RECORD_FORMAT = 1
SIDECAR_FILES = ("descriptions", "sign_language_video")
"""Sidecar fields naming a file published with the session, wherever it is."""

Stamp = tuple[int, int, int, int, int]
"""A file's size, modification and change times (ns), inode and device."""


def file_stamp(path: Path) -> Stamp | None:
    """The stamp of the file at `path`, None when there is none."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino, found.st_dev)


def _files_under(folder: Path, skipped: frozenset[Path]) -> Iterator[Path]:
    """Every file under `folder`, links as themselves, the paths in `skipped` and what is under them left out."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        if path in skipped:
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _files_under(path, skipped)
        else:
            yield path


def _named_files(sidecar: Path) -> Iterator[Path]:
    """The files a sidecar names for publishing (audio descriptions, a sign-language video), as ingest
    finds them and beside the sidecar."""
    try:
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in SIDECAR_FILES and isinstance(value, str):
                    yield Path(value).absolute()
                    yield sidecar.parent / value
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)


def input_stamps(paths: Sequence[str]) -> dict[str, Stamp | None] | None:
    """The stamp of every file a run of `paths` may read as input: the files of each folder given and of each
    given file's folder (the recordings, their sidecars, `sessions.yaml`) and the files sidecars name; None
    when a URL is among them (a download goes the normal way)."""
    stamps: dict[str, Stamp | None] = {}
    for given in paths:
        if is_url(given):
            return None
        path = Path(given).absolute()
        folder = path if path.is_dir() else path.parent
        stamps[str(path)] = file_stamp(path)
        for file in sorted(p for p in folder.iterdir() if not p.is_dir()) if folder.is_dir() else []:
            stamps[str(file)] = file_stamp(file)
            if file.suffix == ".yaml":
                if "source_url" in file.read_text(encoding="utf-8", errors="replace"):
                    return None
                stamps.update((str(named), file_stamp(named)) for named in _named_files(file))
    return stamps


def _revealed(value: Any) -> Any:
    """A settings value JSON cannot write, as text: a secret by its value (a new key may answer otherwise)."""
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def settings_hash(settings: Settings) -> str:
    """A hash of every setting, secrets included."""
    blob = json.dumps(settings.model_dump(), sort_keys=True, default=_revealed)
    return hashlib.sha256(blob.encode()).hexdigest()


def code_hash() -> str:
    """A hash of the installed code: every file of the library and its flows, the Python running it, and the
    name (with its version) of every installed distribution."""
    digest = hashlib.sha256(f"{sys.executable}\0{sys.version}\0".encode())
    for path in sorted(_files_under(LIBRARY, frozenset())):
        if "__pycache__" not in path.parts and not path.is_symlink():
            digest.update(str(path.relative_to(LIBRARY)).encode() + b"\0" + path.read_bytes() + b"\0")
    flows = LIBRARY / "flows"
    for path in sorted(_files_under(flows.resolve(), frozenset())) if flows.is_symlink() else []:
        if path.suffix == ".py":
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for site in sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}):
        names = sorted(n for n in os.listdir(site) if n.endswith((".dist-info", ".egg-info", ".pth")))
        digest.update("\0".join(names).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class RunInputs:
    """What decides a `livecast run`'s output besides the output folder itself, read before it starts."""

    paths: tuple[str, ...]
    cwd: str
    settings: str
    code: str
    inputs: dict[str, Stamp | None]


def run_inputs(paths: Sequence[str], settings: Settings) -> RunInputs | None:
    """The inputs of a run of `paths` with `settings`, as they are now; None when URLs are among them."""
    stamps = input_stamps(paths)
    if stamps is None:
        return None
    return RunInputs(tuple(paths), os.getcwd(), settings_hash(settings), code_hash(), stamps)


def record_path(settings: Settings) -> Path:
    """Where the output folder keeps its last complete run's record."""
    return workspace.site_file(settings.output_dir, outputs.LAST_RUN)


def output_stamps(settings: Settings) -> dict[str, Stamp | None]:
    """The stamp of every file in the output folder but the cache, the run lock and the record itself."""
    output = settings.output_dir.absolute()
    skipped = frozenset(
        {
            settings.resolved_cache_dir.absolute(),
            workspace.private_dir(output) / workspace.LOCK_FILE,
            record_path(settings).absolute(),
        }
    )
    return {str(path.relative_to(output)): file_stamp(path) for path in sorted(_files_under(output, skipped))}


@contextmanager
def _alone(settings: Settings) -> Iterator[bool]:
    """Hold the output folder's run lock alone while the caller reads it; yield False when another run lives."""
    lock = workspace.private_dir(settings.output_dir) / workspace.LOCK_FILE
    if not lock.is_file():
        yield True
        return
    with open(lock, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _jsonable(inputs: RunInputs) -> dict[str, Any]:
    """The inputs as JSON reads them back (stamps as lists)."""
    return json.loads(json.dumps(asdict(inputs)))


def record_run(inputs: RunInputs, settings: Settings, results: Sequence[SessionResult]) -> None:
    """Keep the inputs of a run that published every session and rebuilt the site, with the output folder it
    left; nothing is kept while another run lives beside it (its output is not this run's)."""
    with _alone(settings) as alone:
        if alone:
            record = {
                "format": RECORD_FORMAT,
                "inputs": _jsonable(inputs),
                "output": output_stamps(settings),
                "results": [asdict(result) for result in results],
            }
            atomic_write_text(record_path(settings), json.dumps(record, ensure_ascii=False))


def unchanged_results(inputs: RunInputs, settings: Settings) -> list[SessionResult] | None:
    """The last run's results when a run with `inputs` would change nothing: the same inputs, and the output
    folder exactly as that run left it, with no other run living beside; else None."""
    try:
        record = json.loads(record_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return None
    if record.get("inputs") != _jsonable(inputs):
        return None
    with _alone(settings) as alone:
        if alone and record.get("output") == json.loads(json.dumps(output_stamps(settings))):
            return [from_jsonable(SessionResult, result) for result in record["results"]]
    return None
