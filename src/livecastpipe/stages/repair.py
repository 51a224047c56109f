"""Repair what speech recognition gets wrong in ways a deaf viewer notices: loops, text without speech,
and speech without text.

Whisper sometimes falls into a loop (the same word or phrase over and over), writes text where nobody
speaks, or leaves speech without words. Each such stretch, and only such a stretch, is decoded again on its
own with settings that break loops; the better of the two results is kept by `better_words`. What was
repaired, and what stays uncaptioned, is listed in the transcript report.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from faster_whisper import WhisperModel

from livecastpipe.models import Segment, SessionMetadata, Transcript, Word, to_json
from livecastpipe.settings import TranscribeSettings
from livecastpipe.stages.ingest import SAMPLE_RATE, audio_frames, load_audio
from livecastpipe.stages.terms import Correction, correct_terms, decoding_terms, flag_words
from livecastpipe.stages.transcribe import load_model, session_hints, spoken_words
from livecastpipe.stages.turn_languages import OtherLanguageTurn, relabel_other_languages

Span = tuple[float, float]
"""A stretch of time, in seconds."""

LOOP_REPEATS = 4
"""A word or phrase said this many times in a row is a loop."""
LOOP_MAX_WORDS = 20
"""The longest phrase (in words) looked for as a looping unit: a whole sentence said over and over is a loop
too (Whisper repeats sentences as well as words, and a sentence loop is as sure of itself as the speech)."""
COMPRESSION_RATIO_LIMIT = 2.4
"""faster-whisper's own limit: text that zlib compresses more than this repeats itself."""
SPEECH_SHARE_MIN = 0.1
"""A segment whose time is less than this share speech (by the voice activity detector) is not speech."""
UNCAPTIONED_MIN_S = 1.0
"""Speech longer than this without a word is decoded again, and reported when it stays empty."""
WORD_GAP_S = 1.0
"""Pauses between words up to this long count as covered by the caption around them."""
CONTEXT_S = 0.3
"""Audio added on each side of a stretch decoded again, so its first and last words are heard whole."""

Problem = Literal["loop", "repetitive", "no-speech", "uncaptioned"]
Action = Literal["re-decoded", "kept", "dropped", "collapsed", "still-empty"]


@dataclass(frozen=True)
class Repair:
    """One stretch that was found wrong and what was done about it."""

    start: float
    end: float
    problem: Problem
    action: Action
    before: str
    after: str


Decoder = Callable[[Sequence[Span]], list[list[Segment]]]
"""Decodes stretches of the recording again, with loop-breaking settings: for each stretch, the segments
heard in it (times in the recording)."""


def _normalized(text: str) -> str:
    return re.sub(r"[^\w']+", "", text.casefold())


def loop_runs(texts: Sequence[str]) -> list[tuple[int, int, int]]:
    """Where words loop: (first word, the word after the run, words per unit) of each run of a unit of up
    to `LOOP_MAX_WORDS` words repeated `LOOP_REPEATS` or more times in a row; shortest units first, runs
    never overlapping."""
    words = [_normalized(t) for t in texts]
    runs: list[tuple[int, int, int]] = []
    taken = [False] * len(words)
    for size in range(1, LOOP_MAX_WORDS + 1):
        index = 0
        while index + size * LOOP_REPEATS <= len(words):
            unit = words[index : index + size]
            repeats = 1
            while words[index + repeats * size : index + (repeats + 1) * size] == unit:
                repeats += 1
            end = index + repeats * size
            if repeats >= LOOP_REPEATS and all(unit) and not any(taken[index:end]):
                runs.append((index, end, size))
                taken[index:end] = [True] * (end - index)
                index = end
            else:
                index += 1
    return sorted(runs)


def repeated_words(texts: Sequence[str]) -> int:
    """How many words are repeats inside loops (all but the first unit of each run): 0 for clean text."""
    return sum(end - start - size for start, end, size in loop_runs(texts))


