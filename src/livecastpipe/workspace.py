"""Where every file of an output folder lives: the public site a web server may serve, and the private
workspace beside it (caches, the voice library, editors' files, stored stage data).

    output/site/                  the web root: catalogue, feed, search index, assets
    output/site/<slug>/           a session's public files (page, media, tracks, downloads, manifest)
    output/private/cache/         decoded audio, media made ahead, cached stage results
    output/private/voices.json    the voice library
    output/private/sessions/<slug>/  a session's private files (review.json, speakers.yaml, package.json, …)

A file's side follows its `visibility` in the output registry (`outputs.py`); these are the only path
rules. `migrate_workspace` moves an output folder of the older flat layout into this one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from livecastpipe.package import outputs

SITE = "site"
PRIVATE = "private"
SESSIONS = "sessions"
CACHE = "cache"

STAGING_PATTERNS = (".*.publish-*", ".pagefind-*", ".feeds-*", ".media-*", "*.partial", ".*.tmp", ".*.tmp-*")
"""The temporary folders and files runs make while writing (publish, search index, programme feeds,
media made ahead, atomic writes, the feeds' cover): removed when the run that made them died."""
LOCK_FILE = ".run.lock"
UNPUBLISHED_MARK = ".unpublished"
"""In a session's private folder from its first publish's private swap until its public swap: a folder
still marked when no run lives is a half-made session, removed by the next run (`remove_leftovers`)."""


def site_dir(output: Path) -> Path:
    """The public web root: the only folder a web server should serve."""
    return output / SITE


def private_dir(output: Path) -> Path:
    """The private workspace: never served."""
    return output / PRIVATE


def staging_dir(output: Path) -> Path:
    """Where packages are assembled before being swapped in: private, on the same file system as the site."""
    return private_dir(output)


def session_site_dir(output: Path, slug: str) -> Path:
    """A session's public folder (its replay package)."""
    return site_dir(output) / slug


def session_private_dir(output: Path, slug: str) -> Path:
    """A session's private folder (editors' files, stored stage data, reports)."""
    return private_dir(output) / SESSIONS / slug


def output_of_session(private_session_folder: Path) -> Path:
    """The output folder a session's private folder belongs to (the inverse of `session_private_dir`);
    ValueError for a folder elsewhere."""
    output = private_session_folder.parents[2] if len(private_session_folder.parents) > 2 else None
    if output is None or session_private_dir(output, private_session_folder.name) != private_session_folder:
        raise ValueError(
            f"{private_session_folder}: not a session's private folder (<output>/{PRIVATE}/{SESSIONS}/<slug>)"
        )
    return output


def default_cache_dir(output: Path) -> Path:
    """The cache folder when the settings name none."""
    return private_dir(output) / CACHE


def site_file(output: Path, entry: outputs.OutputFile) -> Path:
    """Where a site-wide registered file lives (public ones in the site, private ones in the workspace)."""
    if entry.scope != "site":
        raise ValueError(f"{entry.key}: not a site-wide file")
    return (site_dir(output) if entry.visibility == "public" else private_dir(output)) / entry.name()


def session_dir_for(output: Path, slug: str, entry: outputs.OutputFile) -> Path:
    """The folder of a session where a registered session file belongs, by its visibility."""
    if entry.scope != "session":
        raise ValueError(f"{entry.key}: not a session file")
    return session_site_dir(output, slug) if entry.visibility == "public" else session_private_dir(output, slug)


def is_unpublished(private_folder: Path) -> bool:
    """True for a session's private folder whose first publish has not finished (see UNPUBLISHED_MARK)."""
    return (private_folder / UNPUBLISHED_MARK).is_file()


def _remove_half_made_sessions(output: Path) -> list[Path]:
    """Remove the private folders of sessions whose first publish died before the public swap; a folder
    whose public side made it only loses its mark."""
    removed: list[Path] = []
    for mark in sorted((private_dir(output) / SESSIONS).glob(f"*/{UNPUBLISHED_MARK}")):
        folder = mark.parent
        if (session_site_dir(output, folder.name) / outputs.MANIFEST.name()).is_file():
            mark.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _move_missing(source: Path, target: Path) -> bool:
    """Move source to target unless target exists (nothing is overwritten); True when moved."""
    if target.exists() or target.is_symlink():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return True


def _is_old_session_folder(folder: Path) -> bool:
    return folder.is_dir() and any(
        (folder / entry.name()).is_file() for entry in (outputs.MANIFEST, outputs.REVIEW, outputs.SPEAKERS)
    )


def migrate_workspace(output: Path) -> list[str]:
    """Move an output folder of the flat layout (sessions, `.cache`, `voices.json` and the catalogue all in
    `output/`) into the site/private layout; return what was moved, for the log.

    Each session file goes to the side its registry entry says; a file the registry does not know stays
    private. Nothing is overwritten: a file whose new place is taken stays where it was. Staging
    folders of the old layout (left by runs that died) are removed.
    """
    if not output.is_dir():
        return []
    moved: list[str] = []
    for folder in sorted(p for p in output.iterdir() if p.name not in (SITE, PRIVATE)):
        if folder.name.startswith(".") and folder.is_dir() and any(folder.match(p) for p in STAGING_PATTERNS):
            shutil.rmtree(folder, ignore_errors=True)
            moved.append(f"removed {folder.name}")
            continue
        if folder.name.startswith(".") or folder.is_symlink() or not _is_old_session_folder(folder):
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            relative = str(path.relative_to(folder))
            found = outputs.session_file(relative)
            public = found is not None and found[0].visibility == "public"
            side = session_site_dir if public else session_private_dir
            _move_missing(path, side(output, folder.name) / relative)
        moved.append(f"session {folder.name}")
        _remove_empty(folder)
    for old, new in (
        (output / ".cache", default_cache_dir(output)),
        (output / outputs.VOICE_LIBRARY.name(), site_file(output, outputs.VOICE_LIBRARY)),
        *(
            (output / entry.name().split("/")[0], site_dir(output) / entry.name().split("/")[0])
            for entry in outputs.OUTPUTS
            if entry.scope == "site" and entry.visibility == "public"
        ),
    ):
        if (old.exists() and not old.is_symlink()) and _move_missing(old, new):
            moved.append(old.name)
    return moved


def remove_leftovers(output: Path, cache_dir: Path | None = None) -> list[Path]:
    """Remove the staging folders and temporary files of runs that died (STAGING_PATTERNS only, under the
    private workspace, the site and the cache) and the sessions their first publish left half-made; return
    what was removed. Call it only while holding the run lock alone (`run_lock`)."""
    removed = _remove_half_made_sessions(output)
    roots = [private_dir(output), site_dir(output)] + ([cache_dir] if cache_dir is not None else [])
    for root in roots:
        if not root.is_dir():
            continue
        found = {p for pattern in STAGING_PATTERNS for p in root.rglob(pattern)}
        for path in sorted(found, key=lambda p: len(p.parts)):
            if any(parent in removed for parent in path.parents) or path.name == LOCK_FILE:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def run_lock(output: Path, cache_dir: Path | None = None) -> Iterator[list[Path]]:
    """Hold the output folder's run lock (shared with the other live runs) for a run or a publish; the
    first to take it while no other run lives removes the leftovers of dead ones and yields them.

    A live run holds the lock file shared (`flock`), so a run starting beside it never takes the lock
    alone and removes nothing; the kernel releases a dead run's hold, even after `kill -9`.
    """
    private_dir(output).mkdir(parents=True, exist_ok=True)
    with open(private_dir(output) / LOCK_FILE, "a+b") as handle:
        removed: list[Path] = []
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another run lives: its staging folders are not leftovers
        else:
            removed = remove_leftovers(output, cache_dir)
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield removed
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_empty(folder: Path) -> None:
    """Remove folder and its empty subfolders when nothing is left in them."""
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
