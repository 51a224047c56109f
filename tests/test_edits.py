"""The editor's edits: corrections keep the words' timing, every change can be undone, two tabs never
lose an update, a rerun never drops an edit, bad input changes nothing (no model, no media)."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from livecastpipe import workspace
from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.edits_file import current_edits, read_edits, update_edits
from livecastpipe.editor.edits.layout import retime_words, start_edits
from livecastpipe.editor.edits.model import EditConflict, EditError, SessionEdits, flagged_words
from livecastpipe.editor.edits.rerun import edited_transcript, reconcile
from livecastpipe.models import Chapter, Segment, Transcript, Word, to_json
from livecastpipe.package import outputs
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.editorial import render_preview
from livecastpipe.package.publish import publish_session, republish

from .publish_fixtures import SETTINGS, review_as_editor, sample_package

EDITOR = "Redactie"


def machine_transcript(*texts: tuple[str, float, str]) -> Transcript:
    """A transcript of segments (speaker, start, text), one word a second, every other word flagged."""
    segments = []
    for speaker, start, text in texts:
        words = tuple(
            Word(start + i, start + i + 0.8, token, 0.6, speaker, ("low-confidence",) if i % 2 else ())
            for i, token in enumerate(text.split())
        )
        segments.append(Segment(start, words[-1].end + 0.2, text, words, speaker))
    return Transcript("nl", 1.0, 60.0, tuple(segments), "handmade")


MACHINE = machine_transcript(
    ("SPEAKER_00", 0.0, "welkom bij de vergadering van de raad"),
    ("SPEAKER_01", 10.0, "dank u wel voorzitter ik heb een vraag"),
    ("SPEAKER_00", 20.0, "gaat uw gang meneer de vries"),
)


def fresh() -> SessionEdits:
    return start_edits("raad", MACHINE)


# --- retiming -------------------------------------------------------------------------------------


def test_a_corrected_word_takes_the_time_of_the_word_it_replaces_and_the_others_keep_theirs() -> None:
    old = MACHINE.segments[0].words
    new = retime_words(old, "welkom bij de vergadering van de gemeenteraad", 0.0, 7.0)
    assert new[:6] == old[:6]
    assert (new[6].start, new[6].end, new[6].text) == (old[6].start, old[6].end, "gemeenteraad")
    assert new[6].flags == ("edited",) and new[6].probability == 1.0 and new[6].speaker == "SPEAKER_00"


def test_words_typed_in_for_one_share_its_time_and_an_insertion_takes_the_gap() -> None:
    old = MACHINE.segments[2].words  # gaat uw gang meneer de vries, at 20, 21, … 25
    new = retime_words(old, "gaat uw gang meneer De Vries dank", 20.0, 26.0)
    assert [w.text for w in new] == ["gaat", "uw", "gang", "meneer", "De", "Vries", "dank"]
    assert new[4].start == old[4].start and new[6].end == old[5].end  # three words typed for two
    assert new[4].end == new[5].start < new[5].end == new[6].start
    appended = retime_words(old, "gaat uw gang meneer de vries dank", 20.0, 26.0)
    assert appended[:6] == old and (appended[6].start, appended[6].end) == (old[5].end, 26.0)
    inserted = retime_words(old, "gaat u uw gang", 20.0, 26.0)
    assert (inserted[1].start, inserted[1].end) == (old[0].end, old[1].start)


WORDS = st.lists(st.sampled_from(["de", "het", "raad", "vraag", "Vries", "[onverstaanbaar]", "ja", "x"]), max_size=12)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    old_tokens=WORDS,
    new_tokens=WORDS.filter(bool),
    gaps=st.lists(st.floats(0.0, 2.0), min_size=26, max_size=26),
    start=st.floats(0.0, 1000.0),
)
def test_retimed_words_stay_in_order_inside_the_segment(
    old_tokens: list[str], new_tokens: list[str], gaps: list[float], start: float
) -> None:
    """Whatever the edit: one word per token typed, times never go back and stay inside the segment, and
    every word the editor left alone keeps its exact times."""
    old, at = [], start
    for i, token in enumerate(old_tokens):
        old.append(Word(at + gaps[2 * i], at + gaps[2 * i] + gaps[2 * i + 1], token, 0.5))
        at = old[-1].end
    end = at + gaps[-1]
    new = retime_words(old, " ".join(new_tokens), start, end)
    assert [w.text for w in new] == new_tokens
    assert all(start <= w.start <= w.end <= end for w in new)
    assert all(a.end <= b.start for a, b in zip(new, new[1:]))
    kept = [w for w in new if "edited" not in w.flags]
    assert all(w in old for w in kept)


# --- operations -----------------------------------------------------------------------------------


def test_set_text_records_who_and_when_and_the_edited_transcript_has_the_correction() -> None:
    edits = ed.set_text(fresh(), "s3", "gaat uw gang meneer De Vries", base_version=0, editor=EDITOR)
    assert edits.version == 1 and edits.history[-1].editor == EDITOR and edits.history[-1].action == "text"
    assert edits.segment("s3").edited and not edits.segment("s1").edited
    transcript = edited_transcript(MACHINE, edits)
    assert transcript.segments[2].text == "gaat uw gang meneer De Vries"
    assert transcript.segments[:2] == MACHINE.segments[:2]
    assert transcript.model == MACHINE.model


def test_a_stale_version_is_a_conflict_that_shows_the_latest_text() -> None:
    edits = ed.set_text(fresh(), "s1", "welkom bij de raad", base_version=0, editor="tab 1")
    with pytest.raises(EditConflict) as caught:
        ed.set_text(edits, "s1", "welkom allemaal", base_version=0, editor="tab 2")
    assert caught.value.current.segment("s1").text == "welkom bij de raad"
    assert "is intussen gewijzigd (nu versie 1;" in str(caught.value)
    assert "laad de pagina opnieuw" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "   ",
            r"de tekst van het segment op 0:00 \(s1\) is leeg: typ de tekst, of markeer het stuk als \[onverstaanbaar\]",
        ),
        ("a" * 1_000_000, r"is te lang: 1\u202f000\u202f000 tekens, hooguit 10\u202f000"),
        ("bel\x07 mij", "bevat onzichtbare stuurtekens: typ de tekst opnieuw"),
        ("links \u202eom", r"bevat onzichtbare stuurtekens: .*U\+202E"),
        ("isolaat \u2066x\u2069", r"bevat onzichtbare stuurtekens: .*U\+2066"),
        ("nul\u200bbreed", r"bevat onzichtbare stuurtekens: .*U\+200B"),
        ("\ufeffbom", r"bevat onzichtbare stuurtekens: .*U\+FEFF"),
        ("los \ud800 surrogaat", r"bevat onzichtbare stuurtekens: .*U\+D800"),
    ],
)
def test_bad_text_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        ed.set_text(fresh(), "s1", text, base_version=0, editor=EDITOR)


def test_an_unknown_segment_or_speaker_is_refused() -> None:
    with pytest.raises(EditError, match="segment 's9' bestaat niet"):
        ed.set_text(fresh(), "s9", "hallo", base_version=0, editor=EDITOR)
    with pytest.raises(EditError, match="spreker 'SPEAKER_07' komt niet voor in deze sessie"):
        ed.set_speaker(fresh(), "s1", "SPEAKER_07", base_version=0, editor=EDITOR)


def test_markup_and_cue_arrows_are_kept_as_text() -> None:
    edits = ed.set_text(fresh(), "s1", "welkom <b>bij</b> --> de raad", base_version=0, editor=EDITOR)
    assert edits.segment("s1").text == "welkom <b>bij</b> --> de raad"


def test_part_of_a_segment_moves_to_another_speaker_from_a_chosen_word() -> None:
    edits = ed.set_speaker(fresh(), "s2", "SPEAKER_00", from_word=4, base_version=0, editor=EDITOR)
    head, tail = edits.segment("s2"), edits.segment("e1")
    assert head.text == "dank u wel voorzitter" and head.speaker == "SPEAKER_01"
    assert tail.text == "ik heb een vraag" and tail.speaker == "SPEAKER_00"
    assert {w.speaker for w in tail.words} == {"SPEAKER_00"}
    assert [s.id for s in edits.segments] == ["s1", "s2", "e1", "s3"]


def test_split_merge_and_inaudible() -> None:
    edits = ed.split_segment(fresh(), "s1", 3, base_version=0, editor=EDITOR)
    assert edits.segment("s1").text == "welkom bij de" and edits.segment("e1").text == "vergadering van de raad"
    edits = ed.merge_segments(edits, "e1", "previous", base_version=1, editor=EDITOR)
    assert edits.segment("s1").text == MACHINE.segments[0].text
    with pytest.raises(EditError, match="segment 'e1' bestaat niet"):
        edits.segment("e1")
    with pytest.raises(
        EditError,
        match=r"het segment op 0:00 \(s1\) en het segment op 0:\d\d \(s2\) hebben verschillende sprekers .*geef ze eerst dezelfde spreker",
    ):
        ed.merge_segments(edits, "s2", "previous", base_version=2, editor=EDITOR)
    edits = ed.mark_inaudible(edits, "s2", from_word=1, to_word=3, base_version=2, editor=EDITOR)
    marked = edits.segment("s2")
    assert marked.text == "dank [onverstaanbaar] voorzitter ik heb een vraag" and marked.inaudible
    assert marked.words[1].start == 11.0 and marked.words[1].end == 12.8
    edits = ed.split_segment(edits, "s3", 2, base_version=3, editor=EDITOR)
    assert edits.segment("e2").text == "gang meneer de vries"  # e1 is never used again


def test_find_and_replace_previews_then_replaces_everywhere_as_one_change() -> None:
    edits = fresh()
    preview = ed.replace_preview(edits, "DE", "het")
    assert [p[0] for p in preview] == ["s1", "s3"]
    assert preview[0][2] == "welkom bij het vergadering van het raad"
    changed = ed.replace_all(edits, "de", "het", base_version=0, editor=EDITOR)
    assert changed.version == 1 and "het raad" in changed.segment("s1").text
    assert ed.undo(changed, base_version=1, editor=EDITOR).segments == edits.segments
    with pytest.raises(EditError, match="'gemeente' staat niet in de tekst"):
        ed.replace_all(edits, "gemeente", "stad", base_version=0, editor=EDITOR)


def test_speakers_can_be_added_and_merged() -> None:
    edits, added = ed.add_speaker(fresh(), base_version=0, editor=EDITOR)
    assert added == "SPEAKER_E1" and added in edits.speakers
    edits = ed.set_speaker(edits, "s3", added, base_version=1, editor=EDITOR)
    edits = ed.merge_speakers(edits, "SPEAKER_00", "SPEAKER_01", base_version=2, editor=EDITOR)
    assert [s.speaker for s in edits.segments] == ["SPEAKER_01", "SPEAKER_01", "SPEAKER_E1"]
    assert edited_transcript(MACHINE, edits).speaker_ids == {"SPEAKER_01", "SPEAKER_E1"}


def test_chapter_starts_move_within_their_neighbours() -> None:
    chapters = (Chapter(0.0, 10.0, "Opening"), Chapter(10.0, 20.0, "Vraag"), Chapter(20.0, 26.0, "Slot"))
    edits = ed.set_chapter_start(fresh(), 2, 9.5, base_version=0, editor=EDITOR, chapters=chapters)
    assert edits.chapter_starts == {"2": 9.5}
    moved = ed.with_chapter_starts(chapters, edits.chapter_starts)
    assert [(c.start, c.end) for c in moved] == [(0.0, 9.5), (9.5, 20.0), (20.0, 26.0)]
    with pytest.raises(
        EditError,
        match=r"hoofdstuk 3 kan niet op 0:05 beginnen: het moet na het begin van hoofdstuk 2 \(0:09.5\) beginnen",
    ):
        ed.set_chapter_start(edits, 3, 5.0, base_version=1, editor=EDITOR, chapters=chapters)
    with pytest.raises(EditError, match=r"hoofdstuk 4 bestaat niet \(de sessie heeft er 3\)"):
        ed.set_chapter_start(edits, 4, 25.0, base_version=1, editor=EDITOR, chapters=chapters)


def test_undo_and_redo_walk_the_history_back_and_forth() -> None:
    start = fresh()
    one = ed.set_text(start, "s1", "welkom bij de gemeenteraad", base_version=0, editor=EDITOR)
    two, added = ed.add_speaker(one, base_version=1, editor=EDITOR)
    three = ed.set_speaker(two, "s2", added, from_word=2, base_version=2, editor=EDITOR)
    back = ed.undo(three, base_version=3, editor=EDITOR)
    assert back.segments == two.segments
    back = ed.undo(back, base_version=4, editor=EDITOR)
    assert back.added_speakers == ()
    back = ed.undo(back, base_version=5, editor=EDITOR)
    assert back.segments == start.segments and back.version == 6
    with pytest.raises(EditError, match="er is niets om ongedaan te maken"):
        ed.undo(back, base_version=6, editor=EDITOR)
    again = ed.redo(ed.redo(back, base_version=6, editor=EDITOR), base_version=7, editor=EDITOR)
    assert again.segments == one.segments and again.added_speakers == (added,)
    assert ed.undo(again, base_version=8, editor=EDITOR).added_speakers == ()
    newer = ed.set_text(back, "s3", "gaat uw gang", base_version=6, editor=EDITOR)
    with pytest.raises(EditError, match="er is niets om opnieuw te doen"):
        ed.redo(newer, base_version=7, editor=EDITOR)


def test_revert_brings_back_the_machines_text_even_after_a_split() -> None:
    edits = ed.set_text(fresh(), "s2", "dank u wel voorzitter ik heb een vraag of twee", base_version=0, editor=EDITOR)
    edits = ed.split_segment(edits, "s2", 4, base_version=1, editor=EDITOR)
    edits = ed.revert_segment(edits, "e1", MACHINE, base_version=2, editor=EDITOR)
    assert edits.segments == fresh().segments
    assert edited_transcript(MACHINE, edits).segments == MACHINE.segments


def test_flagged_words_skip_what_an_editor_saved() -> None:
    edits = fresh()
    flagged = flagged_words(edits)
    assert flagged[:2] == [("s1", 1), ("s1", 3)]
    edits = ed.set_text(edits, "s1", MACHINE.segments[0].text, base_version=0, editor=EDITOR)
    assert all(sid != "s1" for sid, _ in flagged_words(edits))
    assert edited_transcript(MACHINE, edits).segments == MACHINE.segments  # checked, not changed


# --- reruns ---------------------------------------------------------------------------------------


def rerun(transcript: Transcript, index: int, text: str) -> Transcript:
    """The transcript as a rerun of the model gives it: one segment's words different."""
    seg = transcript.segments[index]
    words = tuple(replace(w, text=t) for w, t in zip(seg.words, text.split()))
    segments = list(transcript.segments)
    segments[index] = replace(seg, text=text, words=words)
    return replace(transcript, segments=tuple(segments))


