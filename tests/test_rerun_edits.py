"""No rerun undoes an editor: the sample transcribed by the real model, edited, then transcribed again with
other settings (no diarization, another decoding, no VAD) and published from the same edits. Every edit is
published once at its own time with its speaker, none of the rerun's words of its time beside it, and
every other word of the rerun is published."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.edits_file import current_edits, read_edits, update_edits
from livecastpipe.editor.edits.layout import start_edits
from livecastpipe.editor.edits.model import SessionEdits
from livecastpipe.editor.edits.rerun import edited_transcript, reconcile
from livecastpipe.models import Transcript, Word
from livecastpipe.settings import TranscribeSettings
from livecastpipe.stages.diarization import Diarization, one_speaker
from livecastpipe.stages.speakers import attribute_speakers
from livecastpipe.stages.terms import correct_terms, decoding_terms, flag_words
from livecastpipe.stages.transcribe import transcribe_file

from .publish_fixtures import SampleFlowRun, SampleSession, sample_package, sample_turns

pytestmark = pytest.mark.slow

EDITOR = "Redactie"
TIME_TOLERANCE_S = 0.05
"""How far a published word may lie from where the edit put it (the caption files round to milliseconds)."""


def transcribed(sample: SampleSession, settings: TranscribeSettings) -> Transcript:
    """The sample transcribed again with other settings, names and terms corrected as for the first run."""
    metadata = sample.recording.metadata
    heard = transcribe_file(Path(sample.recording.audio_path), settings, decoding_terms(metadata))
    return flag_words(correct_terms(heard, metadata)[0], metadata)


RERUNS: dict[str, Callable[[SampleSession, Diarization], Transcript]] = {
    "--no-diarize": lambda sample, _: attribute_speakers(
        sample.transcript, one_speaker(sample.recording.media.duration)
    ),
    # the bundled Whisper base is the only model offline: "another model" is it with other weights'
    # precision and greedy decoding (`--compute-type float32`, beam_size 1), which hears other words
    "another model": lambda sample, turns: attribute_speakers(
        transcribed(sample, TranscribeSettings(compute_type="float32", beam_size=1)), turns
    ),
    "VAD off": lambda sample, turns: attribute_speakers(transcribed(sample, TranscribeSettings(vad=False)), turns),
}


def corrected(segment_text: str, n: int) -> str:
    """An editor's correction: the middle word replaced by a word no model hears, the last word deleted."""
    tokens = segment_text.split()
    tokens[len(tokens) // 2] = f"Zwaluwstaart{n}"
    return " ".join(tokens[:-1])


def edit_three(first_run: Transcript) -> SessionEdits:
    """Edits of three segments of the first run (spread over the session); the first one split in three
    (at a third and two thirds of its time, so no part spans most of it), its middle given to the other
    speaker."""
    edits = start_edits("sample", first_run)
    long_enough = [s for s in edits.segments if len(s.words) >= 6]
    chosen = [long_enough[len(long_enough) * k // 4] for k in (1, 2, 3)]
    for n, segment in enumerate(chosen, start=1):
        edits = ed.set_text(edits, segment.id, corrected(segment.text, n), base_version=edits.version, editor=EDITOR)
    first = edits.segment(chosen[0].id)
    for share in (2 / 3, 1 / 3):
        at = next(i for i, w in enumerate(first.words) if w.start >= first.start + share * (first.end - first.start))
        edits = ed.split_segment(edits, first.id, at, base_version=edits.version, editor=EDITOR)
        first = edits.segment(first.id)
    middle = edits.segments[edits.segments.index(first) + 1]
    other = next(s for s in ("SPEAKER_00", "SPEAKER_01") if s != middle.speaker)
    return ed.set_speaker(edits, middle.id, other, base_version=edits.version, editor=EDITOR)


def midpoint(word: Word) -> float:
    return (word.start + word.end) / 2


@pytest.mark.parametrize("change", list(RERUNS))
def test_a_rerun_with_other_settings_publishes_each_edit_once_at_its_time(
    sample_session: SampleSession,
    change: str,
) -> None:
    first_run = sample_package(sample_session).transcript
    turns = Diarization(sample_turns(sample_session.transcript), {}, "script")
    rerun = RERUNS[change](sample_session, turns)
    assert rerun != first_run
    edits = edit_three(first_run)
    edited = [s for s in edits.segments if s.edited]
    published = edited_transcript(rerun, edits)
    reconciled = reconcile(edits, rerun)

    for edit in edited:
        holding = [s for s in published.segments if s.text == edit.text]
        assert len(holding) == 1, f"{change}: '{edit.text}' published {len(holding)} times"
        placed = holding[0]
        assert all(
            abs(a.start - b.start) <= TIME_TOLERANCE_S and abs(a.end - b.end) <= TIME_TOLERANCE_S
            for a, b in zip(placed.words, edit.words, strict=True)
        ), f"{change}: '{edit.text}' moved from its time"
        assert placed.speaker == edit.speaker and {w.speaker for w in placed.words} == {edit.speaker}
    spans = [(e.start, e.end) for e in edited]
    machine_published = [w for s in published.segments if s.text not in {e.text for e in edited} for w in s.words]
    inside = [w for w in machine_published if any(a <= midpoint(w) <= b for a, b in spans)]
    assert inside == [], f"{change}: the rerun's words of an edit's time published beside it: {inside}"
    # nothing else is lost: every rerun word clear of the edits is published
    clear = [w for w in rerun.words if all(w.end <= a or w.start >= b for a, b in spans)]
    assert set(clear) <= set(machine_published), f"{change}: the rerun's words away from the edits were dropped"
    # an edit the rerun heard other words (or nothing) under is marked for the editor, the others are not
    for edit in edited:
        kept = next(s for s in reconciled.segments if s.text == edit.text)
        heard = [re.sub(r"\W", "", w.text.lower()) for w in rerun.words if edit.start <= midpoint(w) <= edit.end]
        before = [re.sub(r"\W", "", w.text.lower()) for w in first_run.words if edit.start <= midpoint(w) <= edit.end]
        assert kept.stale == ([t for t in heard if t] != [t for t in before if t]), f"{change}: {edit.text}"


def run_livecast(media: Path, output: Path, home: Path, *flags: str) -> None:
    """`livecast run` as a user runs it (its own Prefect server)."""
    done = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "run", str(media), "--output", str(output), "--quiet", *flags],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_HOME": str(home)},
        cwd=home.parent,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr


def cue_texts(vtt: str) -> list[tuple[float, float, str]]:
    """(start, end, text without voice tags) of every cue of a WebVTT file."""
    found = []
    for block in vtt.strip().split("\n\n"):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if " --> " in line), None)
        if timing is not None:
            start, end = (clock_seconds(t) for t in lines[timing].split(" ")[0:3:2])
            found.append((start, end, re.sub(r"<[^>]+>", "", " ".join(lines[timing + 1 :]))))
    return found


