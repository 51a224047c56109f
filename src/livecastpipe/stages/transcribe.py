"""Transcribe: Dutch speech to word-timed text with faster-whisper (bundled Whisper base by default)."""

from __future__ import annotations

import ctypes
import logging
import math
import os
import platform
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.transcribe import restore_speech_timestamps
from faster_whisper.vad import VadOptions

from livecastpipe.models import Segment, Transcript, Word
from livecastpipe.package.outputs import DEFAULT_LANGUAGE
from livecastpipe.settings import TranscribeSettings
from livecastpipe.stages.bundled_model import MODEL_FILES as BUNDLED_MODEL_FILES
from livecastpipe.stages.bundled_model import MODEL_NAME as BUNDLED_MODEL_NAME
from livecastpipe.stages.bundled_model import ensure_bundled_model
from livecastpipe.stages.ingest import SAMPLE_RATE, audio_frames, decoder_name, load_audio
from livecastpipe.stages.vad import Region, speech_probabilities, speech_regions

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
"""Called with the number of seconds of audio transcribed so far."""

LANGUAGE_WARNING_PROBABILITY = 0.5
_models: dict[tuple[str, str, str, int, int], WhisperModel] = {}
_models_lock = threading.Lock()
_libc = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc" else None


def stream_count(settings: TranscribeSettings) -> int:
    """How many blocks are transcribed at the same time: `parallel_blocks`, or one per CPU core."""
    return settings.parallel_blocks or max(1, os.cpu_count() or 1)


def resolve_model(settings: TranscribeSettings) -> tuple[str, str]:
    """Where to load the model from, and the name to record: bundled, a local folder, or a hub name."""
    if settings.model == "bundled":
        return str(ensure_bundled_model()), BUNDLED_MODEL_NAME
    if Path(settings.model).is_dir():
        return str(Path(settings.model).resolve()), settings.model
    return settings.model, settings.model


def model_fingerprint(settings: TranscribeSettings) -> str:
    """What identifies the model's weights, for cache keys: the bundled files' SHA-256 (pinned in
    `bundled_model`), a local folder's file names, sizes and modification times, or a hub name."""
    if settings.model == "bundled":
        return ",".join(item.sha256 for item in BUNDLED_MODEL_FILES)
    folder = Path(settings.model)
    if folder.is_dir():
        return ",".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(folder.iterdir()))
    return settings.model


