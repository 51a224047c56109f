"""Publishing from the editors' files: the review's approved texts, the editor's edits applied to the
machine transcript (captions made again from edited words, with a subtitle cache), the package's text
files, and the page a publish would render (`render_preview`) without writing anything.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import TypeAdapter

from livecastpipe import workspace
from livecastpipe.editor.edits.edits_file import edits_over_machine, read_edits
from livecastpipe.editor.edits.model import EditError, SessionEdits
from livecastpipe.editor.edits.operations import with_chapter_starts
from livecastpipe.editor.edits.rerun import edited_transcript
from livecastpipe.editor.review import (
    KEYWORDS_KEY,
    SESSION_SUMMARY_KEY,
    Publishable,
    ReviewError,
    SessionReview,
    captions_reviewed,
    chapter_summary_key,
    chapter_title_key,
    publishable_text,
    read_review,
    session_speaker_names,
)
from livecastpipe.models import (
    SpeakerInfo,
    Transcript,
    from_jsonable,
    to_json,
)
from livecastpipe.package import outputs
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.provenance import (
    public_model_name,
    public_transcribe_settings,
)
from livecastpipe.package.render import (
    EditorialContent,
    TranscriptParagraph,
    render_session_page,
    transcript_paragraphs,
)
from livecastpipe.package.store import (
    PUBLISHED_BY_PUBLISH,
    SessionPackage,
    last_cue_search,
    load_session_package,
    manifest_path,
    package_data_json,
    read_manifest,
)
from livecastpipe.package.transcript_formats import podcast_transcript_json, whisper_tsv, whisperx_json
from livecastpipe.settings import PublishSettings, SubtitleProfile, SubtitleSettings
from livecastpipe.stages.chapters import chapters_json, chapters_vtt, with_speaker_name, youtube_chapters
from livecastpipe.stages.cue_times import CueTimes, TimedCue
from livecastpipe.stages.media import MediaFiles
from livecastpipe.stages.speakers import read_speakers_yaml
from livecastpipe.stages.subtitles import caption_cues, read_cue_searches, subtitle_files
from livecastpipe.stages.translate import corrected_translation
from livecastpipe.stages.voices import SpeakerFileError
from livecastpipe.timefmt import (
    clock,
)


def editorial_content(
    package: SessionPackage, review: SessionReview | None, publish_unreviewed: bool = False
) -> EditorialContent:
    """Apply the editors' review to the package: approved texts, labelled drafts if allowed, else nothing."""

    def text(key: str) -> Publishable | None:
        return publishable_text(review, key, publish_unreviewed)

    summary = text(SESSION_SUMMARY_KEY)
    keywords = text(KEYWORDS_KEY)
    names = session_speaker_names(review, package.speakers, package.transcript.speaker_ids)
    chapters = tuple(
        replace(c, title=title.text) if (title := text(chapter_title_key(n))) else with_speaker_name(c, names.public)
        for n, c in enumerate(package.chapters, start=1)
    )
    return EditorialContent(
        summary=summary.text if summary else None,
        summary_label=summary.label if summary else None,
        keywords=tuple(k.strip() for k in keywords.text.split(",") if k.strip()) if keywords else (),
        chapters=chapters,
        chapter_summaries=tuple(text(chapter_summary_key(n)) for n in range(1, len(chapters) + 1)),
        speaker_names=names,
        captions_reviewed=captions_reviewed(review),
    )


def transcript_txt(paragraphs: Sequence[TranscriptParagraph]) -> str:
    """The readable transcript download: a `[H:MM:SS] Name` line, then the paragraph wrapped."""
    blocks = []
    for p in paragraphs:
        head = f"[{clock(p.start, with_hours=True)}]" + (f" {p.speaker}" if p.speaker else "")
        blocks.append(head + "\n" + textwrap.fill(p.marked_text, width=80))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


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
    cue_times = edits.cue_times if edits is not None else {}
    if rendered.transcript != machine or cue_times:
        base = last_cue_search or stage_files.get(cue_search)
        duration = rendered.recording.media.duration
        stage_files.update(_subtitle_files(rendered.transcript, names, subtitle_settings, base, cue_times, duration))
    elif cue_search not in stage_files and last_cue_search:
        stage_files[cue_search] = last_cue_search
    if edits is not None and edits.chapter_starts:
        youtube, _ = youtube_chapters(rendered.chapters, rendered.recording.media.duration)
        stage_files.pop(outputs.YOUTUBE_CHAPTERS.name(), None)
        if youtube is not None:
            stage_files[outputs.YOUTUBE_CHAPTERS.name()] = youtube
    if edits is not None:
        stage_files.update(corrected_translation(stage_files, edits.translated_cues))
    rendered = replace(rendered, stage_files=stage_files)
    files = package_text_files(rendered, editorial, transcript_paragraphs(rendered.transcript, names), names)
    files[outputs.PACKAGE_DATA.name()] = package_data_json(package)
    files[outputs.MACHINE_TRANSCRIPT.name()] = _TRANSCRIPT.dump_json(machine).decode() + "\n"  # compact: private
    return RenderInputs(rendered, editorial, names, files)


