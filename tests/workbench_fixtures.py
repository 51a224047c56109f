"""A small published session for the workbench tests: four segments of two speakers in two chapters, a
flagged word, and a review file, over the 20-second audio-only recording (ffmpeg only, no model)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.editor.review import update_review
from livecastpipe.models import Chapter, Recording, Segment, SpeakerInfo, Transcript, Word
from livecastpipe.package.publish import publish_session
from livecastpipe.package.store import SessionPackage, load_session_package
from livecastpipe.settings import SubtitleSettings
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.summaries import ChapterSummary, SessionSummary, SummarySentence, split_sentences
from livecastpipe.stages.translate import translated_subtitle_files

from .publish_fixtures import SETTINGS

SLUG = "werkbank-proef"
LINES = (
    ("SPEAKER_00", 0.5, "Welkom bij de buurtcooperatie van Amsterdam Noord"),
    ("SPEAKER_00", 4.5, "Vandaag praten we over wonen en werken"),
    ("SPEAKER_01", 8.5, "Dank je wel Anne voor de uitnodiging"),
    ("SPEAKER_01", 12.5, "Wij beginnen met de leden van de cooperatie"),
)
FLAGGED = "buurtcooperatie"


def spoken(speaker: str, start: float, text: str) -> Segment:
    """A segment whose words follow each other 0.4 s apart; the flagged word marked uncertain."""
    words = tuple(
        Word(
            round(start + 0.4 * i, 2),
            round(start + 0.4 * i + 0.35, 2),
            token,
            0.4 if token == FLAGGED else 0.95,
            speaker,
            ("low-confidence",) if token == FLAGGED else (),
        )
        for i, token in enumerate(text.split())
    )
    return Segment(words[0].start, words[-1].end, text, words, speaker)


def small_package(recording: Recording) -> SessionPackage:
    """Four segments of two speakers in two chapters, over the 20-second audio-only recording."""
    transcript = Transcript("nl", 1.0, 20.0, tuple(spoken(*line) for line in LINES), "handmade-test-fixture")
    speakers = (
        SpeakerInfo("SPEAKER_00", "Anne de Vries", "moderator", 1.0, "editor", True),
        SpeakerInfo("SPEAKER_01", "Pieter Bakker", "speaker", 0.7, "voice-library", False),
    )
    names = {"SPEAKER_00": "Anne de Vries"}
    return SessionPackage(
        recording=replace(recording, slug=SLUG, metadata=replace(recording.metadata, title="Werkbank proef")),
        transcript=transcript,
        speakers=speakers,
        chapters=(
            Chapter(0.5, 8.5, "Anne de Vries: welkom", "SPEAKER_00"),
            Chapter(8.5, 20.0, "Pieter Bakker: de leden", "SPEAKER_01"),
        ),
        stage_files=subtitle_files(transcript, names, SubtitleSettings()),
    )


@pytest.fixture(scope="session")
def edit_site(tmp_path_factory: pytest.TempPathFactory, hostile_audio_recording: Recording) -> Path:
    """An output folder with the small session published and its review file made, once per test run for the
    workbench's API and browser tests (read-only: copy it)."""
    output = tmp_path_factory.mktemp("workbench") / "output"
    package = small_package(hostile_audio_recording)
    sentences = split_sentences(package.transcript)
    summary = SessionSummary(
        sentences=(SummarySentence(0.5, 4.0, "SPEAKER_00", sentences[0].text),),
        chapters=tuple(
            ChapterSummary(
                c.start, c.end, c.title, c.speaker, (SummarySentence(s.start, s.end, s.speaker, s.text),), "proef"
            )
            for c, s in zip(package.chapters, (sentences[0], sentences[-1]))
        ),
        keywords=("coöperatie", "wonen"),
        source_hash="proef",
        backend="extractive",
    )
    private = workspace.session_private_dir(output, SLUG)
    update_review(private, SLUG, package.recording.title, summary, sentences, package.speakers)
    publish_session(package, output, SETTINGS)
    return output


ENGLISH_LINES = (
    ("SPEAKER_00", 0.5, "Welcome to the neighbourhood cooperative of Amsterdam North"),
    ("SPEAKER_00", 4.5, "Today we talk about living and working"),
    ("SPEAKER_01", 8.5, "Thank you Anne for the invitation"),
    ("SPEAKER_01", 12.5, "We begin with the members of the cooperative"),
)


@pytest.fixture(scope="session")
def translated_edit_site(tmp_path_factory: pytest.TempPathFactory, edit_site: Path) -> Path:
    """The small session published again with English subtitles made by the library from a hand-made English
    translation (no model), once per test run (read-only: copy it)."""
    output = tmp_path_factory.mktemp("translated") / "output"
    shutil.copytree(edit_site, output, symlinks=True)
    package = load_session_package(output, SLUG)
    english = Transcript("en", 1.0, 20.0, tuple(spoken(*line) for line in ENGLISH_LINES), "handmade-test-fixture")
    files = translated_subtitle_files(english, SubtitleSettings())
    publish_session(replace(package, stage_files={**package.stage_files, **files}), output, SETTINGS)
    return output


@pytest.fixture()
def output(edit_site: Path, tmp_path: Path) -> Path:
    """A copy of the small edited site of its own, for a test that changes it."""
    copy = tmp_path / "output"
    shutil.copytree(edit_site, copy, symlinks=True)
    return copy