def test_a_rerun_keeps_edits_marks_changed_ones_stale_and_unedited_segments_follow_it() -> None:
    edits = ed.set_text(fresh(), "s1", "welkom bij de gemeenteraad", base_version=0, editor=EDITOR)
    edits = ed.set_text(edits, "s3", "gaat uw gang meneer De Vries", base_version=1, editor=EDITOR)
    new = rerun(
        rerun(MACHINE, 0, "welkom bij de vergadering van de raat"), 1, "dank u wel voorzitter ik heb een vraagje"
    )
    reconciled = reconcile(edits, new)
    assert reconciled.version == 3 and reconciled.history[-1].action == "rerun"
    assert [s.id for s in reconciled.stale] == ["s1"]
    assert reconciled.segment("s1").text == "welkom bij de gemeenteraad"  # kept
    assert reconciled.segment("s2").text.endswith("vraagje")  # unedited: follows the rerun
    assert not reconciled.segment("s3").stale
    assert reconcile(reconciled, new) is reconciled
    # the edit of s3 can still be undone after the rerun
    assert ed.undo(reconciled, base_version=3, editor=EDITOR).segment("s3").text == MACHINE.segments[2].text
    kept = ed.resolve_stale(reconciled, "s1", True, new, base_version=3, editor=EDITOR)
    assert not kept.stale and kept.segment("s1").text == "welkom bij de gemeenteraad"
    assert reconcile(kept, new) is kept
    dropped = ed.resolve_stale(reconciled, "s1", False, new, base_version=3, editor=EDITOR)
    assert dropped.segment("s1").text == "welkom bij de vergadering van de raat" and not dropped.stale


