"""The store of published sessions: reading, writing, locking and swapping a session's files.

A published session is its public folder (`site/<slug>/`, with the `session.json` manifest) and its private
one (`private/sessions/<slug>/`: `package.json`, the machine transcript, the editors' files). Here are
the typed readers and writers of `session.json` (`SessionManifest`) and `package.json` (`PackageData`),
the one listing of published sessions (`published_sessions`, `published_recordings`), where a new
recording goes among them (`place_recording`), and the swap that puts a new package in.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from livecastpipe import workspace
from livecastpipe.editor.editor_files import session_editor_lock
from livecastpipe.models import (
    Chapter,
    Recording,
    SpeakerInfo,
    Transcript,
    from_json,
    from_jsonable,
    is_url,
    title_slug,
    to_jsonable,
)
from livecastpipe.package import outputs
from livecastpipe.package.package_format import PublishError
from livecastpipe.storage import atomic_write_text, exchange_directories, sha256_file

EDITOR_FILES = tuple(o.name() for o in outputs.EDITOR_FILES)
"""Files editors write into a session folder: inputs of the pipeline, carried over by every publish."""


PUBLISHED_BY_PUBLISH = frozenset(o.name().split("/")[0] for o in outputs.session_outputs() if o.stage == "publish")
"""What publishing writes itself: a stage's file may not take one of these names."""


