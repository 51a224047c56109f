"""Publish: assemble a session's self-contained replay package and swap it in atomically.

The package (`output/site/<slug>/`) holds the accessible page, web-playable media, caption and chapter
tracks, downloads, metadata and a `session.json` manifest with every public file's SHA-256 and
provenance; its private side (editors' files, stored stage data, reports) goes to the workspace (see
`workspace.py`). Both are rendered into temporary folders and exchanged with the old ones in one
rename each, so a viewer never sees half a package and a failed run leaves the old one untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import math
import os
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyphen
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import TypeAdapter

from livecastpipe import workspace
from livecastpipe.editor.editor_files import session_editor_lock
from livecastpipe.editor.edits import (
    INAUDIBLE,
    EditError,
    SessionEdits,
    edited_transcript,
    read_edits,
    reconcile,
    with_chapter_starts,
    write_edits,
)
from livecastpipe.editor.review import (
    CAPTIONS_UNREVIEWED_LABEL,
    KEYWORDS_KEY,
    SESSION_SUMMARY_KEY,
    Publishable,
    ReviewError,
    SessionReview,
    SpeakerNames,
    captions_reviewed,
    chapter_summary_key,
    chapter_title_key,
    publishable_text,
    read_review,
    session_speaker_names,
)
from livecastpipe.models import (
    NO_DIARIZATION,
    Chapter,
    Recording,
    SpeakerInfo,
    Transcript,
    from_jsonable,
    to_json,
    to_jsonable,
)
from livecastpipe.package import outputs
from livecastpipe.package.escaping import json_in_html, markup_text
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.provenance import (
    ffmpeg_version,
    model_weights,
    public_model_name,
    public_settings,
    public_transcribe_settings,
    tool_versions,
)
from livecastpipe.package.transcript_formats import podcast_transcript_json, whisper_tsv, whisperx_json
from livecastpipe.package.urls import site_url
from livecastpipe.settings import PublishSettings, SubtitleSettings
from livecastpipe.stages.chapters import chapters_json, chapters_vtt, youtube_chapters
from livecastpipe.stages.dutch import language_name
from livecastpipe.stages.ingest import sidecar_file
from livecastpipe.stages.media import MediaFiles, prepare_media
from livecastpipe.stages.speakers import read_speakers_yaml
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.voices import SpeakerFileError
from livecastpipe.storage import atomic_write_bytes, atomic_write_text, exchange_directories, sha256_file
from livecastpipe.timefmt import (
    clock,
    dutch_date,
    dutch_duration,
    fragment_time,
    iso8601_duration,
    iso_datetime,
    player_time,
)

EDITOR_FILES = tuple(o.name() for o in outputs.EDITOR_FILES)
"""Files editors write into a session folder: inputs of the pipeline, carried over by every publish."""
FEED_TRACKS = (outputs.CAPTIONS_VTT, outputs.SUBTITLES_SRT, outputs.PODCAST_TRANSCRIPT)
"""The files the feed lists as transcripts, in this order."""
PUBLISHED_BY_PUBLISH = frozenset(o.name().split("/")[0] for o in outputs.session_outputs() if o.stage == "publish")
"""What publishing writes itself: a stage's file may not take one of these names."""
MAX_PARAGRAPH_S = 90.0
"""A speaker turn longer than this is split into several paragraphs (each with its own timestamp)."""

ROLE_LABELS = {"moderator": "moderator", "speaker": "spreker", "audience": "publiek"}
PODCAST_ROLES = {"moderator": "host", "speaker": "guest"}
"""A speaker's role as the Podcasting 2.0 `podcast:person` role (the audience is not listed)."""
OPEN_GRAPH_LOCALES = {"nl": "nl_NL", "en": "en_GB", "de": "de_DE", "fr": "fr_FR"}
"""OpenGraph's `og:locale` (language_TERRITORY) for a transcript language; others are given as they are."""


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
        return self.transcript.language or outputs.DEFAULT_LANGUAGE


@dataclass(frozen=True)
class EditorialContent:
    """What editors allow on the page (from `review.json`): approved texts, or labelled drafts when allowed."""

    summary: str | None = None
    summary_label: str | None = None
    """Shown with a summary no editor approved (only when unreviewed texts may be published)."""
    keywords: tuple[str, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    """The package's chapters with their approved titles."""
    chapter_summaries: tuple[Publishable | None, ...] = ()
    speaker_names: SpeakerNames = field(default_factory=lambda: SpeakerNames({}, {}))
    """The names that may be shown (approved in review, or confirmed in speakers.yaml), and those shown."""
    captions_reviewed: bool = False
    """An editor approved the captions of this transcript; until then the page says they are unchecked."""


@dataclass(frozen=True)
class TranscriptPiece:
    """A stretch of a paragraph with its start time, so a click seeks to the sentence clicked."""

    start: float
    text: str


@dataclass(frozen=True)
class TranscriptParagraph:
    """One paragraph of the interactive transcript: a speaker turn (or part of a long one)."""

    start: float
    end: float
    speaker: str | None
    anchor: str
    pieces: tuple[TranscriptPiece, ...]

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.pieces)