def test_a_rerun_with_other_segments_never_drops_an_edit() -> None:
    edits = ed.set_text(fresh(), "s2", "dank u wel voorzitter", base_version=0, editor=EDITOR)
    new = machine_transcript(("SPEAKER_00", 0.5, "welkom allemaal"), ("SPEAKER_00", 20.0, "gaat uw gang"))
    reconciled = reconcile(edits, new)
    texts = [s.text for s in reconciled.segments]
    assert texts == ["welkom allemaal", "dank u wel voorzitter", "gaat uw gang"]
    assert [s.text for s in reconciled.stale] == ["dank u wel voorzitter"]
    assert len({s.id for s in reconciled.segments}) == 3


def regrouped(transcript: Transcript, cuts: Sequence[float], speaker: str, shift: float = 0.0) -> Transcript:
    """The same words as a rerun segmenting differently gives them: cut before the words starting after
    each of `cuts`, every word `speaker`'s (as `--no-diarize` makes them), every time moved by `shift`."""
    words = [replace(w, start=w.start + shift, end=w.end + shift, speaker=speaker) for w in transcript.words]
    groups: list[list[Word]] = [[] for _ in range(len(cuts) + 1)]
    for word in words:
        groups[sum(word.start > cut for cut in cuts)].append(word)
    segments = tuple(
        Segment(g[0].start, g[-1].end, " ".join(w.text for w in g), tuple(g), speaker) for g in groups if g
    )
    return replace(transcript, segments=segments)


