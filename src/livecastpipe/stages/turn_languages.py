"""Turns in another language than the session's (an English guest in a Dutch session): found, decoded
again in their own language word for word, and labelled with it (`Segment.language`).

The session is decoded in its one language; forced into Dutch, Whisper writes English speech as English
words with a few Dutch ones ("En zo mijn fellow americans. Ask not what your country…"). A segment whose
words are at least half (two or more) known only to another language's dictionary is a candidate; Whisper's language detection
on its audio decides (`DETECTION_PROBABILITY`), and the neighbouring segments whose audio it also hears in
that language join the stretch. The stretch is then decoded again in its language. A session in one
language costs only a dictionary look-up per word, and its segments stay exactly as decoded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from faster_whisper import WhisperModel

from livecastpipe.models import Segment, Transcript
from livecastpipe.stages.languages import KNOWN_LANGUAGES, dictionary
from livecastpipe.stages.transcribe import spoken_words

FOREIGN_SHARE = 0.5
"""A segment is a candidate when at least this share of its words is known to the other language's
dictionary and not to the session's (Dutch talk borrows English words, rarely half of them)."""
MIN_FOREIGN_WORDS = 2
DETECTION_PROBABILITY = 0.5
"""Whisper's probability of the other language on a segment's audio from which it is taken to be spoken
in it (bench/results/languages.md: JFK's turn 0.95, Dutch segments of two real conversations at most 0.03)."""
EDGE_S = 0.2
"""Audio kept around a stretch when it is decoded again, so its first and last words are whole."""

Samples = Callable[[float, float], np.ndarray]
"""Reads the recording's audio from one second to another (16 kHz mono float32)."""


def _letters(text: str) -> str:
    """The word as the dictionaries list it: lower case, letters and digits only."""
    return re.sub(r"[^\w]+", "", text.casefold())


@dataclass(frozen=True)
class OtherLanguageTurn:
    """A stretch found in another language, for the transcript report: when, which, how sure, what changed."""

    start: float
    end: float
    language: str
    probability: float
    before: str
    after: str


def foreign_words(segment: Segment, session: str, other: str) -> int:
    """How many of the segment's words only the dictionary of `other` knows (not the session's)."""
    theirs, ours = dictionary(other), dictionary(session)
    if theirs is None:
        return 0
    words = [_letters(w.text) for w in segment.words]
    return sum(1 for w in words if w and not w.isdigit() and w in theirs and (ours is None or w not in ours))


def looks_foreign(segment: Segment, session: str, other: str) -> bool:
    """Whether the segment's words read as `other` rather than the session's language (see `FOREIGN_SHARE`)."""
    count = foreign_words(segment, session, other)
    return count >= MIN_FOREIGN_WORDS and count >= FOREIGN_SHARE * len(segment.words)


def language_probability(model: WhisperModel, audio: np.ndarray, language: str) -> float:
    """Whisper's probability that `audio` (at most its first 30 s) is spoken in `language`."""
    if audio.size == 0:
        return 0.0
    _, _, probabilities = model.detect_language(audio)
    return round(float(dict(probabilities).get(language, 0.0)), 4)


def _stretches(
    segments: Sequence[Segment], candidates: Sequence[int], heard: Callable[[int], float]
) -> list[tuple[int, int, float]]:
    """(first, last, probability) of each run of segments heard in the other language: a candidate whose
    audio is, widened over the neighbours whose audio is too."""
    found: list[tuple[int, int, float]] = []
    for index in candidates:
        if found and index <= found[-1][1]:
            continue
        probability = heard(index)
        if probability < DETECTION_PROBABILITY:
            continue
        first = index
        while first > 0 and (not found or first - 1 > found[-1][1]) and heard(first - 1) >= DETECTION_PROBABILITY:
            first -= 1
        last = index
        while last + 1 < len(segments) and heard(last + 1) >= DETECTION_PROBABILITY:
            last += 1
        found.append((first, last, probability))
    return found


def decode_in(
    model: WhisperModel, samples: Samples, start: float, end: float, language: str, beam_size: int
) -> list[Segment]:
    """The speech from `start` to `end` decoded again in `language`, its segments labelled with it."""
    begin = max(0.0, start - EDGE_S)
    found, _ = model.transcribe(
        samples(begin, end + EDGE_S),
        language=language,
        beam_size=beam_size,
        word_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=False,
    )
    segments = []
    for seg in found:
        words = tuple(
            replace(w, start=round(w.start + begin, 3), end=round(w.end + begin, 3))
            for w in spoken_words(seg.words or ())
        )
        if words:
            segments.append(Segment(words[0].start, words[-1].end, seg.text.strip(), words, language=language))
    return segments


def relabel_other_languages(
    transcript: Transcript, model: WhisperModel, samples: Samples, beam_size: int
) -> tuple[Transcript, list[OtherLanguageTurn]]:
    """The transcript with each stretch spoken in another known language (one with a dictionary) decoded
    again in it and labelled; the model hears only segments whose words read as another language."""
    segments = list(transcript.segments)
    turns: list[OtherLanguageTurn] = []
    for other in (code for code in KNOWN_LANGUAGES if code != transcript.language):
        candidates = [
            i for i, s in enumerate(segments) if s.language is None and looks_foreign(s, transcript.language, other)
        ]
        if not candidates:
            continue
        cache: dict[int, float] = {}

        def heard(index: int) -> float:
            if index not in cache:
                segment = segments[index]
                cache[index] = language_probability(model, samples(segment.start, segment.end), other)
            return cache[index]

        for first, last, probability in reversed(_stretches(segments, candidates, heard)):
            start, end = segments[first].start, segments[last].end
            before = " ".join(s.text for s in segments[first : last + 1])
            decoded = decode_in(model, samples, start, end, other, beam_size)
            redone = decoded or [replace(s, language=other) for s in segments[first : last + 1]]
            segments[first : last + 1] = redone
            after = " ".join(s.text for s in redone)
            turns.append(OtherLanguageTurn(start, end, other, probability, before, after))
    return replace(transcript, segments=tuple(segments)), sorted(turns, key=lambda t: t.start)
