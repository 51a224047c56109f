"""Speaker turns after the engine: smoothed for captions, and speakers put in speaking order."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from livecastpipe.models import SpeakerTurn


def smooth_turns(
    turns: Iterable[SpeakerTurn], padding: float, bridge: float, duration: float
) -> tuple[SpeakerTurn, ...]:
    """Pad turns, bridge short same-speaker pauses, and cut overlaps between speakers midway."""
    smoothed: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        start, end = max(0.0, turn.start - padding), min(duration, turn.end + padding)
        if smoothed and smoothed[-1].speaker == turn.speaker and start - smoothed[-1].end <= bridge:
            smoothed[-1] = replace(smoothed[-1], end=max(smoothed[-1].end, end))
            continue
        if smoothed and start < smoothed[-1].end:
            middle = (start + smoothed[-1].end) / 2
            smoothed[-1] = replace(smoothed[-1], end=middle)
            start = middle
        smoothed.append(SpeakerTurn(start, end, turn.speaker))
    return tuple(SpeakerTurn(round(t.start, 3), round(t.end, 3), t.speaker) for t in smoothed if t.end > t.start)


FIRST_TURN_S = 2.0
"""A speaker's place in the speaking order is that of their first turn this long (a stray window is not)."""


def speaking_order(turns: Iterable[SpeakerTurn]) -> list[str]:
    """Speakers in order of their first real turn (≥ FIRST_TURN_S), else of their first appearance."""
    first_any: dict[str, float] = {}
    first_real: dict[str, float] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        first_any.setdefault(turn.speaker, turn.start)
        if turn.end - turn.start >= FIRST_TURN_S:
            first_real.setdefault(turn.speaker, turn.start)
    return sorted(first_any, key=lambda s: (first_real.get(s, math.inf), first_any[s], s))