def test_a_rerun_segmenting_differently_publishes_an_edit_once_at_its_time() -> None:
    """A rerun with one speaker (`--no-diarize`), segments cut elsewhere and every time 0.45 s earlier: the
    edit replaces the machine's words of its time (the first one, moved half outside its span, too), so
    it is published once, at its own time and with its speaker, none of the words it replaced beside it,
    and every other word is the rerun's; the same words heard, the edit is not stale."""
    correction = "dank u wel voorzitter, ik heb een vraag over de gemeenteraad"
    edits = ed.set_text(fresh(), "s2", correction, base_version=0, editor=EDITOR)
    edit = edits.segment("s2")
    new = regrouped(MACHINE, (13.5,), "SPEAKER_00", shift=-0.45)
    assert new.segments[0].words[7].text == "dank" and new.segments[0].words[7].start < edit.start  # half outside
    reconciled = reconcile(edits, new)
    published = edited_transcript(new, reconciled)
    before, after = MACHINE.segments[0].text.split(), MACHINE.segments[2].text.split()
    assert [w.text for w in published.words] == [*before, *correction.split(), *after]
    assert [s.text for s in published.segments].count(correction) == 1
    placed = next(s for s in published.segments if s.text == correction)
    assert placed.words == edit.words and (placed.start, placed.end) == (edit.start, edit.end)  # its own time
    assert {w.speaker for w in placed.words} == {"SPEAKER_01"} and placed.speaker == "SPEAKER_01"
    assert {w.speaker for s in published.segments if s is not placed for w in s.words} == {"SPEAKER_00"}
    assert all(a.start <= b.start for a, b in zip(published.words, published.words[1:]))
    assert reconciled.stale == [] and len({s.id for s in reconciled.segments}) == len(reconciled.segments)
    # taking the machine's text back (revert) gives the rerun's words of that time, not another stretch
    kept = next(s for s in reconciled.segments if s.text == correction)  # its id may name a machine segment now
    reverted = ed.revert_segment(reconciled, kept.id, new, base_version=reconciled.version, editor=EDITOR)
    assert edited_transcript(new, reverted).words == new.words


