"""The transcript in the formats other tools read: the Podcasting 2.0 JSON transcript (podcast apps),
WhisperX's segment JSON (word times, scores and speakers) and whisper's TSV (milliseconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from livecastpipe.models import Segment, Transcript, Word

PODCAST_TRANSCRIPT_VERSION = "1.0.0"
MAX_PHRASE_WORDS = 16
"""A phrase of the Podcasting 2.0 transcript is cut after this many words when no sentence ends sooner."""
SENTENCE_ENDS = (".", "?", "!", "…")


def speaker_runs(segment: Segment) -> Iterator[tuple[str | None, tuple[Word, ...]]]:
    """The segment's words in runs of one speaker (a segment can hold a speaker change)."""
    runs: list[list[Word]] = []
    for word in (w for w in segment.words if w.text.strip()):
        if runs and word.speaker == runs[-1][0].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    for run in runs:
        yield run[0].speaker or segment.speaker, tuple(run)


def phrases(words: tuple[Word, ...]) -> Iterator[tuple[Word, ...]]:
    """Words in phrases as podcast apps show them: cut after a sentence's end, or at MAX_PHRASE_WORDS."""
    phrase: list[Word] = []
    for word in words:
        phrase.append(word)
        if word.text.strip().endswith(SENTENCE_ENDS) or len(phrase) >= MAX_PHRASE_WORDS:
            yield tuple(phrase)
            phrase = []
    if phrase:
        yield tuple(phrase)


def _text(words: tuple[Word, ...]) -> str:
    return " ".join(w.text.strip() for w in words)


def podcast_transcript_json(transcript: Transcript, names: Mapping[str, str]) -> str:
    """Podcasting 2.0 JSON transcript: phrases (sentences, or at most MAX_PHRASE_WORDS words) of one
    speaker each, with the speaker's public name; a segment without word times is one phrase."""
    segments = []
    for segment in transcript.segments:
        runs = [(speaker, phrase) for speaker, words in speaker_runs(segment) for phrase in phrases(words)]
        if not runs and segment.text.strip():
            runs = [(segment.speaker, ())]
        for speaker, words in runs:
            entry: dict[str, object] = {}
            if speaker and speaker in names:
                entry["speaker"] = names[speaker]
            entry["startTime"] = round(words[0].start if words else segment.start, 3)
            entry["endTime"] = round(words[-1].end if words else segment.end, 3)
            entry["body"] = _text(words) if words else segment.text.strip()
            segments.append(entry)
    return (
        json.dumps({"version": PODCAST_TRANSCRIPT_VERSION, "segments": segments}, ensure_ascii=False, indent=1) + "\n"
    )


def whisperx_json(transcript: Transcript) -> str:
    """WhisperX's aligned and diarized output: segments with `text`, `speaker` and `words` of `word`,
    `start`, `end`, `score`, `speaker`, then every word again in `word_segments`; speaker ids as
    diarization names them (`SPEAKER_00`, what `livecast speakers --rename` takes)."""

    def word(w: Word) -> dict[str, object]:
        entry: dict[str, object] = {
            "word": w.text.strip(),
            "start": round(w.start, 3),
            "end": round(w.end, 3),
            "score": round(w.probability, 3),
        }
        if w.speaker:
            entry["speaker"] = w.speaker
        return entry

    segments = []
    for segment in transcript.segments:
        entry: dict[str, object] = {"start": round(segment.start, 3), "end": round(segment.end, 3)}
        entry["text"] = segment.text.strip()
        entry["words"] = [word(w) for w in segment.words if w.text.strip()]
        if segment.speaker:
            entry["speaker"] = segment.speaker
        segments.append(entry)
    words = [word(w) for w in transcript.words if w.text.strip()]
    data = {"segments": segments, "word_segments": words, "language": transcript.language}
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def whisper_tsv(transcript: Transcript) -> str:
    """whisper's TSV: a `start`, `end`, `text` header, then a segment per line, times in whole milliseconds."""
    lines = ["start\tend\ttext"]
    for segment in transcript.segments:
        text = " ".join(segment.text.split())
        if text:
            lines.append(f"{round(1000 * segment.start)}\t{round(1000 * segment.end)}\t{text}")
    return "\n".join(lines) + "\n"