def compression_ratio(text: str) -> float:
    """How much zlib compresses the text, as faster-whisper computes it: high for text that repeats itself."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def speech_share(span: Span, speech: Sequence[Span]) -> float:
    """The share of `span` the voice activity detector heard as speech."""
    start, end = span
    if end <= start:
        return 0.0
    heard = sum(max(0.0, min(end, b) - max(start, a)) for a, b in speech)
    return heard / (end - start)


def segment_problem(segment: Segment, speech: Sequence[Span] | None) -> Problem | None:
    """What is wrong with a segment, if anything: a loop, text that repeats itself, or text without speech."""
    if repeated_words([w.text for w in segment.words] or segment.text.split()):
        return "loop"
    if compression_ratio(segment.text) > COMPRESSION_RATIO_LIMIT:
        return "repetitive"
    if speech is not None and speech_share((segment.start, segment.end), speech) < SPEECH_SHARE_MIN:
        return "no-speech"
    return None


def covered_spans(words: Sequence[Word]) -> list[Span]:
    """The time the words cover, pauses of up to `WORD_GAP_S` between them included."""
    spans: list[Span] = []
    for word in sorted(words, key=lambda w: w.start):
        if spans and word.start - spans[-1][1] <= WORD_GAP_S:
            spans[-1] = (spans[-1][0], max(spans[-1][1], word.end))
        else:
            spans.append((word.start, word.end))
    return spans


def uncaptioned_spans(speech: Sequence[Span], words: Sequence[Word], min_s: float = UNCAPTIONED_MIN_S) -> list[Span]:
    """Stretches of speech longer than `min_s` that no word covers."""
    covered = covered_spans(words)
    found: list[Span] = []
    for start, end in speech:
        cursor = start
        for a, b in covered:
            if b <= cursor or a >= end:
                continue
            if a - cursor > min_s:
                found.append((round(cursor, 3), round(a, 3)))
            cursor = max(cursor, b)
        if end - cursor > min_s:
            found.append((round(cursor, 3), round(end, 3)))
    return found


def mean_probability(words: Sequence[Word]) -> float:
    return sum(w.probability for w in words) / len(words) if words else 0.0


def better_words(original: Sequence[Word], candidate: Sequence[Word]) -> bool:
    """The rule that decides between a stretch's first decoding and its new one: fewer words repeated in
    loops wins; on a tie, the higher mean word probability (an empty result never wins a tie)."""
    before, after = repeated_words([w.text for w in original]), repeated_words([w.text for w in candidate])
    if after != before:
        return after < before
    return bool(candidate) and mean_probability(candidate) > mean_probability(original)


def collapse_loops(segment: Segment) -> Segment:
    """The segment with each loop said once: the last resort when no decoding is free of it. Repeated
    until no loop is left, since joining what stood around a loop can make a new one."""
    words = segment.words
    while runs := loop_runs([w.text for w in words]):
        drop = {i for start, end, size in runs for i in range(start + size, end)}
        words = tuple(w for i, w in enumerate(words) if i not in drop)
    return replace(segment, words=words, text=" ".join(w.text for w in words))


def _text(segments: Sequence[Segment]) -> str:
    return " ".join(s.text for s in segments if s.text)


def _words(segments: Sequence[Segment]) -> list[Word]:
    return [w for s in segments for w in s.words]


def _within(segments: Sequence[Segment], span: Span) -> list[Segment]:
    """The segments' words whose middle lies inside `span`, as segments (the context decoded around a
    stretch belongs to its neighbours)."""
    kept = []
    for segment in segments:
        words = tuple(w for w in segment.words if span[0] <= (w.start + w.end) / 2 < span[1])
        if words:
            text = " ".join(w.text for w in words)
            kept.append(Segment(words[0].start, words[-1].end, text, words, segment.speaker))
    return kept


def repair_segments(
    segments: Sequence[Segment], speech: Sequence[Span] | None, decode: Decoder
) -> tuple[list[Segment], list[Repair], list[Span]]:
    """Repair a transcript's segments: each looping or repetitive segment is decoded again and the better
    result kept (`better_words`), loops that survive are said once, and text without speech is dropped.
    Then each stretch of speech without words is decoded again. Returns the segments, the repairs, and the
    speech that stays uncaptioned."""
    problems = [segment_problem(segment, speech) for segment in segments]
    suspect = [(s.start, s.end) for s, problem in zip(segments, problems) if problem in ("loop", "repetitive")]
    decoded = iter(decode(suspect) if suspect else [])
    repaired: list[Segment] = []
    repairs: list[Repair] = []
    for segment, problem in zip(segments, problems):
        span = (segment.start, segment.end)
        if problem is None:
            repaired.append(segment)
            continue
        if problem == "no-speech":
            repairs.append(Repair(*span, problem, "dropped", segment.text, ""))
            continue
        candidate = _within(next(decoded), span)
        new: list[Segment] = candidate if better_words(segment.words, _words(candidate)) else [segment]
        action: Action = "re-decoded" if new is candidate else "kept"
        if any(repeated_words([w.text for w in s.words]) for s in new):
            new, action = [collapse_loops(s) for s in new], "collapsed"
        repairs.append(Repair(*span, problem, action, segment.text, _text(new)))
        repaired.extend(s for s in new if s.words)
    still_empty: list[Span] = []
    empty = uncaptioned_spans(speech, _words(repaired)) if speech is not None else []
    for span, heard in zip(empty, decode(empty) if empty else []):
        found = [
            s if not repeated_words([w.text for w in s.words]) else collapse_loops(s)
            for s in _within(heard, span)
            if segment_problem(s, speech) in (None, "loop")
        ]
        if found:
            repairs.append(Repair(*span, "uncaptioned", "re-decoded", "", _text(found)))
            repaired.extend(found)
        else:
            repairs.append(Repair(*span, "uncaptioned", "still-empty", "", ""))
            still_empty.append(span)
    return sorted(repaired, key=lambda s: s.start), repairs, still_empty


CLIP_S = 30.0
"""Whisper hears 30 s at a time: the stretches decoded again are joined into clips of at most this long."""
JOIN_SILENCE_S = 0.3
"""Silence put between joined stretches, so each is heard as a sentence of its own."""


def _clips(pieces: Sequence[Span]) -> list[list[int]]:
    """The pieces (by index, in order) grouped into clips of at most `CLIP_S`, silences included."""
    clips: list[list[int]] = []
    length = CLIP_S + 1
    for index, (start, end) in enumerate(pieces):
        size = end - start + JOIN_SILENCE_S
        if length + size > CLIP_S:
            clips.append([])
            length = 0.0
        clips[-1].append(index)
        length += size
    return clips


def loop_breaking_decoder(
    model: WhisperModel,
    samples: Callable[[int, int], np.ndarray],
    total: int,
    language: str | None,
    beam_size: int,
    hints: tuple[str | None, str | None],
) -> Decoder:
    """A `Decoder` over a recording (`samples(start, count)` reads it). Each stretch, with `CONTEXT_S` around
    it, is joined with the next ones into clips of up to 30 s (a stretch costs its share of one Whisper
    window, not a window of its own), and each clip is decoded sequentially: falling back to higher
    temperatures when the text repeats itself, not conditioned on text before it, with a repetition
    penalty, with the session's `hints` (hotwords, initial prompt). Each word goes back to the stretch it was
    heard in, at its time in the recording."""
    gap = np.zeros(int(JOIN_SILENCE_S * SAMPLE_RATE), dtype=np.float32)

    def decode_clip(pieces: Sequence[tuple[int, int]]) -> list[list[Segment]]:
        audio, offsets = [], []
        position = 0
        for first, last in pieces:
            offsets.append(position)
            audio += [samples(first, last - first), gap]
            position += last - first + gap.size
        found, _ = model.transcribe(
            np.concatenate(audio),
            language=language,
            beam_size=beam_size,
            temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
            compression_ratio_threshold=COMPRESSION_RATIO_LIMIT,
            condition_on_previous_text=False,
            repetition_penalty=1.1,
            word_timestamps=True,
            vad_filter=False,
            hotwords=hints[0],
            initial_prompt=hints[1],
        )
        heard: list[list[Segment]] = [[] for _ in pieces]
        for seg in found:
            by_piece: dict[int, list[Word]] = {}
            for word in spoken_words(seg.words or ()):
                middle = (word.start + word.end) / 2 * SAMPLE_RATE
                index = max(0, int(np.searchsorted(offsets, middle, side="right")) - 1)
                shift = (pieces[index][0] - offsets[index]) / SAMPLE_RATE
                by_piece.setdefault(index, []).append(
                    replace(word, start=round(word.start + shift, 3), end=round(word.end + shift, 3))
                )
            for index, words in by_piece.items():
                text = " ".join(w.text for w in words)
                heard[index].append(Segment(words[0].start, words[-1].end, text, tuple(words)))
        return heard

    def decode(spans: Sequence[Span]) -> list[list[Segment]]:
        pieces = [
            (max(0, int((a - CONTEXT_S) * SAMPLE_RATE)), min(total, int((b + CONTEXT_S) * SAMPLE_RATE)))
            for a, b in spans
        ]
        heard: list[list[Segment]] = []
        for clip in _clips([(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in pieces]):
            heard.extend(decode_clip([pieces[i] for i in clip]))
        return heard

    return decode


@dataclass(frozen=True)
class TranscriptReport:
    """What the repair stage found and did: for the editors (`transcript-report.json`) and the run's artifact."""

    repairs: tuple[Repair, ...]
    uncaptioned: tuple[Span, ...]
    """Speech longer than `UNCAPTIONED_MIN_S` that stays without words after decoding it again."""
    corrections: tuple[Correction, ...]
    flagged: dict[str, int] = field(default_factory=dict)
    """How many words carry each flag."""
    other_languages: tuple[OtherLanguageTurn, ...] = ()
    """Stretches spoken in another language than the session's, decoded again in theirs."""
    speech_s: float = 0.0
    redecoded_s: float = 0.0
    """Seconds of audio decoded again."""
    seconds: float = 0.0
    """Wall time of the stage."""