def test_undoing_an_edit_made_before_a_rerun_gives_back_the_reruns_words_of_its_time() -> None:
    """Undo after a rerun segmenting differently: the rerun's words of the edit's time come back (not the
    words of the transcript the edit was made on), each once, and no two segments share an id."""
    edits = ed.set_text(fresh(), "s2", "dank u wel voorzitter", base_version=0, editor=EDITOR)
    new = regrouped(rerun(MACHINE, 1, "dag u wel voorzitter ik heb een vraagje"), (4.5, 13.5), "SPEAKER_00")
    reconciled = reconcile(edits, new)
    undone = ed.undo(reconciled, base_version=reconciled.version, editor=EDITOR, machine=new)
    assert edited_transcript(new, undone).words == new.words
    assert len({s.id for s in undone.segments}) == len(undone.segments)
    assert not any(s.edited for s in undone.segments)


def test_an_edit_a_rerun_heard_otherwise_or_that_overlaps_another_is_kept_once_and_marked_stale() -> None:
    """Other words under an edit, or two edits over the same time (from a file the old reconciling wrote):
    each edit is kept, published once at its time, marked stale; the rerun's words there are not published."""
    edits = ed.set_text(fresh(), "s2", "dank u wel voorzitter", base_version=0, editor=EDITOR)
    heard_otherwise = rerun(MACHINE, 1, "dag u wel voorzitter ik heb een vraagje")
    reconciled = reconcile(edits, heard_otherwise)
    assert [s.id for s in reconciled.stale] == ["s2"]
    assert [w.text for w in edited_transcript(heard_otherwise, reconciled).words] == [
        *MACHINE.segments[0].text.split(),
        *"dank u wel voorzitter".split(),
        *MACHINE.segments[2].text.split(),
    ]
    s2, s3 = edits.segment("s2"), edits.segment("s3")
    overlapping = replace(s3, start=s2.end - 1.0, words=(replace(s3.words[0], start=s2.end - 1.0), *s3.words[1:]))
    both = replace(edits, segments=(edits.segment("s1"), s2, replace(overlapping, machine=False)))
    new = regrouped(MACHINE, (), "SPEAKER_00")
    conflicting = reconcile(both, new)
    assert [s.id for s in conflicting.stale] == ["s2", "s3"]
    published = edited_transcript(new, conflicting)
    assert [s.text for s in published.segments] == [MACHINE.segments[0].text, s2.text, s3.text]
    assert [w.text for w in published.words] == [w.text for w in (*MACHINE.segments[0].words, *s2.words, *s3.words)]


