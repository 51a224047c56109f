"""Edits across a rerun: the stored edits brought up to a new machine transcript by time (an edit the rerun
heard other words under is kept and marked stale, never dropped), and the transcript publishing renders."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from livecastpipe.editor.edits.layout import (
    HeardWords,
    compared_tokens,
    editing_units,
    heard_words,
    laid_out,
    machine_ids,
    origin_hashes,
    transcript_hash,
)
from livecastpipe.editor.edits.model import RERUN, Change, EditedSegment, SessionEdits, utc_now
from livecastpipe.models import Segment, Transcript


def _overlapping(edited: Sequence[EditedSegment]) -> set[int]:
    """Positions in `edited` of the segments whose span overlaps another's (conflicting edits)."""
    found: set[int] = set()
    reach, reaching = -math.inf, -1
    for at in sorted(range(len(edited)), key=lambda i: (edited[i].start, edited[i].end)):
        if edited[at].start < reach:
            found |= {at, reaching}
        if edited[at].end > reach:
            reach, reaching = edited[at].end, at
    return found


def _placed(segment: EditedSegment, conflict: bool, heard: HeardWords, by_id: Mapping[str, Segment]) -> EditedSegment:
    """An edited segment checked against a rerun's machine transcript at its own time: stale when the machine
    heard nothing in its span, when it overlaps another edit (`conflict`), or when the machine now hears
    other words there than those it replaced (a file that kept none: when its machine segments changed)."""
    inside = heard.claimed(segment)
    if segment.replaced is None:
        changed = origin_hashes(segment.origin, by_id) != segment.origin_hash
    else:
        changed = compared_tokens(inside) != compared_tokens(segment.replaced)
    stale = not inside or conflict or changed
    return replace(
        segment, stale=stale, replaced=inside if segment.replaced is None and not stale else segment.replaced
    )


def reconcile(edits: SessionEdits, machine: Transcript) -> SessionEdits:
    """Bring the edits up to a (rerun's) machine transcript, by time, whatever its segmentation: every
    edited segment stays at its own time and replaces the machine's words whose midpoint lies in its span
    (never published beside them); the machine's other words follow the rerun. An edit the rerun heard
    other words under, or no speech, or that overlaps another edit, is kept and marked stale for the
    editor (never dropped). Recorded as a "rerun" change (not undoable) when anything changed."""
    current_hash = transcript_hash(machine)
    if current_hash == edits.machine_hash:
        return edits
    heard, by_id = heard_words(machine), machine_ids(machine)
    edited = [s for s in edits.segments if not s.machine]
    conflicts = _overlapping(edited)
    placed = [_placed(s, at in conflicts, heard, by_id) for at, s in enumerate(edited)]
    segments = laid_out(machine, placed)
    version = edits.version + 1
    change = Change(version, "pipeline", utc_now(), RERUN, (), (), {"stale": [s.id for s in segments if s.stale]})
    return replace(
        edits,
        version=version,
        machine_hash=current_hash,
        segments=segments,
        history=(*edits.history, change),
        redo=(),
    )


# --- what publishing and the workbench read -------------------------------------------------------


def edited_transcript(machine: Transcript, edits: SessionEdits | None) -> Transcript:
    """What publishing renders: the machine transcript (its provenance) with the edited segments, each at
    its own time, and the machine's words around them; a machine segment no edit touched any part of
    exactly as the machine made it."""
    if edits is None:
        return machine
    edits = reconcile(edits, machine)
    by_id = machine_ids(machine)
    units: dict[str, list[tuple[Any, ...]]] = {}
    for s in edits.segments:
        if s.machine:
            units.setdefault(s.origin[0], []).append(_unit_key(s))
    whole = {sid for sid, seg in by_id.items() if units.get(sid) == [_unit_key(u) for u in editing_units(sid, seg)]}
    segments: list[Segment] = []
    for s in edits.segments:
        if s.machine and s.origin[0] in whole:
            if s.id == s.origin[0]:
                segments.append(by_id[s.id])
        elif s.words:
            # an edited turn keeps the language its machine segments were spoken in (an English guest's)
            languages = {by_id[o].language for o in s.origin if o in by_id}
            language = languages.pop() if len(languages) == 1 else None
            segments.append(Segment(s.start, s.end, s.text, s.words, s.speaker, language))
    return replace(machine, segments=tuple(segments))


def _unit_key(unit: EditedSegment) -> tuple[Any, ...]:
    """What makes a machine unit the machine's as made (not whether an editor checked it)."""
    return (unit.id, unit.start, unit.end, unit.speaker, unit.words)
