"""Subtitles: cues built from word timestamps under a style-guide profile, WebVTT/SRT files and a report.

Cues follow a named profile (`nl-default`: at most 2 lines of 42 characters, 17 characters per second,
5/6 s to 7 s on screen, 80 ms between cues). A cue stays on screen 0.7 s after its last word where there is
room, and a blank of less than 1.5 s before the next cue is closed (chaining), so a pause between sentences
does not leave speech without a caption. Line and cue breaks fall at Dutch linguistic boundaries, a cue
never mixes speakers (except a "- " dialogue cue), and every word is kept: a cue that cannot meet the
profile without dropping words is flagged in the quality report instead.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pysubs2
import webvtt

from livecastpipe.models import Transcript, Word, from_jsonable, to_jsonable
from livecastpipe.names import public_speaker_names
from livecastpipe.package import outputs
from livecastpipe.package.escaping import srt_text, vtt_cue_text, vtt_voice_name
from livecastpipe.settings import SubtitleProfile, SubtitleSettings
from livecastpipe.stages.cue_times import CueTimes, TimedCue, timed_cues
from livecastpipe.stages.cues import DIALOGUE_DASH, Cue, CueLine, reading_ms, too_fast_to_read
from livecastpipe.stages.dutch import (
    AMBIGUOUS_DETERMINERS,
    ARTICLES_AND_DETERMINERS,
    CONJUNCTIONS,
    NAME_PARTICLES,
    PREPOSITIONS,
)
from livecastpipe.stages.subtitle_report import subtitle_report
from livecastpipe.timefmt import webvtt_timestamp

_SENTENCE_END = re.compile(r"[.!?…]['\")\]»”’]*$")
_CLAUSE_END = re.compile(r"[,;:–—)\]]['\"»”’]*$")
_EDGE_PUNCTUATION = re.compile(r"^[^\w']+|[^\w']+$")

# Costs of the cue search (lower is better); breaches of the profile cost far more than style.
PHRASE_SPLIT_COST = 150.0
"""A break after an article or inside a name: worse than a cue a little over the reading speed."""
_CUE_COST = 10.0
_DIALOGUE_COST = 6.0
_DANGLING_SENTENCE_COST = 6.0
_LINE_BREACH_COST = 10_000.0
_TIMING_BREACH_COST = 200.0
_NO_ROOM_COST = 100_000.0
_PAUSE_IN_CUE_MS = 1000
_LAG_STEP_MS = 40
"""Steps in which a cue may start after its first word (one frame at 25 fps)."""
_LAG_COST_PER_MS = 0.01


@dataclass(frozen=True)
class _Stream:
    """The words prepared for the cue search: texts, integer millisecond times, speakers, break costs."""

    texts: list[str]
    starts: list[int]
    ends: list[int]
    speakers: list[str | None]
    prefix_chars: list[int]
    sentence_end: list[bool]
    last_sentence_end: list[int]
    """last_sentence_end[k]: index of the last word before word k that ends a sentence, or -1."""
    break_cost: list[float]
    """break_cost[k]: how bad a line or cue break between word k-1 and word k is (index 0 unused)."""

    def chars(self, a: int, b: int) -> int:
        return self.prefix_chars[b] - self.prefix_chars[a] + (b - a - 1)


def _bare(word: str) -> str:
    return _EDGE_PUNCTUATION.sub("", word).lower()


def _capitalised(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and letters[0].isupper()


def _name_side(texts: Sequence[str], k: int, step: int) -> bool:
    """Whether the word at k starts (step=+1) or ends (step=-1) a capitalised name, through particles."""
    while 0 <= k < len(texts):
        if _capitalised(texts[k]):
            return True
        if _bare(texts[k]) not in NAME_PARTICLES:
            return False
        k += step
    return False


def break_cost(texts: Sequence[str], k: int, pause_ms: int = 0) -> float:
    """How bad a line or cue break before word k is in Dutch: 0 after a sentence, high inside a phrase."""
    before, after = texts[k - 1], texts[k]
    if _SENTENCE_END.search(before):
        cost = 0.0
    elif _CLAUSE_END.search(before):
        cost = 2.0
    else:
        bare_before, bare_after = _bare(before), _bare(after)
        if bare_after in CONJUNCTIONS:
            cost = 4.0
        elif bare_after in PREPOSITIONS:
            cost = 5.0
        else:
            cost = 8.0
        if bare_before in ARTICLES_AND_DETERMINERS:
            cost += PHRASE_SPLIT_COST
        elif bare_before in PREPOSITIONS or bare_before in AMBIGUOUS_DETERMINERS:
            cost += 15.0
        if _name_side(texts, k - 1, -1) and _name_side(texts, k, +1):
            cost += PHRASE_SPLIT_COST
        if bare_before.replace(",", "").replace(".", "").isdigit() and bare_after:
            cost += 10.0
    if pause_ms >= 500:
        cost = max(0.0, cost - 2.0)
    if after in ("-", "–", "—"):  # a line starting with a dash reads as a change of speaker
        cost += PHRASE_SPLIT_COST
    return cost


def _prepare(words: Sequence[Word]) -> _Stream:
    texts = [" ".join(w.text.split()) for w in words]
    starts: list[int] = []
    ends: list[int] = []
    for w in words:
        start = max(round(w.start * 1000), starts[-1] if starts else 0)
        starts.append(start)
        ends.append(max(round(w.end * 1000), start))
    prefix = [0]
    for text in texts:
        prefix.append(prefix[-1] + len(text))
    costs = [0.0] + [break_cost(texts, k, starts[k] - ends[k - 1]) for k in range(1, len(texts))]
    sentence_end = [bool(_SENTENCE_END.search(t)) for t in texts]
    last_sentence_end = [-1]
    for k in range(1, len(texts) + 1):
        last_sentence_end.append(k - 1 if sentence_end[k - 1] else last_sentence_end[-1])
    return _Stream(
        texts=texts,
        starts=starts,
        ends=ends,
        speakers=[w.speaker for w in words],
        prefix_chars=prefix,
        sentence_end=sentence_end,
        last_sentence_end=last_sentence_end,
        break_cost=costs,
    )


@dataclass(frozen=True)
class _Layout:
    lines: tuple[tuple[int, int, str, str], ...]
    """(first word, end word, text before the words, text after the words) per line."""
    cost: float
    dialogue: bool = False


@dataclass(frozen=True)
class CueSearch:
    """A cue search kept for the next one (`build_cues(..., previous=)`): its profile and labels' key, a
    checksum per word, and per word position the search's value and choice (first word, dialogue split
    or -1)."""

    key: str
    words: tuple[int, ...]
    best: tuple[float, ...]
    choice: tuple[tuple[int, int], ...]


class _CueBuilder:
    """Chooses cue boundaries and line breaks by dynamic programming over the word stream."""

    def __init__(self, stream: _Stream, profile: SubtitleProfile, labels: Mapping[str, str]) -> None:
        self.s = stream
        self.p = profile
        self.labels = labels
        self.key = hashlib.sha256(json.dumps([profile.model_dump(), sorted(labels.items())]).encode()).hexdigest()[:16]
        """What the search's values depend on besides the words: a kept search is reused only under it."""
        self.search: CueSearch | None = None
        self.n = len(stream.texts)
        self.gap = math.ceil(profile.min_gap * 1000)
        self.min_ms = math.ceil(profile.min_duration * 1000 - 1e-6)
        self.max_ms = math.floor(profile.max_duration * 1000 + 1e-6)
        self.linger = math.floor(profile.max_linger * 1000 + 1e-6)
        self.chain = math.ceil(profile.chain_gap * 1000 - 1e-6)
        self.hold = math.floor(min(profile.min_linger, profile.max_linger) * 1000 + 1e-6)
        self.max_chars = profile.max_line_chars
        self.mark = profile.continuation

    # --- text -----------------------------------------------------------------------------------
    def _turn_start(self, k: int) -> bool:
        return k == 0 or self.s.speakers[k - 1] != self.s.speakers[k]

    def _label(self, k: int) -> str:
        speaker = self.s.speakers[k]
        return self.labels.get(speaker, "") if speaker is not None and self._turn_start(k) else ""

    def _continues_into(self, b: int) -> bool:
        """Whether the sentence of word b-1 goes on in word b (same speaker, no sentence end)."""
        return 0 < b < self.n and not self.s.sentence_end[b - 1] and not self._turn_start(b)

    def _plain_layout(self, a: int, b: int) -> _Layout:
        """Lines for a single-speaker cue: one line if it fits, else the best balanced two-line break."""
        lead = self._label(a) + (self.mark if self.mark and self._continues_into(a) else "")
        tail = self.mark if self.mark and self._continues_into(b) else ""
        total = len(lead) + self.s.chars(a, b) + len(tail)
        if total <= self.max_chars or self.p.max_lines == 1 or b - a == 1:
            return _Layout(((a, b, lead, tail),), 0.0)
        best: _Layout | None = None
        for k in range(a + 1, b):
            top = len(lead) + self.s.chars(a, k)
            bottom = self.s.chars(k, b) + len(tail)
            if top <= self.max_chars and bottom <= self.max_chars:
                longer_wrong = top - bottom if self.p.longer_line == "bottom" else bottom - top
                cost = self.s.break_cost[k] + 0.25 * abs(top - bottom) + 0.6 * max(0, longer_wrong)
                if self.s.last_sentence_end[k - 1] >= a and not self.s.sentence_end[k - 1]:
                    cost += _DANGLING_SENTENCE_COST  # a new sentence begins at the end of the top line
                if best is None or cost < best.cost:
                    best = _Layout(((a, k, lead, ""), (k, b, "", tail)), cost)
        if best is not None:
            return best
        return self._filled_layout(a, b, lead, tail)

    def _filled_layout(self, a: int, b: int, lead: str, tail: str) -> _Layout:
        """Lines filled word by word up to the line length (used when two lines cannot hold the text)."""
        lines: list[tuple[int, int, str, str]] = []
        first, width = a, len(lead) + len(self.s.texts[a])
        for k in range(a + 1, b):
            if width + 1 + len(self.s.texts[k]) > self.max_chars:
                lines.append((first, k, lead if first == a else "", ""))
                first, width = k, len(self.s.texts[k])
            else:
                width += 1 + len(self.s.texts[k])
        lines.append((first, b, lead if first == a else "", tail))
        return _Layout(tuple(lines), sum(self.s.break_cost[line[0]] for line in lines[1:]))

    def _dialogue_layout(self, a: int, m: int, b: int) -> _Layout:
        return _Layout(
            (
                (a, m, DIALOGUE_DASH + self._label(a), ""),
                (m, b, DIALOGUE_DASH + self._label(m), ""),
            ),
            0.0,
            dialogue=True,
        )

    def _line_width(self, line: tuple[int, int, str, str]) -> int:
        first, end, lead, tail = line
        return len(lead) + self.s.chars(first, end) + len(tail)

    # --- time -----------------------------------------------------------------------------------
    def estimated_end(self, a: int, b: int, chars: int, start: int) -> int:
        """End (ms) of the cue for words a..b-1 shown from `start`, as the cue search assumes it: long
        enough to read, `min_linger` to `max_linger` after its last word, clear of the next cue's first
        word."""
        last_end = self.s.ends[b - 1]
        limit = last_end + self.linger
        if b < self.n:
            next_start = self.s.starts[b]
            if self._turn_start(b):
                limit = min(limit, next_start)
            else:
                limit = min(limit, next_start - self.gap if next_start - self.gap > start else next_start)
        reading = start + reading_ms(chars, self.p.max_cps)
        target = max(last_end + self.hold, start + self.min_ms, reading)
        target = min(target, max(last_end, start + self.max_ms))
        return max(min(target, limit), start + 1)

    def penalty(self, a: int, b: int, layout: _Layout, start: int) -> float:
        """Cost of the profile breaches of a candidate cue (what would be flagged)."""
        widths = [self._line_width(line) for line in layout.lines]
        chars = sum(widths)
        duration = self.estimated_end(a, b, chars, start) - start
        cost = self._timing_breach_cost(chars, duration)
        cost += sum(_LINE_BREACH_COST + 100 * (w - self.max_chars) for w in widths if w > self.max_chars)
        cost += _LINE_BREACH_COST * max(0, len(widths) - self.p.max_lines)
        if b < self.n and self.s.starts[b] <= start:
            cost += _NO_ROOM_COST
        return cost

    def _timing_breach_cost(self, chars: int, duration: Any) -> Any:
        """Cost of a cue's timing breaches (too fast to read, too short, too long) for a duration in ms, at
        least 1, or for an array of them; each breach's term counts where its condition holds."""
        too_fast = too_fast_to_read(chars, duration, self.p.max_cps)
        too_short = duration < self.min_ms
        too_long = duration > self.max_ms
        return (
            too_fast * (_TIMING_BREACH_COST + 500 * (chars * 1000 / duration / self.p.max_cps - 1))
            + too_short * (_TIMING_BREACH_COST + _TIMING_BREACH_COST * (self.min_ms - duration) / max(self.min_ms, 1))
            + too_long * (_TIMING_BREACH_COST + 0.1 * (duration - self.max_ms))
        )

    # --- search ---------------------------------------------------------------------------------
    def _pause_cost(self, a: int, b: int) -> float:
        return sum(max(0, self.s.starts[k] - self.s.ends[k - 1] - _PAUSE_IN_CUE_MS) / 100 for k in range(a + 1, b))

    def _utterance_edge(self, k: int) -> bool:
        """Whether a sentence or a speaker's turn begins at word k (the edges of a dialogue line)."""
        return k >= self.n or self._turn_start(k) or self.s.sentence_end[k - 1]

    def _end_cost(self, a: int, b: int) -> float:
        """How bad ending a cue of words a..b-1 before word b is: a phrase split, or a sentence that
        begins inside the cue and runs on into the next one."""
        if b >= self.n:
            return 0.0
        cost = 2 * self.s.break_cost[b]
        if not self.s.sentence_end[b - 1] and self.s.last_sentence_end[b - 1] >= a and not self._turn_start(b):
            cost += 2 * _DANGLING_SENTENCE_COST
        return cost

    def _candidates(self, a: int) -> list[tuple[int, _Layout, float]]:
        """Cues that may start at word a: single-speaker runs, and two-speaker dialogue cues."""
        found: list[tuple[int, _Layout, float]] = []
        speaker = self.s.speakers[a]
        reach = self.max_chars * max(self.p.max_lines, 1)
        b = a + 1
        while True:
            layout = self._plain_layout(a, b)
            found.append((b, layout, _CUE_COST + layout.cost))
            if b >= self.n or self.s.speakers[b] != speaker:
                break
            if self.s.chars(a, b + 1) > reach or self.s.starts[b] - self.s.starts[a] > self.max_ms + self.linger:
                break
            b += 1
        m = b
        first_width = len(DIALOGUE_DASH + self._label(a)) + self.s.chars(a, m)
        changes = m < self.n and self.s.speakers[m] != speaker
        if changes and self._utterance_edge(a) and self.p.max_lines >= 2 and first_width <= self.max_chars:
            dash_label = len(DIALOGUE_DASH + self._label(m))
            e = m + 1
            while dash_label + self.s.chars(m, e) <= self.max_chars:
                if self._utterance_edge(e):
                    cost = _CUE_COST + _DIALOGUE_COST + self.s.break_cost[m]
                    found.append((e, self._dialogue_layout(a, m, e), cost))
                if e >= self.n or self.s.speakers[e] != self.s.speakers[m]:
                    break
                e += 1
        return found

    def _span_bound(self) -> int:
        """The most words one candidate cue can hold (each word is at least one character and a space)."""
        return self.max_chars * max(self.p.max_lines, 1) + self.max_chars + 8

    def _relax(self, a: int, best: list[float], choice: list[Any]) -> None:
        start = self.s.starts[a]
        for b, layout, cost in self._candidates(a):
            total = best[a] + cost + self.penalty(a, b, layout, start) + self._pause_cost(a, b) + self._end_cost(a, b)
            if total < best[b]:
                best[b] = total
                choice[b] = (a, layout)

    def build(self, previous: CueSearch | None = None) -> list[tuple[int, int, _Layout]]:
        """The cheapest cover of all words by consecutive cues (every word exactly once, in order).

        It is a shortest path over word positions. Given the search of a stream that differs only in a
        stretch (`previous`, same profile and labels), the positions before the stretch keep their
        values; the search runs from the stretch on until its values differ from the old ones by one
        constant over more positions than a cue can span: from there on every choice is the old one,
        so the result is the full search's. `self.search` keeps this search for the next time.
        """
        n = self.n
        identity = [zlib.crc32(f"{t}\x1f{a}\x1f{b}\x1f{s}".encode()) for t, a, b, s in zip(*self._identity_parts())]
        best = [math.inf] * (n + 1)
        choice: list[Any] = [None] * (n + 1)
        best[0] = 0.0
        first, span = 0, self._span_bound()
        old = previous if previous is not None and previous.key == self.key and all(self.s.texts) else None
        if old is not None and not len(old.best) == len(old.choice) == len(old.words) + 1:
            old = None  # not a search this code kept: search it all
        changed_end, offset = n, 0
        if old is not None:
            old_n, limit = len(old.words), min(n, len(old.words))
            same_head = 0
            while same_head < limit and identity[same_head] == old.words[same_head]:
                same_head += 1
            same_tail = 0
            while same_tail < limit - same_head and identity[n - 1 - same_tail] == old.words[old_n - 1 - same_tail]:
                same_tail += 1
            for x in range(same_head):  # a position's value depends on the words up to it
                best[x], choice[x] = old.best[x], tuple(old.choice[x])
            first, changed_end, offset = max(0, same_head - span), n - same_tail, old_n - n
        constant, run = 0.0, 0
        for a in range(first, n):
            if old is not None and a > changed_end:
                difference = best[a] - old.best[a + offset]
                if run and abs(difference - constant) <= 1e-9 * max(1.0, abs(best[a])):
                    run += 1
                else:
                    constant, run = difference, 1
                if run > span:  # converged: the old search's choices from here on
                    for x in range(a + 1, n + 1):
                        old_first, old_split = old.choice[x + offset]
                        best[x] = old.best[x + offset] + constant
                        choice[x] = (old_first - offset, old_split - offset if old_split >= 0 else -1)
                    break
            if best[a] != math.inf:
                self._relax(a, best, choice)
        stored = [(-1, -1)] + [
            (c[0], c[1].lines[1][0] if c[1].dialogue else -1) if isinstance(c[1], _Layout) else tuple(c)
            for c in choice[1:]
        ]
        self.search = CueSearch(self.key, tuple(identity), tuple(best), tuple(stored))
        cues: list[tuple[int, int, _Layout]] = []
        b = n
        while b > 0:
            picked = choice[b]
            assert picked is not None
            a, how = picked
            assert 0 <= a < b, "a cue search's choice points backwards"
            if not isinstance(how, _Layout):
                how = self._dialogue_layout(a, how, b) if how >= 0 else self._plain_layout(a, b)
            cues.append((a, b, how))
            b = a
        return cues[::-1]

    def _identity_parts(self) -> tuple[list[str], list[int], list[int], list[str | None]]:
        return self.s.texts, self.s.starts, self.s.ends, self.s.speakers

    # --- final cues -----------------------------------------------------------------------------
    def _end(self, b: int, chars: int, start: int, next_start: int | None) -> int:
        """When a cue of words ..b-1 shown from `start` ends: once read (and shown `min_duration`), from
        `min_linger` to `max_linger` after its last word, never into the next speaker's speech, `min_gap`
        before the next cue. A blank shorter than `chain_gap` before the next cue is closed: the cue stays
        until `min_gap` before it, when that keeps it within `max_duration` and out of the next speaker's
        speech."""
        end = min(int(self._read_end(b, chars, start)), self._end_limit(b))
        if next_start is None:
            return end
        end = min(end, next_start - self.gap)
        chained = next_start - self.gap
        next_speaker = b < self.n and self._turn_start(b)
        if end < chained < end + self.chain - self.gap and chained - start <= self.max_ms:
            if not (next_speaker and chained > self.s.starts[b]):
                return chained
        return end

    def _read_end(self, b: int, chars: int, start: Any) -> Any:
        """`_end` for cue starts `start` (ms; a number or an array) before the limits around the cue."""
        last_end = self.s.ends[b - 1]
        reading = start + reading_ms(chars, self.p.max_cps)
        target = np.maximum(np.maximum(last_end + self.hold, start + self.min_ms), reading)
        return np.minimum(target, np.maximum(last_end, start + self.max_ms))

    def _end_limit(self, b: int) -> int:
        """`_end`'s limit from the cue's own last word and the next speaker's first."""
        limit = self.s.ends[b - 1] + self.linger
        if b < self.n and self._turn_start(b):
            limit = min(limit, self.s.starts[b])
        return limit

    def _timing_breach_costs(self, chars: int, durations: np.ndarray) -> np.ndarray:
        """`_timing_breach_cost` of each duration (ms), and `_NO_ROOM_COST` where a cue has no time at all."""
        return np.where(durations > 0, self._timing_breach_cost(chars, np.maximum(durations, 1)), _NO_ROOM_COST)

    def schedule(self, spans: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
        """Start and end (ms) of consecutive cues (first word, end word, characters), fewest breaches first.

        A cue starts at its first word, or up to `max_linger` later when the cue before needs that
        time to be read (a fast cue followed by a slower one); it ends as `_end` says. The choice is a
        shortest path over (cue, delay), each step's costs computed for all delay pairs at once.
        """
        lags = np.arange(0, self.linger + 1, _LAG_STEP_MS, dtype=np.int64)
        starts = [self.s.starts[a] + lags for a, _, _ in spans]
        lag_costs = _LAG_COST_PER_MS * lags
        cost = lag_costs
        back: list[np.ndarray] = []
        for k in range(1, len(spans) + 1):
            _, b, chars = spans[k - 1]
            start = starts[k - 1][:, None]
            end = np.minimum(self._read_end(b, chars, start), self._end_limit(b))
            if k < len(spans):
                end = np.minimum(end, starts[k][None, :] - self.gap)
            totals = cost[:, None] + self._timing_breach_costs(chars, end - start)
            chosen_before = np.argmin(totals, axis=0)
            best = totals[chosen_before, np.arange(totals.shape[1])]
            cost = best + lag_costs if k < len(spans) else best
            back.append(chosen_before)
        chosen = [0] * len(spans)
        j = 0
        for k in range(len(spans), 0, -1):
            j = int(back[k - 1][j])
            chosen[k - 1] = j
        times: list[tuple[int, int]] = []
        for k, (_, b, chars) in enumerate(spans):
            cue_start = int(starts[k][chosen[k]])
            if times:  # only where timestamps leave no room at all (flagged): keep the cues apart
                cue_start = max(cue_start, times[-1][1] + self.gap)
            next_start = int(starts[k + 1][chosen[k + 1]]) if k + 1 < len(spans) else None
            times.append((cue_start, max(self._end(b, chars, cue_start, next_start), cue_start + 1)))
        return times

    def finish(self, chosen: Sequence[tuple[int, int, _Layout]]) -> list[Cue]:
        """Lay out and time the chosen cues, and flag every breach of the profile."""
        all_lines: list[tuple[CueLine, ...]] = []
        previous: set[str | None] = set()
        for _, _, layout in chosen:
            lines = tuple(
                CueLine(
                    text=self._dialogue_lead(layout, lead, first, previous) + " ".join(self.s.texts[first:end]) + tail,
                    speaker=self.s.speakers[first],
                    first_word=first,
                    end_word=end,
                )
                for first, end, lead, tail in layout.lines
            )
            all_lines.append(lines)
            previous = {line.speaker for line in lines}
        spans = [(a, b, sum(len(line.text) for line in lines)) for (a, b, _), lines in zip(chosen, all_lines)]
        times = self.schedule(spans)
        cues: list[Cue] = []
        for index, ((a, b, layout), lines, (start, end)) in enumerate(zip(chosen, all_lines, times)):
            next_start = times[index + 1][0] if index + 1 < len(times) else None
            cues.append(
                Cue(
                    start=start / 1000,
                    end=end / 1000,
                    lines=lines,
                    dialogue=layout.dialogue,
                    flags=self._flags(lines, start, end, b, next_start),
                )
            )
        return cues

    def _dialogue_lead(self, layout: _Layout, lead: str, first: int, previous: set[str | None]) -> str:
        """A dialogue line's lead: the dash alone when its speaker also spoke in the cue before (the Dutch
        way: the name at a change of speaker, the dash carries a quick exchange once both are known).
        Only ever shorter than the lead the cue search measured, so the cue still meets the profile."""
        return DIALOGUE_DASH if layout.dialogue and self.s.speakers[first] in previous else lead

    def _flags(self, lines: Sequence[CueLine], start: int, end: int, b: int, next_start: int | None) -> tuple[str, ...]:
        flags: list[str] = []
        for number, line in enumerate(lines, 1):
            if len(line.text) > self.max_chars:
                flags.append(f"line {number} has {len(line.text)} characters (max {self.max_chars})")
        if len(lines) > self.p.max_lines:
            flags.append(f"{len(lines)} lines (max {self.p.max_lines})")
        duration = end - start
        chars = sum(len(line.text) for line in lines)
        if too_fast_to_read(chars, duration, self.p.max_cps):
            flags.append(f"reading speed {chars * 1000 / duration:.1f} cps (max {self.p.max_cps:g})")
        if duration < self.min_ms:
            flags.append(f"duration {duration / 1000:.3f} s (min {self.p.min_duration:.3f} s)")
        if duration > self.max_ms:
            flags.append(f"duration {duration / 1000:.3f} s (max {self.p.max_duration:g} s)")
        if next_start is not None and next_start - end < self.gap:
            flags.append(f"gap {(next_start - end) / 1000:.3f} s to the next cue (min {self.p.min_gap:g} s)")
        if b < self.n and self._turn_start(b) and end > self.s.starts[b]:
            flags.append(f"runs {(end - self.s.starts[b]) / 1000:.3f} s into the next speaker's speech")
        return tuple(flags)


def build_cues(
    words: Sequence[Word],
    profile: SubtitleProfile,
    labels: Mapping[str, str] | None = None,
    previous: CueSearch | None = None,
) -> list[Cue]:
    """Cues for a word stream under a profile; `labels` (speaker id → e.g. "ANNE: ") mark speaker changes.

    Every word appears exactly once, in order. A cue holds one speaker, or two in a "- " dialogue cue.
    """
    return search_cues(words, profile, labels, previous)[0]


def search_cues(
    words: Sequence[Word],
    profile: SubtitleProfile,
    labels: Mapping[str, str] | None = None,
    previous: CueSearch | None = None,
) -> tuple[list[Cue], CueSearch | None]:
    """`build_cues`, and its search to pass as `previous` next time: a stream edited in a few places is
    then searched again only around the edits (the same cues as a full search, much sooner)."""
    if not words:
        return [], None
    builder = _CueBuilder(_prepare(words), profile, labels or {})
    return builder.finish(builder.build(previous)), builder.search


# --- speaker names -----------------------------------------------------------------------------------


def srt_labels(names: Mapping[str, str], style: str) -> dict[str, str]:
    """Name prefixes for an SRT captions file: `ANNE DE VRIES: ` (capitals) or `[Anne de Vries] ` (brackets)."""
    if style == "brackets":
        return {speaker: f"[{name}] " for speaker, name in names.items()}
    return {speaker: f"{name.upper()}: " for speaker, name in names.items()}


# --- files -------------------------------------------------------------------------------------------


WordLanguages = Sequence[tuple[str, str | None]]
"""Each word of the cues' stream: its text and the language it was spoken in where that is not the
session's (None)."""


def _vtt_line(line: CueLine, languages: WordLanguages) -> str:
    """A line's WebVTT cue text: each run of words in another language than the session's in a
    `<lang xx>` span, so players and screen readers know them as such."""
    spoken = languages[line.first_word : line.end_word]
    joined = " ".join(text for text, _ in spoken)
    at = line.text.find(joined) if spoken else -1
    if at < 0 or all(language is None for _, language in spoken):
        return vtt_cue_text(line.text)
    runs: list[tuple[str | None, list[str]]] = []
    for text, language in spoken:
        if runs and runs[-1][0] == language:
            runs[-1][1].append(text)
        else:
            runs.append((language, [text]))
    parts = [
        f"<lang {language}>{vtt_cue_text(' '.join(texts))}</lang>" if language else vtt_cue_text(" ".join(texts))
        for language, texts in runs
    ]
    lead, tail = line.text[:at], line.text[at + len(joined) :]
    return (vtt_cue_text(lead) if lead else "") + " ".join(parts) + (vtt_cue_text(tail) if tail else "")


def _vtt_lines(cue: Cue, names: Mapping[str, str] | None, languages: WordLanguages) -> list[str]:
    lines = [_vtt_line(line, languages) for line in cue.lines]
    if names is None:
        return lines
    if cue.dialogue:
        return [_voice_span([text], line.speaker, names) for text, line in zip(lines, cue.lines)]
    return _voice_span(lines, cue.lines[0].speaker, names).split("\n")


def _voice_span(lines: list[str], speaker: str | None, names: Mapping[str, str]) -> str:
    text = "\n".join(lines)
    if speaker is None or speaker not in names:
        return text
    return f"<v {vtt_voice_name(names[speaker])}>{text}</v>"


def render_webvtt(cues: Sequence[Cue], names: Mapping[str, str] | None = None, languages: WordLanguages = ()) -> str:
    """A WebVTT file of the cues; with `names` (speaker id → name) every cue carries a voice span, with
    `languages` (see `word_languages`) words in another language a language span."""
    captions = [
        webvtt.Caption(webvtt_timestamp(cue.start), webvtt_timestamp(cue.end), _vtt_lines(cue, names, languages))
        for cue in cues
    ]
    return webvtt.WebVTT(captions=captions).content.rstrip("\n") + "\n"


def render_srt(cues: Sequence[Cue]) -> str:
    """An SRT file of the cues (text as shown, names only where the cues carry labels)."""
    captions = [
        webvtt.Caption(webvtt_timestamp(cue.start), webvtt_timestamp(cue.end), srt_text(cue.text)) for cue in cues
    ]
    buffer = io.StringIO()
    webvtt.WebVTT(captions=captions).write(buffer, format="srt")
    return buffer.getvalue().rstrip("\n") + "\n"


def check_cue_file(name: str, content: str, expected_cues: int) -> None:
    """Parse a written WebVTT/SRT file back with its library; raise ValueError naming the file when it
    does not hold the expected number of cues in order, each with positive duration and no overlap."""
    try:
        if name.endswith(".vtt"):
            parsed = webvtt.from_string(content)
            spans = [(c.start_time.to_tuple(), c.end_time.to_tuple()) for c in parsed]
            times = [(_tuple_ms(s), _tuple_ms(e)) for s, e in spans]
        else:
            times = [(e.start, e.end) for e in pysubs2.SSAFile.from_string(content, format_="srt")]
    except Exception as exc:  # the parsers raise their own error types for malformed files
        raise ValueError(f"{name}: not a valid subtitle file: {exc}") from exc
    if len(times) != expected_cues:
        raise ValueError(f"{name}: holds {len(times)} cues, expected {expected_cues}")
    for (start, end), (next_start, _) in zip(times, times[1:] + [(math.inf, math.inf)]):
        if not start < end <= next_start:
            raise ValueError(f"{name}: cue at {start} ms is empty, out of order or overlaps the next")


def _tuple_ms(parts: tuple[int, int, int, int]) -> int:
    hours, minutes, seconds, millis = parts
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


CUE_SEARCHES = ("subtitles", "captions")
"""The searches kept in `cue-search.json`: the subtitles' (no labels) and the captions' (labelled)."""


def read_cue_searches(text: str | None) -> dict[str, CueSearch]:
    """The searches kept in a `cue-search.json` (none when it is missing or unreadable: a full search)."""
    try:
        data = json.loads(text or "{}")
        return {k: from_jsonable(CueSearch, data[k]) for k in CUE_SEARCHES if k in data}
    except ValueError:
        return {}


def word_languages(transcript: Transcript) -> list[tuple[str, str | None]]:
    """Each word's text as the cues show it, and its segment's language where that is not the session's."""
    return [
        (" ".join(w.text.split()), s.language if s.language != transcript.language else None)
        for s in transcript.segments
        for w in s.words
    ]


def caption_cues(
    transcript: Transcript,
    speaker_names: Mapping[str, str],
    settings: SubtitleSettings,
    previous: CueSearch | None = None,
    cue_times: CueTimes | None = None,
    duration: float = math.inf,
) -> tuple[list[TimedCue], list[str], dict[str, str], CueSearch | None]:
    """The captions' cues as published (naming the speaker at each change, with the editor's cue timing
    edits, see `cue_times.timed_cues`), the timing edits that cannot be placed, the public speaker names
    of their voice spans, and the search to keep."""
    names = public_speaker_names((), speaker_names, transcript.speaker_ids)
    labels = srt_labels(names, settings.srt_speaker_label)
    labelled, search = search_cues(transcript.words, settings.resolved_profile, labels, previous=previous)
    timed, unplaced = timed_cues(labelled, cue_times or {}, duration)
    return timed, unplaced, names, search


def subtitle_files(
    transcript: Transcript,
    speaker_names: Mapping[str, str],
    settings: SubtitleSettings,
    previous: str | None = None,
    cue_times: CueTimes | None = None,
    duration: float = math.inf,
) -> dict[str, str]:
    """The session's subtitle files (name → content) for publish: captions naming the speaker at each
    change (WebVTT with voice spans, and SRT), subtitles without names (WebVTT and SRT), the report, and
    the cue searches (`cue-search.json`, private): given the last one (`previous`, its content), a
    transcript an editor corrected is searched again only around the corrections. The editor's cue timing
    edits (`cue_times`, within the media's `duration`) are laid over both.

    Every cue file is parsed back with its library before it is returned.
    """
    words = transcript.words
    profile = settings.resolved_profile
    lang = transcript.language
    kept = read_cue_searches(previous)
    built, plain_search = search_cues(words, profile, previous=kept.get("subtitles"))
    cues = [t.cue for t in timed_cues(built, cue_times or {}, duration)[0]]
    timed, _, names, labelled_search = caption_cues(
        transcript, speaker_names, settings, kept.get("captions"), cue_times, duration
    )
    labelled = [t.cue for t in timed]
    languages = word_languages(transcript)
    files = {
        # Browsers do not display voice names, so captions also show the name at each speaker change.
        outputs.CAPTIONS_VTT.name(lang): render_webvtt(labelled, names, languages),
        outputs.SUBTITLES_VTT.name(lang): render_webvtt(cues, None, languages),
        outputs.SUBTITLES_SRT.name(lang): render_srt(cues),
        outputs.CAPTIONS_SRT.name(lang): render_srt(labelled),
    }
    for name, content in files.items():
        check_cue_file(name, content, len(labelled) if name.startswith("captions.") else len(cues))
    report = subtitle_report(cues, words, profile, settings.profile)
    report["captions_srt"] = {"cues": len(labelled), "flagged": sum(bool(c.flags) for c in labelled)}
    files[outputs.SUBTITLE_REPORT.name()] = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    searches = {k: to_jsonable(v) for k, v in zip(CUE_SEARCHES, (plain_search, labelled_search)) if v is not None}
    files[outputs.CUE_SEARCH.name()] = json.dumps(searches, separators=(",", ":")) + "\n"
    return files


def words_in_text(text: str, mark: str = "", labels: Sequence[str] = ()) -> list[str]:
    """The words of displayed cue text, without dialogue dashes, continuation marks and the given
    speaker labels (for checks)."""
    found: list[str] = []
    for line in html.unescape(text).splitlines():
        if line.startswith(DIALOGUE_DASH):
            line = line[len(DIALOGUE_DASH) :]
        for label in labels:
            if line.startswith(label):
                line = line[len(label) :]
                break
        if mark:
            line = line.removeprefix(mark).removesuffix(mark)
        found.extend(line.split())
    return found