# --- speakers and transcript paragraphs -----------------------------------------------------------


def editorial_content(
    package: SessionPackage, review: SessionReview | None, publish_unreviewed: bool = False
) -> EditorialContent:
    """Apply the editors' review to the package: approved texts, labelled drafts if allowed, else nothing."""

    def text(key: str) -> Publishable | None:
        return publishable_text(review, key, publish_unreviewed)

    summary = text(SESSION_SUMMARY_KEY)
    keywords = text(KEYWORDS_KEY)
    chapters = tuple(
        replace(c, title=title.text) if (title := text(chapter_title_key(n))) else c
        for n, c in enumerate(package.chapters, start=1)
    )
    names = session_speaker_names(review, package.speakers, package.transcript.speaker_ids)
    return EditorialContent(
        summary=summary.text if summary else None,
        summary_label=summary.label if summary else None,
        keywords=tuple(k.strip() for k in keywords.text.split(",") if k.strip()) if keywords else (),
        chapters=chapters,
        chapter_summaries=tuple(text(chapter_summary_key(n)) for n in range(1, len(chapters) + 1)),
        speaker_names=names,
        captions_reviewed=captions_reviewed(review),
    )


SOUND_CUE_LINE = re.compile(r"^\s*[\[(][^\])]+[\])]\s*$", re.MULTILINE)
"""A caption line that describes a sound: "[applaus]", "(gelach)"."""


def caption_track_labels(captions_vtt: str | None, reviewed: bool, language: str) -> tuple[str, str]:
    """The labels of the captions and subtitles tracks: the transcript's language by its Dutch name,
    "geluiden" only when a cue describes a sound ("[onverstaanbaar]" is none), and "automatisch, niet
    gecontroleerd" until an editor approved the captions."""
    sounds = [m.group(0).strip() for m in SOUND_CUE_LINE.finditer(captions_vtt or "")]
    subtitles = language_name(language)
    captions = f"{subtitles}, met sprekers" + (" en geluiden" if any(s != INAUDIBLE for s in sounds) else "")
    if not reviewed:
        captions, subtitles = (f"{label} (automatisch, niet gecontroleerd)" for label in (captions, subtitles))
    return captions, subtitles


def _segment_pieces(transcript: Transcript) -> Iterator[tuple[str | None, TranscriptPiece, float]]:
    """(speaker, piece, end) per segment, split where the words' speaker changes inside it."""
    for seg in transcript.segments:
        words = [w for w in seg.words if w.text.strip()]
        if not words or all(w.speaker is None for w in words):
            if seg.text.strip():
                yield seg.speaker, TranscriptPiece(seg.start, seg.text.strip()), seg.end
            continue
        run: list = [words[0]]
        for word in words[1:]:
            if word.speaker != run[0].speaker:
                yield run[0].speaker, TranscriptPiece(run[0].start, " ".join(w.text for w in run)), run[-1].end
                run = [word]
            else:
                run.append(word)
        yield run[0].speaker, TranscriptPiece(run[0].start, " ".join(w.text for w in run)), run[-1].end


def transcript_paragraphs(transcript: Transcript, names: Mapping[str, str]) -> list[TranscriptParagraph]:
    """Paragraphs per speaker turn (long turns split at segment boundaries), each with a unique anchor."""
    groups: list[tuple[str | None, list[TranscriptPiece], float]] = []
    for speaker, piece, end in _segment_pieces(transcript):
        if groups and groups[-1][0] == speaker and piece.start - groups[-1][1][0].start < MAX_PARAGRAPH_S:
            groups[-1][1].append(piece)
            groups[-1] = (speaker, groups[-1][1], end)
        else:
            groups.append((speaker, [piece], end))
    paragraphs: list[TranscriptParagraph] = []
    used: set[str] = set()
    for speaker, pieces, end in groups:
        at = pieces[0].start
        while (anchor := f"t={fragment_time(at)}") in used:  # two paragraphs starting in one millisecond
            at += 0.001
        used.add(anchor)
        paragraphs.append(
            TranscriptParagraph(
                start=pieces[0].start,
                end=end,
                speaker=names.get(speaker) if speaker else None,
                anchor=anchor,
                pieces=tuple(pieces),
            )
        )
    return paragraphs


