"""The editor's corrections of one session: the transcript's words, who speaks, where chapters start.

Edits are the editor's work, kept apart from generated data in the private session folder
(`edits.json`, an editor file every publish and rerun carries over untouched). Every operation is pure:
it checks the version the change was based on (two tabs, no lost update), and returns the new state with
the change recorded (who, when, what it replaced, for undo). Publishing renders from `edited_transcript`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .models import Transcript, Word

INAUDIBLE = "[onverstaanbaar]"
"""What a stretch marked inaudible reads as, in the transcript and the captions."""
MAX_TEXT_CHARS = 10_000
"""The longest text one segment may be given."""


class EditError(ValueError):
    """An edit that cannot be made (unknown segment, speaker or chapter; empty, too long or control
    characters in the text); the message is one clear line, nothing was changed."""


class EditConflict(Exception):
    """A change based on an older version than the current one (another tab changed it meanwhile)."""

    def __init__(self, message: str, current: SessionEdits) -> None:
        super().__init__(message)
        self.current = current
        """The latest state, so the caller can show the latest text."""


@dataclass(frozen=True)
class EditedSegment:
    """One segment of the edited transcript, with the machine segments it came from."""

    id: str
    """"s1".."sN" for machine segments (1-based); "e1", "e2", … for segments a split made (never reused)."""
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
    chapter-start, resolve-stale, undo, redo."""
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

    def segment(self, segment_id: str) -> EditedSegment:
        """The segment with this id; EditError when there is none."""
        raise NotImplementedError

    @property
    def stale(self) -> list[EditedSegment]:
        """The segments a rerun changed under an edit, for the editor to resolve."""
        return [s for s in self.segments if s.stale]


def start_edits(slug: str, machine: Transcript) -> SessionEdits:
    """Version 0 of a session's edits: the machine transcript's segments, nothing changed."""
    raise NotImplementedError


def retime_words(old: Sequence[Word], new_text: str, start: float, end: float) -> tuple[Word, ...]:
    """The words of `new_text` with times: unchanged words keep theirs (and probability, flags, speaker);
    changed and new words get times interpolated from the words they replace, within `start`..`end`."""
    raise NotImplementedError


def set_text(edits: SessionEdits, segment_id: str, text: str, *, base_version: int, editor: str) -> SessionEdits:
    """Correct one segment's text; its words are retimed with `retime_words`."""
    raise NotImplementedError


def set_speaker(
    edits: SessionEdits, segment_id: str, speaker: str, *, from_word: int = 0, base_version: int, editor: str
) -> SessionEdits:
    """Give a segment to another speaker; `from_word` > 0 splits it there and moves only the tail."""
    raise NotImplementedError


def split_segment(
    edits: SessionEdits, segment_id: str, word_index: int, *, base_version: int, editor: str
) -> SessionEdits:
    """Split a segment before word `word_index` (the tail gets a fresh "e" id)."""
    raise NotImplementedError


def merge_segments(
    edits: SessionEdits,
    segment_id: str,
    direction: Literal["previous", "next"],
    *,
    base_version: int,
    editor: str,
) -> SessionEdits:
    """Merge a segment with the previous or next one (the merged one keeps the first one's speaker)."""
    raise NotImplementedError


def mark_inaudible(
    edits: SessionEdits,
    segment_id: str,
    *,
    from_word: int = 0,
    to_word: int | None = None,
    base_version: int,
    editor: str,
) -> SessionEdits:
    """Replace words `from_word`..`to_word` (exclusive; None = to the end) by "[onverstaanbaar]"."""
    raise NotImplementedError


def revert_segment(
    edits: SessionEdits, segment_id: str, machine: Transcript, *, base_version: int, editor: str
) -> SessionEdits:
    """Put a segment back to the machine's text, speaker and times (its machine origin)."""
    raise NotImplementedError


def replace_preview(
    edits: SessionEdits, find: str, replacement: str, *, whole_word: bool = True, case_sensitive: bool = False
) -> list[tuple[str, str, str]]:
    """(segment id, text before, text after) for every segment `replace_all` would change."""
    raise NotImplementedError


def replace_all(
    edits: SessionEdits,
    find: str,
    replacement: str,
    *,
    whole_word: bool = True,
    case_sensitive: bool = False,
    base_version: int,
    editor: str,
) -> SessionEdits:
    """Replace `find` by `replacement` in every segment, as one change (undone at once)."""
    raise NotImplementedError


def merge_speakers(edits: SessionEdits, source: str, target: str, *, base_version: int, editor: str) -> SessionEdits:
    """Give everything `source` says to `target`."""
    raise NotImplementedError


def add_speaker(edits: SessionEdits, *, base_version: int, editor: str) -> tuple[SessionEdits, str]:
    """A new speaker id ("SPEAKER_E1", …) segments can be given to; returns the edits and the id."""
    raise NotImplementedError


def set_chapter_start(
    edits: SessionEdits, chapter_number: int, start: float, *, base_version: int, editor: str
) -> SessionEdits:
    """Make chapter `chapter_number` (1-based) start at `start` seconds."""
    raise NotImplementedError


def undo(edits: SessionEdits, *, base_version: int, editor: str) -> SessionEdits:
    """Undo the last change not undone yet (it can be redone)."""
    raise NotImplementedError


def redo(edits: SessionEdits, *, base_version: int, editor: str) -> SessionEdits:
    """Redo the change undone last."""
    raise NotImplementedError


def resolve_stale(
    edits: SessionEdits, segment_id: str, keep: bool, machine: Transcript, *, base_version: int, editor: str
) -> SessionEdits:
    """Settle a stale segment: keep the edit (against the new machine text), or take the machine's."""
    raise NotImplementedError


def reconcile(edits: SessionEdits, machine: Transcript) -> SessionEdits:
    """Bring the edits up to a (rerun's) machine transcript: unedited segments follow it, edited ones
    whose origin is unchanged stay, edited ones whose origin changed are kept and marked stale."""
    raise NotImplementedError


def edited_transcript(machine: Transcript, edits: SessionEdits | None) -> Transcript:
    """What publishing renders: the machine transcript (its provenance) with the edited segments."""
    raise NotImplementedError


def flagged_words(edits: SessionEdits) -> list[tuple[str, int]]:
    """(segment id, word index) of every word flagged for checking, in transcript order."""
    raise NotImplementedError


# --- storage --------------------------------------------------------------------------------------


def read_edits(private_session_folder: Path) -> SessionEdits | None:
    """The session's edits, or None when nobody edited it; EditError for a file that cannot be read."""
    raise NotImplementedError


def write_edits(private_session_folder: Path, edits: SessionEdits) -> None:
    """Write the edits atomically (a reader sees the old file or the new one, never half)."""
    raise NotImplementedError


def update_edits(private_session_folder: Path, change: Callable[[SessionEdits], SessionEdits]) -> SessionEdits:
    """Apply `change` to the stored edits under a file lock (two tabs, two processes) and store the result."""
    raise NotImplementedError


def machine_transcript(output_dir: Path, slug: str) -> Transcript:
    """The pipeline's own transcript of the session, always kept privately (the public transcript.json
    of packages published before it was kept)."""
    raise NotImplementedError
