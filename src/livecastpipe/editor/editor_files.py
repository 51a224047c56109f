"""One writer at a time for the files editors own: a session's `review.json`, `edits.json` and
`speakers.yaml`, and the voice library `voices.json`.

Every writer (the command line, the workbench, a rerun, publishing) reads, changes and writes such a file
under its lock (`locked_update`), so no write lands between another writer's read and write. A change an
editor made on what they saw earlier (a prompt, a page) is checked against the version it was based on
and refused with `StaleVersion` when that changed meanwhile: never silently merged away. A session's
files share one lock, beside its private folder (publishing swaps that folder atomically, which would take
a lock inside it along); a site-wide file has its own lock beside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from livecastpipe.models import to_jsonable
from livecastpipe.package import outputs

T = TypeVar("T")

SESSION_EDITOR_FILES = frozenset(entry.name() for entry in outputs.EDITOR_FILES)
"""The editors' files of a session folder; they share the session's lock."""

_held = threading.local()
"""The lock files this thread holds (a writer that holds one may call another that takes it)."""


class StaleVersion(Exception):
    """A change based on an older version of what it changes than the one stored now: refused, nothing
    written. The message says what changed and what to do; `current_version` is the stored version."""

    def __init__(self, message: str, current_version: str | int) -> None:
        super().__init__(message)
        self.current_version = current_version


def version_of(value: Any) -> str:
    """A short hash of a stored value (a review item, a speaker's entry): it changes whenever the value
    does, so an editor's change can name the version it was based on."""
    data = json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]


def lock_file(path: Path) -> Path:
    """The lock of an editor's file: a session's files share one beside the session's folder, any other
    file (the voice library) has one beside it."""
    if path.name in SESSION_EDITOR_FILES:
        return path.parent.parent / f".{path.parent.name}.editor-files.lock"
    return path.with_name(f".{path.name}.lock")


@contextmanager
def editor_lock(path: Path) -> Iterator[None]:
    """Hold the lock of the editor's file `path` (other processes and threads wait; this thread may take
    it again inside)."""
    lock_path = lock_file(path)
    held: set[Path] = _held.__dict__.setdefault("paths", set())
    if lock_path in held:
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(lock_path)
        try:
            yield
        finally:
            held.discard(lock_path)
            fcntl.flock(handle, fcntl.LOCK_UN)


def session_editor_lock(private_session_folder: Path) -> AbstractContextManager[None]:
    """Hold the lock every editor's file of a session is written under (publishing swaps the folder
    under it, so no editor's write lands in the folder being swapped out)."""
    return editor_lock(private_session_folder / outputs.REVIEW.name())


def locked_update(
    path: Path, read: Callable[[Path], T], change: Callable[[T], T], write: Callable[[Path, T], None]
) -> T:
    """Read the file, apply `change` and write the result, all under the file's lock, so no other writer
    comes in between. `change` checks the version the change was based on (`StaleVersion`); nothing is
    written when it raises or changes nothing. Returns the file's content after the change."""
    with editor_lock(path):
        current = read(path)
        changed = change(current)
        if changed != current:
            write(path, changed)
        return changed
