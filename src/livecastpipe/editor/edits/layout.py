"""The machine transcript as editing units, and the edits laid out over it by time: an edited segment owns
the machine's words of its time span, whatever the segmentation; typed words are retimed from the words
they replace."""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Any

from livecastpipe.editor.edits.model import EDITED_FLAG, EditedSegment, SessionEdits
from livecastpipe.models import Segment, Transcript, Word

# --- hashes and small helpers ---------------------------------------------------------------------


def _digest(data: Any) -> str:
    """SHA-256 of data as canonical JSON (sorted keys)."""
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


def origin_hashes(origin: Sequence[str], by_id: Mapping[str, Segment]) -> str:
    """The hashes of a segment's machine origin in a machine transcript ("gone" for one it no longer has),
    to compare with those the segment was made from."""
    return ",".join(segment_hash(by_id[o]) if o in by_id else "gone" for o in origin)


def machine_ids(machine: Transcript) -> dict[str, Segment]:
    """The machine transcript's segments by their ids ("s1".."sN")."""
    return {f"s{i}": seg for i, seg in enumerate(machine.segments, start=1)}


def words_of(segment: Segment) -> tuple[Word, ...]:
    """A machine segment's words; a segment without word times gets its text's words spread over it."""
    if segment.words or not segment.text.strip():
        return segment.words
    return _spread(segment.text.split(), segment.start, segment.end, segment.speaker, flags=())


def editing_units(segment_id: str, segment: Segment) -> list[EditedSegment]:
    """A machine segment as editing units: one per run of words of one speaker ("s1", "s1.2", …), so a
    unit's speaker is the speaker of all its words."""
    words = words_of(segment)
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
    """The whole machine transcript as editing units (`editing_units` of every segment)."""
    return [unit for sid, seg in machine_ids(machine).items() for unit in editing_units(sid, seg)]


# --- time spans: an edit owns the machine's words of its time -------------------------------------


def _midpoint(word: Word) -> float:
    """The moment a word is placed at when spans are compared: the middle of its times."""
    return (word.start + word.end) / 2


def _overlap(a: EditedSegment | Segment, b: EditedSegment | Segment) -> float:
    """How long two spans overlap (0 or less: they do not)."""
    return min(a.end, b.end) - max(a.start, b.start)


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
        replaced = compared_tokens(segment.replaced or ())
        if replaced and low > 0 and self.words[low - 1].end > segment.start:
            if compared_tokens([self.words[low - 1]]) == replaced[:1]:
                words.insert(0, self.words[low - 1])
        if replaced and high < len(self.words) and self.words[high].start < segment.end:
            if compared_tokens([self.words[high]]) == replaced[-1:]:
                words.append(self.words[high])
        return tuple(words)


def _heard(words: Iterable[Word]) -> HeardWords:
    """`words` as `HeardWords` (sorted by midpoint)."""
    ordered = sorted(words, key=_midpoint)
    return HeardWords([_midpoint(w) for w in ordered], ordered)


def heard_words(machine: Transcript) -> HeardWords:
    """Every word the machine heard (a segment without word times: its text spread over it)."""
    return _heard(w for seg in machine.segments for w in words_of(seg))


def compared_tokens(words: Iterable[Word]) -> list[str]:
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
    for sid, seg in machine_ids(machine).items():
        runs: list[tuple[EditedSegment, list[Word]]] = []
        for unit in editing_units(sid, seg):
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


def laid_out(machine: Transcript, edited: Sequence[EditedSegment]) -> tuple[EditedSegment, ...]:
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


def with_replaced(before: Sequence[EditedSegment], after: Sequence[EditedSegment]) -> list[EditedSegment]:
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
