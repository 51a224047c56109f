"""A watched folder (`livecast watch`): which recordings dropped into it are whole and not yet submitted.

Pure functions over what a scan saw, so the decisions are tested without waiting on a clock: a recording
is whole once its size and modification time have stayed the same for the settle time, and it is
submitted once per content version (its path, size and modification time), remembered in a state file
in the output's private folder so that a restarted watcher submits nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from livecastpipe import workspace
from livecastpipe.package import outputs
from livecastpipe.stages.ingest import MEDIA_SUFFIXES
from livecastpipe.storage import atomic_write_text

PARTIAL_SUFFIXES = frozenset(".part .partial .tmp .temp .crdownload .download .filepart .!qb".split())
"""Endings downloaders and copiers give a file still being written (`talk.mp4.part`)."""


@dataclass(frozen=True)
class FileVersion:
    """One state of a file's content as the file system shows it: changed content changes one of these."""

    size: int
    mtime_ns: int

    def key(self, path: Path) -> str:
        """What identifies this version of the recording at `path` (state file, Prefect idempotency key)."""
        return f"{path}|{self.size}|{self.mtime_ns}"


@dataclass(frozen=True)
class Sighting:
    """A file's version and since when (Unix time) it has been that version, at the least."""

    version: FileVersion
    since: float


def is_recording_name(name: str) -> bool:
    """True for a media file's name; hidden files, partial downloads and copies, and sidecars are not."""
    lowered = name.lower()
    if lowered.startswith((".", "~")) or any(lowered.endswith(suffix) for suffix in PARTIAL_SUFFIXES):
        return False
    return Path(lowered).suffix in MEDIA_SUFFIXES


def scan(folder: Path) -> dict[Path, FileVersion]:
    """The recordings directly in `folder` (absolute paths) with their current versions; a file that
    vanishes while being looked at is left out."""
    found: dict[Path, FileVersion] = {}
    for path in folder.iterdir():
        if not is_recording_name(path.name):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if path.is_file():
            found[path.absolute()] = FileVersion(stat.st_size, stat.st_mtime_ns)
    return found


def observe(previous: Mapping[Path, Sighting], current: Mapping[Path, FileVersion], now: float) -> dict[Path, Sighting]:
    """This scan's sightings: an unchanged file keeps its `since`; a new or changed one has been so since its
    modification time (not after `now`, for a clock ahead of this machine's)."""
    sightings: dict[Path, Sighting] = {}
    for path, version in current.items():
        before = previous.get(path)
        if before is not None and before.version == version:
            sightings[path] = before
        else:
            sightings[path] = Sighting(version, min(now, version.mtime_ns / 1e9))
    return sightings


def settled(sightings: Mapping[Path, Sighting], now: float, settle_s: float) -> list[Path]:
    """The files unchanged for at least `settle_s` seconds: whole, as far as anyone can tell from outside."""
    return sorted(path for path, sighting in sightings.items() if now - sighting.since >= settle_s)


def to_submit(
    sightings: Mapping[Path, Sighting], submitted: Iterable[str], now: float, settle_s: float
) -> list[tuple[Path, FileVersion]]:
    """The settled recordings whose current version has not been submitted: new ones and replaced ones."""
    done = set(submitted)
    ready = [(path, sightings[path].version) for path in settled(sightings, now, settle_s)]
    return [(path, version) for path, version in ready if version.key(path) not in done]


def state_file(output: Path) -> Path:
    """Where the watcher remembers what it submitted: the output's private workspace, never published."""
    return workspace.site_file(output, outputs.WATCH_STATE)


def read_submitted(output: Path) -> set[str]:
    """The versions submitted so far (`FileVersion.key`); none when no watcher has run for this output."""
    path = state_file(output)
    if not path.is_file():
        return set()
    return set(json.loads(path.read_text(encoding="utf-8"))["submitted"])


def record_submitted(output: Path, submitted: Iterable[str]) -> None:
    """Store the versions submitted (whole file, atomically: a killed watcher leaves the previous state)."""
    text = json.dumps({"submitted": sorted(submitted)}, ensure_ascii=False, indent=1)
    atomic_write_text(state_file(output), text + "\n")
