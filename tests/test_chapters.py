"""Chapter rules: substantive turns become chapters, interjections do not, long monologues are split;
the three chapter outputs parse as what players and YouTube expect."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import webvtt
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from livecastpipe.models import Chapter, Segment, SpeakerTurn, Transcript, Word
from livecastpipe.settings import ChapterSettings
from livecastpipe.stages.chapters import (
    chapter_files,
    chapters_json,
    chapters_vtt,
    make_chapters,
    youtube_chapters,
)

NAMES = {"SPEAKER_00": "Anne de Vries", "SPEAKER_01": "Pieter Bakker", "SPEAKER_02": "Karim El Amrani"}
TOPICS = {
    "SPEAKER_00": "welkom bij het gesprek over wooncoöperaties in de stad",
    "SPEAKER_01": "de financiering van betaalbare huurwoningen met een ethische bank",
    "SPEAKER_02": "de gemeente gaf een lening aan de leden van de coöperatie",
}


def _spoken(turns: list[tuple[float, float, str, str | None]]) -> tuple[Transcript, list[SpeakerTurn]]:
    """A transcript whose words fill each turn (text given, or the speaker's topic repeated)."""
    segments = []
    for start, end, speaker, text in turns:
        tokens = (text or TOPICS[speaker]).split()
        if text is None:
            tokens = (tokens * 100)[: max(1, int((end - start) / 0.4))]
        step = (end - start) / len(tokens)
        words = tuple(
            Word(start + i * step, start + (i + 0.8) * step, token, 0.9, speaker) for i, token in enumerate(tokens)
        )
        segments.append(Segment(start, end, " ".join(tokens), words, speaker))
    transcript = Transcript("nl", 1.0, turns[-1][1] if turns else 0.0, tuple(segments), "test")
    return transcript, [SpeakerTurn(s, e, spk) for s, e, spk, _ in turns]


def _chapters(turns, duration, **overrides):
    transcript, speaker_turns = _spoken(turns)
    return make_chapters(transcript, speaker_turns, NAMES, duration, ChapterSettings(**overrides))


def test_one_chapter_per_substantive_turn_with_name_and_keywords() -> None:
    result = _chapters(
        [(0, 30, "SPEAKER_00", None), (30.5, 90, "SPEAKER_01", None), (91, 150, "SPEAKER_02", None)], 150
    )
    assert [c.speaker for c in result.chapters] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert [c.start for c in result.chapters] == [0.0, 30.5, 91.0]
    assert result.chapters[-1].end == 150
    pieter = result.chapters[1]
    assert pieter.title.startswith("Pieter Bakker — ")
    assert pieter.keywords and all(k.lower() in TOPICS["SPEAKER_01"] for k in pieter.keywords)


def test_words_flagged_as_misheard_or_unsure_stay_out_of_chapter_titles() -> None:
    transcript, turns = _spoken([(0, 60, "SPEAKER_01", " ".join(["Kwarpelsnoek", TOPICS["SPEAKER_01"]] * 6))])
    heard = make_chapters(transcript, turns, NAMES, 60, ChapterSettings()).chapters[0]
    assert any("kwarpelsnoek" in k.lower() for k in heard.keywords)  # a rare word ranks high
    flagged = tuple(
        replace(w, flags=("not-in-dictionary",)) if w.text == "Kwarpelsnoek" else w for w in transcript.words
    )
    segment = replace(transcript.segments[0], words=flagged)
    checked = make_chapters(replace(transcript, segments=(segment,)), turns, NAMES, 60, ChapterSettings()).chapters[0]
    assert checked.keywords and not any("kwarpelsnoek" in k.lower() for k in checked.keywords)
    assert all(k.lower() in TOPICS["SPEAKER_01"] for k in checked.keywords)


def test_interjections_and_short_turns_stay_in_the_surrounding_chapter() -> None:
    result = _chapters(
        [
            (0, 40, "SPEAKER_01", None),
            (40.2, 40.8, "SPEAKER_00", "Ja."),
            (41, 80, "SPEAKER_01", None),
            (80.5, 81, "SPEAKER_02", "Precies."),
            (81.5, 92, "SPEAKER_00", None),  # 10.5 s: under the 20 s minimum
            (92.5, 150, "SPEAKER_02", None),
        ],
        150,
    )
    assert [(c.start, c.speaker) for c in result.chapters] == [(0.0, "SPEAKER_01"), (92.5, "SPEAKER_02")]
    shorter = _chapters(
        [(0, 40, "SPEAKER_01", None), (40.5, 51, "SPEAKER_00", None), (51.5, 100, "SPEAKER_02", None)],
        100,
        min_chapter_s=10,
    )
    assert [c.speaker for c in shorter.chapters] == ["SPEAKER_01", "SPEAKER_00", "SPEAKER_02"]


def test_an_interjection_is_never_a_chapter_even_when_long_pauses_make_it_last() -> None:
    result = _chapters(
        [(0, 30, "SPEAKER_00", None), (30, 55, "SPEAKER_01", "ja ja precies"), (55, 100, "SPEAKER_02", None)],
        100,
    )
    assert [c.speaker for c in result.chapters] == ["SPEAKER_00", "SPEAKER_02"]


def test_a_long_stretch_of_quick_exchanges_is_a_conversation_chapter() -> None:
    quick = [(60 + 8 * i, 60 + 8 * i + 7.5, f"SPEAKER_0{1 + i % 2}", None) for i in range(8)]
    result = _chapters([(0, 59, "SPEAKER_00", None), *quick, (124, 180, "SPEAKER_00", None)], 180)
    assert [c.speaker for c in result.chapters] == ["SPEAKER_00", None, "SPEAKER_00"]
    assert result.chapters[1].title.startswith("Pieter Bakker en Karim El Amrani")


def test_a_monologue_over_ten_minutes_is_split_at_its_longest_pauses() -> None:
    first, second = _spoken([(0, 400, "SPEAKER_01", None)]), _spoken([(409, 1500, "SPEAKER_01", None)])
    transcript = Transcript("nl", 1.0, 1500, first[0].segments + second[0].segments, "test")
    turns = [SpeakerTurn(0, 1500, "SPEAKER_01")]
    result = make_chapters(transcript, turns, NAMES, 1500, ChapterSettings())
    assert len(result.chapters) == 3
    assert 400 < result.chapters[1].start < 409  # in the 9 s pause, not at the exact third (500 s)
    assert all(c.end - c.start <= 600 for c in result.chapters)
    assert all(c.speaker == "SPEAKER_01" for c in result.chapters)
    assert any("split" in note for note in result.notes)


def test_no_speech_gives_one_chapter_and_says_why() -> None:
    result = make_chapters(Transcript("nl", 0.0, 12, (), "test"), [], NAMES, 12.0, ChapterSettings(), "Opening")
    assert result.chapters == (Chapter(0.0, 12.0, "Opening", None, ()),)
    assert any("no speech" in note for note in result.notes)
    files, notes = chapter_files(result, 12.0, "Opening")
    assert "youtube-chapters.txt" not in files and any("at least 3 chapters" in n for n in notes)


def test_outputs_parse_as_webvtt_podcast_json_and_youtube_list() -> None:
    """The chapter tracks publishing writes, and the YouTube list the chapters stage writes."""
    result = _chapters(
        [(0, 30, "SPEAKER_00", None), (30.5, 90, "SPEAKER_01", None), (91, 3700, "SPEAKER_02", None)],
        3700,
        max_chapter_s=4000,
    )
    files, notes = chapter_files(result, 3700, "Wooncoöperaties")
    vtt = chapters_vtt(result.chapters)
    cues = (
        webvtt.from_buffer(io.StringIO(vtt)) if hasattr(webvtt, "from_buffer") else webvtt.read_buffer(io.StringIO(vtt))
    )
    assert [c.text for c in cues] == [c.title for c in result.chapters]
    assert cues[1].start == "00:00:30.500"
    podcast = json.loads(chapters_json(result.chapters, "Wooncoöperaties"))
    assert podcast["version"] == "1.2.0"
    assert [c["startTime"] for c in podcast["chapters"]] == [0.0, 30.5, 91.0]
    lines = files["youtube-chapters.txt"].splitlines()
    assert lines[0].startswith("0:00:00 Anne de Vries")
    assert lines[2].startswith("0:01:31 Karim El Amrani")
    assert notes == []


def test_youtube_list_joins_chapters_under_ten_seconds_or_explains_why_there_is_none() -> None:
    chapters = [Chapter(0, 25, "A"), Chapter(25, 31, "B"), Chapter(31, 60, "C"), Chapter(60, 90, "D")]
    text, problem = youtube_chapters(chapters, 90)
    assert problem is None and text == "0:00 A\n0:31 C\n1:00 D\n"
    text, problem = youtube_chapters(chapters[:2], 31)
    assert text is None and "at least 3" in problem


turn_lists = st.lists(
    st.tuples(st.floats(0.3, 90), st.floats(0, 3), st.sampled_from(sorted(NAMES))), min_size=0, max_size=25
)


@hypothesis_settings(max_examples=40, deadline=None)
@given(turn_lists, st.floats(0, 40))
def test_chapters_always_cover_the_whole_recording_in_order(raw: list, minimum: float) -> None:
    turns, position = [], 0.0
    for length, pause, speaker in raw:
        turns.append((round(position, 3), round(position + length, 3), speaker, None))
        position += length + pause
    duration = max(position, 1.0)
    transcript, speaker_turns = _spoken(turns) if turns else (Transcript("nl", 0, duration, (), "t"), [])
    result = make_chapters(transcript, speaker_turns, NAMES, duration, ChapterSettings(min_chapter_s=minimum))
    chapters = result.chapters
    assert chapters and chapters[0].start == 0.0 and chapters[-1].end == round(duration, 3)
    assert all(a.end == b.start and a.start < b.start for a, b in zip(chapters, chapters[1:]))
    assert all(c.title for c in chapters)
    assert chapters_vtt(chapters).startswith("WEBVTT")