# --- text files of the package --------------------------------------------------------------------


def transcript_txt(paragraphs: Sequence[TranscriptParagraph]) -> str:
    """The readable transcript download: a `[H:MM:SS] Name` line, then the paragraph wrapped."""
    blocks = []
    for p in paragraphs:
        head = f"[{clock(p.start, with_hours=True)}]" + (f" {p.speaker}" if p.speaker else "")
        blocks.append(head + "\n" + textwrap.fill(p.text, width=80))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


# --- rendering ------------------------------------------------------------------------------------


LONG_WORD = re.compile(r"[^\W\d_]{12,}")
"""Words this long get soft hyphens in titles (Dutch compounds: `gemeenteraadsvergadering`)."""
_DUTCH_HYPHENATION = pyphen.Pyphen(lang="nl_NL", left=3, right=3)


def soft_hyphens(text: str) -> Markup:
    """The text, escaped, with soft hyphens where Dutch hyphenation allows in its long words, so a title
    breaks with a hyphen in every browser (`hyphens: auto` needs a dictionary Chromium on Linux lacks)."""
    return Markup(LONG_WORD.sub(lambda m: _DUTCH_HYPHENATION.inserted(m.group(0), hyphen="\u00ad"), str(escape(text))))


def jinja_environment(templates: str) -> Environment:
    """Jinja2 over a template folder shipped in the package: everything autoescaped, every value made
    safe text by `markup_text`."""
    return Environment(
        loader=PackageLoader("livecastpipe", templates),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=markup_text,
    )


def template_environment() -> Environment:
    """The published pages' Jinja2 environment, with their filters."""
    env = jinja_environment("templates")
    env.filters["player_time"] = player_time
    env.filters["fragment_time"] = fragment_time
    env.filters["soft_hyphens"] = soft_hyphens
    env.filters["dutch_duration"] = dutch_duration
    env.filters["dutch_date"] = dutch_date
    env.filters["human_size"] = human_size
    return env


def human_size(size: int) -> str:
    """A file size for people, Dutch decimal comma: `1,4 MB`."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            text = f"{value:.0f}" if unit == "B" else f"{value:.1f}"
            return f"{text.replace('.', ',')} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def session_url_builder(slug: str, settings: PublishSettings) -> Callable[[str], str]:
    """URLs of a session's files (`poster.jpg`; "" for the page) as its page must write them."""
    return lambda name: site_url(f"{slug}/{name}", settings.base_url, f"{slug}/{outputs.SESSION_PAGE.name()}")


def session_json_ld(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    paragraphs: Sequence[TranscriptParagraph],
    settings: PublishSettings,
) -> dict[str, Any]:
    """schema.org VideoObject (AudioObject for audio-only) with a Clip per chapter."""
    rec = package.recording
    url = session_url_builder(rec.slug, settings)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "VideoObject" if media.video else "AudioObject",
        "name": rec.title,
        "description": editorial.summary or rec.metadata.description or rec.title,
        "uploadDate": iso_datetime(rec.metadata.date, settings.time_zone),
        "duration": iso8601_duration(rec.media.duration),
        "inLanguage": package.language,
        "thumbnailUrl": url(media.poster),
        "contentUrl": url(media.video or media.audio),
        "transcript": "\n".join((f"{p.speaker}: " if p.speaker else "") + p.text for p in paragraphs),
        "url": url(""),
    }
    if editorial.keywords:
        data["keywords"] = ", ".join(editorial.keywords)
    if editorial.chapters:
        data["hasPart"] = [
            {
                "@type": "Clip",
                "name": c.title,
                "startOffset": math.floor(c.start),
                "endOffset": min(math.ceil(c.end), math.floor(rec.media.duration)),
                "url": url(f"#t={fragment_time(c.start)}"),
            }
            for c in editorial.chapters
        ]
    return data


def speaker_roles(package: SessionPackage, editorial: EditorialContent) -> list[tuple[str, str]]:
    """(name, role) per speaker: the identified speakers whose names may be shown, else the panel as
    announced in the session metadata."""
    named = [s for s in package.speakers if s.id in editorial.speaker_names.given]
    if named:
        return [(editorial.speaker_names.given[s.id], s.role) for s in named]
    return [(s.name, s.role) for s in package.recording.metadata.speakers]


def speaker_list(package: SessionPackage, editorial: EditorialContent) -> list[tuple[str, str]]:
    """(name, role label) per speaker, as the page shows them."""
    return [(name, ROLE_LABELS.get(role, role)) for name, role in speaker_roles(package, editorial)]