def clock_seconds(timestamp: str) -> float:
    h, m, s = timestamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_livecast_run_again_without_diarization_keeps_an_editors_correction(
    sample_flow_run: SampleFlowRun, flow_output_copy: Path, tmp_path: Path
) -> None:
    """A run of the sample (the flow's, copied), an editor corrects a segment, `livecast run --no-diarize`: the
    captions, transcript.txt and transcript.json hold the correction once, at its time, and none of the
    machine's words it replaced."""
    output, home = flow_output_copy, tmp_path / "prefect-home"
    slug = next(p.name for p in (output / "site").iterdir() if (p / "session.json").is_file())
    private = workspace.session_private_dir(output, slug)
    current = current_edits(output, slug)
    target = max((s for s in current.segments if len(s.words) >= 6), key=lambda s: len(s.words) * (s.start > 20))
    correction = corrected(target.text, 1)
    update_edits(private, lambda e: ed.set_text(e, target.id, correction, base_version=e.version, editor=EDITOR))

    run_livecast(sample_flow_run.source, output, home, "--no-diarize")

    folder = workspace.session_site_dir(output, slug)
    published = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    holding = [s for s in published["segments"] if s["text"] == correction]
    assert len(holding) == 1, "the correction is not published once in transcript.json"
    assert holding[0]["speaker"] == target.speaker  # the rest is the one speaker's now
    assert {w["speaker"] for s in published["segments"] if s is not holding[0] for w in s["words"]} == {"SPEAKER_00"}
    assert holding[0]["start"] == pytest.approx(target.start, abs=TIME_TOLERANCE_S)
    beside = [
        w
        for s in published["segments"]
        if s is not holding[0]
        for w in s["words"]
        if target.start <= (w["start"] + w["end"]) / 2 <= target.end
    ]
    assert beside == [], f"the machine's words the correction replaced are published beside it: {beside}"
    assert (folder / "transcript.txt").read_text(encoding="utf-8").count("Zwaluwstaart1") == 1
    cues = cue_texts((folder / "captions.nl.vtt").read_text(encoding="utf-8"))
    in_span = " ".join(text for start, end, text in cues if end > target.start and start < target.end)
    assert in_span.count("Zwaluwstaart1") == 1
    assert " ".join(c[2] for c in cues).count("Zwaluwstaart1") == 1
    stored = read_edits(private)
    assert stored is not None and [s.text for s in stored.segments].count(correction) == 1
