"""Publish: assemble a session's self-contained replay package and swap it in atomically.

The package (`output/site/<slug>/`) holds the accessible page, web-playable media, caption and chapter
tracks, downloads, metadata and a `session.json` manifest with every public file's SHA-256 and
provenance; its private side (editors' files, stored stage data, reports) goes to the workspace (see
`workspace.py`). Both are rendered into temporary folders and exchanged with the old ones in one
rename each, so a viewer never sees half a package and a failed run leaves the old one untouched.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

from livecastpipe import workspace
from livecastpipe.editor.edits.edits_file import edits_over_machine, write_edits
from livecastpipe.models import (
    NO_DIARIZATION,
    Recording,
    is_url,
    public_url,
    to_jsonable,
)
from livecastpipe.package import outputs
from livecastpipe.package.editorial import (
    edited_package,
    editor_inputs,
    file_visibility,
    subtitle_settings_of,
)
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.provenance import (
    ffmpeg_version,
    model_weights,
    public_model_name,
    public_settings,
    public_transcribe_settings,
    tool_versions,
)
from livecastpipe.package.render import (
    EditorialContent,
    catalogue_entry,
    oembed_json,
    render_embed_page,
    render_session_page,
)
from livecastpipe.package.store import (
    EDITOR_FILES,
    CaptionsState,
    ManifestFile,
    SessionManifest,
    SessionPackage,
    carry_editor_files,
    last_cue_search,
    load_session_package,
    swap_in_session,
    write_manifest,
)
from livecastpipe.settings import PublishSettings
from livecastpipe.stages.ingest import sidecar_file
from livecastpipe.stages.media import MediaFiles, image_size, make_episode_artwork, prepare_media
from livecastpipe.storage import atomic_write_bytes, sha256_file


def _check_registered(staged: Path, package: SessionPackage, visibility: outputs.Visibility) -> None:
    """Refuse a package holding a file the output registry does not know (every format is registered), or
    one on the wrong side (a private file in the public folder)."""
    wrong = [
        path
        for p in sorted(staged.rglob("*"))
        if p.is_file()
        and (
            (found := outputs.session_file(path := str(p.relative_to(staged)))) is None
            or found[0].visibility != visibility
        )
    ]
    if wrong:
        raise PublishError(package.recording.slug, f"files not registered as {visibility}: {', '.join(wrong)}")


def write_static_assets(folder: Path, assets: Sequence[outputs.OutputFile]) -> None:
    """Copy the shipped scripts and styles the registry names (`assets/player.js`) into `folder`."""
    static = resources.files("livecastpipe") / "static"
    for asset in assets:
        atomic_write_bytes(folder / asset.name(), (static / Path(asset.name()).name).read_bytes())


def copy_accessibility_files(package: SessionPackage, staged: Path, previous: Path) -> None:
    """Copy the sign-language video and the audio descriptions the session's metadata names into the
    package (from the previous package when the source has gone since)."""
    meta = package.recording.metadata
    named = (
        (meta.sign_language_video, outputs.SIGN_LANGUAGE_VIDEO.name()),
        (meta.descriptions, outputs.DESCRIPTIONS_VTT.name()),
    )
    for source, name in named:
        if not source:
            continue
        found = Path(source) if Path(source).is_file() else previous / name
        if not found.is_file():
            raise PublishError(Path(source), "named in the session's metadata, but not found")
        shutil.copyfile(found, staged / name)


def diarized(package: SessionPackage) -> bool:
    """Whether a diarization made the package's speakers (packages from before this was recorded: yes)."""
    return package.provenance.get("diarization", {}).get("engine") != NO_DIARIZATION


def publish_versions() -> dict[str, str]:
    """Versions of the libraries and tools publishing itself uses."""
    return {"livecastpipe": version("livecastpipe"), "jinja2": version("jinja2"), "ffmpeg": ffmpeg_version()}


def with_sidecar_hash(package: SessionPackage) -> SessionPackage:
    """The package with its metadata sidecar's name and SHA-256 in its provenance, taken once, while the
    recording is beside it (kept from then on, so a re-render without the recording keeps it)."""
    if "sidecar" in package.provenance:
        return package
    named = package.recording.named_path
    sidecar = sidecar_file(named) if named is not None else None
    entry = {"file": sidecar.name, "sha256": sha256_file(sidecar)} if sidecar else None
    return replace(package, provenance={**package.provenance, "sidecar": entry})


def public_recording(recording: Recording) -> dict[str, Any]:
    """The recording as the public manifest names it: by file name and SHA-256 (and by its URL, less any
    password and query, when it was downloaded), its sign-language video and descriptions by file name,
    never where they lie on this machine (the private `package.json` keeps that)."""
    local = ("source", "audio_path", "local_file", "listed_as")
    data = {k: v for k, v in to_jsonable(recording).items() if k not in local}
    for field_name in ("sign_language_video", "descriptions"):
        if data["metadata"].get(field_name):
            data["metadata"][field_name] = Path(data["metadata"][field_name]).name
    remote = {"source": public_url(recording.source)} if is_url(recording.source) else {}
    return {"file": recording.file_name, **remote, **data}


