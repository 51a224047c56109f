"""A subtitle cue as shown (its lines, time span and flags), and the reading-speed rule every cue is held to."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DIALOGUE_DASH = "- "


def reading_ms(chars: int, max_cps: float) -> int:
    """Milliseconds a viewer needs to read `chars` characters at `max_cps` characters per second: the
    shortest time on screen the reading-speed rule (`too_fast_to_read`) allows."""
    return math.ceil(chars * 1000 / max_cps)


def too_fast_to_read(chars: int, duration_ms: Any, max_cps: float) -> Any:
    """The reading-speed rule: whether `chars` characters shown for `duration_ms` (a number or an array of
    them) go by faster than `max_cps` characters per second, spaces and punctuation included."""
    return chars * 1000 > max_cps * duration_ms


@dataclass(frozen=True)
class CueLine:
    """One displayed line: its text (with "- " in a dialogue cue, and a name label where asked) and words."""

    text: str
    speaker: str | None
    first_word: int
    end_word: int
    """Index after the line's last word (the words are `words[first_word:end_word]`)."""


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: time span (seconds), its lines, and why it breaks the profile (if it does)."""

    start: float
    end: float
    lines: tuple[CueLine, ...]
    dialogue: bool = False
    flags: tuple[str, ...] = ()

    @property
    def first_word(self) -> int:
        return self.lines[0].first_word

    @property
    def end_word(self) -> int:
        return self.lines[-1].end_word

    @property
    def chars(self) -> int:
        """Characters a viewer reads: all lines, spaces and punctuation included."""
        return sum(len(line.text) for line in self.lines)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)
