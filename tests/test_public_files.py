"""Public files say nothing about the machine that made them: no absolute path, host name or internal
endpoint in `session.json`, the transcripts, pages, feeds or search index; the private workspace keeps
what a rerun needs (where the recording lies, the full settings)."""

from __future__ import annotations

import gzip
import json
import re
import socket
from dataclasses import replace
from pathlib import Path

from livecastpipe import workspace
from livecastpipe.models import Recording
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.publish import publish_session
from livecastpipe.settings import Settings, SummariesSettings, TranscribeSettings

from .publish_fixtures import SETTINGS, accessible_package

ENDPOINT = "http://127.0.0.1:8080/v1"
LOCAL_ENDPOINTS = ("127.0.0.1", "localhost", "[::1]")
MEDIA_SUFFIXES = (".mp4", ".m4a", ".jpg", ".png", ".wasm")
"""Binary files: searched for paths and endpoints, not for a (possibly two-letter) host name."""
PAGEFIND_PROGRAM = re.compile(r"pagefind[\w-]*\.(js|css)$|^wasm\.")
"""Pagefind's own scripts, the same on every machine (from its wheel): minified names may spell anything."""


def _readable(path: Path) -> bytes:
    """A public file's content as a reader of it gets it: Pagefind's index fragments are gzipped."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _machine_words(content: bytes, path: Path, output: Path, media: Path, host: str) -> list[str]:
    """What in a public file names this machine: its folders, its host name, a local endpoint."""
    found = [str(folder) for folder in (output.resolve(), media.resolve()) if str(folder).encode() in content]
    found += [endpoint for endpoint in LOCAL_ENDPOINTS if endpoint.encode() in content]
    if path.suffix not in MEDIA_SUFFIXES and not PAGEFIND_PROGRAM.search(path.name):
        text = content.decode("utf-8", "replace")
        if re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text, re.IGNORECASE):
            found.append(host)
    return found


def test_no_public_file_names_the_machine(tmp_path: Path, accessible_recording: Recording) -> None:
    """A session made with a local model folder, a chat endpoint on 127.0.0.1 and a Dask scheduler named by
    this host, published with the catalogue: every public file is searched for the output folder's and
    the media folder's absolute paths, the host name and local endpoints."""
    output = tmp_path / "uitvoer"
    host = socket.gethostname()
    model_folder = tmp_path / "modellen" / "whisper-large-v3-ct2"
    settings = Settings(
        output_dir=output,
        dask_address=f"tcp://{host}:8786",
        transcribe=TranscribeSettings(model=str(model_folder)),
        summaries=SummariesSettings(backend="generative", generative_url=ENDPOINT, generative_model="lokaal-model"),
    )
    package = accessible_package(accessible_recording)
    package = replace(
        package,
        transcript=replace(package.transcript, model=str(model_folder), settings=settings.transcribe.model_dump()),
        provenance={"settings": settings.model_dump(mode="json")},  # as the flow's publish stage adds them
    )
    folder = publish_session(package, output, SETTINGS)
    publish_catalogue(output, SETTINGS)

    media = Path(accessible_recording.source).parent
    public = [p for p in workspace.site_dir(output).rglob("*") if p.is_file()]
    assert len(public) > 30 and any(p.suffix == ".pf_fragment" for p in public)
    leaks = {
        str(p.relative_to(output)): words
        for p in public
        if (words := _machine_words(_readable(p), p, output, media, host))
    }
    assert leaks == {}

    manifest = json.loads((folder / "session.json").read_text())
    recording = manifest["recording"]
    assert recording["file"] == "interview.mp4" and recording["sha256"] == accessible_recording.sha256
    assert recording["metadata"]["sign_language_video"] == "interview-ngt.mp4"
    provenance = manifest["provenance"]
    assert provenance["transcribe"]["model"] == "whisper-large-v3-ct2"
    assert provenance["settings"]["summaries"]["backend"] == "generative"  # that a generative model wrote it
    assert provenance["settings"]["transcribe"]["model"] == "whisper-large-v3-ct2"
    stored = workspace.session_private_dir(output, folder.name) / "package.json"
    private = json.loads(stored.read_text())  # what a rerun needs stays, privately
    assert private["recording"]["source"] == accessible_recording.source
    assert private["provenance"]["settings"]["summaries"]["generative_url"] == ENDPOINT

    from livecastpipe.package.store import published_recordings

    (published,) = published_recordings(output)  # a rerun still knows which file each session was made from
    assert (published.slug, published.source) == (folder.name, accessible_recording.source)