def test_edits_stored_before_their_replaced_words_were_kept_still_load_and_place_by_time(tmp_path: Path) -> None:
    """An edits.json from before `replaced` was stored loads; a rerun segmenting differently publishes its
    edit once, at its time (marked stale: which words it replaced is not known)."""
    private = stored_session(tmp_path)
    update_edits(private, lambda e: ed.set_text(e, "s2", "dank u wel", base_version=0, editor=EDITOR))
    stored = json.loads((private / "edits.json").read_text())
    for segment in stored["segments"] + [s for c in stored["history"] for s in c["before"] + c["after"]]:
        segment.pop("replaced", None)
    (private / "edits.json").write_text(json.dumps(stored))
    old = read_edits(private)
    assert old is not None and old.segment("s2").replaced is None
    new = regrouped(MACHINE, (13.5,), "SPEAKER_00")
    published = edited_transcript(new, old)
    assert [w.text for w in published.words].count("voorzitter") == 0
    assert [s.text for s in published.segments].count("dank u wel") == 1
    assert [s.text for s in reconcile(old, new).stale] == ["dank u wel"]


# --- storage --------------------------------------------------------------------------------------


def stored_session(tmp_path: Path) -> Path:
    """An output folder with a session's machine transcript kept privately; returns its private folder."""
    private = workspace.session_private_dir(tmp_path, "raad")
    private.mkdir(parents=True)
    (private / outputs.MACHINE_TRANSCRIPT.name()).write_text(to_json(MACHINE), encoding="utf-8")
    return private


def test_edits_are_stored_and_read_back(tmp_path: Path) -> None:
    private = stored_session(tmp_path)
    assert read_edits(private) is None
    stored = update_edits(private, lambda e: ed.set_text(e, "s1", "welkom", base_version=0, editor=EDITOR))
    assert read_edits(private) == stored
    assert json.loads((private / "edits.json").read_text())["history"][0]["editor"] == EDITOR
    assert current_edits(tmp_path, "raad") == stored


def test_a_refused_change_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    private = stored_session(tmp_path)
    update_edits(private, lambda e: ed.set_text(e, "s1", "welkom", base_version=0, editor=EDITOR))
    before = (private / "edits.json").read_bytes()
    for bad in ("", "x" * 1_000_000):
        with pytest.raises(EditError):
            update_edits(private, lambda e, text=bad: ed.set_text(e, "s1", text, base_version=1, editor=EDITOR))
    with pytest.raises(EditConflict):
        update_edits(private, lambda e: ed.set_text(e, "s1", "hallo", base_version=0, editor=EDITOR))
    assert (private / "edits.json").read_bytes() == before


