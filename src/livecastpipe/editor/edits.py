"""The editor's corrections of one session: the transcript's words, who speaks, where chapters start.

Edits are the editor's work, kept apart from generated data in the private session folder
(`edits.json`, an editor file every publish and rerun carries over untouched). Every operation is pure:
it checks the version the change was based on (two tabs, no lost update), and returns the new state with
the change recorded (who, when, what it replaced, for undo). Publishing renders from `edited_transcript`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter

from livecastpipe import workspace
from livecastpipe.editor.editor_files import StaleVersion, locked_update
from livecastpipe.editor.editor_text import SEARCH_TEXT, SEGMENT_TEXT, TextField, TextRefused, checked_text
from livecastpipe.models import Chapter, Segment, Transcript, Word, from_json
from livecastpipe.package import outputs
from livecastpipe.storage import atomic_write_bytes
from livecastpipe.timefmt import clock, clock_tenths

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
        for seg in self.segments:
            if seg.id == segment_id:
                return seg
        raise EditError(
            f"segment '{_shown(segment_id)}' bestaat niet (meer) in sessie '{self.slug}': "
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


# --- hashes and small helpers ---------------------------------------------------------------------


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def segment_hash(segment: Segment) -> str:
    """Short hash of a machine segment's text, times and speakers: what a rerun must leave alone for an
    edit to hold."""
    words = [(w.text, w.start, w.end, w.speaker) for w in segment.words]
    return _digest([segment.text, segment.start, segment.end, segment.speaker, words])[:16]


_HASHED: dict[int, tuple[Transcript, str]] = {}
"""The hashes of the last machine transcripts hashed (by identity; the transcript is held, so its id stays its)."""


def transcript_hash(machine: Transcript) -> str:
    """Hash of a whole machine transcript (its segments' text, times and speakers)."""
    found = _HASHED.get(id(machine))
    if found is not None and found[0] is machine:
        return found[1]
    digest = _digest([segment_hash(s) for s in machine.segments])
    if len(_HASHED) >= 8:
        _HASHED.clear()
    _HASHED[id(machine)] = (machine, digest)
    return digest


def _machine_ids(machine: Transcript) -> dict[str, Segment]:
    return {f"s{i}": seg for i, seg in enumerate(machine.segments, start=1)}


def _shown(text: str, limit: int = 40) -> str:
    """A piece of user input fit for a one-line message."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _named(segment: EditedSegment) -> str:
    """A segment as the editor finds it in the workbench: by where it starts (and its id)."""
    return f"het segment op {clock(segment.start)} ({segment.id})"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _words_of(segment: Segment) -> tuple[Word, ...]:
    """A machine segment's words; a segment without word times gets its text's words spread over it."""
    if segment.words or not segment.text.strip():
        return segment.words
    return _spread(segment.text.split(), segment.start, segment.end, segment.speaker, flags=())


def _from_machine(segment_id: str, segment: Segment) -> list[EditedSegment]:
    """A machine segment as editing units: one per run of words of one speaker ("s1", "s1.2", …), so a
    unit's speaker is the speaker of all its words."""
    words = _words_of(segment)
    runs: list[list[Word]] = []
    for word in words:
        if runs and (word.speaker or segment.speaker) == (runs[-1][0].speaker or segment.speaker):
            runs[-1].append(word)
        else:
            runs.append([word])
    digest = segment_hash(segment)
    if len(runs) <= 1:
        return [EditedSegment(segment_id, segment.start, segment.end, segment.speaker, words, (segment_id,), digest)]
    return [
        EditedSegment(
            id=segment_id if n == 1 else f"{segment_id}.{n}",
            start=segment.start if n == 1 else run[0].start,
            end=segment.end if n == len(runs) else run[-1].end,
            speaker=run[0].speaker or segment.speaker,
            words=tuple(run),
            origin=(segment_id,),
            origin_hash=digest,
        )
        for n, run in enumerate(runs, start=1)
    ]


def _machine_units(machine: Transcript) -> list[EditedSegment]:
    return [unit for sid, seg in _machine_ids(machine).items() for unit in _from_machine(sid, seg)]


# --- time spans: an edit owns the machine's words of its time -------------------------------------


def _midpoint(word: Word) -> float:
    return (word.start + word.end) / 2


def _span_test(segments: Iterable[EditedSegment]) -> Callable[[float], bool]:
    """Whether a moment lies in the span [start, end] of one of `segments` (their spans merged, bisected)."""
    merged: list[list[float]] = []
    for start, end in sorted((s.start, s.end) for s in segments):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = [m[0] for m in merged]

    def holds(moment: float) -> bool:
        at = bisect_right(starts, moment) - 1
        return at >= 0 and moment <= merged[at][1]

    return holds


@dataclass(frozen=True)
class HeardWords:
    """Words sorted by their midpoints, to find those of a time span quickly (`heard_words`: the machine's)."""

    midpoints: list[float]
    words: list[Word]

    def within(self, start: float, end: float) -> tuple[Word, ...]:
        """The words whose midpoint lies in [start, end]."""
        return tuple(self.words[bisect_left(self.midpoints, start) : bisect_right(self.midpoints, end)])

    def claimed(self, segment: EditedSegment) -> tuple[Word, ...]:
        """The words an edited segment stands for: those whose midpoint lies in its span, and a word just
        outside that reaches into it and is the first or last word it replaced (a rerun's times moved)."""
        low, high = bisect_left(self.midpoints, segment.start), bisect_right(self.midpoints, segment.end)
        words = list(self.words[low:high])
        replaced = _tokens(segment.replaced or ())
        if replaced and low > 0 and self.words[low - 1].end > segment.start:
            if _tokens([self.words[low - 1]]) == replaced[:1]:
                words.insert(0, self.words[low - 1])
        if replaced and high < len(self.words) and self.words[high].start < segment.end:
            if _tokens([self.words[high]]) == replaced[-1:]:
                words.append(self.words[high])
        return tuple(words)


def _heard(words: Iterable[Word]) -> HeardWords:
    ordered = sorted(words, key=_midpoint)
    return HeardWords([_midpoint(w) for w in ordered], ordered)


def heard_words(machine: Transcript) -> HeardWords:
    """Every word the machine heard (a segment without word times: its text spread over it)."""
    return _heard(w for seg in machine.segments for w in _words_of(seg))


def _tokens(words: Iterable[Word]) -> list[str]:
    """Words as compared across reruns: lower case, without punctuation (a new segmentation capitalises and
    punctuates its segments' borders differently)."""
    return [token for token in (re.sub(r"[^\w]", "", w.text.lower()) for w in words) if token]


def _machine_pieces(machine: Transcript, edited: Sequence[EditedSegment]) -> list[EditedSegment]:
    """The machine's editing units less every word an edited segment claims (`HeardWords.claimed`: those of its
    time span): an edit replaces the machine's words of its time whatever the segmentation, and a unit an
    edit cuts gives two pieces ("sN", "sN.2", … numbered along machine segment N; with no edit, exactly
    its units)."""
    in_span = _span_test(edited)
    heard = heard_words(machine)
    at_borders = {w for s in edited for w in heard.claimed(s) if not in_span(_midpoint(w))}

    def held(moment: float, word: Word | None = None) -> bool:
        return in_span(moment) or word in at_borders

    pieces: list[EditedSegment] = []
    for sid, seg in _machine_ids(machine).items():
        runs: list[tuple[EditedSegment, list[Word]]] = []
        for unit in _from_machine(sid, seg):
            if not unit.words:
                if not held((unit.start + unit.end) / 2):
                    runs.append((unit, []))
                continue
            run: list[Word] = []
            for word in unit.words:
                if not held(_midpoint(word), word):
                    run.append(word)
                elif run:
                    runs.append((unit, run))
                    run = []
            if run:
                runs.append((unit, run))
        pieces.extend(
            replace(
                unit,
                id=sid if n == 1 else f"{sid}.{n}",
                start=unit.start if not run or run[0] == unit.words[0] else run[0].start,
                end=unit.end if not run or run[-1] == unit.words[-1] else run[-1].end,
                words=tuple(run),
            )
            for n, (unit, run) in enumerate(runs, start=1)
        )
    return pieces


def _laid_out(machine: Transcript, edited: Sequence[EditedSegment]) -> tuple[EditedSegment, ...]:
    """The whole transcript: `edited` at their own times and the machine's pieces around them, in time order.
    An edit keeps its id (its changes stay undoable); a piece whose id an edit has takes the next number
    free in its machine segment ("s4" beside an edit "s4" becomes "s4.3" when s4 has two pieces)."""
    pieces = _machine_pieces(machine, edited)
    edited_ids = {s.id for s in edited}
    taken = edited_ids | {p.id for p in pieces}
    kept: list[EditedSegment] = []
    for piece in pieces:
        if piece.id in edited_ids:
            number = 2
            while f"{piece.origin[0]}.{number}" in taken:
                number += 1
            piece = replace(piece, id=f"{piece.origin[0]}.{number}")
            taken.add(piece.id)
        kept.append(piece)
    return tuple(sorted([*kept, *edited], key=lambda s: (s.start, s.end)))


def _with_replaced(before: Sequence[EditedSegment], after: Sequence[EditedSegment]) -> list[EditedSegment]:
    """`after` with each edited segment's `replaced` set: the machine words of `before` (of an edited one, the
    words it replaced) whose midpoint lies in its span; None where it overlaps an edited segment of `before`
    from a file that kept none."""
    pool = _heard(w for b in before for w in (b.words if b.machine else b.replaced or ()))
    unknown = [b for b in before if not b.machine and b.replaced is None]
    return [
        a
        if a.machine
        else replace(a, replaced=None if any(_overlap(a, b) >= 0 for b in unknown) else pool.within(a.start, a.end))
        for a in after
    ]


def start_edits(slug: str, machine: Transcript) -> SessionEdits:
    """Version 0 of a session's edits: the machine transcript's segments, nothing changed."""
    return SessionEdits(
        slug=slug,
        version=0,
        machine_hash=transcript_hash(machine),
        segments=tuple(_machine_units(machine)),
    )


# --- retiming -------------------------------------------------------------------------------------


def _spread(
    tokens: Sequence[str],
    low: float,
    high: float,
    speaker: str | None,
    flags: tuple[str, ...] = (EDITED_FLAG,),
) -> tuple[Word, ...]:
    """Words for `tokens` sharing `low`..`high` in proportion to their length (rounded to milliseconds,
    never outside the span)."""
    high = max(high, low)
    weights = [len(t) + 1 for t in tokens]
    total = sum(weights)
    bounds = [low]
    running = 0
    for weight in weights:
        running += weight
        bounds.append(low + (high - low) * running / total)
    at = [max(low, min(high, round(b, 3))) for b in bounds]
    return tuple(Word(at[k], at[k + 1], token, 1.0 if flags else 0.0, speaker, flags) for k, token in enumerate(tokens))


def retime_words(old: Sequence[Word], new_text: str, start: float, end: float) -> tuple[Word, ...]:
    """The words of `new_text` with times: unchanged words keep theirs (and probability, flags, speaker);
    changed and new words get times interpolated from the words they replace, within `start`..`end`.

    The words are matched with difflib over word tokens; a pure insertion gets the gap between its
    neighbours. Times never go back and stay inside the segment (given the old words do).
    """
    tokens = new_text.split()
    old = list(old)
    opcodes = SequenceMatcher(None, [w.text.strip() for w in old], tokens, autojunk=False).get_opcodes()
    kept_starts = [old[i1].start for tag, i1, _, _, _ in opcodes if tag == "equal"]
    words: list[Word] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            words.extend(old[i1:i2])
            kept_starts.pop(0)
            continue
        if tag == "delete":
            continue
        if tag == "replace":
            low, high, speaker = old[i1].start, old[i2 - 1].end, old[i1].speaker
        else:  # insert between old[i1 - 1] and old[i1]
            low = old[i1 - 1].end if i1 > 0 else start
            high = old[i1].start if i1 < len(old) else end
            neighbour = old[i1 - 1] if i1 > 0 else (old[i1] if old else None)
            speaker = neighbour.speaker if neighbour else None
        floor = max(start, words[-1].end if words else start)
        ceiling = min(end, kept_starts[0] if kept_starts else end)
        low = min(max(low, floor), ceiling)
        words.extend(_spread(tokens[j1:j2], low, min(max(high, low), ceiling), speaker))
    return tuple(words)


# --- checks ---------------------------------------------------------------------------------------


def clean_text(
    text: Any,
    what: str = "de tekst",
    when_empty: str = f"typ de tekst, of markeer het stuk als {INAUDIBLE}",
    field: TextField = SEGMENT_TEXT,
) -> str:
    """Text an editor typed, on one line (see `editor_text.checked_text`); EditError when it is not a
    string, empty, too long for its `field` or holds invisible characters (`what` names the text in the
    message, `when_empty` says what to do instead of giving empty text)."""
    try:
        return checked_text(text, field, what, when_empty)
    except TextRefused as exc:
        raise EditError(str(exc)) from exc


def _check_version(edits: SessionEdits, base_version: int) -> None:
    if base_version != edits.version:
        raise EditConflict(
            f"sessie '{edits.slug}' is intussen gewijzigd (nu versie {edits.version}; deze wijziging ging uit "
            f"van versie {base_version}): laad de pagina opnieuw om de nieuwste tekst te zien",
            edits,
        )


def _check_speaker(edits: SessionEdits, speaker: Any) -> str:
    if not isinstance(speaker, str) or speaker not in edits.speakers:
        known = ", ".join(edits.speakers) or "geen"
        raise EditError(
            f"spreker '{_shown(str(speaker))}' komt niet voor in deze sessie: kies een van {known}, "
            "of voeg een spreker toe"
        )
    return speaker


def _check_word(segment: EditedSegment, index: Any, what: str, low: int, high: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not low <= index <= high:
        raise EditError(
            f"{what} {_shown(str(index))} ligt niet tussen {low} en {high} in {_named(segment)}: "
            "zet de cursor op een woord van dat segment"
        )
    return index


def _editor(editor: str) -> str:
    return _shown(editor, 100) or "editor"


# --- recording changes ----------------------------------------------------------------------------


def _replaced(
    segments: Sequence[EditedSegment], before: Sequence[EditedSegment], after: Sequence[EditedSegment]
) -> tuple[EditedSegment, ...]:
    """`segments` with `before` (by id) taken out and `after` put in, in time order."""
    gone = {s.id for s in before}
    kept = [s for s in segments if s.id not in gone]
    return tuple(sorted([*kept, *after], key=lambda s: (s.start, s.end)))


def _commit(
    edits: SessionEdits,
    action: str,
    editor: str,
    before: Sequence[EditedSegment],
    after: Sequence[EditedSegment],
    detail: dict[str, Any] | None = None,
    *,
    retrace: bool = True,
    **fields: Any,
) -> SessionEdits:
    """The edits with one change made: segments `before` replaced by `after`, recorded in the history; with
    `retrace`, the edited ones of `after` take the machine words they replace from `before`."""
    if retrace:
        after = _with_replaced(before, after)
    version = edits.version + 1
    change = Change(version, _editor(editor), _now(), action, tuple(before), tuple(after), detail or {})
    return replace(
        edits,
        version=version,
        segments=_replaced(edits.segments, before, after),
        history=(*edits.history, change),
        redo=(),
        **fields,
    )


def _fresh_id(edits: SessionEdits, taken: Sequence[str] = ()) -> str:
    """A segment id never used in this session ("e1", "e2", …)."""
    seen = [s.id for s in edits.segments] + [s.id for c in (*edits.history, *edits.redo) for s in (*c.before, *c.after)]
    numbers = [int(i[1:]) for i in (*seen, *taken) if i[:1] == "e" and i[1:].isdigit()]
    return f"e{max(numbers, default=0) + 1}"


def _edited(segment: EditedSegment, words: Sequence[Word], **fields: Any) -> EditedSegment:
    """The segment with new words (its bounds kept around them), no longer the machine's."""
    words = tuple(words)
    start = min([segment.start, *(w.start for w in words[:1])])
    end = max([segment.end, *(w.end for w in words[-1:])])
    inaudible = any(w.text == INAUDIBLE for w in words)
    return replace(segment, words=words, start=start, end=end, machine=False, inaudible=inaudible, **fields)


def _origin_pairs(segment: EditedSegment) -> dict[str, str]:
    """Machine segment id → its hash when the segment was made from it."""
    return dict(zip(segment.origin, segment.origin_hash.split(",")))


def _split(segment: EditedSegment, index: int, tail_id: str) -> tuple[EditedSegment, EditedSegment]:
    head_words, tail_words = segment.words[:index], segment.words[index:]
    head = replace(segment, words=head_words, end=head_words[-1].end, machine=False)
    tail = replace(segment, id=tail_id, words=tail_words, start=tail_words[0].start, machine=False)
    return (
        replace(head, inaudible=any(w.text == INAUDIBLE for w in head_words)),
        replace(tail, inaudible=any(w.text == INAUDIBLE for w in tail_words)),
    )


# --- operations -----------------------------------------------------------------------------------


def set_text(edits: SessionEdits, segment_id: str, text: str, *, base_version: int, editor: str) -> SessionEdits:
    """Correct one segment's text; its words are retimed with `retime_words`."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    text = clean_text(text, f"de tekst van {_named(segment)}")
    if text == segment.text and segment.checked:
        return edits
    if text == segment.text:
        changed = replace(segment, checked=True)
    else:
        changed = _edited(segment, retime_words(segment.words, text, segment.start, segment.end), checked=True)
    return _commit(edits, "text", editor, [segment], [changed], {"segment": segment_id})


def set_speaker(
    edits: SessionEdits, segment_id: str, speaker: str, *, from_word: int = 0, base_version: int, editor: str
) -> SessionEdits:
    """Give a segment to another speaker; `from_word` > 0 splits it there and moves only the tail."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    speaker = _check_speaker(edits, speaker)
    from_word = _check_word(segment, from_word, "woord", 0, max(len(segment.words) - 1, 0))
    tail_words = segment.words[from_word:]
    if segment.speaker == speaker and all(w.speaker == speaker for w in tail_words) and from_word == 0:
        return edits  # already so: nothing to record
    if from_word == 0:
        head, tail = None, segment
    else:
        head, tail = _split(segment, from_word, _fresh_id(edits))
    moved = replace(tail, speaker=speaker, words=tuple(replace(w, speaker=speaker) for w in tail.words), machine=False)
    after = [moved] if head is None else [head, moved]
    detail = {"segment": segment_id, "speaker": speaker, "from_word": from_word}
    return _commit(edits, "speaker", editor, [segment], after, detail)


def split_segment(
    edits: SessionEdits, segment_id: str, word_index: int, *, base_version: int, editor: str
) -> SessionEdits:
    """Split a segment before word `word_index` (the tail gets a fresh "e" id)."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    if len(segment.words) < 2:
        raise EditError(f"{_named(segment)} heeft minder dan twee woorden: er valt niets te splitsen")
    word_index = _check_word(segment, word_index, "woord", 1, len(segment.words) - 1)
    after = _split(segment, word_index, _fresh_id(edits))
    return _commit(edits, "split", editor, [segment], after, {"segment": segment_id, "word": word_index})


def merge_segments(
    edits: SessionEdits,
    segment_id: str,
    direction: Literal["previous", "next"],
    *,
    base_version: int,
    editor: str,
) -> SessionEdits:
    """Merge a segment with the previous or next one of the same speaker (the merged one keeps the first
    one's id)."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    if direction not in ("previous", "next"):
        raise EditError(
            f"samenvoegen kan met het vorige ('previous') of het volgende ('next') segment, "
            f"niet '{_shown(str(direction))}'"
        )
    at = edits.segments.index(segment) + (-1 if direction == "previous" else 1)
    if not 0 <= at < len(edits.segments):
        place, other = ("eerste", "vorig") if direction == "previous" else ("laatste", "volgend")
        raise EditError(f"{_named(segment)} is het {place} segment: er is geen {other} segment om mee samen te voegen")
    first, second = sorted((segment, edits.segments[at]), key=edits.segments.index)
    if first.speaker != second.speaker:
        raise EditError(
            f"{_named(first)} en {_named(second)} hebben verschillende sprekers ({first.speaker or 'geen'} en "
            f"{second.speaker or 'geen'}): geef ze eerst dezelfde spreker en voeg ze dan samen"
        )
    merged = replace(
        first,
        start=min(first.start, second.start),
        end=max(first.end, second.end),
        words=first.words + second.words,
        origin=tuple({**_origin_pairs(first), **_origin_pairs(second)}),
        origin_hash=",".join({**_origin_pairs(first), **_origin_pairs(second)}.values()),
        inaudible=first.inaudible or second.inaudible,
        stale=first.stale or second.stale,
        machine=False,
        checked=first.checked and second.checked,
    )
    detail = {"segment": segment_id, "direction": direction, "with": edits.segments[at].id}
    return _commit(edits, "merge", editor, [first, second], [merged], detail)


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
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    if not segment.words:
        raise EditError(f"{_named(segment)} heeft geen woorden om als {INAUDIBLE} te markeren")
    count = len(segment.words)
    from_word = _check_word(segment, from_word, "beginwoord", 0, count - 1)
    to_word = _check_word(segment, count if to_word is None else to_word, "eindwoord", from_word + 1, count)
    stretch = segment.words[from_word:to_word]
    mark = Word(stretch[0].start, stretch[-1].end, INAUDIBLE, 1.0, stretch[0].speaker, (EDITED_FLAG, INAUDIBLE_FLAG))
    changed = _edited(segment, (*segment.words[:from_word], mark, *segment.words[to_word:]))
    detail = {"segment": segment_id, "from_word": from_word, "to_word": to_word}
    return _commit(edits, "inaudible", editor, [segment], [changed], detail)


def revert_segment(
    edits: SessionEdits, segment_id: str, machine: Transcript, *, base_version: int, editor: str
) -> SessionEdits:
    """Put a segment back to the machine's text, speaker and times: the machine's words of its time (by
    time, not by id, so a rerun's new segmentation cannot bring back words from elsewhere); the rest of
    a split or merge made from the same machine segments goes too, as its words are back in them."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    if segment.machine:
        return edits
    # the rest of a split or merge that shares those machine segments goes too
    shared = {s.id for s in edits.segments if not s.machine and set(s.origin) & set(segment.origin)}
    remaining = [s for s in edits.segments if not s.machine and s.id not in shared]
    return _relaid(edits, machine, remaining, "revert", editor, {"segment": segment_id})


def _relaid(
    edits: SessionEdits,
    machine: Transcript,
    edited: Sequence[EditedSegment],
    action: str,
    editor: str,
    detail: dict[str, Any],
) -> SessionEdits:
    """The edits with only `edited` left edited and the machine's pieces laid out anew around them, as one
    change (the segments that went and came recorded, for undo)."""
    segments = _laid_out(machine, edited)
    old, new = set(edits.segments), set(segments)
    before = [s for s in edits.segments if s not in new]
    return _commit(edits, action, editor, before, [s for s in segments if s not in old], detail)


def _pattern(find: str, whole_word: bool, case_sensitive: bool) -> re.Pattern[str]:
    find = clean_text(find, "de zoektekst", "typ wat u wilt zoeken", SEARCH_TEXT)
    body = re.escape(find)
    if whole_word:
        body = rf"(?<!\w){body}(?!\w)"
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE)


def replace_preview(
    edits: SessionEdits, find: str, replacement: str, *, whole_word: bool = True, case_sensitive: bool = False
) -> list[tuple[str, str, str]]:
    """(segment id, text before, text after) for every segment `replace_all` would change."""
    pattern = _pattern(find, whole_word, case_sensitive)
    if not isinstance(replacement, str):
        raise EditError("de vervangende tekst moet tekst zijn")
    replacement = clean_text(replacement, "de vervangende tekst", field=SEARCH_TEXT) if replacement.strip() else ""
    found = []
    for segment in edits.segments:
        after = " ".join(pattern.sub(lambda _: replacement, segment.text).split())
        if after != segment.text:
            found.append((segment.id, segment.text, after))
    return found


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
    _check_version(edits, base_version)
    found = replace_preview(edits, find, replacement, whole_word=whole_word, case_sensitive=case_sensitive)
    if not found:
        raise EditError(
            f"'{_shown(find)}' staat niet in de tekst: controleer de spelling, "
            "of zet 'Alleen hele woorden' of 'Hoofdletters tellen mee' uit"
        )
    emptied = [edits.segment(sid) for sid, _, after in found if not after]
    if emptied:
        raise EditError(
            f"vervangen zou {', '.join(_named(s) for s in emptied)} leeg maken: "
            f"markeer dat stuk als {INAUDIBLE}, of voeg het samen met een segment ernaast"
        )
    before = [edits.segment(sid) for sid, _, _ in found]
    after = [_edited(s, retime_words(s.words, text, s.start, s.end)) for s, (_, _, text) in zip(before, found)]
    detail = {"find": find, "replace": replacement, "segments": [s.id for s in before]}
    return _commit(edits, "replace-all", editor, before, after, detail)


def merge_speakers(edits: SessionEdits, source: str, target: str, *, base_version: int, editor: str) -> SessionEdits:
    """Give everything `source` says to `target`."""
    _check_version(edits, base_version)
    source, target = _check_speaker(edits, source), _check_speaker(edits, target)
    if source == target:
        raise EditError(
            f"spreker '{source}' kan niet met zichzelf worden samengevoegd: kies twee verschillende sprekers"
        )
    before = [s for s in edits.segments if s.speaker == source or any(w.speaker == source for w in s.words)]
    after = [
        replace(
            s,
            speaker=target if s.speaker == source else s.speaker,
            words=tuple(replace(w, speaker=target) if w.speaker == source else w for w in s.words),
            machine=False,
        )
        for s in before
    ]
    return _commit(edits, "merge-speakers", editor, before, after, {"source": source, "target": target})


def add_speaker(edits: SessionEdits, *, base_version: int, editor: str) -> tuple[SessionEdits, str]:
    """A new speaker id ("SPEAKER_E1", …) segments can be given to; returns the edits and the id."""
    _check_version(edits, base_version)
    used = [*edits.added_speakers, *(str(c.detail.get("speaker", "")) for c in (*edits.history, *edits.redo))]
    numbers = [
        int(u[len(ADDED_SPEAKER) :]) for u in used if u.startswith(ADDED_SPEAKER) and u[len(ADDED_SPEAKER) :].isdigit()
    ]
    speaker = f"{ADDED_SPEAKER}{max(numbers, default=0) + 1}"
    changed = _commit(
        edits, "add-speaker", editor, [], [], {"speaker": speaker}, added_speakers=(*edits.added_speakers, speaker)
    )
    return changed, speaker


def set_chapter_start(
    edits: SessionEdits,
    chapter_number: int,
    start: float,
    *,
    base_version: int,
    editor: str,
    chapters: Sequence[Chapter] | None = None,
) -> SessionEdits:
    """Make chapter `chapter_number` (1-based) start at `start` seconds; given the session's `chapters`,
    the number must be one of them and the start must stay after the chapter before and before the next."""
    _check_version(edits, base_version)
    if not isinstance(chapter_number, int) or isinstance(chapter_number, bool) or chapter_number < 1:
        raise EditError(f"hoofdstuk {_shown(str(chapter_number))} bestaat niet")
    if not isinstance(start, (int, float)) or isinstance(start, bool) or not math.isfinite(start) or start < 0:
        raise EditError(
            f"het begin van hoofdstuk {chapter_number} moet een tijd in seconden zijn, niet '{_shown(str(start))}'"
        )
    last = max((s.end for s in edits.segments), default=0.0)
    if start > last:
        raise EditError(
            f"hoofdstuk {chapter_number} kan niet na het einde van de opname beginnen: die eindigt op "
            f"{clock_tenths(last)}"
        )
    if chapters is not None:
        if chapter_number > len(chapters):
            raise EditError(f"hoofdstuk {chapter_number} bestaat niet (de sessie heeft er {len(chapters)})")
        starts = [c.start for c in with_chapter_starts(chapters, edits.chapter_starts)]
        low = starts[chapter_number - 2] if chapter_number > 1 else 0.0
        high = starts[chapter_number] if chapter_number < len(starts) else math.inf
        if not (low < start < high or (chapter_number == 1 and start == 0.0 < high)):
            raise EditError(_chapter_bounds(chapter_number, start, low, high))
    key = str(chapter_number)
    detail = {"chapter": key, "before": edits.chapter_starts.get(key), "after": float(start)}
    return _commit(
        edits, "chapter-start", editor, [], [], detail, chapter_starts={**edits.chapter_starts, key: float(start)}
    )


def _chapter_bounds(number: int, start: float, low: float, high: float) -> str:
    """Why chapter `number` cannot start at `start`: it must stay after the chapter before, before the next."""
    after = f"na het begin van hoofdstuk {number - 1} ({clock_tenths(low)})" if number > 1 else ""
    before = f"vóór het begin van hoofdstuk {number + 1} ({clock_tenths(high)})" if math.isfinite(high) else ""
    where = " en ".join(part for part in (after, before) if part) or "binnen de opname"
    return f"hoofdstuk {number} kan niet op {clock_tenths(start)} beginnen: het moet {where} beginnen"


def with_chapter_starts(chapters: Sequence[Chapter], starts: Mapping[str, float]) -> tuple[Chapter, ...]:
    """The chapters with the editor's starts; each chapter before a moved start ends there."""
    moved = [replace(c, start=starts.get(str(n), c.start)) for n, c in enumerate(chapters, start=1)]
    return tuple(
        replace(c, end=moved[i + 1].start) if i + 1 < len(moved) and str(i + 2) in starts else c
        for i, c in enumerate(moved)
    )


# --- undo and redo --------------------------------------------------------------------------------


def _undoable(edits: SessionEdits) -> list[Change]:
    """The changes undo takes back, last first: every change not undone yet (a redo counts as the change)."""
    stack: list[Change] = []
    for change in edits.history:
        if change.action == "undo":
            if stack:
                stack.pop()
        elif change.action != RERUN:
            stack.append(change)
    return stack


def _apply(edits: SessionEdits, change: Change, backwards: bool) -> dict[str, Any]:
    """The fields of the edits with `change` undone (backwards) or made again; EditError when a rerun
    changed what it touched since."""
    remove, add = (change.after, change.before) if backwards else (change.before, change.after)
    current = {s.id: s for s in edits.segments}
    for seg in remove:
        now = current.get(seg.id)
        if now is None or replace(now, stale=False) != replace(seg, stale=False):
            done = "ongedaan gemaakt" if backwards else "opnieuw gedaan"
            raise EditError(
                f"wijziging {change.version} kan niet meer worden {done}: {_named(seg)} is sindsdien veranderd "
                "(door een nieuwe verwerking van de opname); pas de tekst zelf aan"
            )
    fields: dict[str, Any] = {"segments": _replaced(edits.segments, remove, add)}
    action = str(change.detail.get("action", change.action))
    if action == "add-speaker":
        speaker = str(change.detail["speaker"])
        others = tuple(s for s in edits.added_speakers if s != speaker)
        fields["added_speakers"] = others if backwards else (*others, speaker)
    if action == "chapter-start":
        key, value = str(change.detail["chapter"]), change.detail["before" if backwards else "after"]
        starts = {k: v for k, v in edits.chapter_starts.items() if k != key}
        fields["chapter_starts"] = starts if value is None else {**starts, key: float(value)}
    return fields


def undo(edits: SessionEdits, *, base_version: int, editor: str, machine: Transcript | None = None) -> SessionEdits:
    """Undo the last change not undone yet (it can be redone). Given the `machine` transcript the edits are
    reconciled with, a change made before a rerun gives back the rerun's words of its time (laid out
    anew around the edits), not those of the transcript it was made on."""
    _check_version(edits, base_version)
    stack = _undoable(edits)
    if not stack:
        raise EditError("er is niets om ongedaan te maken")
    change = stack[-1]
    fields = _apply(edits, change, backwards=True)
    if machine is not None and any(c.action == RERUN and c.version > change.version for c in edits.history):
        fields["segments"] = _laid_out(machine, [s for s in fields["segments"] if not s.machine])
    version = edits.version + 1
    record = Change(version, _editor(editor), _now(), "undo", change.after, change.before, {"undid": change.version})
    return replace(edits, version=version, history=(*edits.history, record), redo=(*edits.redo, change), **fields)


def redo(edits: SessionEdits, *, base_version: int, editor: str) -> SessionEdits:
    """Redo the change undone last."""
    _check_version(edits, base_version)
    if not edits.redo:
        raise EditError("er is niets om opnieuw te doen")
    change = edits.redo[-1]
    fields = _apply(edits, change, backwards=False)
    version = edits.version + 1
    detail = {**change.detail, "action": change.detail.get("action", change.action), "redid": change.version}
    record = Change(version, _editor(editor), _now(), "redo", change.before, change.after, detail)
    return replace(edits, version=version, history=(*edits.history, record), redo=edits.redo[:-1], **fields)


# --- reruns ---------------------------------------------------------------------------------------


def _overlap(a: EditedSegment | Segment, b: EditedSegment | Segment) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def _origin_hash(origin: Sequence[str], by_id: Mapping[str, Segment]) -> str:
    return ",".join(segment_hash(by_id[o]) if o in by_id else "gone" for o in origin)


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
        changed = _origin_hash(segment.origin, by_id) != segment.origin_hash
    else:
        changed = _tokens(inside) != _tokens(segment.replaced)
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
    heard, by_id = heard_words(machine), _machine_ids(machine)
    edited = [s for s in edits.segments if not s.machine]
    conflicts = _overlapping(edited)
    placed = [_placed(s, at in conflicts, heard, by_id) for at, s in enumerate(edited)]
    segments = _laid_out(machine, placed)
    version = edits.version + 1
    change = Change(version, "pipeline", _now(), RERUN, (), (), {"stale": [s.id for s in segments if s.stale]})
    return replace(
        edits,
        version=version,
        machine_hash=current_hash,
        segments=segments,
        history=(*edits.history, change),
        redo=(),
    )


def resolve_stale(
    edits: SessionEdits, segment_id: str, keep: bool, machine: Transcript, *, base_version: int, editor: str
) -> SessionEdits:
    """Settle a stale segment: keep the edit (it then stands for the machine's words of its time now), or
    take the machine's words of its time instead."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    if not segment.stale:
        raise EditError(f"{_named(segment)} is niet verouderd: er valt niets te kiezen")
    detail = {"segment": segment_id, "keep": keep}
    if not keep:
        remaining = [s for s in edits.segments if not s.machine and s.id != segment_id]
        return _relaid(edits, machine, remaining, "resolve-stale", editor, detail)
    by_id = _machine_ids(machine)
    inside = heard_words(machine).claimed(segment)
    origin = tuple(sid for sid, seg in by_id.items() if set(inside) & set(_words_of(seg))) or segment.origin
    kept = replace(segment, stale=False, replaced=inside, origin=origin, origin_hash=_origin_hash(origin, by_id))
    return _commit(edits, "resolve-stale", editor, [segment], [kept], detail, retrace=False)


# --- what publishing and the workbench read -------------------------------------------------------


def edited_transcript(machine: Transcript, edits: SessionEdits | None) -> Transcript:
    """What publishing renders: the machine transcript (its provenance) with the edited segments, each at
    its own time, and the machine's words around them; a machine segment no edit touched any part of
    exactly as the machine made it."""
    if edits is None:
        return machine
    edits = reconcile(edits, machine)
    by_id = _machine_ids(machine)
    units: dict[str, list[tuple[Any, ...]]] = {}
    for s in edits.segments:
        if s.machine:
            units.setdefault(s.origin[0], []).append(_unit_key(s))
    whole = {sid for sid, seg in by_id.items() if units.get(sid) == [_unit_key(u) for u in _from_machine(sid, seg)]}
    segments: list[Segment] = []
    for s in edits.segments:
        if s.machine and s.origin[0] in whole:
            if s.id == s.origin[0]:
                segments.append(by_id[s.id])
        elif s.words:
            segments.append(Segment(s.start, s.end, s.text, s.words, s.speaker))
    return replace(machine, segments=tuple(segments))


def _unit_key(unit: EditedSegment) -> tuple[Any, ...]:
    """What makes a machine unit the machine's as made (not whether an editor checked it)."""
    return (unit.id, unit.start, unit.end, unit.speaker, unit.words)


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


# --- storage --------------------------------------------------------------------------------------


def edits_path(private_session_folder: Path) -> Path:
    return private_session_folder / outputs.EDITS.name()


_KNOWN: dict[Path, tuple[tuple[int, int, int], SessionEdits]] = {}
"""Edits files read or written last, by path, with the file's inode, modification time and size: a file
unchanged since is not parsed again (a save on a two-hour session stays quick)."""


@cache
def _edits_adapter() -> TypeAdapter[SessionEdits]:
    return TypeAdapter(SessionEdits)


def _file_key(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _remember(path: Path, edits: SessionEdits) -> None:
    if len(_KNOWN) >= 16:
        _KNOWN.clear()
    _KNOWN[path] = (_file_key(path), edits)


def read_edits(private_session_folder: Path) -> SessionEdits | None:
    """The session's edits, or None when nobody edited it; EditError for a file that cannot be read."""
    path = edits_path(private_session_folder)
    try:
        known = _KNOWN.get(path)
        if known is not None and known[0] == _file_key(path):
            return known[1]
        edits = _edits_adapter().validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EditError(f"{path}: cannot be read ({_shown(str(exc), 200)})") from exc
    _remember(path, edits)
    return edits


def write_edits(private_session_folder: Path, edits: SessionEdits) -> None:
    """Write the edits atomically (a reader sees the old file or the new one, never half); compact JSON, as
    the file grows with the history and is written at every change."""
    private_session_folder.mkdir(parents=True, exist_ok=True)
    path = edits_path(private_session_folder)
    atomic_write_bytes(path, _edits_adapter().dump_json(edits) + b"\n")
    _remember(path, edits)


def current_edits(output_dir: Path, slug: str) -> SessionEdits:
    """The session's edits as the workbench shows them: stored ones brought up to the machine transcript
    (a rerun's stale marks included, not written), or version 0 when nobody edited it."""
    machine = machine_transcript(output_dir, slug)
    return edits_over_machine(slug, machine, read_edits(workspace.session_private_dir(output_dir, slug)))


def edits_over_machine(slug: str, machine: Transcript, stored: SessionEdits | None) -> SessionEdits:
    """The one rule for what an editor works on: the machine transcript where no edit. Stored edits are
    brought up to the machine transcript (a rerun's stale marks included, not written); none: version 0."""
    return start_edits(slug, machine) if stored is None else reconcile(stored, machine)


def update_edits(private_session_folder: Path, change: Callable[[SessionEdits], SessionEdits]) -> SessionEdits:
    """Apply `change` to the stored edits under the session's editor lock (two tabs, two processes; see
    `editor_files`) and store the result.

    Edits not stored yet start from the machine transcript; stored ones are first brought up to it (a
    rerun), so a change based on the version before the rerun is a conflict. Nothing is written when
    `change` raises.
    """
    return locked_update(
        edits_path(private_session_folder),
        lambda _: current_edits(workspace.output_of_session(private_session_folder), private_session_folder.name),
        change,
        lambda _, changed: write_edits(private_session_folder, changed),
    )


_READ: dict[Path, tuple[tuple[int, int, int], Transcript]] = {}
"""The machine transcript read last, by path, with the file's inode, modification time and size."""


def machine_transcript(output_dir: Path, slug: str) -> Transcript:
    """The pipeline's own transcript of the session, always kept privately (the public transcript.json
    of packages published before it was kept)."""
    for entry in (outputs.MACHINE_TRANSCRIPT, outputs.TRANSCRIPT_JSON):
        path = workspace.session_dir_for(output_dir, slug, entry) / entry.name()
        try:
            stat = path.stat()
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            cached = _READ.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            transcript = from_json(Transcript, path.read_text(encoding="utf-8"))
            if len(_READ) >= 4:
                _READ.clear()
            _READ[path] = (key, transcript)
            return transcript
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise EditError(f"{path}: cannot be read ({_shown(str(exc), 200)})") from exc
    raise EditError(f"session '{_shown(slug)}' has no transcript in {output_dir}")