def package_text_files(
    package: SessionPackage,
    editorial: EditorialContent,
    paragraphs: Sequence[TranscriptParagraph],
    names: Mapping[str, str],
) -> dict[str, str]:
    """The stages' files (captions, subtitles, …) plus chapter tracks and transcript downloads."""
    unsafe = [n for n in package.stage_files if Path(n).name != n or n.startswith(".") or n in PUBLISHED_BY_PUBLISH]
    if unsafe:
        raise PublishError(package.recording.slug, f"stage file names not allowed in a package: {unsafe}")
    files = dict(package.stage_files)
    if editorial.chapters:
        files[outputs.CHAPTERS_VTT.name()] = chapters_vtt(editorial.chapters)
        files[outputs.CHAPTERS_JSON.name()] = chapters_json(editorial.chapters, package.recording.title)
    files[outputs.TRANSCRIPT_TXT.name()] = transcript_txt(paragraphs)
    files[outputs.TRANSCRIPT_JSON.name()] = to_json(public_transcript(package.transcript))
    files[outputs.PODCAST_TRANSCRIPT.name()] = podcast_transcript_json(package.transcript, names)
    files[outputs.WHISPERX_JSON.name()] = whisperx_json(package.transcript)
    files[outputs.TRANSCRIPT_TSV.name()] = whisper_tsv(package.transcript)
    return files


def public_transcript(transcript: Transcript) -> Transcript:
    """The transcript as the public `transcript.json` gives it: its model and settings without where a
    local model folder lies on this machine."""
    return replace(
        transcript,
        model=public_model_name(transcript.model),
        settings=public_transcribe_settings(transcript.settings),
    )


EMBED_WIDTH, EMBED_HEIGHT = 640, 720
"""The iframe's size in the embed code: a 16:9 player with its controls."""


def embed_code(package: SessionPackage, settings: PublishSettings) -> str:
    """The `<iframe>` a website pastes to show the session's player (`embed.html`)."""
    page = outputs.EMBED_PAGE.name()  # without a public address: relative, the page's script makes it absolute
    src = session_url_builder(package.recording.slug, settings)(page)
    title = html.escape(f"Speler: {package.recording.title}", quote=True)
    return (
        f'<iframe src="{html.escape(src, quote=True)}" title="{title}" width="{EMBED_WIDTH}" height="{EMBED_HEIGHT}" '
        'allow="fullscreen; autoplay" allowfullscreen></iframe>'
    )


def oembed_json(package: SessionPackage, settings: PublishSettings) -> str:
    """The oEmbed 1.0 response for the session (a `video`, its html the embed code), as a static file."""
    data: dict[str, Any] = {
        "version": "1.0",
        "type": "video",
        "title": package.recording.title,
        "provider_name": settings.site_title,
        "html": embed_code(package, settings),
        "width": EMBED_WIDTH,
        "height": EMBED_HEIGHT,
    }
    if settings.base_url:
        data["provider_url"] = settings.base_url
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def player_context(
    package: SessionPackage, editorial: EditorialContent, media: MediaFiles, files: Mapping[str, str]
) -> dict[str, Any]:
    """What the player (`_player.html.j2`, on the page and in `embed.html`) is rendered from."""
    return {
        "rec": package.recording,
        "media": media,
        "files": files,
        "out": outputs.session_file_names(package.language),
        "lang": package.language,
        "captions_notice": None if editorial.captions_reviewed else CAPTIONS_UNREVIEWED_LABEL,
        "track_labels": caption_track_labels(
            files.get(outputs.CAPTIONS_VTT.name(package.language)), editorial.captions_reviewed, package.language
        ),
    }


def render_embed_page(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    sizes: Mapping[str, int],
    settings: PublishSettings,
) -> str:
    """The session's `embed.html`: the player alone, linking to the full page."""
    return (
        template_environment()
        .get_template("embed.html.j2")
        .render(
            **player_context(package, editorial, media, files),
            title=package.recording.title,
            sizes=sizes,
            site_title=settings.site_title,
        )
    )