@dataclass(frozen=True)
class SessionPackage:
    """Everything a session's package is rendered from; stages not run yet are simply absent."""

    recording: Recording
    transcript: Transcript
    speakers: tuple[SpeakerInfo, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    stage_files: dict[str, str] = field(default_factory=dict)
    """Files returned by stages (subtitles, chapters, …), written into the package as they are."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """Per stage: the model, settings and library versions that made its output."""

    @property
    def language(self) -> str:
        """The language of the captions and files (`captions.nl.vtt`)."""
        return self.transcript.language


@dataclass(frozen=True)
class PackageData:
    """A session's stored stage data (`package.json`): the package but its transcript, kept beside it."""

    recording: Recording
    speakers: tuple[SpeakerInfo, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    stage_files: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ManifestFile:
    """One public file of a package as its manifest lists it."""

    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class CaptionsState:
    """Whether an editor approved the captions the package was published with."""

    reviewed: bool = False


@dataclass(frozen=True)
class SessionManifest:
    """What a session's public `session.json` holds, in the order it is written (packages published
    before a field was added lack it: its default)."""

    recording: dict[str, Any]
    """The recording by file name and SHA-256 (`publish.public_recording`)."""
    captions: CaptionsState = CaptionsState()
    livecastpipe: str = ""
    published: str = ""
    """When, ISO 8601 in UTC."""
    catalogue: dict[str, Any] = field(default_factory=dict)
    """What the catalogue and the feed show of the session (`render.catalogue_entry`)."""
    media: dict[str, Any] = field(default_factory=dict)
    """The package's `media.MediaFiles`."""
    files: tuple[ManifestFile, ...] = ()
    editor_files: dict[str, str] = field(default_factory=dict)
    """The editors' files published with, name → SHA-256."""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        """The title the session is published under (its catalogue entry's)."""
        title = self.catalogue.get("title")
        return str(title) if title else None


def manifest_path(site_folder: Path) -> Path:
    """The manifest of a session's public folder."""
    return site_folder / outputs.MANIFEST.name()


def read_manifest(site_folder: Path) -> SessionManifest:
    """The manifest of a session's public folder; PublishError naming the file when it is missing or
    cannot be read."""
    path = manifest_path(site_folder)
    try:
        return from_jsonable(SessionManifest, json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise PublishError(path, f"cannot read manifest: {exc}") from exc


def write_manifest(site_folder: Path, manifest: SessionManifest) -> None:
    """Write the manifest atomically, indented, UTF-8 as it is."""
    text = json.dumps(to_jsonable(manifest), ensure_ascii=False, indent=2) + "\n"
    atomic_write_text(manifest_path(site_folder), text)


def is_published(output_dir: Path, slug: str) -> bool:
    """Whether the session has a public folder with a manifest."""
    return manifest_path(workspace.session_site_dir(output_dir, slug)).is_file()


def swap_in(staged: Path, target: Path, editor_snapshot: Mapping[str, str] | None = None) -> None:
    """Make staged the new target folder atomically and drop the old one.

    An editor's file that changed in the old folder since `editor_snapshot` (name → SHA-256 when the
    publish began) was written meanwhile, and is moved into the new folder so no edit is lost.
    """
    if not target.exists():
        staged.rename(target)
        return
    if exchange_directories(staged, target):
        old = staged
    else:  # no atomic exchange here: two renames, a moment without the folder
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        staged.rename(target)
    for name in EDITOR_FILES if editor_snapshot is not None else ():
        edited = old / name
        if edited.is_file() and sha256_file(edited) != (editor_snapshot or {}).get(name):
            os.replace(edited, target / name)
    shutil.rmtree(old)


def package_data_json(package: SessionPackage) -> str:
    """The stored stage data (all but the transcript, kept in transcript.json) for re-rendering."""
    data = to_jsonable(package)
    data.pop("transcript")
    left_out = {*EDITOR_FILES, outputs.CUE_SEARCH.name()}  # the cue search is kept in its own file
    data["stage_files"] = {k: v for k, v in data["stage_files"].items() if k not in left_out}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def machine_transcript_path(output_dir: Path, slug: str) -> Path:
    """Where the pipeline's transcript of a session is kept: privately, or for packages published before
    it was, the public transcript.json (then still the machine's)."""
    private = (
        workspace.session_dir_for(output_dir, slug, outputs.MACHINE_TRANSCRIPT) / outputs.MACHINE_TRANSCRIPT.name()
    )
    if private.is_file():
        return private
    return workspace.session_dir_for(output_dir, slug, outputs.TRANSCRIPT_JSON) / outputs.TRANSCRIPT_JSON.name()


def load_session_package(output_dir: Path, slug: str) -> SessionPackage:
    """Read back what a published package was made from (the machine's transcript, not the edited one),
    so it can be re-rendered without the models."""
    folder = workspace.session_site_dir(output_dir, slug)
    stored = read_package_data(output_dir, slug)
    if stored is None:
        raise PublishError(folder, f"not a published session (missing {outputs.PACKAGE_DATA.name()})")
    try:
        transcript = from_json(Transcript, machine_transcript_path(output_dir, slug).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PublishError(folder, f"not a published session (missing {Path(exc.filename).name})") from exc
    except ValueError as exc:
        raise PublishError(folder, f"stored session data cannot be read: {exc}") from exc
    return SessionPackage(
        stored.recording, transcript, stored.speakers, stored.chapters, stored.stage_files, stored.provenance
    )


def package_data_path(output_dir: Path, slug: str) -> Path:
    """Where a session's stored stage data (`package.json`) is kept: privately."""
    return workspace.session_dir_for(output_dir, slug, outputs.PACKAGE_DATA) / outputs.PACKAGE_DATA.name()


def read_package_data(output_dir: Path, slug: str) -> PackageData | None:
    """The session's stored stage data, or None for a package published before it was kept; PublishError
    naming the session's folder when it cannot be read."""
    path = package_data_path(output_dir, slug)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        # Packages published before the chapter tracks were publishing's alone held them as stage files.
        stage_files = data.get("stage_files", {})
        data["stage_files"] = {k: v for k, v in stage_files.items() if k not in PUBLISHED_BY_PUBLISH}
        return from_jsonable(PackageData, data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise PublishError(path, f"stored session data cannot be read: {exc}") from exc


def last_cue_search(private_folder: Path) -> str | None:
    """The cue searches of the last publish (where to start the next search from), if kept."""
    try:
        return (private_folder / outputs.CUE_SEARCH.name()).read_text(encoding="utf-8")
    except OSError:
        return None


def carry_editor_files(package: SessionPackage, site: Path, target: Path, staged: Path) -> dict[str, str]:
    """Copy the editors' files into the staged package; return their SHA-256 as found (the snapshot).

    A stage's version of an editor's file (the speakers stage's merged `speakers.yaml`) is written only
    when the folder has none, or when nobody edited it since the last publish.
    """
    try:
        last = read_manifest(site).editor_files
    except PublishError:
        last = {}
    snapshot: dict[str, str] = {}
    for name in EDITOR_FILES:
        if (target / name).is_file():
            shutil.copy2(target / name, staged / name)
            snapshot[name] = sha256_file(staged / name)
        if name in package.stage_files and snapshot.get(name) in (None, last.get(name)):
            (staged / name).write_text(package.stage_files[name], encoding="utf-8")
    return snapshot


def published_sessions(output_dir: Path) -> list[Path]:
    """The public folders of the site's published sessions (those with a manifest), by name; hidden
    folders (a publish's staging) skipped. The one listing of published sessions."""
    site = workspace.site_dir(output_dir)
    if not site.is_dir():
        return []
    return sorted(p for p in site.iterdir() if p.is_dir() and not p.name.startswith(".") and manifest_path(p).is_file())


def session_slugs(output_dir: Path) -> list[str]:
    """Slugs of the sessions that have a public folder (with a manifest) or a private folder (not one a
    first publish left half-made), sorted."""
    names = {p.name for p in published_sessions(output_dir)}
    sessions = workspace.private_dir(output_dir) / workspace.SESSIONS
    if sessions.is_dir():
        names.update(
            p.name
            for p in sessions.iterdir()
            if p.is_dir() and not p.name.startswith(".") and not workspace.is_unpublished(p)
        )
    return sorted(names)


def swap_in_session(
    staged: Path, staged_private: Path, output_dir: Path, slug: str, snapshot: Mapping[str, str]
) -> None:
    """Swap a staged package in: the private side first (it holds what the public side is re-rendered
    from), under the editors' lock so no editor's write lands between `swap_in`'s check and the swap; a
    session published the first time is marked half-made (`workspace.UNPUBLISHED_MARK`) until its public
    side is in too, and gets no lock file before its folder exists."""
    target = workspace.session_site_dir(output_dir, slug)
    private_target = workspace.session_private_dir(output_dir, slug)
    first = not private_target.exists()
    if first:
        (staged_private / workspace.UNPUBLISHED_MARK).touch()
    private_target.parent.mkdir(parents=True, exist_ok=True)
    with session_editor_lock(private_target) if not first else nullcontext():
        swap_in(staged_private, private_target, snapshot)
    target.parent.mkdir(parents=True, exist_ok=True)
    swap_in(staged, target)
    if first:
        (private_target / workspace.UNPUBLISHED_MARK).unlink()


# --- the recordings published sessions were made from ---------------------------------------------


@dataclass(frozen=True)
class PublishedRecording:
    """The recording a published session was made from, as its manifest records it."""

    slug: str
    source: str
    sha256: str
    title: str
    """The title it is published under (its catalogue entry's)."""

    def refusal(self, recording: Recording) -> str:
        """Why `recording` is not processed without --replace (one line, naming both files)."""
        if Path(self.source).resolve() == Path(recording.source).resolve():
            what = f"not the recording published as session '{self.slug}' under this file name"
        else:
            what = f"another recording than {self.source}, published as session '{self.slug}' under the same name"
        other = "another title in its sidecar" if recording.metadata.title else "another file name"
        return (
            f"{what} (SHA-256 {self.sha256[:12]}…, now {recording.sha256[:12]}…): run with --replace to replace it "
            f"in that session (its editors' work kept, their approvals marked stale), or give this one {other} to "
            "add a new session"
        )

    def note(self) -> str:
        """The line saying this recording replaces the session's (run with --replace)."""
        return (
            f"replaces the recording of session '{self.slug}' ({self.source}, SHA-256 {self.sha256[:12]}…); "
            "approvals made before are stale"
        )

    def update_note(self, recording: Recording) -> str:
        """The line saying this session is updated from the same recording under a new title or file name."""
        same = f"the recording of session '{self.slug}' (same SHA-256 {self.sha256[:12]}…)"
        kept = f"at its address {self.slug}/, its editors' work kept"
        if recording.title != self.title:
            return f"{same}: session updated under its new title '{recording.title}' (was '{self.title}'), {kept}"
        return f"{same}, published from {self.source}: session updated from this file, {kept}"


def published_recordings(output_dir: Path) -> list[PublishedRecording]:
    """The recording of every published session (those whose manifest and stored data can be read): its
    path from the session's private stored data, as the public manifest names only the file."""
    found = []
    for folder in published_sessions(output_dir):
        try:
            manifest = read_manifest(folder)
            stored = read_package_data(output_dir, folder.name)
            sha256 = manifest.recording["sha256"]
        except (PublishError, KeyError):
            continue
        if stored is not None:
            title = manifest.title or folder.name
            found.append(PublishedRecording(folder.name, stored.recording.source, str(sha256), title))
    return found


def renamed_session(published: Sequence[PublishedRecording], recording: Recording) -> PublishedRecording | None:
    """The published session of this same recording (its folder, by content: see `session_slug`) when the
    recording now has another title or file name: the run updates that session in place."""
    for session in published:
        if session.slug == recording.slug and session.sha256 == recording.sha256:
            moved = Path(session.source).resolve() != Path(recording.source).resolve()
            return session if moved or session.title != recording.title else None
    return None


def other_copies(published: Sequence[PublishedRecording], recording: Recording) -> list[PublishedRecording]:
    """Other published sessions of this same recording: copies an earlier version made when its title or
    file name changed (one recording is one session now)."""
    return [p for p in published if p.sha256 == recording.sha256 and p.slug != recording.slug]


def copies_note(recording: Recording, copies: Sequence[PublishedRecording]) -> str:
    """The line asking the archivist to keep one session of a recording published more than once."""
    named = ", ".join(f"'{copy.slug}' ({copy.title})" for copy in copies)
    return (
        f"the same recording is also published as session {named}, a copy made before under another title or "
        f"file name: this run updates session '{recording.slug}'; keep one, removing the other's folders under "
        "site/ and private/sessions/"
    )


def replaced_session(published: Sequence[PublishedRecording], recording: Recording) -> PublishedRecording | None:
    """The published session this recording, with other content, would replace, if any: one made from the
    same file, or one under the same name (its folder's, or its title's slug) from another file. A
    replaced recording is the archivist's call. A recording already published replaces none."""
    if any(p.slug == recording.slug and p.sha256 == recording.sha256 for p in published):
        return None
    here = Path(recording.source).resolve()
    stem = Path(recording.file_name).stem if is_url(recording.source) else here.stem
    name = title_slug(recording.metadata.title or stem)
    for session in published:
        same_name = name in (session.slug, title_slug(session.title))
        if session.sha256 != recording.sha256 and (Path(session.source).resolve() == here or same_name):
            return session
    return None


def existing_slugs(output_dir: Path) -> dict[str, str]:
    """Slugs already used in the output folder, mapped to the recording hash that owns each."""
    return {p.slug: p.sha256 for p in published_recordings(output_dir)}


@dataclass(frozen=True)
class Placement:
    """Where a recording goes among the published sessions: its own session (updated under a new title or
    file name), one it replaces, or nowhere (`refusal`)."""

    recording: Recording
    """With the replaced session's slug when it replaces one."""
    update: str | None = None
    """The line saying the session is updated from the same recording under a new title or file name."""
    replacement: str | None = None
    """The line saying the recording replaces a session's (allowed)."""
    copies: str | None = None
    """The line asking to keep one of several sessions of this recording."""
    refusal: str | None = None
    """Why the recording is not processed: it would replace a session's recording, not allowed."""

    @property
    def notes(self) -> tuple[str, ...]:
        """The lines the session's result carries."""
        return tuple(line for line in (self.update, self.replacement, self.copies) if line)


def place_recording(output_dir: Path, recording: Recording, replace_allowed: bool) -> Placement:
    """Place an ingested recording among the published sessions of the output folder (see
    `renamed_session`, `replaced_session`, `other_copies`); a replacement needs `replace_allowed`."""
    published = published_recordings(output_dir)
    placement = Placement(recording)
    if (renamed := renamed_session(published, recording)) is not None:
        placement = Placement(recording, update=renamed.update_note(recording))
    elif (replaced := replaced_session(published, recording)) is not None:
        if not replace_allowed:
            return Placement(recording, refusal=replaced.refusal(recording))
        placement = Placement(replace(recording, slug=replaced.slug), replacement=replaced.note())
    if copies := other_copies(published, placement.recording):
        placement = replace(placement, copies=copies_note(placement.recording, copies))
    return placement