def _seconds_reader(wav_path: Path, total: int) -> Callable[[float, float], np.ndarray]:
    """Reads the recording's audio from one second to another (clamped to the recording)."""

    def samples(start: float, end: float) -> np.ndarray:
        first = max(0, int(start * SAMPLE_RATE))
        last = min(total, int(end * SAMPLE_RATE))
        return load_audio(wav_path, first, max(0, last - first))

    return samples


def check_transcript(
    transcript: Transcript,
    wav_path: Path,
    speech: Sequence[Span] | None,
    settings: TranscribeSettings,
    metadata: SessionMetadata,
) -> tuple[Transcript, TranscriptReport]:
    """Repair loops, text without speech and speech without text (`repair_segments`, decoding again in the
    transcript's language), spell the session's names and terms right (`terms.correct_terms`) and flag the
    words to check (`terms.flag_words`), both by the dictionary of that language."""
    began = time.perf_counter()
    redecoded = 0.0
    total = audio_frames(wav_path)
    model = load_model(settings)
    decoder = loop_breaking_decoder(
        model,
        lambda start, count: load_audio(wav_path, start, count),
        total,
        transcript.language,
        settings.beam_size,
        session_hints(settings, decoding_terms(metadata)),
    )

    def decode(spans: Sequence[Span]) -> list[list[Segment]]:
        nonlocal redecoded
        redecoded += sum(b - a for a, b in spans)
        return decoder(spans)

    segments, repairs, uncaptioned = repair_segments(transcript.segments, speech, decode)
    relabelled, other_languages = relabel_other_languages(
        replace(transcript, segments=tuple(segments)), model, _seconds_reader(wav_path, total), settings.beam_size
    )
    corrected, corrections = correct_terms(relabelled, metadata)
    flagged = flag_words(corrected, metadata)
    counts: dict[str, int] = {}
    for word in flagged.words:
        for flag in word.flags:
            counts[flag] = counts.get(flag, 0) + 1
    report = TranscriptReport(
        repairs=tuple(repairs),
        uncaptioned=tuple(uncaptioned),
        corrections=tuple(corrections),
        flagged=dict(sorted(counts.items())),
        other_languages=tuple(other_languages),
        speech_s=round(sum(b - a for a, b in speech or ()), 3),
        redecoded_s=round(redecoded, 3),
        seconds=round(time.perf_counter() - began, 3),
    )
    return flagged, report