def render_session_page(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    sizes: Mapping[str, int],
    settings: PublishSettings,
) -> str:
    """The session's `index.html`: player, chapters, summary, speakers, transcript, downloads."""
    names = editorial.speaker_names.public
    paragraphs = transcript_paragraphs(package.transcript, names)
    rec = package.recording
    url = session_url_builder(rec.slug, settings)
    return (
        template_environment()
        .get_template("session.html.j2")
        .render(
            **player_context(package, editorial, media, files),
            title=rec.title,
            meta=rec.metadata,
            sizes=sizes,
            chapters=list(zip(editorial.chapters, editorial.chapter_summaries)),
            summary_label=editorial.summary_label,
            summary_paragraphs=[p.strip() for p in (editorial.summary or "").split("\n\n") if p.strip()],
            keywords=editorial.keywords,
            speakers=speaker_list(package, editorial),
            paragraphs=paragraphs,
            downloads=outputs.downloads(package.language, sizes),
            json_ld=json_in_html(session_json_ld(package, editorial, media, paragraphs, settings)),
            description=editorial.summary or rec.metadata.description or rec.title,
            page_url=url("") if settings.base_url else None,
            poster_url=url(media.poster),
            video_url=url(media.video) if media.video else None,
            locale=OPEN_GRAPH_LOCALES.get(package.language, package.language),
            site_title=settings.site_title,
            embed_code=embed_code(package, settings),
            oembed_url=url(outputs.OEMBED.name()),
        )
    )


# --- the package on disk --------------------------------------------------------------------------


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


def package_data_json(package: SessionPackage) -> str:
    """The stored stage data (all but the transcript, kept in transcript.json) for re-rendering."""
    data = to_jsonable(package)
    data.pop("transcript")
    left_out = {*EDITOR_FILES, outputs.CUE_SEARCH.name()}  # the cue search is kept in its own file
    data["stage_files"] = {k: v for k, v in data["stage_files"].items() if k not in left_out}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _machine_transcript_path(output_dir: Path, slug: str) -> Path:
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
    try:
        data_path = workspace.session_dir_for(output_dir, slug, outputs.PACKAGE_DATA) / outputs.PACKAGE_DATA.name()
        data = json.loads(data_path.read_text(encoding="utf-8"))
        data["transcript"] = json.loads(_machine_transcript_path(output_dir, slug).read_text(encoding="utf-8"))
        # Packages published before the chapter tracks were publishing's alone held them as stage files.
        data["stage_files"] = {k: v for k, v in data["stage_files"].items() if k not in PUBLISHED_BY_PUBLISH}
        return from_jsonable(SessionPackage, data)
    except FileNotFoundError as exc:
        raise PublishError(folder, f"not a published session (missing {Path(exc.filename).name})") from exc
    except ValueError as exc:
        raise PublishError(folder, f"stored session data cannot be read: {exc}") from exc


def with_confirmed_speakers(package: SessionPackage, edited: Mapping[str, SpeakerInfo]) -> SessionPackage:
    """The package with the entries an editor confirmed in `speakers.yaml` (names, roles) taking precedence;
    a confirmed speaker the transcript has but the package lacks (one an editor added) joins them."""
    confirmed = {sid: info for sid, info in edited.items() if info.confirmed}
    if not confirmed:
        return package
    speakers = tuple(confirmed.get(s.id, s) for s in package.speakers)
    known, speaking = {s.id for s in speakers}, package.transcript.speaker_ids
    added = tuple(info for sid, info in sorted(confirmed.items()) if sid not in known and sid in speaking)
    return replace(package, speakers=speakers + added)


# --- publishing from the editor's edits -----------------------------------------------------------


@dataclass(frozen=True)
class RenderInputs:
    """What a session's package is rendered from once the editors' files are applied."""

    package: SessionPackage
    """With the edited transcript, the editor's chapter starts, and captions made from the edited words."""
    editorial: EditorialContent
    names: dict[str, str]
    files: dict[str, str]
    """Every text file of the package (public and private) but the pages, by name."""


def subtitle_settings_of(package: SessionPackage) -> SubtitleSettings:
    """The subtitle settings the pipeline made the package's captions with (kept in its provenance), else
    the defaults: captions made again from edited words follow the same profile."""
    stored = package.provenance.get("settings")
    try:
        return SubtitleSettings.model_validate(stored.get("subtitles", {}) if isinstance(stored, dict) else {})
    except ValueError as exc:
        raise PublishError(package.recording.slug, f"stored subtitle settings cannot be read: {exc}") from exc


