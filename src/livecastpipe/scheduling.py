"""Plan a run over many recordings: which sessions may run at the same time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from livecastpipe import workspace
from livecastpipe.models import is_url, title_slug, url_file_name
from livecastpipe.package import store
from livecastpipe.package.package_format import PublishError
from livecastpipe.stages.ingest import IngestError, find_recordings, read_metadata, sidecar_file
from livecastpipe.storage import sha256_file


def output_name(source: str) -> str:
    """The session name a recording's title (or file name, or its URL's) gives it, known before its content
    is hashed."""
    if is_url(source):
        return title_slug(Path(url_file_name(source)).stem)
    try:
        metadata = read_metadata(Path(source))
    except IngestError:
        return f"unreadable metadata: {source}"  # fails alone, with its own error, in ingest
    return title_slug(metadata.title or Path(source).stem)


def _size(source: str) -> int | str:
    """The file's size in bytes (the source itself when it cannot be read: a group of its own)."""
    try:
        return Path(source).stat().st_size
    except OSError:
        return source


def _sha256(source: str) -> str:
    """The file's SHA-256 (the source itself when it cannot be read: ingest says why)."""
    try:
        return sha256_file(Path(source))
    except OSError:
        return source


def same_content(first: str, second: str) -> bool:
    """Whether two files hold the same recording (same size, then same SHA-256)."""
    return _size(first) == _size(second) and _sha256(first) == _sha256(second)


def output_name_groups(sources: Sequence[str]) -> list[list[str]]:
    """Group the recordings that could make the same session, keeping their order: those of one output
    name (their title's), and those of one content (one recording under two names; only files of one
    size are hashed here).

    Groups may run at the same time; the recordings of one group run one after another, so a later
    recording sees what the earlier one published (its folder, its content's session).
    """
    sizes = Counter(_size(source) for source in sources)
    groups: list[tuple[set[str], list[str]]] = []
    for source in sources:
        keys = {f"name {output_name(source)}"}
        if sizes[_size(source)] > 1:
            keys.add(f"content {_sha256(source)}")
        joined = [group for group in groups if group[0] & keys]
        merged = (keys.union(*(group[0] for group in joined)), [s for group in joined for s in group[1]] + [source])
        groups = [group for group in groups if group not in joined] + [merged]
    return sorted((sorted(group, key=sources.index) for _, group in groups), key=lambda group: sources.index(group[0]))


def published_unchanged(paths: Sequence[Path], output_dir: Path) -> bool:
    """Whether every recording under `paths` is published from the same file, of the same size, and
    neither it nor its metadata file changed since its manifest was written (no hashing: a guess, used
    only to skip loading the models ahead)."""
    try:
        recordings = find_recordings(paths)
    except IngestError:
        return False
    sessions = {
        Path(p.source).resolve(): workspace.session_site_dir(output_dir, p.slug)
        for p in store.published_recordings(output_dir)
    }
    for recording in recordings:
        if (folder := sessions.get(recording.resolve())) is None:
            return False
        try:
            written = store.manifest_path(folder).stat().st_mtime_ns
            size = store.read_manifest(folder).recording["media"]["size_bytes"]
            inputs = [recording, *filter(None, [sidecar_file(recording)])]
            if size != recording.stat().st_size or any(path.stat().st_mtime_ns > written for path in inputs):
                return False
        except (OSError, PublishError, KeyError, TypeError):
            return False
    return bool(recordings)
