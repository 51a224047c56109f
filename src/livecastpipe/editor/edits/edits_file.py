"""The file of a session's edits (`edits.json`, private): read (parsed once while unchanged), written
atomically, and changed under the session's editor lock, brought up to the machine transcript first."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from pydantic import TypeAdapter

from livecastpipe import workspace
from livecastpipe.editor.editor_files import locked_update
from livecastpipe.editor.edits.layout import start_edits
from livecastpipe.editor.edits.model import EditError, SessionEdits, shown
from livecastpipe.editor.edits.rerun import reconcile
from livecastpipe.models import Transcript, from_json
from livecastpipe.package import outputs
from livecastpipe.storage import atomic_write_bytes


def edits_path(private_session_folder: Path) -> Path:
    """Where a session's edits are kept: `edits.json` in its private folder."""
    return private_session_folder / outputs.EDITS.name()


_KNOWN: dict[Path, tuple[tuple[int, int, int], SessionEdits]] = {}
"""Edits files read or written last, by path, with the file's inode, modification time and size: a file
unchanged since is not parsed again (a save on a two-hour session stays quick)."""


@cache
def _edits_adapter() -> TypeAdapter[SessionEdits]:
    """The reader and writer of `SessionEdits` as JSON (made once, on first use)."""
    return TypeAdapter(SessionEdits)


def _file_key(path: Path) -> tuple[int, int, int]:
    """What tells a changed file from the one read: its inode, modification time and size."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _remember(path: Path, edits: SessionEdits) -> None:
    """Keep the edits as last read or written from `path` (a few files at most)."""
    if len(_KNOWN) >= 16:
        _KNOWN.clear()
    _KNOWN[path] = (_file_key(path), edits)


def read_edits(private_session_folder: Path) -> SessionEdits | None:
    """The session's edits, or None when nobody edited it; EditError for a file that cannot be read."""
    path = edits_path(private_session_folder)
    try:
        known = _KNOWN.get(path)
        if known is not None and known[0] == _file_key(path):
            return known[1]
        edits = _edits_adapter().validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EditError(f"{path}: cannot be read ({shown(str(exc), 200)})") from exc
    _remember(path, edits)
    return edits


def write_edits(private_session_folder: Path, edits: SessionEdits) -> None:
    """Write the edits atomically (a reader sees the old file or the new one, never half); compact JSON, as
    the file grows with the history and is written at every change."""
    private_session_folder.mkdir(parents=True, exist_ok=True)
    path = edits_path(private_session_folder)
    atomic_write_bytes(path, _edits_adapter().dump_json(edits) + b"\n")
    _remember(path, edits)


def current_edits(output_dir: Path, slug: str) -> SessionEdits:
    """The session's edits as the workbench shows them: stored ones brought up to the machine transcript
    (a rerun's stale marks included, not written), or version 0 when nobody edited it."""
    machine = machine_transcript(output_dir, slug)
    return edits_over_machine(slug, machine, read_edits(workspace.session_private_dir(output_dir, slug)))


def edits_over_machine(slug: str, machine: Transcript, stored: SessionEdits | None) -> SessionEdits:
    """The one rule for what an editor works on: the machine transcript where no edit. Stored edits are
    brought up to the machine transcript (a rerun's stale marks included, not written); none: version 0."""
    return start_edits(slug, machine) if stored is None else reconcile(stored, machine)


def update_edits(private_session_folder: Path, change: Callable[[SessionEdits], SessionEdits]) -> SessionEdits:
    """Apply `change` to the stored edits under the session's editor lock (two tabs, two processes; see
    `editor_files`) and store the result.

    Edits not stored yet start from the machine transcript; stored ones are first brought up to it (a
    rerun), so a change based on the version before the rerun is a conflict. Nothing is written when
    `change` raises.
    """
    return locked_update(
        edits_path(private_session_folder),
        lambda _: current_edits(workspace.output_of_session(private_session_folder), private_session_folder.name),
        change,
        lambda _, changed: write_edits(private_session_folder, changed),
    )


_READ: dict[Path, tuple[tuple[int, int, int], Transcript]] = {}
"""The machine transcript read last, by path, with the file's inode, modification time and size."""


def machine_transcript(output_dir: Path, slug: str) -> Transcript:
    """The pipeline's own transcript of the session, always kept privately (the public transcript.json
    of packages published before it was kept)."""
    for entry in (outputs.MACHINE_TRANSCRIPT, outputs.TRANSCRIPT_JSON):
        path = workspace.session_dir_for(output_dir, slug, entry) / entry.name()
        try:
            stat = path.stat()
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            cached = _READ.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            transcript = from_json(Transcript, path.read_text(encoding="utf-8"))
            if len(_READ) >= 4:
                _READ.clear()
            _READ[path] = (key, transcript)
            return transcript
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise EditError(f"{path}: cannot be read ({shown(str(exc), 200)})") from exc
    raise EditError(f"session '{shown(slug)}' has no transcript in {output_dir}")
