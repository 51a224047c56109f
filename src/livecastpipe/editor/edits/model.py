"""The editor's edits of one session as data: its edited segments, the history of changes that made them,
the errors an edit can meet, and the small wording every part of the edits shares in its messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from livecastpipe.editor.editor_files import StaleVersion
from livecastpipe.models import Word
from livecastpipe.timefmt import clock

INAUDIBLE = "[onverstaanbaar]"
"""What a stretch marked inaudible reads as, in the transcript and the captions."""
EDITED_FLAG = "edited"
"""The flag of a word an editor typed (its times interpolated)."""
INAUDIBLE_FLAG = "inaudible"
ADDED_SPEAKER = "SPEAKER_E"
"""Speakers an editor adds are SPEAKER_E1, SPEAKER_E2, …"""
RERUN = "rerun"
"""The history's action for a rerun of the pipeline that changed the machine transcript (not undoable)."""


class EditError(ValueError):
    """An edit that cannot be made (unknown segment, speaker or chapter; empty, too long or control
    characters in the text); nothing was changed. The message is one line in Dutch for the editor (the
    workbench shows it), naming the segment, speaker or chapter and saying what to do instead."""


class EditConflict(StaleVersion):
    """A change based on an older version than the current one (another tab changed it meanwhile)."""

    def __init__(self, message: str, current: SessionEdits) -> None:
        super().__init__(message, current.version)
        self.current = current
        """The latest state, so the caller can show the latest text."""


@dataclass(frozen=True)
class EditedSegment:
    """One segment of the edited transcript, with the machine segments it came from."""

    id: str
    """"s1".."sN" for machine segments (1-based; "s1.2", "s1.3", … for the further pieces of machine segment
    1: another speaker's words, as each editing unit has one speaker, or its words on the other side of an
    edit); "e1", "e2", … for segments a split made (never reused)."""
    start: float
    end: float
    speaker: str | None
    words: tuple[Word, ...]
    """Changed words are flagged "edited"; the others keep the machine's times, probability and flags."""
    origin: tuple[str, ...]
    """The machine segment ids it was made from."""
    origin_hash: str
    """Hash of those machine segments (text and times) when it was made: a rerun that changed them shows."""
    inaudible: bool = False
    """Marked "[onverstaanbaar]" (all or part of it)."""
    stale: bool = False
    """Its machine origin changed in a rerun; the editor must resolve it."""
    machine: bool = True
    """Exactly as the machine made it (text, speaker, bounds): follows the machine transcript on a rerun."""
    checked: bool = False
    """An editor saved its text: its words are no longer offered as flagged for checking."""
    replaced: tuple[Word, ...] | None = None
    """The machine's words its time span held when an editor made it (None in files from before they were
    kept): a rerun hearing other words there marks it stale."""

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def edited(self) -> bool:
        """Differs from the machine's segment (text, speaker, split or merge)."""
        return not self.machine


@dataclass(frozen=True)
class Change:
    """One change to a session's edits: who made it and when, and the segments it replaced (for undo)."""

    version: int
    """The version this change produced."""
    editor: str
    at: str
    """ISO 8601, UTC."""
    action: str
    """text, speaker, split, merge, inaudible, revert, replace-all, merge-speakers, add-speaker,
    chapter-start, translated-cue, cue-time, resolve-stale, undo, redo."""
    before: tuple[EditedSegment, ...]
    after: tuple[EditedSegment, ...]
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionEdits:
    """A session's edited transcript and the history of changes that made it."""

    slug: str
    version: int
    """+1 with every change (undo and redo included); 0 = nothing edited."""
    machine_hash: str
    """Hash of the machine transcript `segments` were reconciled with."""
    segments: tuple[EditedSegment, ...]
    """The whole current transcript, in time order."""
    history: tuple[Change, ...] = ()
    """Every change, oldest first."""
    redo: tuple[Change, ...] = ()
    """Undone changes, most recently undone last."""
    added_speakers: tuple[str, ...] = ()
    """Speaker ids made by `add_speaker` ("SPEAKER_E1", …)."""
    chapter_starts: dict[str, float] = field(default_factory=dict)
    """Chapter number (1-based, as a string) → where the editor made it start, in seconds."""
    translated_cues: dict[str, str] = field(default_factory=dict)
    """The English machine translation's cues an editor corrected: the cue's start as WebVTT gives it
    (`00:01:02.340`) → its text (lines joined by a space); a cue the translation no longer has is left out."""
    cue_times: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Captions' cues an editor retimed: the cue's start as the subtitle search built it (`00:01:02.340`) →
    its (start, end) in seconds; laid over the cues built at every publish, by time (`cue_times.timed_cues`;
    one that can no longer be placed is kept and shown to the editor)."""

    def segment(self, segment_id: str) -> EditedSegment:
        """The segment with this id; EditError when there is none."""
        for seg in self.segments:
            if seg.id == segment_id:
                return seg
        raise EditError(
            f"segment '{shown(segment_id)}' bestaat niet (meer) in sessie '{self.slug}': "
            "laad de pagina opnieuw om de huidige tekst te zien"
        )

    @property
    def stale(self) -> list[EditedSegment]:
        """The segments a rerun changed under an edit, for the editor to resolve."""
        return [s for s in self.segments if s.stale]

    @property
    def speakers(self) -> list[str]:
        """The speaker ids segments can be given to: those speaking in it and those added, sorted."""
        found = {s.speaker for s in self.segments if s.speaker} | {w.speaker for s in self.segments for w in s.words}
        return sorted({sid for sid in found if sid} | set(self.added_speakers))


def shown(text: str, limit: int = 40) -> str:
    """A piece of user input fit for a one-line message."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def named(segment: EditedSegment) -> str:
    """A segment as the editor finds it in the workbench: by where it starts (and its id)."""
    return f"het segment op {clock(segment.start)} ({segment.id})"


def utc_now() -> str:
    """Now, in UTC, as a change's `at` records it (ISO 8601, seconds)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def flagged_words(edits: SessionEdits) -> list[tuple[str, int]]:
    """(segment id, word index) of every word flagged for checking (uncertain, not in the dictionary,
    corrected by the glossary) in segments no editor saved yet, in transcript order."""
    return [
        (s.id, i)
        for s in edits.segments
        if not s.checked
        for i, w in enumerate(s.words)
        if set(w.flags) - {EDITED_FLAG, INAUDIBLE_FLAG}
    ]
