"""An editor's cue timing edits laid over the cues the subtitle search built (placed by time, so they
survive text edits and reruns; one that can no longer be placed is kept and reported, never applied
wrongly), and the warnings a cue gets against its profile (reading speed, line length, gap)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from livecastpipe.settings import SubtitleProfile
from livecastpipe.stages.cues import Cue, too_fast_to_read
from livecastpipe.timefmt import webvtt_timestamp

PLACE_TOLERANCE_S = 0.5
"""How far a cue built now may start from the cue an editor timed (its start then) and still be that cue:
a text edit or a rerun moves cue starts a little, not by half a second."""
CueTimes = Mapping[str, tuple[float, float]]
"""An editor's cue timing edits: the built cue's start as WebVTT gives it (`00:01:02.340`) → its (start, end)."""


@dataclass(frozen=True)
class TimedCue:
    """A cue as published: the search's cue with the editor's times (if any), named by its built start."""

    key: str
    """The start the subtitle search gave the cue, as WebVTT gives it: what a timing edit names."""
    cue: Cue
    moved: bool = False


def cue_key(cue: Cue) -> str:
    """The name of a built cue a timing edit refers to: its start as WebVTT gives it."""
    return webvtt_timestamp(cue.start)


def key_seconds(key: str) -> float:
    """The seconds of a cue key (`HH:MM:SS.mmm`); ValueError when it is not one."""
    hours, minutes, seconds = key.split(":")
    value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if not math.isfinite(value) or value < 0:
        raise ValueError(key)
    return value


def _nearest(cues: Sequence[Cue], at: float, taken: set[int]) -> int | None:
    """The index of the cue starting nearest to `at`, within `PLACE_TOLERANCE_S`, not taken yet."""
    best = min(
        (i for i in range(len(cues)) if i not in taken and abs(cues[i].start - at) <= PLACE_TOLERANCE_S),
        key=lambda i: abs(cues[i].start - at),
        default=None,
    )
    return best


def timed_cues(cues: Sequence[Cue], cue_times: CueTimes, duration: float) -> tuple[list[TimedCue], list[str]]:
    """The cues with the editor's timing edits, each placed on the built cue starting nearest its key (by
    time); and the keys of the edits that cannot be placed (no cue near, or no room left between the
    neighbours after a text edit or a rerun), which are not applied."""
    timed = [TimedCue(cue_key(c), c) for c in cues]
    unplaced: list[str] = []
    taken: set[int] = set()
    wanted: dict[int, tuple[str, float, float]] = {}
    for key, (start, end) in sorted(cue_times.items()):
        try:
            at = _nearest(cues, key_seconds(key), taken)
        except ValueError:
            at = None
        if at is None:
            unplaced.append(key)
            continue
        taken.add(at)
        wanted[at] = (key, start, end)
    for at, (key, start, end) in sorted(wanted.items()):
        low = timed[at - 1].cue.end if at > 0 else 0.0
        high = min(timed[at + 1].cue.start if at + 1 < len(timed) else math.inf, duration)
        start, end = max(start, low), min(end, high)
        if start >= end:
            unplaced.append(key)
            continue
        timed[at] = TimedCue(timed[at].key, replace(cues[at], start=start, end=end), True)
    return timed, sorted(unplaced)


def cue_warnings(cue: Cue, previous_end: float | None, next_start: float | None, profile: SubtitleProfile) -> list[str]:
    """Why a cue breaks its profile, one Dutch line each: read faster than `max_cps` (the one reading-speed
    rule, `too_fast_to_read`), a line longer than `max_line_chars`, a gap under `min_gap` to a neighbour."""
    found = []
    duration_ms = max(round((cue.end - cue.start) * 1000), 0)
    if too_fast_to_read(cue.chars, duration_ms, profile.max_cps):
        speed = cue.chars / max(cue.end - cue.start, 0.001)
        found.append(f"te snel om te lezen: {speed:.1f} tekens per seconde (hoogstens {profile.max_cps:g})")
    for line in cue.lines:
        if len(line.text) > profile.max_line_chars:
            found.append(f"regel van {len(line.text)} tekens (hoogstens {profile.max_line_chars})")
    gaps = (("de vorige", previous_end, cue.start), ("de volgende", cue.end, next_start))
    for other, first, second in gaps:
        if first is not None and second is not None and round(second - first, 3) < profile.min_gap:
            found.append(f"{max(second - first, 0):.2f} s tot {other} regel (minstens {profile.min_gap:g} s ertussen)")
    return found


def warnings_of(timed: Sequence[TimedCue], profile: SubtitleProfile) -> list[list[str]]:
    """`cue_warnings` of every cue in a list, against its neighbours in it."""
    cues = [t.cue for t in timed]
    return [
        cue_warnings(
            cue,
            cues[i - 1].end if i > 0 else None,
            cues[i + 1].start if i + 1 < len(cues) else None,
            profile,
        )
        for i, cue in enumerate(cues)
    ]