def publish_session(
    package: SessionPackage,
    output_dir: Path,
    settings: PublishSettings,
    publish_unreviewed: bool = False,
    prepared_media: Path | None = None,
) -> Path:
    """Render a session's package into temporary folders, then swap them in atomically: its public files
    into the site (`site/<slug>/`), its private ones into the workspace (`private/sessions/<slug>/`),
    each file on the side its output registry entry says.

    The editors' files in the private folder are inputs, carried over untouched: `review.json` decides
    which generated texts are shown (`publish_unreviewed` shows drafts, labelled), `edits.json` holds the
    editor's corrections: the package's transcript is the machine's (kept privately), the published one
    the edited one (see `edited_package`; captions from edited words follow the subtitle settings stored in
    the package's provenance, the one copy a republish reads too). Edits a new machine transcript changed
    under are marked stale in `edits.json`, never dropped. Media from `prepared_media` (see `prepare_media_ahead`) are used when they
    fit. Returns the public folder.
    """
    slug = package.recording.slug
    target = workspace.session_site_dir(output_dir, slug)
    private_target = workspace.session_private_dir(output_dir, slug)
    staging = workspace.staging_dir(output_dir)
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{slug}.publish-", dir=staging))
    staged, staged_private = work / workspace.SITE, work / workspace.PRIVATE
    staged.mkdir()
    staged_private.mkdir()
    try:
        package = with_sidecar_hash(package)
        snapshot = carry_editor_files(package, target, private_target, staged_private)
        package, review, speakers_yaml, edits = editor_inputs(package, staged_private, private_target)
        if edits is not None and (reconciled := edits_over_machine(slug, package.transcript, edits)) is not edits:
            write_edits(staged_private, reconciled)  # a rerun changed the machine transcript: stale marks kept
            edits = reconciled
        inputs = edited_package(
            package,
            edits,
            speakers_yaml,
            review,
            publish_unreviewed,
            subtitle_settings_of(package),
            last_cue_search(private_target),
        )
        package, editorial = inputs.package, inputs.editorial
        media = prepare_media(package.recording, staged, target, settings, prepared_media)
        files = {name: text for name, text in inputs.files.items() if outputs.written(name, settings.formats)}
        _write_package_files(package, editorial, media, files, settings, (staged, staged_private), target)
        write_manifest(staged, session_manifest(package, editorial, media, files, settings, (staged, staged_private)))
        staged.chmod(0o755)
        staged_private.chmod(0o700)
        swap_in_session(staged, staged_private, output_dir, slug, snapshot)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _write_package_files(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    settings: PublishSettings,
    staged_sides: tuple[Path, Path],
    previous: Path,
) -> None:
    """Write the package's text files (each on its side), accessibility files, assets, pages and oEmbed
    into the staged (public, private) folders; refuse a file the output registry does not know there."""
    staged, staged_private = staged_sides
    for name, text in files.items():
        if name in EDITOR_FILES:
            continue
        (_side(package, name, staged, staged_private) / name).write_text(text, encoding="utf-8")
    copy_accessibility_files(package, staged, previous)
    write_static_assets(staged, (outputs.PLAYER_CSS, outputs.PLAYER_JS))
    sizes = {p.name: p.stat().st_size for p in staged.iterdir() if p.is_file()}
    page = staged / outputs.SESSION_PAGE.name()
    page.write_text(render_session_page(package, editorial, media, files, sizes, settings), encoding="utf-8")
    sizes[page.name] = page.stat().st_size
    embed = staged / outputs.EMBED_PAGE.name()
    embed.write_text(render_embed_page(package, editorial, media, files, sizes, settings), encoding="utf-8")
    rec = package.recording
    poster_size = image_size(staged / media.poster)
    (staged / outputs.OEMBED.name()).write_text(
        oembed_json(rec.slug, rec.title, media.poster, poster_size, settings), encoding="utf-8"
    )
    make_episode_artwork(rec, staged / media.poster, staged / outputs.EPISODE_ARTWORK.name())
    _check_registered(staged, package, "public")
    _check_registered(staged_private, package, "private")


def session_manifest(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    settings: PublishSettings,
    staged_sides: tuple[Path, Path],
) -> SessionManifest:
    """The manifest of a staged package: the public recording, every public file's SHA-256 and size, the
    editors' files it was published with, and the provenance of every stage (nothing naming the machine)."""
    staged, staged_private = staged_sides
    sizes = {p.name: p.stat().st_size for p in staged.iterdir() if p.is_file()}
    return SessionManifest(
        recording=public_recording(package.recording),
        captions=CaptionsState(reviewed=editorial.captions_reviewed),
        livecastpipe=version("livecastpipe"),
        published=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        catalogue=catalogue_entry(package, editorial, media, files, sizes),
        media=to_jsonable(media),
        files=tuple(
            ManifestFile(path=str(p.relative_to(staged)), sha256=sha256_file(p), bytes=p.stat().st_size)
            for p in sorted(staged.rglob("*"))
            if p.is_file()
        ),
        editor_files={n: sha256_file(staged_private / n) for n in EDITOR_FILES if (staged_private / n).is_file()},
        provenance={
            "transcribe": {
                "model": public_model_name(package.transcript.model),
                "settings": public_transcribe_settings(package.transcript.settings),
                "versions": package.transcript.versions,
            },
            **package.provenance,
            **(
                {"settings": public_settings(package.provenance["settings"])}
                if "settings" in package.provenance
                else {}
            ),
            "publish": {"settings": settings.model_dump(mode="json"), "versions": publish_versions()},
            "versions": tool_versions(),
            "models": model_weights(package.transcript.model, diarized(package)),
        },
    )


def _side(package: SessionPackage, name: str, public: Path, private: Path) -> Path:
    """The staged folder a session file goes to, by its visibility in the output registry."""
    visibility = file_visibility(name)
    if visibility is None:
        raise PublishError(package.recording.slug, f"file not in the output registry: {name}")
    return public if visibility == "public" else private


def republish(output_dir: Path, slug: str, settings: PublishSettings, publish_unreviewed: bool = False) -> Path:
    """Re-render one published session from its stored data (new templates, editors' changes)."""
    return publish_session(load_session_package(output_dir, slug), output_dir, settings, publish_unreviewed)