def load_model(settings: TranscribeSettings) -> WhisperModel:
    """The WhisperModel for these settings, loaded at most once per process."""
    location, _ = resolve_model(settings)
    # The cores are shared among the streams: on two cores, two streams of one thread each transcribe
    # 10.9 min in 32.7 s, where two streams that may each use both cores take 34.6 s (medians of 3).
    streams = stream_count(settings)
    threads = settings.cpu_threads or max(1, (os.cpu_count() or 1) // streams)
    key = (location, settings.device, settings.compute_type, threads, streams)
    with _models_lock:
        if key not in _models:
            _models[key] = WhisperModel(
                location,
                device=settings.device,
                compute_type=settings.compute_type,
                cpu_threads=threads,
                num_workers=streams,  # one model, `streams` calls to it may run at once
                local_files_only=not settings.allow_download,
            )
        return _models[key]


def glossary_hotwords(glossary: Sequence[str]) -> str | None:
    """The session glossary as a hotword string for the decoder, or None when empty."""
    terms = [t.strip() for t in glossary if t.strip()]
    return ", ".join(dict.fromkeys(terms)) or None


LANGUAGE_CHECK_SECONDS = 180
"""The language is judged on speech in the first three minutes only: its voice activity pass over a
whole hour would cost seconds, and 30 s of speech decides the language."""


def _language_warnings(model: WhisperModel, audio: np.ndarray, expected: str) -> list[str]:
    """A warning when the audio (its first three minutes) sounds like another language than `expected`."""
    try:
        detected, probability, _ = model.detect_language(audio[: LANGUAGE_CHECK_SECONDS * SAMPLE_RATE], vad_filter=True)
    except (ValueError, IndexError):  # no speech found by the VAD: nothing to judge
        return []
    if detected == expected or probability < LANGUAGE_WARNING_PROBABILITY:
        return []
    warning = f"the audio sounds like '{detected}' (p={probability:.2f}), not the configured language '{expected}'"
    log.warning(warning)
    return [warning]


def glossary_prompt(glossary: Sequence[str]) -> str | None:
    """The session's names and glossary as an initial prompt: a Dutch sentence naming them, or None."""
    terms = list(dict.fromkeys(t.strip() for t in glossary if t.strip()))
    if not terms:
        return None
    listed = terms[0] if len(terms) == 1 else f"{', '.join(terms[:-1])} en {terms[-1]}"
    return f"Een gesprek over {listed}."


def session_hints(settings: TranscribeSettings, glossary: Sequence[str]) -> tuple[str | None, str | None]:
    """(hotwords, initial prompt) from the session's names and glossary, as `settings.hints` says: one of
    them, or neither when names and terms are only corrected after recognition."""
    if settings.hints == "hotwords":
        return glossary_hotwords(glossary), None
    if settings.hints == "prompt":
        return None, glossary_prompt(glossary)
    return None, None


Task = Literal["transcribe", "translate"]
"""Whisper's tasks: transcribe the speech in its language, or translate it into English."""


def _decoding_options(settings: TranscribeSettings, glossary: Sequence[str], task: Task = "transcribe") -> dict:
    """faster-whisper's transcription options for these settings (no language: Whisper detects it): the
    configured hotwords and prompt, each followed by the session's hints of that kind. The translate task
    gets neither: they are text in the spoken language, and would pull the English back into it."""
    if task == "translate":
        return dict(language=settings.language or None, beam_size=settings.beam_size, word_timestamps=True, task=task)
    hotwords, prompt = session_hints(settings, glossary)
    return dict(
        language=settings.language or None,
        beam_size=settings.beam_size,
        word_timestamps=True,
        hotwords=" ".join(h for h in (settings.hotwords, hotwords) if h) or None,
        initial_prompt=" ".join(p for p in (settings.initial_prompt, prompt) if p) or None,
    )


def spoken_words(pieces: Iterable) -> tuple[Word, ...]:
    """faster-whisper's words of one segment as ours: a piece that does not start with a space continues
    the word before it (Whisper gives "zo'n" as " zo" and "'n"), so that words joined by spaces read as
    the segment's text does; the joined word is as sure as its least sure piece."""
    words: list[Word] = []
    for piece in pieces:
        text = piece.word.strip()
        if not text:
            continue
        start, end, probability = (
            round(float(piece.start), 3),
            round(float(piece.end), 3),
            round(float(piece.probability), 4),
        )
        if words and not piece.word[:1].isspace():
            last = words[-1]
            words[-1] = Word(last.start, max(last.end, end), last.text + text, min(last.probability, probability))
        else:
            words.append(Word(start, end, text, probability))
    return tuple(words)


def _segments(found: Iterable, on_progress: ProgressCallback | None) -> list[Segment]:
    """faster-whisper's segments as ours, reporting each one's end as progress."""
    segments: list[Segment] = []
    for seg in found:
        segments.append(
            Segment(
                start=round(float(seg.start), 3),
                end=round(float(seg.end), 3),
                text=seg.text.strip(),
                words=spoken_words(seg.words or ()),
            )
        )
        if on_progress is not None:
            on_progress(seg.end)
    return segments


def _transcript(
    settings: TranscribeSettings,
    segments: Sequence[Segment],
    duration: float,
    language: str,
    language_probability: float,
    warnings: Sequence[str],
) -> Transcript:
    """The Transcript, with the model, settings and versions that made it."""
    return Transcript(
        language=language,
        language_probability=round(float(language_probability), 4),
        duration=round(duration, 3),
        segments=tuple(segments),
        model=resolve_model(settings)[1],
        settings=settings.transcription_settings(),
        versions={
            "livecastpipe": version("livecastpipe"),
            "faster-whisper": version("faster-whisper"),
            "ctranslate2": version("ctranslate2"),
            "decoder": decoder_name(),
        },
        warnings=tuple(warnings),
    )


CHUNK_SAMPLES = 30 * SAMPLE_RATE
"""Whisper hears 30 s at a time: speech regions are grouped into chunks of at most this much speech."""
VAD_OPTIONS = VadOptions(max_speech_duration_s=CHUNK_SAMPLES / SAMPLE_RATE, min_silence_duration_ms=160)
"""faster-whisper's batched pipeline's own voice activity settings."""


def fixed_chunks(total: int) -> list[Region]:
    """Consecutive 30 s chunks covering `total` samples: the chunks when voice activity is not used."""
    return [(start, min(start + CHUNK_SAMPLES, total)) for start in range(0, total, CHUNK_SAMPLES)]


def speech_chunks(regions: Sequence[Region]) -> list[list[Region]]:
    """Speech regions grouped in order into chunks of at most 30 s of speech, as faster-whisper's batched
    pipeline groups them: each chunk is decoded as one 30 s window, its silences left out."""
    chunks: list[list[Region]] = []
    length = CHUNK_SAMPLES + 1
    for start, end in regions:
        if length + end - start > CHUNK_SAMPLES:
            chunks.append([])
            length = 0
        chunks[-1].append((start, end))
        length += end - start
    return chunks


def block_count(total_s: float, block_s: float, streams: int) -> int:
    """How many blocks a recording of `total_s` seconds is transcribed in: `streams` blocks are in memory
    at once, so each is about `block_s / streams` long, and their number is a multiple of `streams`, so
    that the streams finish together (`split_blocks` makes fewer when there are fewer chunks)."""
    return math.ceil(math.ceil(total_s / (block_s / streams)) / streams) * streams


def split_blocks(chunks: Sequence[list[Region]], count: int) -> list[list[list[Region]]]:
    """The chunks in `count` runs of consecutive chunks (fewer when there are fewer chunks), as equal in
    length as whole chunks allow."""
    count = max(1, min(count, len(chunks)))
    cuts = [round(index * len(chunks) / count) for index in range(count + 1)]
    return [list(chunks[a:b]) for a, b in zip(cuts, cuts[1:])]


def _return_freed_memory() -> None:
    """Give the heap memory freed by a finished block back to the system (glibc's `malloc_trim`).

    Decoding allocates and frees hundreds of megabytes per block in several threads; without this the
    freed pages stay with the process and its peak memory creeps up block after block (1.55 GB
    instead of 1.39 GB after 21 min of audio).
    """
    if _libc is not None:
        _libc.malloc_trim(0)


@dataclass(frozen=True)
class TranscriptionPlan:
    """How a recording is transcribed: its speech regions, grouped into 30 s chunks exactly as
    faster-whisper's batched pipeline groups them, and the chunks into blocks transcribed one per stream
    (or per Dask worker), each decoding `batch_size` chunks at a time."""

    total: int
    regions: tuple[Region, ...]
    blocks: tuple[tuple[tuple[Region, ...], ...], ...]
    batch_size: int

    def span(self, index: int) -> tuple[float, float]:
        """The seconds of the recording block `index` stands for: from its first speech (0 for the first
        block) to the next block's first speech (the end, for the last)."""
        starts = [0, *(block[0][0][0] for block in self.blocks[1:]), self.total]
        return starts[index] / SAMPLE_RATE, starts[index + 1] / SAMPLE_RATE

    def speech_before(self, index: int) -> int:
        """Samples of speech in the blocks before block `index`."""
        return sum(end - start for block in self.blocks[:index] for chunk in block for start, end in chunk)


@dataclass(frozen=True)
class BlockTranscript:
    """What one block gave: its segments (at their times in the recording), the language it was decoded
    in, and the language check's warnings (first block only)."""

    segments: tuple[Segment, ...]
    language: str
    language_probability: float
    warnings: tuple[str, ...] = ()


def plan_transcription(wav_path: Path, settings: TranscribeSettings) -> TranscriptionPlan:
    """Find the speech of a decoded WAV (one voice activity pass, read a piece at a time) and plan its
    blocks: `block_count` runs of whole chunks, so no 30 s window falls where bare faster-whisper's would
    not. Without VAD every 30 s of the recording is a chunk."""
    total = audio_frames(wav_path)
    if settings.vad:
        regions = speech_regions(speech_probabilities(wav_path), total, VAD_OPTIONS)
    else:
        regions = fixed_chunks(total)
    streams = stream_count(settings)
    blocks = split_blocks(speech_chunks(regions), block_count(total / SAMPLE_RATE, settings.block_s, streams))
    return TranscriptionPlan(
        total=total,
        regions=tuple(regions),
        blocks=tuple(tuple(tuple(chunk) for chunk in block) for block in blocks if block),
        batch_size=max(1, math.ceil(settings.batch_size / min(streams, max(1, len(blocks))))),
    )


def _speech_timeline(wav_path: Path, plan: TranscriptionPlan, index: int) -> tuple[np.ndarray, list[dict]]:
    """Block `index`'s speech, at its place in the recording's speech-only timeline, and its chunks' clips.

    The samples before the block stay zeros that are never written, so they take no memory (a large
    `np.zeros` is mapped lazily); placing the block where faster-whisper would have it makes every time it
    computes come out exactly as on the whole recording. Clip bounds are given in seconds half a sample
    past the boundary, so that faster-whisper's `int(seconds * 16000)` gives back the sample.
    """
    block = plan.blocks[index]
    first, last = block[0][0][0], block[-1][-1][1]
    span = load_audio(wav_path, first, last - first)
    position = plan.speech_before(index)
    timeline = np.zeros(position + sum(end - start for chunk in block for start, end in chunk), dtype=np.float32)
    clips = []
    for chunk in block:
        clip_start = position
        for start, end in chunk:
            timeline[position : position + end - start] = span[start - first : end - first]
            position += end - start
        clips.append({"start": (clip_start + 0.5) / SAMPLE_RATE, "end": (position + 0.5) / SAMPLE_RATE})
    return timeline, clips


def transcribe_block(
    wav_path: Path,
    plan: TranscriptionPlan,
    index: int,
    settings: TranscribeSettings,
    glossary: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    task: Task = "transcribe",
) -> BlockTranscript:
    """Transcribe (or translate, `task`) block `index` of the plan; `on_progress` gets the seconds of the
    block done so far.

    The first block also checks the language on the recording's first three minutes. With no language
    configured, each block is decoded in the language Whisper hears in its first chunk.
    """
    model = load_model(settings)
    warnings = []
    if index == 0 and settings.language and task == "transcribe":
        warnings = _language_warnings(
            model, load_audio(wav_path, 0, LANGUAGE_CHECK_SECONDS * SAMPLE_RATE), settings.language
        )
    start_s, end_s = plan.span(index)
    timeline, clips = _speech_timeline(wav_path, plan, index)
    found, info = BatchedInferencePipeline(model=model).transcribe(
        timeline, clip_timestamps=clips, batch_size=plan.batch_size, **_decoding_options(settings, glossary, task)
    )
    speech = [{"start": start, "end": end} for start, end in plan.regions]
    # a segment's last word may end past the block's span: progress stops at the span, never goes back
    progress = None if on_progress is None else (lambda seconds: on_progress(min(float(seconds), end_s) - start_s))
    segments = _segments(restore_speech_timestamps(found, speech, SAMPLE_RATE), progress)
    del timeline
    _return_freed_memory()
    if on_progress is not None:
        on_progress(end_s - start_s)
    return BlockTranscript(tuple(segments), info.language, round(float(info.language_probability), 4), tuple(warnings))


def assemble_transcript(
    plan: TranscriptionPlan, parts: Sequence[BlockTranscript], settings: TranscribeSettings
) -> Transcript:
    """The recording's transcript from its blocks' transcripts, in order, in the language its first block
    was decoded in: the language resolved once, which every later stage reads from the transcript (with no
    block, the configured one, else `DEFAULT_LANGUAGE`)."""
    first = parts[0] if parts else BlockTranscript((), settings.language or DEFAULT_LANGUAGE, 1.0)
    segments = [segment for part in parts for segment in part.segments]
    warnings = [warning for part in parts for warning in part.warnings]
    return _transcript(
        settings, segments, plan.total / SAMPLE_RATE, first.language, first.language_probability, warnings
    )


def call_when_a_stream_frees(futures: Sequence[Any], streams: int, callback: Callable[[], None]) -> None:
    """Call `callback` once, when so many of the blocks' futures are done that one of the `streams` has no
    block left to start: from then on a core is free for work that needs only the audio (diarization)."""
    if not futures:
        callback()
        return
    remaining = max(1, len(futures) - streams + 1)
    lock = threading.Lock()

    def block_done(_: Any) -> None:
        nonlocal remaining
        with lock:
            remaining -= 1
            now = remaining == 0
        if now:
            callback()

    for future in futures:
        future.add_done_callback(block_done)


BlockRunner = Callable[[TranscriptionPlan], Sequence[BlockTranscript]]
"""Transcribes every block of a plan (each with `transcribe_block`) and returns their transcripts in order:
threads of this process by default, Prefect tasks in the flow."""


def transcribe_file(
    wav_path: Path,
    settings: TranscribeSettings,
    glossary: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    on_stream_free: Callable[[], None] | None = None,
    run_blocks: BlockRunner | None = None,
    task: Task = "transcribe",
) -> Transcript:
    """Transcribe a decoded 16 kHz mono WAV block by block, word for word and time for time as bare
    faster-whisper's batched pipeline transcribes the whole file: the one way a recording is transcribed.

    By default `stream_count` blocks run at the same time in threads of this process (`on_progress` gets
    the seconds done, `on_stream_free` is called once, when a stream has no block left); `run_blocks`
    runs them elsewhere (the flow's cached Prefect tasks) and reports on its own. `task="translate"` gives
    Whisper's English translation instead, timed the same way.
    """
    plan = plan_transcription(wav_path, settings)
    parts: Sequence[BlockTranscript]
    if run_blocks is None:
        parts = _blocks_in_threads(wav_path, plan, settings, glossary, on_progress, on_stream_free, task)
    else:
        parts = run_blocks(plan)
    if on_progress is not None:
        on_progress(plan.total / SAMPLE_RATE)
    return assemble_transcript(plan, parts, settings)


def _blocks_in_threads(
    wav_path: Path,
    plan: TranscriptionPlan,
    settings: TranscribeSettings,
    glossary: Sequence[str],
    on_progress: ProgressCallback | None,
    on_stream_free: Callable[[], None] | None,
    task: Task = "transcribe",
) -> list[BlockTranscript]:
    """The plan's blocks, `stream_count` at the same time in threads of this process.

    faster-whisper holds several copies of the audio it is given; given blocks, memory stays that of the
    blocks in flight however long the recording. On CPU, two streams get more done than one: one stream's
    Python work (features, word alignment) leaves the cores idle part of the time. The streams share the
    batch (beam search over a batch holds the most memory), so together they hold what one stream would.
    """
    done = [0.0] * len(plan.blocks)
    progress_lock = threading.Lock()

    def block(index: int) -> BlockTranscript:
        def progress(seconds: float) -> None:
            if on_progress is not None:
                with progress_lock:
                    done[index] = max(done[index], seconds)
                    on_progress(sum(done))

        return transcribe_block(wav_path, plan, index, settings, glossary, progress, task)

    streams = stream_count(settings)
    with ThreadPoolExecutor(max_workers=streams, thread_name_prefix="transcribe-block") as pool:
        futures = [pool.submit(block, index) for index in range(len(plan.blocks))]
        if on_stream_free is not None:
            call_when_a_stream_frees(futures, streams, on_stream_free)
        return [future.result() for future in futures]


def transcript_text(transcript: Transcript) -> str:
    """Plain-text transcript: one line per segment, prefixed with its start time."""
    lines = []
    for seg in transcript.segments:
        minutes, seconds = divmod(int(seg.start), 60)
        hours, minutes = divmod(minutes, 60)
        lines.append(f"[{hours:d}:{minutes:02d}:{seconds:02d}] {seg.text}")
    return "\n".join(lines) + ("\n" if lines else "")
