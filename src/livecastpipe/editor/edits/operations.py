"""The editor's changes to a session's edits: each pure, checking the version the change was based on
(two tabs, no lost update) and returning the new edits with the change recorded (who, when, what it
replaced, for undo); undo and redo; settling an edit a rerun made stale."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from livecastpipe.editor.editor_text import SEARCH_TEXT, SEGMENT_TEXT, TextField, TextRefused, checked_text
from livecastpipe.editor.edits.layout import (
    heard_words,
    laid_out,
    machine_ids,
    origin_hashes,
    retime_words,
    with_replaced,
    words_of,
)
from livecastpipe.editor.edits.model import (
    ADDED_SPEAKER,
    EDITED_FLAG,
    INAUDIBLE,
    INAUDIBLE_FLAG,
    RERUN,
    Change,
    EditConflict,
    EditedSegment,
    EditError,
    SessionEdits,
    named,
    shown,
    utc_now,
)
from livecastpipe.models import Chapter, Transcript, Word
from livecastpipe.timefmt import clock_tenths, webvtt_timestamp

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
    """EditConflict unless the change was based on the current version (another tab changed it)."""
    if base_version != edits.version:
        raise EditConflict(
            f"sessie '{edits.slug}' is intussen gewijzigd (nu versie {edits.version}; deze wijziging ging uit "
            f"van versie {base_version}): laad de pagina opnieuw om de nieuwste tekst te zien",
            edits,
        )


def _check_speaker(edits: SessionEdits, speaker: Any) -> str:
    """The speaker id, when segments can be given to it in this session; EditError otherwise."""
    if not isinstance(speaker, str) or speaker not in edits.speakers:
        known = ", ".join(edits.speakers) or "geen"
        raise EditError(
            f"spreker '{shown(str(speaker))}' komt niet voor in deze sessie: kies een van {known}, "
            "of voeg een spreker toe"
        )
    return speaker


def _check_word(segment: EditedSegment, index: Any, what: str, low: int, high: int) -> int:
    """The word number, when it lies in `low`..`high` of the segment; EditError otherwise."""
    if not isinstance(index, int) or isinstance(index, bool) or not low <= index <= high:
        raise EditError(
            f"{what} {shown(str(index))} ligt niet tussen {low} en {high} in {named(segment)}: "
            "zet de cursor op een woord van dat segment"
        )
    return index


def _editor(editor: str) -> str:
    """The editor's name as a change records it (one line, at most 100 characters)."""
    return shown(editor, 100) or "editor"


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
        after = with_replaced(before, after)
    version = edits.version + 1
    change = Change(version, _editor(editor), utc_now(), action, tuple(before), tuple(after), detail or {})
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
    """A segment cut before word `index`: its head (keeping its id) and its tail (`tail_id`)."""
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
    text = clean_text(text, f"de tekst van {named(segment)}")
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
        raise EditError(f"{named(segment)} heeft minder dan twee woorden: er valt niets te splitsen")
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
            f"niet '{shown(str(direction))}'"
        )
    at = edits.segments.index(segment) + (-1 if direction == "previous" else 1)
    if not 0 <= at < len(edits.segments):
        place, other = ("eerste", "vorig") if direction == "previous" else ("laatste", "volgend")
        raise EditError(f"{named(segment)} is het {place} segment: er is geen {other} segment om mee samen te voegen")
    first, second = sorted((segment, edits.segments[at]), key=edits.segments.index)
    if first.speaker != second.speaker:
        raise EditError(
            f"{named(first)} en {named(second)} hebben verschillende sprekers ({first.speaker or 'geen'} en "
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
        raise EditError(f"{named(segment)} heeft geen woorden om als {INAUDIBLE} te markeren")
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
    segments = laid_out(machine, edited)
    old, new = set(edits.segments), set(segments)
    before = [s for s in edits.segments if s not in new]
    return _commit(edits, action, editor, before, [s for s in segments if s not in old], detail)


def _pattern(find: str, whole_word: bool, case_sensitive: bool) -> re.Pattern[str]:
    """The regular expression of find and replace for `find` (checked as typed search text)."""
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
            f"'{shown(find)}' staat niet in de tekst: controleer de spelling, "
            "of zet 'Alleen hele woorden' of 'Hoofdletters tellen mee' uit"
        )
    emptied = [edits.segment(sid) for sid, _, after in found if not after]
    if emptied:
        raise EditError(
            f"vervangen zou {', '.join(named(s) for s in emptied)} leeg maken: "
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
        raise EditError(f"hoofdstuk {shown(str(chapter_number))} bestaat niet")
    if not isinstance(start, (int, float)) or isinstance(start, bool) or not math.isfinite(start) or start < 0:
        raise EditError(
            f"het begin van hoofdstuk {chapter_number} moet een tijd in seconden zijn, niet '{shown(str(start))}'"
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


def set_translated_cue(
    edits: SessionEdits, cue_start: str, text: str, *, base_version: int, editor: str, cue_starts: Sequence[str]
) -> SessionEdits:
    """Correct the English machine translation's cue that starts at `cue_start` (as WebVTT gives it, one of
    the package's `cue_starts`); kept beside the Dutch edits, applied at every publish."""
    _check_version(edits, base_version)
    if cue_start not in cue_starts:
        raise EditError(
            f"de Engelse ondertitels hebben geen regel die op '{shown(str(cue_start))}' begint: "
            "laad de pagina opnieuw om de huidige ondertitels te zien"
        )
    corrected = clean_text(text, "de Engelse tekst", "typ de Engelse tekst van deze regel")
    detail = {"cue": cue_start, "before": edits.translated_cues.get(cue_start), "after": corrected}
    return _commit(
        edits,
        "translated-cue",
        editor,
        [],
        [],
        detail,
        translated_cues={**edits.translated_cues, cue_start: corrected},
    )


def set_cue_time(
    edits: SessionEdits,
    cue_key: str,
    start: Any,
    end: Any,
    *,
    base_version: int,
    editor: str,
    cues: Sequence[tuple[str, float, float]],
    min_gap: float,
    duration: float,
) -> SessionEdits:
    """Move the start and end of the captions' cue named `cue_key` (one of the shown `cues`: key, start,
    end, in order), clamped to the media's `duration`; the start must stay before the end, and the gap
    to either neighbour must not shrink under `min_gap` (nor the cues overlap)."""
    _check_version(edits, base_version)
    keys = [key for key, _, _ in cues]
    if cue_key not in keys:
        raise EditError(
            f"de ondertiteling heeft geen regel '{shown(str(cue_key))}': laad de pagina opnieuw om de huidige "
            "ondertitels te zien"
        )
    for value, what in ((start, "begin"), (end, "einde")):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise EditError(f"het {what} van een regel moet een tijd in seconden zijn, niet '{shown(str(value))}'")
    start, end = round(max(float(start), 0.0), 3), round(min(float(end), duration), 3)
    if start >= end:
        raise EditError(
            f"een regel moet beginnen vóór hij eindigt ({webvtt_timestamp(start)} is niet vóór {webvtt_timestamp(end)})"
        )
    at = keys.index(cue_key)
    _, old_start, old_end = cues[at]
    if at > 0 and _gap_refused(start - cues[at - 1][2], old_start - cues[at - 1][2], min_gap):
        raise EditError(_gap_message("begint", cues[at - 1][2], start, "eindigt de vorige regel", min_gap))
    if at + 1 < len(cues) and _gap_refused(cues[at + 1][1] - end, cues[at + 1][1] - old_end, min_gap):
        raise EditError(_gap_message("eindigt", cues[at + 1][1], end, "begint de volgende regel", min_gap))
    detail = {"cue": cue_key, "before": edits.cue_times.get(cue_key), "after": [start, end]}
    cue_times = {**edits.cue_times, cue_key: (start, end)}
    return _commit(edits, "cue-time", editor, [], [], detail, cue_times=cue_times)


def _gap_refused(gap: float, before: float, min_gap: float) -> bool:
    """Whether a moved cue leaves too small a `gap` to a neighbour (it was `before`): an overlap, or under
    `min_gap` and smaller than it was (a gap the subtitle search left small may stay, not shrink)."""
    gap, before = round(gap, 3), round(before, 3)
    return gap < 0 or (gap < min_gap and gap < before)


def _gap_message(moved: str, neighbour: float, at: float, where: str, min_gap: float) -> str:
    """Why a cue cannot start or end at `at`: its neighbour is too near (at `neighbour`)."""
    return (
        f"de regel {moved} dan op {webvtt_timestamp(at)}, maar op {webvtt_timestamp(neighbour)} {where}: "
        f"houd minstens {min_gap:g} s ertussen"
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
                f"wijziging {change.version} kan niet meer worden {done}: {named(seg)} is sindsdien veranderd "
                "(door een nieuwe verwerking van de opname); pas de tekst zelf aan"
            )
    fields: dict[str, Any] = {"segments": _replaced(edits.segments, remove, add)}
    action = str(change.detail.get("action", change.action))
    if action == "add-speaker":
        speaker = str(change.detail["speaker"])
        others = tuple(s for s in edits.added_speakers if s != speaker)
        fields["added_speakers"] = others if backwards else (*others, speaker)
    if action == "translated-cue":
        key, text = str(change.detail["cue"]), change.detail["before" if backwards else "after"]
        cues = {k: v for k, v in edits.translated_cues.items() if k != key}
        fields["translated_cues"] = cues if text is None else {**cues, key: str(text)}
    if action == "cue-time":
        key, times = str(change.detail["cue"]), change.detail["before" if backwards else "after"]
        timed = {k: v for k, v in edits.cue_times.items() if k != key}
        fields["cue_times"] = timed if times is None else {**timed, key: (float(times[0]), float(times[1]))}
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
        fields["segments"] = laid_out(machine, [s for s in fields["segments"] if not s.machine])
    version = edits.version + 1
    record = Change(version, _editor(editor), utc_now(), "undo", change.after, change.before, {"undid": change.version})
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
    record = Change(version, _editor(editor), utc_now(), "redo", change.before, change.after, detail)
    return replace(edits, version=version, history=(*edits.history, record), redo=edits.redo[:-1], **fields)


# --- settling what a rerun made stale -------------------------------------------------------------


def resolve_stale(
    edits: SessionEdits, segment_id: str, keep: bool, machine: Transcript, *, base_version: int, editor: str
) -> SessionEdits:
    """Settle a stale segment: keep the edit (it then stands for the machine's words of its time now), or
    take the machine's words of its time instead."""
    _check_version(edits, base_version)
    segment = edits.segment(segment_id)
    if not segment.stale:
        raise EditError(f"{named(segment)} is niet verouderd: er valt niets te kiezen")
    detail = {"segment": segment_id, "keep": keep}
    if not keep:
        remaining = [s for s in edits.segments if not s.machine and s.id != segment_id]
        return _relaid(edits, machine, remaining, "resolve-stale", editor, detail)
    by_id = machine_ids(machine)
    inside = heard_words(machine).claimed(segment)
    origin = tuple(sid for sid, seg in by_id.items() if set(inside) & set(words_of(seg))) or segment.origin
    kept = replace(segment, stale=False, replaced=inside, origin=origin, origin_hash=origin_hashes(origin, by_id))
    return _commit(edits, "resolve-stale", editor, [segment], [kept], detail, retrace=False)