def edited_package(
    package: SessionPackage,
    edits: SessionEdits | None,
    speakers_yaml: Mapping[str, SpeakerInfo],
    review: SessionReview | None,
    publish_unreviewed: bool,
    subtitle_settings: SubtitleSettings,
    last_cue_search: str | None = None,
) -> RenderInputs:
    """Apply the editor's edits to a package made by the pipeline: the edited transcript, chapter starts,
    added speakers; captions and subtitles made again from the edited words (same profile; the cue search
    starts from the last one, `last_cue_search`, so only the corrected stretches are searched again) and
    the YouTube chapter list from the moved starts. No model is loaded."""
    machine = package.transcript
    rendered = package
    if edits is not None:
        chapters = with_chapter_starts(package.chapters, edits.chapter_starts)
        rendered = replace(package, transcript=edited_transcript(machine, edits), chapters=chapters)
        rendered = with_confirmed_speakers(rendered, speakers_yaml)
    editorial = editorial_content(rendered, review, publish_unreviewed)
    names = editorial.speaker_names.public
    stage_files = dict(rendered.stage_files)
    cue_search = outputs.CUE_SEARCH.name()
    if rendered.transcript != machine:
        base = last_cue_search or stage_files.get(cue_search)
        stage_files.update(_subtitle_files(rendered.transcript, names, subtitle_settings, base))
    elif cue_search not in stage_files and last_cue_search:
        stage_files[cue_search] = last_cue_search
    if edits is not None and edits.chapter_starts:
        youtube, _ = youtube_chapters(rendered.chapters, rendered.recording.media.duration)
        stage_files.pop(outputs.YOUTUBE_CHAPTERS.name(), None)
        if youtube is not None:
            stage_files[outputs.YOUTUBE_CHAPTERS.name()] = youtube
    rendered = replace(rendered, stage_files=stage_files)
    files = package_text_files(rendered, editorial, transcript_paragraphs(rendered.transcript, names), names)
    files[outputs.PACKAGE_DATA.name()] = package_data_json(package)
    files[outputs.MACHINE_TRANSCRIPT.name()] = _TRANSCRIPT.dump_json(machine).decode() + "\n"  # compact: private
    return RenderInputs(rendered, editorial, names, files)


def _last_cue_search(private_folder: Path) -> str | None:
    """The cue searches of the last publish (where to start the next search from), if kept."""
    try:
        return (private_folder / outputs.CUE_SEARCH.name()).read_text(encoding="utf-8")
    except OSError:
        return None


_TRANSCRIPT = TypeAdapter(Transcript)
_MADE: dict[str, dict[str, str]] = {}
"""The subtitle files made last, by what they were made from (a preview, then the publish of the same edits)."""


def _subtitle_files(
    transcript: Transcript, names: dict[str, str], settings: SubtitleSettings, last_cue_search: str | None
) -> dict[str, str]:
    """`subtitles.subtitle_files`, made once for the same words, names and settings in this process."""
    words = [(w.text, w.start, w.end, w.speaker) for w in transcript.words]
    made_from = json.dumps([words, sorted(names.items()), settings.model_dump(mode="json"), transcript.language])
    key = hashlib.sha256(made_from.encode()).hexdigest()
    if key not in _MADE:
        if len(_MADE) >= 2:
            _MADE.clear()
        _MADE[key] = subtitle_files(transcript, names, settings, last_cue_search)
    return dict(_MADE[key])


def _editor_inputs(
    package: SessionPackage, folder: Path, shown_as: Path
) -> tuple[SessionPackage, SessionReview | None, dict[str, SpeakerInfo], SessionEdits | None]:
    """The editors' files of a private session folder (review, speakers, edits), read; the package with
    the speakers they confirmed. Errors name the file as `shown_as/<name>`."""
    try:
        review = read_review(folder)
        speakers_yaml = read_speakers_yaml(folder / outputs.SPEAKERS.name())
        edits = read_edits(folder)
    except ReviewError as exc:
        raise PublishError(shown_as / outputs.REVIEW.name(), str(exc).split(": ", 1)[-1]) from exc
    except SpeakerFileError as exc:
        raise PublishError(shown_as / outputs.SPEAKERS.name(), str(exc).split(": ", 1)[-1]) from exc
    except EditError as exc:
        raise PublishError(shown_as / outputs.EDITS.name(), str(exc).split(": ", 1)[-1]) from exc
    if edits is not None and edits.slug != package.recording.slug:
        raise PublishError(shown_as / outputs.EDITS.name(), f"holds the edits of session '{edits.slug}'")
    return with_confirmed_speakers(package, speakers_yaml), review, speakers_yaml, edits