def test_two_writers_at_once_lose_no_update(tmp_path: Path) -> None:
    """Writers that each apply a change to whatever version is current (the lock serialises them)."""
    private = stored_session(tmp_path)

    def correct(index: int) -> None:
        update_edits(
            private,
            lambda e: ed.set_text(e, f"s{index % 3 + 1}", f"tekst {index}", base_version=e.version, editor=EDITOR),
        )

    threads = [threading.Thread(target=correct, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = read_edits(private)
    assert stored is not None and stored.version == 12 and len(stored.history) == 12


def test_an_unreadable_edits_file_is_a_clear_error(tmp_path: Path) -> None:
    private = stored_session(tmp_path)
    (private / "edits.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EditError, match="edits.json: cannot be read"):
        read_edits(private)


# --- publishing from edits ------------------------------------------------------------------------


def cues(path: Path) -> list[tuple[str, str, str]]:
    """(start, end, text) of every cue of a WebVTT or SRT file."""
    blocks = path.read_text(encoding="utf-8").replace("\r\n", "\n").strip().split("\n\n")
    found = []
    for block in blocks:
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if " --> " in line), None)
        if timing is not None:
            start, end = lines[timing].split(" --> ")
            found.append((start, end.split(" ")[0], "\n".join(lines[timing + 1 :])))
    return found


def search_index_text(site: Path) -> str:
    """The text Pagefind indexed (its fragments, decompressed)."""
    return "".join(
        gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in (site / "pagefind" / "fragment").iterdir()
    )


CUE_FILES = ("captions.nl.vtt", "captions.nl.srt", "subtitles.nl.vtt", "subtitles.nl.srt")


@pytest.mark.slow
def test_published_corrections_reach_every_output_and_a_rerun_keeps_them(tmp_path: Path, sample_session) -> None:
    """An editor corrects a word, a speaker and types markup; republishing (no model) shows the edits in
    the captions, subtitles, transcripts, page and search index, with the other cues' timing unchanged;
    a rerun whose transcript changed under an edit keeps it and marks it stale."""
    output = tmp_path / "output"
    package = sample_package(sample_session)
    slug = package.recording.slug
    private = workspace.session_private_dir(output, slug)
    review_as_editor(package, private)  # names both speakers as the captions made by the fixture do
    folder = publish_session(package, output, SETTINGS)
    assert (private / "machine-transcript.json").is_file() and not (folder / "machine-transcript.json").exists()
    before = {name: cues(folder / name) for name in CUE_FILES}

    machine = package.transcript
    speaker_at = max(i for i, s in enumerate(machine.segments) if s.speaker == "SPEAKER_01")  # Pieter's last
    word_at, text_at = speaker_at // 2, 0
    target = machine.segments[word_at]
    tokens = [w.text for w in target.words]
    middle = len(tokens) // 2
    tokens[middle] = "Zwaluwstaart"
    edits = update_edits(
        private, lambda e: ed.set_text(e, f"s{word_at + 1}", " ".join(tokens), base_version=0, editor=EDITOR)
    )
    marked = machine.segments[text_at].text + " <b>vet</b> --> pijl"
    edits = update_edits(private, lambda e: ed.set_text(e, f"s{text_at + 1}", marked, base_version=1, editor=EDITOR))
    assert machine.segments[speaker_at].speaker == "SPEAKER_01"
    edits = update_edits(
        private, lambda e: ed.set_speaker(e, f"s{speaker_at + 1}", "SPEAKER_00", base_version=2, editor=EDITOR)
    )
    preview = render_preview(output, slug, SETTINGS)
    republish(output, slug, SETTINGS)
    publish_catalogue(output, SETTINGS)

    assert (folder / "index.html").read_text(encoding="utf-8") == preview  # the preview is what is published
    assert read_edits(private) == edits  # carried over untouched
    # an edited segment's cues are laid out anew (other words may move a cue break anywhere in it)
    touched = [(machine.segments[i].start, machine.segments[i].end) for i in (word_at, text_at, speaker_at)]
    for name in CUE_FILES:
        after = cues(folder / name)
        holding = [c for c in after if "Zwaluwstaart" in c[2]]
        assert len(holding) == 1, name
        # cues away from the edited segments are exactly as before (times and text)
        far = [c for c in before[name] if all(_seconds(c[1]) < a - 3 or _seconds(c[0]) > b + 3 for a, b in touched)]
        assert far and set(far) <= set(after), name
        assert "<b>" not in "".join(c[2] for c in after) and "-->" not in "".join(c[2] for c in after)
    vtt = (folder / "captions.nl.vtt").read_text(encoding="utf-8")
    assert "&lt;b&gt;vet&lt;/b&gt; --&gt; pijl" in vtt
    last_word = machine.segments[speaker_at].words[0]
    last_cue = next(
        c for c in cues(folder / "captions.nl.vtt") if _seconds(c[0]) <= last_word.start + 0.01 <= _seconds(c[1])
    )
    assert "<v Anne de Vries>" in last_cue[2]
    published = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert "Zwaluwstaart" in published["segments"][word_at]["text"]
    times = [(w["start"], w["end"]) for w in published["segments"][word_at]["words"]]
    assert times == [(w.start, w.end) for w in target.words]  # every word keeps its time, the new one its word's
    assert published["segments"][speaker_at]["speaker"] == "SPEAKER_00"
    assert "Zwaluwstaart" in (folder / "transcript.txt").read_text(encoding="utf-8")
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "Zwaluwstaart" in page and "&lt;b&gt;vet&lt;/b&gt;" in page and "<b>vet" not in page
    assert "Zwaluwstaart" in search_index_text(workspace.site_dir(output))

    # a rerun: the model now hears the corrected segment differently
    rerun_machine = rerun(machine, word_at, " ".join(["anders"] * len(tokens)))
    publish_session(replace(package, transcript=rerun_machine), output, SETTINGS)
    stored = read_edits(private)
    assert stored is not None and [s.id for s in stored.stale] == [f"s{word_at + 1}"]
    published = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert "Zwaluwstaart" in published["segments"][word_at]["text"]  # kept
    assert "<b>vet</b>" in published["segments"][text_at]["text"]
    assert "Zwaluwstaart" in (folder / "captions.nl.vtt").read_text(encoding="utf-8")
    machine_kept = json.loads((private / "machine-transcript.json").read_text(encoding="utf-8"))
    assert machine_kept["segments"][word_at]["text"].startswith("anders")
    with pytest.raises(EditConflict) as caught:
        update_edits(private, lambda e: ed.set_text(e, "s1", "te laat", base_version=3, editor=EDITOR))
    assert caught.value.current.version == stored.version


def _seconds(timestamp: str) -> float:
    h, m, s = timestamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_each_editing_unit_has_one_speaker_and_unedited_ones_publish_as_the_machine_made_them() -> None:
    """A machine segment where the speaker changes is two units ("s1", "s1.2"); the published transcript
    of unedited units is the machine's, and a rerun or a revert treats each unit on its own."""
    welcome, answer = MACHINE.segments[0], MACHINE.segments[1]
    mixed = Segment(0.0, answer.end, f"{welcome.text} {answer.text}", welcome.words + answer.words, "SPEAKER_00")
    machine = replace(MACHINE, segments=(mixed, MACHINE.segments[2]))
    edits = start_edits("raad", machine)
    assert [(s.id, s.speaker) for s in edits.segments] == [
        ("s1", "SPEAKER_00"),
        ("s1.2", "SPEAKER_01"),
        ("s2", "SPEAKER_00"),
    ]
    assert all({w.speaker for w in s.words} == {s.speaker} for s in edits.segments)
    assert edited_transcript(machine, edits) == machine
    edits = ed.set_text(edits, "s1.2", "dank u wel voorzitter", base_version=0, editor=EDITOR)
    published = edited_transcript(machine, edits)
    assert [s.text for s in published.segments] == [welcome.text, "dank u wel voorzitter", MACHINE.segments[2].text]
    assert published.words[: len(welcome.words)] == list(welcome.words)
    rerun_machine = rerun(machine, 0, " ".join(["anders"] * len(mixed.words)))
    reconciled = reconcile(edits, rerun_machine)
    assert [(s.id, s.stale) for s in reconciled.segments] == [("s1", False), ("s1.2", True), ("s2", False)]
    assert (
        reconciled.segment("s1").text.startswith("anders")
        and reconciled.segment("s1.2").text == "dank u wel voorzitter"
    )
    reverted = ed.revert_segment(edits, "s1.2", machine, base_version=1, editor=EDITOR)
    assert reverted.segments == start_edits("raad", machine).segments