_TRANSCRIPT = TypeAdapter(Transcript)
_MADE: dict[str, dict[str, str]] = {}
"""The subtitle files made last, by what they were made from (a preview, then the publish of the same edits)."""


def _subtitle_files(
    transcript: Transcript,
    names: dict[str, str],
    settings: SubtitleSettings,
    last_cue_search: str | None,
    cue_times: CueTimes,
    duration: float,
) -> dict[str, str]:
    """`subtitles.subtitle_files`, made once for the same words, names, settings and cue times in this process."""
    words = [(w.text, w.start, w.end, w.speaker) for w in transcript.words]
    times = sorted(cue_times.items())
    made_from = json.dumps(
        [words, sorted(names.items()), settings.model_dump(mode="json"), transcript.language, times, duration]
    )
    key = hashlib.sha256(made_from.encode()).hexdigest()
    if key not in _MADE:
        if len(_MADE) >= 2:
            _MADE.clear()
        _MADE[key] = subtitle_files(transcript, names, settings, last_cue_search, cue_times, duration)
    return dict(_MADE[key])


def editor_inputs(
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
    package, review, speakers_yaml, edits = editor_inputs(package, private, private)
    if edits is not None:
        edits = edits_over_machine(slug, package.transcript, edits)
    inputs = edited_package(
        package,
        edits,
        speakers_yaml,
        review,
        publish_unreviewed,
        subtitle_settings_of(package),
        last_cue_search(private),
    )
    site = workspace.session_site_dir(output_dir, slug)
    manifest = read_manifest(site)
    try:
        media = from_jsonable(MediaFiles, manifest.media)
    except ValueError as exc:
        raise PublishError(manifest_path(site), f"cannot read manifest: {exc}") from exc
    sizes = {f.path: f.bytes for f in manifest.files if "/" not in f.path}
    files = {n: t for n, t in inputs.files.items() if outputs.written(n, settings.formats)}
    sizes.update({n: len(t.encode("utf-8")) for n, t in files.items() if file_visibility(n) == "public"})
    return render_session_page(inputs.package, inputs.editorial, media, files, sizes, settings)


@dataclass(frozen=True)
class EditedCaptions:
    """A session's captions as publishing would make them now from its edits (the workbench's cues)."""

    cues: list[TimedCue]
    unplaced: dict[str, tuple[float, float]]
    """The editor's cue timing edits that cannot be placed on a cue now (kept, not applied)."""
    names: dict[str, str]
    """The public speaker names of the captions' voice spans."""
    profile: SubtitleProfile
    duration: float
    language: str


def edited_captions(output_dir: Path, slug: str, edits: SessionEdits | None = None) -> EditedCaptions:
    """The captions (labelled cues) publishing would make from the session's stored edits, or from `edits`
    (unsaved: what typing or moving a cue would make), with the profile the package was published with."""
    package = load_session_package(output_dir, slug)
    private = workspace.session_private_dir(output_dir, slug)
    package, review, speakers_yaml, stored = editor_inputs(package, private, private)
    edits = edits_over_machine(slug, package.transcript, stored) if edits is None else edits
    rendered = with_confirmed_speakers(
        replace(package, transcript=edited_transcript(package.transcript, edits)), speakers_yaml
    )
    names = session_speaker_names(review, rendered.speakers, rendered.transcript.speaker_ids).public
    settings = subtitle_settings_of(package)
    previous = read_cue_searches(last_cue_search(private) or package.stage_files.get(outputs.CUE_SEARCH.name()))
    duration = package.recording.media.duration
    timed, unplaced, voices, _ = caption_cues(
        rendered.transcript, names, settings, previous.get("captions"), edits.cue_times, duration
    )
    return EditedCaptions(
        cues=timed,
        unplaced={key: edits.cue_times[key] for key in unplaced},
        names=voices,
        profile=settings.resolved_profile,
        duration=duration,
        language=package.transcript.language,
    )


def file_visibility(name: str) -> outputs.Visibility | None:
    """Whether a session file is public or private, by the output registry (None: not registered)."""
    found = outputs.session_file(name)
    return found[0].visibility if found else None
