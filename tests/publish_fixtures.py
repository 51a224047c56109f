"""Fixtures for the publish tests: a published site made from the committed sample (really ingested
and transcribed) plus an audio-only session whose hand-made transcript and title try to inject HTML."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from livecastpipe import workspace
from livecastpipe.editor.review import (
    SESSION_SUMMARY_KEY,
    SessionReview,
    approve,
    speaker_name_key,
    update_review,
    write_review,
)
from livecastpipe.models import (
    Chapter,
    Diarization,
    Recording,
    Segment,
    SpeakerInfo,
    SpeakerTurn,
    Transcript,
    Word,
)
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.publish import publish_session
from livecastpipe.package.server import preview_server
from livecastpipe.package.store import SessionPackage
from livecastpipe.settings import (
    PublishSettings,
    Settings,
    SubtitleSettings,
    SummariesSettings,
    TranscribeSettings,
)
from livecastpipe.stages.ingest import ingest
from livecastpipe.stages.speakers import attribute_speakers
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.summaries import extractive_summary, split_sentences
from livecastpipe.stages.terms import correct_terms, decoding_terms, flag_words
from livecastpipe.stages.transcribe import transcribe_file
from livecastpipe.timefmt import webvtt_timestamp

from .conftest import SAMPLE, SAMPLE_SIDECAR, made_once, run_ffmpeg

if TYPE_CHECKING:  # the flows import Prefect: only the flow fixture below loads them, when a test needs it
    from livecastpipe.models import SessionResult

HOSTILE_SCRIPT = "<script>document.title='gehackt'</script>"
HOSTILE_IMG = '"><img src=x onerror="document.title=\'gehackt\'">'
SETTINGS = PublishSettings(base_url="https://replays.example.org/cooperatieven/", owner_email="redactie@example.org")


@dataclass(frozen=True)
class SampleSession:
    """The committed sample, ingested, transcribed by the real model and its names and terms corrected (once
    per test run)."""

    recording: Recording
    transcript: Transcript
    heard: Transcript
    """What the model heard, before the names and terms were corrected (the transcription tests' subject)."""
    progress: tuple[float, ...]
    """The seconds of audio done, as the transcription reported them."""


@pytest.fixture(scope="session")
def sample_session(tmp_path_factory: pytest.TempPathFactory) -> SampleSession:
    """The sample transcribed once per test run, as the flow decodes it: its speakers' names and its glossary
    as decoding terms; shared by the transcription, publish, edit and rerun tests."""

    def make(folder: Path) -> SampleSession:
        shutil.copy(SAMPLE, folder / SAMPLE.name)
        shutil.copy(SAMPLE_SIDECAR, folder / SAMPLE_SIDECAR.name)
        recording = ingest(folder / SAMPLE.name, folder / "cache")
        metadata = recording.metadata
        progress: list[float] = []
        terms = decoding_terms(metadata)
        heard = transcribe_file(Path(recording.audio_path), TranscribeSettings(), terms, progress.append)
        corrected, _ = correct_terms(heard, metadata)  # the session's own words spelled right, as repair does
        return SampleSession(recording, flag_words(corrected, metadata), heard, tuple(progress))

    return made_once(tmp_path_factory, "sample-session", make)


TURN_PAUSE_S = 0.9
"""The sample's turns are 1 s of silence apart (`scripts/make_sample.py`); pauses inside a turn, as its words'
times show them, stay under 0.7 s."""


def sample_turns(transcript: Transcript) -> tuple[SpeakerTurn, ...]:
    """The sample's speaker turns: cut at its pauses between turns, the two speakers taking turns."""
    words = transcript.words
    cuts = [(a.end + b.start) / 2 for a, b in zip(words, words[1:]) if b.start - a.end >= TURN_PAUSE_S]
    bounds = [0.0, *cuts, transcript.duration]
    return tuple(
        SpeakerTurn(start, end, ("SPEAKER_00", "SPEAKER_01")[i % 2])
        for i, (start, end) in enumerate(zip(bounds, bounds[1:]))
    )


def sample_package(sample: SampleSession) -> SessionPackage:
    """The sample with speakers (its script's turns, words attributed and segments split by the speakers
    stage) and two chapters, plus the subtitles stage's files."""
    turns = sample_turns(sample.transcript)
    second_turn = turns[1].start
    transcript = attribute_speakers(sample.transcript, Diarization(turns, {}, "script"))
    duration = sample.recording.media.duration
    names = {"SPEAKER_00": "Anne de Vries", "SPEAKER_01": "Pieter Bakker"}
    return SessionPackage(
        recording=sample.recording,
        transcript=transcript,
        speakers=(
            SpeakerInfo("SPEAKER_00", "Anne de Vries", "moderator", 1.0, "editor", True),
            SpeakerInfo("SPEAKER_01", "Pieter Bakker", "speaker", 0.8, "introduction", False),
        ),
        chapters=(
            Chapter(0.0, second_turn, "Anne de Vries: welkom", "SPEAKER_00", ("welkom",)),
            Chapter(second_turn, duration, "Pieter Bakker: de buurtcoöperatie", "SPEAKER_01", ("coöperatie",)),
        ),
        stage_files=subtitle_files(transcript, names, SubtitleSettings()),
    )


APPROVED_SUMMARY = "Anne de Vries spreekt met Pieter Bakker over de buurtcoöperatie.\n\nLeden beslissen samen."


def review_as_editor(package: SessionPackage, folder: Path) -> SessionReview:
    """Run the summaries and review stages, then approve the summary (edited) and Pieter's name as an editor."""
    summary = extractive_summary(package.transcript, package.chapters, SummariesSettings())
    review = update_review(
        folder,
        package.recording.slug,
        package.recording.title,
        summary,
        split_sentences(package.transcript),
        package.speakers,
    )
    review = approve(review, SESSION_SUMMARY_KEY, "Redactie", APPROVED_SUMMARY)
    review = approve(review, speaker_name_key("SPEAKER_01"), "Redactie")
    write_review(folder, review)
    return review


@pytest.fixture(scope="session")
def hostile_audio_recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """An audio-only MP3 (from the sample's sound) whose sidecar title holds HTML."""
    folder = tmp_path_factory.mktemp("hostile-media")
    source = folder / "paneldiscussie.mp3"
    run_ffmpeg("-i", str(SAMPLE), "-t", "20", "-vn", "-c:a", "libmp3lame", "-b:a", "64k", str(source))
    (folder / "paneldiscussie.yaml").write_text(
        "title: 'Wonen & werken " + HOSTILE_SCRIPT.replace("'", "''") + "'\n"
        "date: '2026-03-15'\nprogramme: Middagprogramma\n"
        "description: 'Beschrijving met " + HOSTILE_IMG.replace("'", "''") + "'\n",
        encoding="utf-8",
    )
    return ingest(source, folder / "cache")


def hostile_package(recording: Recording) -> SessionPackage:
    """A hand-made transcript whose text tries to inject a script and an image with onerror."""
    texts = [
        ("SPEAKER_00", 0.0, 6.0, f"Welkom allemaal. {HOSTILE_SCRIPT} Dat hoort tekst te blijven."),
        ("SPEAKER_01", 6.0, 12.0, f"Ook dit {HOSTILE_IMG} is gewoon tekst over woningcorporaties."),
        ("SPEAKER_00", 12.0, 19.0, "Dank u wel, dan sluiten we af."),
    ]
    segments = tuple(
        Segment(start, end, text, (Word(start, end, text, 0.9, speaker),), speaker)
        for speaker, start, end, text in texts
    )
    transcript = Transcript("nl", 1.0, 20.0, segments, "handmade-test-fixture")
    speakers = (
        SpeakerInfo("SPEAKER_00", "Moderator " + HOSTILE_SCRIPT, "moderator", 1.0, "editor", True),
        SpeakerInfo("SPEAKER_01", None, "speaker"),
    )
    return SessionPackage(
        recording=recording,
        transcript=transcript,
        speakers=speakers,
        chapters=(Chapter(0.0, 12.0, "Opening " + HOSTILE_IMG), Chapter(12.0, 20.0, "Afsluiting")),
        stage_files=subtitle_files(transcript, {"SPEAKER_00": speakers[0].name}, SubtitleSettings()),
    )


LONG_SESSION_S = 2 * 3600.0
LONG_TURN_S = 20.0
LONG_CHAPTER_S = 600.0


def long_package(recording: Recording) -> SessionPackage:
    """A two-hour panel (hand-made: four speakers taking 20-second turns, a chapter every 10 minutes)
    over the short audio-only recording, its duration set to two hours: the page's length, tab stops
    and links are what it is for, not playback past the audio's end."""
    speakers = [f"SPEAKER_0{n}" for n in range(4)]
    segments = []
    for n in range(int(LONG_SESSION_S / LONG_TURN_S)):
        start = n * LONG_TURN_S + 0.37  # turns start between whole seconds, as real ones do
        speaker = speakers[n % 4]
        for k, text in enumerate(("Dat is een goede vraag over de wijk.", f"Punt {n} gaat over huurwoningen.")):
            at = start + k * 9.0
            segments.append(Segment(at, at + 8.5, text, (Word(at, at + 8.5, text, 0.9, speaker),), speaker))
    transcript = Transcript("nl", 1.0, LONG_SESSION_S, tuple(segments), "handmade-test-fixture")
    chapters = tuple(
        Chapter(t + 0.37, min(t + LONG_CHAPTER_S, LONG_SESSION_S), f"Deel {i + 1}: de wijk")
        for i, t in enumerate(range(0, int(LONG_SESSION_S), int(LONG_CHAPTER_S)))
    )
    long_recording = replace(
        recording,
        slug="lange-paneldiscussie",
        media=replace(recording.media, duration=LONG_SESSION_S),
        metadata=replace(recording.metadata, title="Lange paneldiscussie over de woningmarkt"),
    )
    names = {"SPEAKER_00": "Anne de Vries"}
    return SessionPackage(
        recording=long_recording,
        transcript=transcript,
        speakers=(SpeakerInfo("SPEAKER_00", "Anne de Vries", "moderator", 1.0, "editor", True),),
        chapters=chapters,
        stage_files=subtitle_files(transcript, names, SubtitleSettings()),
    )


DESCRIPTION_CUES = (
    (2.0, 4.5, "Twee mensen zitten aan een tafel met microfoons."),
    (9.0, 11.0, "Op het scherm verschijnt het logo van de coöperatie."),
)


@pytest.fixture(scope="session")
def accessible_recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A 20-second video of the sample whose sidecar names a sign-language interpreter's video (here the
    sample's picture, small and silent) and a WebVTT file of audio descriptions."""
    folder = tmp_path_factory.mktemp("accessible-media")
    source = folder / "interview.mp4"
    run_ffmpeg("-i", str(SAMPLE), "-t", "20", "-c", "copy", str(source))
    run_ffmpeg(
        "-i", str(SAMPLE), "-t", "20", "-an", "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "ultrafast",
        "-g", "10", str(folder / "interview-ngt.mp4"),
    )  # fmt: skip
    cues = "".join(f"\n{webvtt_timestamp(a)} --> {webvtt_timestamp(b)}\n{text}\n" for a, b, text in DESCRIPTION_CUES)
    (folder / "interview.beschrijving.vtt").write_text("WEBVTT\n" + cues, encoding="utf-8")
    (folder / "interview.yaml").write_text(
        "title: Interview met tolk\nsign_language_video: interview-ngt.mp4\ndescriptions: interview.beschrijving.vtt\n",
        encoding="utf-8",
    )
    return ingest(source, folder / "cache")


def accessible_package(recording: Recording) -> SessionPackage:
    """The interview with a hand-made transcript of three turns."""
    texts = [
        ("SPEAKER_00", 0.5, 6.0, "Welkom bij dit interview met een tolk Nederlandse Gebarentaal."),
        ("SPEAKER_01", 6.5, 12.0, "Dank u wel, ik vertel graag over onze coöperatie."),
        ("SPEAKER_00", 12.5, 19.0, "Wat doen de leden samen?"),
    ]
    segments = tuple(
        Segment(start, end, text, (Word(start, end, text, 0.9, speaker),), speaker)
        for speaker, start, end, text in texts
    )
    transcript = Transcript("nl", 1.0, 20.0, segments, "handmade-test-fixture")
    return SessionPackage(
        recording=recording,
        transcript=transcript,
        stage_files=subtitle_files(transcript, {}, SubtitleSettings()),
    )


@pytest.fixture(scope="session")
def published_site(
    tmp_path_factory: pytest.TempPathFactory, sample_session: SampleSession, hostile_audio_recording: Recording
) -> Path:
    """An output folder with both sessions and the catalogue published (shared; tests only read it)."""
    output = tmp_path_factory.mktemp("site") / "output"
    package = sample_package(sample_session)
    review_as_editor(package, workspace.session_private_dir(output, package.recording.slug))
    publish_session(package, output, SETTINGS)
    publish_session(hostile_package(hostile_audio_recording), output, SETTINGS)
    publish_catalogue(output, SETTINGS)
    return output


@pytest.fixture(scope="session")
def site_url(published_site: Path) -> Iterator[str]:
    """The published site served by `livecast serve`'s server on 127.0.0.1 (a free port)."""
    server = preview_server(published_site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class SampleFlowRun:
    """The sample published by the real flow (`process_folder`, default settings), in a batch with a broken
    file, an empty one and a path that does not exist."""

    source: Path
    """The sample's copy the run read: a rerun names this file, so that it is the same session."""
    output: Path
    result: SessionResult
    failures: dict[str, SessionResult]
    """The batch's other recordings, by file name: each failed."""
    progress: list[float]
    """The seconds of audio transcribed, as the run reported them."""
    prefect_record: PrefectRecord
    """What the run left on its Prefect server."""


@dataclass(frozen=True)
class PrefectRecord:
    """The flow runs, task runs and artifacts a Prefect server holds (read right after a run, as a user would
    in the UI: a test in another pytest-xdist process has a server of its own)."""

    flow_runs: frozenset[str]
    task_runs: frozenset[str]
    artifacts: dict[str, tuple[str | None, str]]
    """By key: the artifact's type and its data."""


def prefect_record(since: datetime) -> PrefectRecord:
    """What the current Prefect server holds of the runs started since `since`: their names and keyed artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterStartTime,
        TaskRunFilter,
        TaskRunFilterStartTime,
    )

    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since))
        )
        task_runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[r.id for r in flow_runs]))
        )
    return PrefectRecord(
        frozenset(r.name for r in flow_runs),
        frozenset(r.name for r in task_runs),
        {a.key: (a.type, str(a.data)) for a in artifacts if a.key},
    )


@pytest.fixture(scope="session")
def sample_flow_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> SampleFlowRun:
    """The sample through the real flow once per test run, shared by the flow, subtitles and publish tests
    (read-only: a test that changes the output works on `flow_output_copy`)."""
    from livecastpipe.flows.pipeline import process_folder
    from livecastpipe.flows.progress import TranscriptionProgress

    def make(folder: Path) -> SampleFlowRun:
        media = folder / "flow-media"
        media.mkdir()
        shutil.copy(SAMPLE, media / SAMPLE.name)
        shutil.copy(SAMPLE_SIDECAR, media / SAMPLE_SIDECAR.name)
        (media / "kapot.mp4").write_text("geen video")
        (media / "leeg.wav").touch()
        output = folder / "flow" / "out"
        progress: list[float] = []
        started = datetime.now(timezone.utc)
        results = process_folder(
            [str(media), str(folder / "bestaat-niet.mp4")],
            Settings(output_dir=output),
            TranscriptionProgress(lambda source, done, total: progress.append(done)),
        )
        by_name = {Path(r.source).name: r for r in results}
        result = by_name.pop(SAMPLE.name)
        assert result.status == "done", result.error
        return SampleFlowRun(media / SAMPLE.name, output, result, by_name, progress, prefect_record(started))

    return made_once(tmp_path_factory, "sample-flow-run", make)


@pytest.fixture()
def flow_output_copy(sample_flow_run: SampleFlowRun, tmp_path: Path) -> Path:
    """A copy of the flow's output folder for a test that changes it; its cache comes along, so a rerun
    finds the stages done as in the folder the run wrote."""
    copy = tmp_path / "flow-out"
    shutil.copytree(sample_flow_run.output, copy, symlinks=True)
    return copy
