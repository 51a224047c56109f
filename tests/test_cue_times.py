"""Moving a cue's start and end (the editor's cue timing edits): the bounds a move must keep, the move laid
over the cues the search builds (captions and subtitles files), undo, and a move no cue can take any more
after the transcript changed kept and reported, not applied to another cue."""

from __future__ import annotations

from dataclasses import replace

import pytest
import webvtt

from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.layout import start_edits
from livecastpipe.editor.edits.model import EditError, SessionEdits
from livecastpipe.models import Transcript
from livecastpipe.settings import SubtitleSettings
from livecastpipe.stages.cue_times import cue_warnings, key_seconds, timed_cues
from livecastpipe.stages.subtitles import build_cues, subtitle_files

from .workbench_fixtures import LINES, spoken

PROFILE = SubtitleSettings().resolved_profile
DURATION = 20.0
EDITOR = "Redactie"


def transcript(lines: tuple[tuple[str, float, str], ...] = LINES) -> Transcript:
    """The workbench's small session's transcript (four segments, two speakers, 20 s)."""
    return Transcript("nl", 1.0, DURATION, tuple(spoken(*line) for line in lines), "handmade-test-fixture")


def shown(edits: SessionEdits, machine: Transcript) -> list[tuple[str, float, float]]:
    """The cues as the workbench shows them (key, start, end): built, with the edits' moves."""
    timed, _ = timed_cues(build_cues(machine.words, PROFILE), edits.cue_times, DURATION)
    return [(t.key, t.cue.start, t.cue.end) for t in timed]


def moved(edits: SessionEdits, machine: Transcript, at: int, start: float, end: float) -> SessionEdits:
    """The edits with cue number `at` moved to `start`–`end`, as the workbench's route moves it."""
    cues = shown(edits, machine)
    return ed.set_cue_time(
        edits,
        cues[at][0],
        start,
        end,
        base_version=edits.version,
        editor=EDITOR,
        cues=cues,
        min_gap=PROFILE.min_gap,
        duration=DURATION,
    )


def test_a_moved_cue_is_published_at_its_new_times_in_every_caption_file() -> None:
    machine = transcript()
    edits = start_edits("proef", machine)
    key, start, end = shown(edits, machine)[1]
    edits = moved(edits, machine, 1, start + 0.1, end - 0.2)
    assert edits.version == 1 and edits.history[-1].action == "cue-time"
    files = subtitle_files(machine, {}, SubtitleSettings(), cue_times=edits.cue_times, duration=DURATION)
    for name in ("captions.nl.vtt", "subtitles.nl.vtt"):
        cue = list(webvtt.from_string(files[name]))[1]
        assert (key_seconds(cue.start), key_seconds(cue.end)) == pytest.approx((start + 0.1, end - 0.2), abs=0.0011)
    before = subtitle_files(machine, {}, SubtitleSettings())
    assert key_seconds(list(webvtt.from_string(before["captions.nl.vtt"]))[1].start) == pytest.approx(start, abs=0.0011)
    undone = ed.undo(edits, base_version=edits.version, editor=EDITOR)
    assert undone.cue_times == {} and shown(undone, machine)[1] == (key, start, end)


def test_a_move_keeps_start_before_end_clear_of_the_neighbours_and_within_the_recording() -> None:
    machine = transcript()
    edits = start_edits("proef", machine)
    cues = shown(edits, machine)
    (_, _, first_end), (_, start, end), (_, next_start, _) = cues[0], cues[1], cues[2]
    with pytest.raises(EditError, match="beginnen vóór"):
        moved(edits, machine, 1, end, start)
    with pytest.raises(EditError, match="vorige regel"):
        moved(edits, machine, 1, first_end - 0.05, end)  # into the cue before
    with pytest.raises(EditError, match="minstens 0.08 s"):
        moved(edits, machine, 1, start, next_start - 0.04)  # nearer the next cue than the minimum gap
    with pytest.raises(EditError, match="tijd in seconden"):
        moved(edits, machine, 1, "4.5", end)  # type: ignore[arg-type]
    with pytest.raises(EditError, match="geen regel"):
        ed.set_cue_time(
            edits, "00:00:03.333", start, end, base_version=0, editor=EDITOR, cues=cues, min_gap=0.08, duration=20.0
        )
    last = len(cues) - 1
    clamped = moved(edits, machine, last, cues[last][1], DURATION + 5)
    assert shown(clamped, machine)[last][2] == DURATION
    assert moved(edits, machine, 1, start + 0.05, end).cue_times  # a move that keeps the gap is taken


def test_a_move_based_on_an_older_version_is_refused() -> None:
    machine = transcript()
    edits = moved(start_edits("proef", machine), machine, 0, 0.6, 3.0)
    with pytest.raises(ed.EditConflict):
        ed.set_cue_time(
            edits,
            shown(edits, machine)[1][0],
            4.6,
            7.0,
            base_version=0,
            editor=EDITOR,
            cues=shown(edits, machine),
            min_gap=0.08,
            duration=DURATION,
        )


def test_a_move_no_cue_can_take_after_the_words_changed_is_reported_not_applied() -> None:
    machine = transcript()
    edits = moved(start_edits("proef", machine), machine, 2, 8.7, 10.5)
    # the rerun heard the third line two seconds later: no cue starts near the moved one any more
    later = tuple((sp, at + 2.0 if at == 8.5 else at, text) for sp, at, text in LINES)
    rerun = transcript(later)
    timed, unplaced = timed_cues(build_cues(rerun.words, PROFILE), edits.cue_times, DURATION)
    assert unplaced == list(edits.cue_times)
    assert not any(t.moved for t in timed)
    # a rerun that moved the line a little: the move is laid on that cue, by time
    nearby = transcript(tuple((sp, at + 0.2 if at == 8.5 else at, text) for sp, at, text in LINES))
    timed, unplaced = timed_cues(build_cues(nearby.words, PROFILE), edits.cue_times, DURATION)
    assert unplaced == [] and [(t.cue.start, t.cue.end) for t in timed if t.moved] == [(8.7, 10.5)]


def test_warnings_name_reading_speed_line_length_and_gap() -> None:
    cue = build_cues(transcript().words, PROFILE)[0]
    assert cue_warnings(cue, None, cue.end + 1, PROFILE) == []
    fast = replace(cue, end=cue.start + 0.5)
    assert any(w.startswith("te snel om te lezen") for w in cue_warnings(fast, None, None, PROFILE))
    long_line = replace(cue, lines=(replace(cue.lines[0], text="x" * 50),))
    assert any("regel van 50 tekens" in w for w in cue_warnings(long_line, None, None, PROFILE))
    assert any("tot de volgende regel" in w for w in cue_warnings(cue, None, cue.end + 0.02, PROFILE))