def render_preview(output_dir: Path, slug: str, settings: PublishSettings, publish_unreviewed: bool = False) -> str:
    """The session page (`index.html`) exactly as publishing would render it from the current edits and
    review, writing nothing: its media and downloads are the published package's (URLs as `settings`
    make them: with a `base_url`, absolute; else relative to the published page)."""
    package = load_session_package(output_dir, slug)
    private = workspace.session_private_dir(output_dir, slug)
    package, review, speakers_yaml, edits = _editor_inputs(package, private, private)
    if edits is not None:
        edits = reconcile(edits, package.transcript)
    inputs = edited_package(
        package,
        edits,
        speakers_yaml,
        review,
        publish_unreviewed,
        subtitle_settings_of(package),
        _last_cue_search(private),
    )
    site = workspace.session_site_dir(output_dir, slug)
    try:
        manifest = json.loads((site / outputs.MANIFEST.name()).read_text(encoding="utf-8"))
        media = from_jsonable(MediaFiles, manifest["media"])
        sizes = {f["path"]: int(f["bytes"]) for f in manifest["files"] if "/" not in f["path"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(site / outputs.MANIFEST.name(), f"cannot be read: {exc}") from exc
    files = {n: t for n, t in inputs.files.items() if outputs.written(n, settings.formats)}
    sizes.update({n: len(t.encode("utf-8")) for n, t in files.items() if _visibility(n) == "public"})
    return render_session_page(inputs.package, inputs.editorial, media, files, sizes, settings)


def _carry_editor_files(package: SessionPackage, site: Path, target: Path, staged: Path) -> dict[str, str]:
    """Copy the editors' files into the staged package; return their SHA-256 as found (the snapshot).

    A stage's version of an editor's file (the speakers stage's merged `speakers.yaml`) is written only
    when the folder has none, or when nobody edited it since the last publish.
    """
    try:
        last = json.loads((site / outputs.MANIFEST.name()).read_text(encoding="utf-8")).get("editor_files", {})
    except (OSError, ValueError, AttributeError):
        last = {}
    snapshot: dict[str, str] = {}
    for name in EDITOR_FILES:
        if (target / name).is_file():
            shutil.copy2(target / name, staged / name)
            snapshot[name] = sha256_file(staged / name)
        if name in package.stage_files and snapshot.get(name) in (None, last.get(name)):
            (staged / name).write_text(package.stage_files[name], encoding="utf-8")
    return snapshot


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
    sidecar = sidecar_file(Path(package.recording.source))
    entry = {"file": sidecar.name, "sha256": sha256_file(sidecar)} if sidecar else None
    return replace(package, provenance={**package.provenance, "sidecar": entry})


def public_recording(recording: Recording) -> dict[str, Any]:
    """The recording as the public manifest names it: by file name and SHA-256, its sign-language video and
    descriptions by file name, never where they lie on this machine (the private `package.json` keeps that)."""
    data = {k: v for k, v in to_jsonable(recording).items() if k not in ("source", "audio_path")}
    for field_name in ("sign_language_video", "descriptions"):
        if data["metadata"].get(field_name):
            data["metadata"][field_name] = Path(data["metadata"][field_name]).name
    return {"file": Path(recording.source).name, **data}


def catalogue_entry(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    sizes: Mapping[str, int],
) -> dict[str, Any]:
    """What the catalogue and the feed need to know about a session, kept in its manifest."""
    rec = package.recording
    return {
        "slug": rec.slug,
        "title": rec.title,
        "date": rec.metadata.date,
        "programme": rec.metadata.programme,
        "duration": rec.media.duration,
        "speakers": [name for name, _ in speaker_list(package, editorial)],
        "summary": editorial.summary or rec.metadata.description,
        "keywords": list(editorial.keywords),
        "poster": media.poster,
        "people": [
            {"name": name, "role": PODCAST_ROLES[role]}
            for name, role in speaker_roles(package, editorial)
            if role in PODCAST_ROLES
        ],
        "language": package.language,
        "audio": {"path": media.audio, "bytes": sizes[media.audio], "type": outputs.AUDIO_COPY.media_type},
        "video": {"path": media.video, "bytes": sizes[media.video], "type": outputs.WEB_VIDEO.media_type}
        if media.video
        else None,
        "tracks": [n for n in (o.name(package.language) for o in FEED_TRACKS) if n in files],
        "chapters": outputs.CHAPTERS_JSON.name() if outputs.CHAPTERS_JSON.name() in files else None,
    }


def publish_session(
    package: SessionPackage,
    output_dir: Path,
    settings: PublishSettings,
    publish_unreviewed: bool = False,
    prepared_media: Path | None = None,
    subtitle_settings: SubtitleSettings | None = None,
) -> Path:
    """Render a session's package into temporary folders, then swap them in atomically: its public files
    into the site (`site/<slug>/`), its private ones into the workspace (`private/sessions/<slug>/`),
    each file on the side its output registry entry says.

    The editors' files in the private folder are inputs, carried over untouched: `review.json` decides
    which generated texts are shown (`publish_unreviewed` shows drafts, labelled), `edits.json` holds the
    editor's corrections: the package's transcript is the machine's (kept privately), the published one
    the edited one (see `edited_package`; captions from edited words follow `subtitle_settings`, by default
    those in the package's provenance). Edits a new machine transcript changed under are marked stale in
    `edits.json`, never dropped. Media from `prepared_media` (see `prepare_media_ahead`) are used when they
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
        snapshot = _carry_editor_files(package, target, private_target, staged_private)
        package, review, speakers_yaml, edits = _editor_inputs(package, staged_private, private_target)
        if edits is not None and (reconciled := reconcile(edits, package.transcript)) is not edits:
            write_edits(staged_private, reconciled)  # a rerun changed the machine transcript: stale marks kept
            edits = reconciled
        inputs = edited_package(
            package,
            edits,
            speakers_yaml,
            review,
            publish_unreviewed,
            subtitle_settings or subtitle_settings_of(package),
            _last_cue_search(private_target),
        )
        package, editorial, files = inputs.package, inputs.editorial, inputs.files
        media = prepare_media(package.recording, staged, target, settings, prepared_media)
        files = {name: text for name, text in files.items() if outputs.written(name, settings.formats)}
        for name, text in files.items():
            if name in EDITOR_FILES:
                continue
            (_side(package, name, staged, staged_private) / name).write_text(text, encoding="utf-8")
        copy_accessibility_files(package, staged, target)
        write_static_assets(staged, (outputs.PLAYER_CSS, outputs.PLAYER_JS))
        sizes = {p.name: p.stat().st_size for p in staged.iterdir() if p.is_file()}
        page = staged / outputs.SESSION_PAGE.name()
        page.write_text(render_session_page(package, editorial, media, files, sizes, settings), encoding="utf-8")
        sizes[page.name] = page.stat().st_size
        embed = staged / outputs.EMBED_PAGE.name()
        embed.write_text(render_embed_page(package, editorial, media, files, sizes, settings), encoding="utf-8")
        (staged / outputs.OEMBED.name()).write_text(oembed_json(package, settings), encoding="utf-8")
        _check_registered(staged, package, "public")
        _check_registered(staged_private, package, "private")
        manifest = {
            "recording": public_recording(package.recording),
            "captions": {"reviewed": editorial.captions_reviewed},
            "livecastpipe": version("livecastpipe"),
            "published": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "catalogue": catalogue_entry(package, editorial, media, files, sizes),
            "media": to_jsonable(media),
            "files": [
                {"path": str(p.relative_to(staged)), "sha256": sha256_file(p), "bytes": p.stat().st_size}
                for p in sorted(staged.rglob("*"))
                if p.is_file()
            ],
            "editor_files": {
                n: sha256_file(staged_private / n) for n in EDITOR_FILES if (staged_private / n).is_file()
            },
            "provenance": {
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
        }
        atomic_write_text(staged / outputs.MANIFEST.name(), json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        staged.chmod(0o755)
        staged_private.chmod(0o700)
        first = not private_target.exists()
        if first:  # until the public side is in too, a half-made session (see workspace.UNPUBLISHED_MARK)
            (staged_private / workspace.UNPUBLISHED_MARK).touch()
        # The private side first: it holds what the public side is re-rendered from.
        private_target.parent.mkdir(parents=True, exist_ok=True)
        # Under the editors' lock, so no editor's write lands between swap_in's check and the swap (a
        # session published for the first time has no editor yet, and gets no lock file before it exists).
        with session_editor_lock(private_target) if not first else nullcontext():
            swap_in(staged_private, private_target, snapshot)
        target.parent.mkdir(parents=True, exist_ok=True)
        swap_in(staged, target)
        if first:
            (private_target / workspace.UNPUBLISHED_MARK).unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _visibility(name: str) -> outputs.Visibility | None:
    found = outputs.session_file(name)
    return found[0].visibility if found else None


def _side(package: SessionPackage, name: str, public: Path, private: Path) -> Path:
    """The staged folder a session file goes to, by its visibility in the output registry."""
    visibility = _visibility(name)
    if visibility is None:
        raise PublishError(package.recording.slug, f"file not in the output registry: {name}")
    return public if visibility == "public" else private


def republish(output_dir: Path, slug: str, settings: PublishSettings, publish_unreviewed: bool = False) -> Path:
    """Re-render one published session from its stored data (new templates, editors' changes)."""
    return publish_session(load_session_package(output_dir, slug), output_dir, settings, publish_unreviewed)


def published_sessions(output_dir: Path) -> list[Path]:
    """Public session folders of the site (those with a manifest), by name; hidden folders skipped."""
    site = workspace.site_dir(output_dir)
    if not site.is_dir():
        return []
    return sorted(
        p
        for p in site.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / outputs.MANIFEST.name()).is_file()
    )