def report_json(report: TranscriptReport) -> str:
    """The report as `transcript-report.json`."""
    return to_json(report)


def report_markdown(report: TranscriptReport) -> str:
    """The report as the run's Prefect artifact: what was repaired, corrected and is still uncaptioned."""
    lines = [
        "# Transcript repairs",
        "",
        f"{len(report.repairs)} stretches repaired, {len(report.corrections)} names and terms corrected, "
        f"{len(report.uncaptioned)} stretches of speech still without captions "
        f"({report.redecoded_s:.1f} s decoded again in {report.seconds:.1f} s).",
    ]
    if report.repairs:
        lines += ["", "| time | problem | action | before | after |", "|---|---|---|---|---|"]
        lines += [
            f"| {r.start:.1f}–{r.end:.1f} s | {r.problem} | {r.action} | {_cell(r.before)} | {_cell(r.after)} |"
            for r in report.repairs
        ]
    if report.corrections:
        lines += ["", "| time | heard | written |", "|---|---|---|"]
        lines += [f"| {c.start:.1f} s | {_cell(c.original)} | {_cell(c.corrected)} |" for c in report.corrections]
    if report.uncaptioned:
        lines += ["", "Still without captions: " + ", ".join(f"{a:.1f}–{b:.1f} s" for a, b in report.uncaptioned)]
    if report.other_languages:
        lines += ["", "| time | language | p | before | after |", "|---|---|---|---|---|"]
        lines += [
            f"| {t.start:.1f}–{t.end:.1f} s | {t.language} | {t.probability:.2f} | {_cell(t.before)} | {_cell(t.after)} |"
            for t in report.other_languages
        ]
    if report.flagged:
        lines += ["", "Words to check: " + ", ".join(f"{n} {flag}" for flag, n in report.flagged.items())]
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 120) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|") or "–"
