"""Transcribe: Dutch speech to word-timed text with faster-whisper (bundled Whisper base by default)."""

from __future__ import annotations

import ctypes
import logging
import math
import os
import platform
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from .bundled_model import MODEL_NAME as BUNDLED_MODEL_NAME
from .bundled_model import ensure_bundled_model
from .ingest import SAMPLE_RATE, audio_frames, load_audio
from .models import Segment, Transcript, Word
from .settings import TranscribeSettings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
"""Called with the number of seconds of audio transcribed so far."""

LANGUAGE_WARNING_PROBABILITY = 0.5
_models: dict[tuple[str, str, str, int, int], WhisperModel] = {}
_models_lock = threading.Lock()
_libc = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc" else None
MIN_PARALLEL_BLOCK_S = 120
"""Recordings are split for parallel streams only into blocks at least this long: shorter recordings are
transcribed whole, exactly as bare faster-whisper would."""


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


def load_model(settings: TranscribeSettings) -> WhisperModel:
    """The WhisperModel for these settings, loaded at most once per process."""
    location, _ = resolve_model(settings)
    # Every stream may use every core: CTranslate2 would otherwise split the cores among the streams,
    # and a recording too short to split would run on one.
    streams, threads = stream_count(settings), settings.cpu_threads or max(1, os.cpu_count() or 1)
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
"""The language check listens to speech in the first three minutes only: its voice activity pass over a
whole hour would cost seconds, and 30 s of speech decides the language."""


def _language_warning(model: WhisperModel, audio: np.ndarray, expected: str) -> str | None:
    detected, probability, _ = model.detect_language(audio[: LANGUAGE_CHECK_SECONDS * SAMPLE_RATE], vad_filter=True)
    if detected != expected and probability >= LANGUAGE_WARNING_PROBABILITY:
        return (
            f"the audio sounds like '{detected}' (p={probability:.2f}), "
            f"not the configured language '{expected}'"
        )
    return None


def transcribe_audio(
    audio: np.ndarray,
    settings: TranscribeSettings,
    glossary: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    check_language: bool = True,
    batch_size: int | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono float32 audio into a Transcript with word timestamps, decoding
    `batch_size` (default: the settings') speech chunks at a time."""
    model = load_model(settings)
    _, model_name = resolve_model(settings)
    warnings: list[str] = []
    if check_language and settings.language and audio.size >= SAMPLE_RATE:
        try:
            if warning := _language_warning(model, audio, settings.language):
                log.warning(warning)
                warnings.append(warning)
        except (ValueError, IndexError):  # no speech found by the VAD: nothing to judge
            pass
    hotwords = glossary_hotwords(glossary) if settings.use_glossary else None
    options = dict(
        language=settings.language or None,
        beam_size=settings.beam_size,
        word_timestamps=True,
        vad_filter=settings.vad,
        hotwords=hotwords,
    )
    batch_size = batch_size or settings.batch_size
    if settings.batch_size > 1:
        pipeline = BatchedInferencePipeline(model=model)
        segments_iter, info = pipeline.transcribe(audio, batch_size=batch_size, **options)
    else:
        segments_iter, info = model.transcribe(audio, **options)
    segments: list[Segment] = []
    for seg in segments_iter:
        words = tuple(
            Word(
                start=round(float(w.start), 3),
                end=round(float(w.end), 3),
                text=w.word.strip(),
                probability=round(float(w.probability), 4),
            )
            for w in (seg.words or ())
            if w.word.strip()
        )
        segments.append(
            Segment(start=round(float(seg.start), 3), end=round(float(seg.end), 3), text=seg.text.strip(), words=words)
        )
        if on_progress is not None:
            on_progress(seg.end)
    duration = audio.size / SAMPLE_RATE
    if on_progress is not None:
        on_progress(duration)
    return Transcript(
        language=info.language,
        language_probability=round(info.language_probability, 4),
        duration=round(duration, 3),
        segments=tuple(segments),
        model=model_name,
        settings=settings.model_dump(),
        versions={
            "livecastpipe": version("livecastpipe"),
            "faster-whisper": version("faster-whisper"),
            "ctranslate2": version("ctranslate2"),
        },
        warnings=tuple(warnings),
    )


def _quietest_point(samples: np.ndarray, window_s: float = 0.5, hop_s: float = 0.01) -> int:
    """The sample at the middle of the quietest `window_s` of `samples`."""
    hop = int(hop_s * SAMPLE_RATE)
    frames = samples[: samples.size // hop * hop].reshape(-1, hop)
    energy = np.square(frames, dtype=np.float64).sum(axis=1)
    width = max(1, min(int(window_s / hop_s), len(energy)))
    return (int(np.argmin(np.convolve(energy, np.ones(width), mode="valid"))) + width // 2) * hop


def block_count(total_s: float, block_s: float, streams: int) -> int:
    """How many blocks a recording of `total_s` seconds is transcribed in.

    One stream: blocks of `block_s`. Several: `streams` blocks are in memory at once, so each is about
    `block_s / streams` long (two minutes at least); a recording gets one block per stream when each
    would still be two minutes long, and a multiple of `streams` blocks, so that the streams finish
    together.
    """
    if streams == 1:
        return max(1, math.ceil(total_s / block_s))
    count = math.ceil(total_s / max(block_s / streams, MIN_PARALLEL_BLOCK_S))
    count = max(1, count, min(streams, int(total_s // MIN_PARALLEL_BLOCK_S)))
    return math.ceil(count / streams) * streams if count > streams else count


def block_bounds(wav_path: Path, block_s: float, streams: int = 1) -> list[tuple[int, int]]:
    """Sample ranges covering the WAV in `block_count` blocks of equal length, each cut in the quietest
    half second within a quarter block (at most 30 s) of the nominal boundary, so that no word is cut."""
    total = audio_frames(wav_path)
    count = block_count(total / SAMPLE_RATE, block_s, streams)
    length = total / count
    search = int(min(30.0, length / SAMPLE_RATE / 4) * SAMPLE_RATE)
    cuts = [0]
    for index in range(1, count):
        low = int(index * length) - search
        cuts.append(low + _quietest_point(load_audio(wav_path, low, 2 * search)))
    cuts.append(total)
    return list(zip(cuts, cuts[1:]))


def _shifted(transcript: Transcript, offset: float) -> Transcript:
    """The transcript with every time moved `offset` seconds later."""
    return replace(
        transcript,
        segments=tuple(
            replace(
                seg,
                start=round(seg.start + offset, 3),
                end=round(seg.end + offset, 3),
                words=tuple(
                    replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3)) for w in seg.words
                ),
            )
            for seg in transcript.segments
        ),
    )


def _return_freed_memory() -> None:
    """Give the heap memory freed by a finished block back to the system (glibc's `malloc_trim`).

    Decoding allocates and frees hundreds of megabytes per block in several threads; without this the
    freed pages stay with the process and its peak memory creeps up block after block (1.55 GB
    instead of 1.39 GB after 21 min of audio).
    """
    if _libc is not None:
        _libc.malloc_trim(0)


def transcribe_file(
    wav_path: Path,
    settings: TranscribeSettings,
    glossary: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    """Transcribe a decoded 16 kHz mono WAV block by block, `stream_count` blocks at the same time.

    faster-whisper holds several copies of the audio it is given (the samples, their speech chunks,
    padded features); given blocks, memory stays that of the blocks in flight however long the
    recording. On CPU, two streams get more done than one: one stream's Python work (features, voice
    activity, word alignment) leaves the cores idle part of the time.
    Each stream decodes `batch_size / streams` chunks at a time: beam search over a batch holds the
    most memory, so the streams together hold what one stream of `batch_size` would. The language is
    checked on the first block only.
    """
    streams = stream_count(settings)
    bounds = block_bounds(wav_path, settings.block_s, streams)
    parallel = min(streams, len(bounds))
    batch_size = max(1, math.ceil(settings.batch_size / parallel))  # the decoders' memory stays that of one
    done = [0.0] * len(bounds)
    progress_lock = threading.Lock()

    def transcribe_block(index: int) -> Transcript:
        start, end = bounds[index]

        def progress(seconds: float) -> None:
            if on_progress is not None:
                with progress_lock:
                    done[index] = seconds
                    on_progress(sum(done))

        audio = load_audio(wav_path, start, end - start)
        part = transcribe_audio(audio, settings, glossary, progress, index == 0, batch_size)
        del audio
        _return_freed_memory()
        return _shifted(part, start / SAMPLE_RATE) if start else part

    if len(bounds) == 1:
        parts = [transcribe_block(0)]
    else:
        with ThreadPoolExecutor(max_workers=streams, thread_name_prefix="transcribe-block") as pool:
            parts = list(pool.map(transcribe_block, range(len(bounds))))
    return replace(
        parts[0],
        duration=round(sum(p.duration for p in parts), 3),
        segments=tuple(seg for p in parts for seg in p.segments),
        warnings=tuple(dict.fromkeys(w for p in parts for w in p.warnings)),
    )


def transcript_text(transcript: Transcript) -> str:
    """Plain-text transcript: one line per segment, prefixed with its start time."""
    lines = []
    for seg in transcript.segments:
        minutes, seconds = divmod(int(seg.start), 60)
        hours, minutes = divmod(minutes, 60)
        lines.append(f"[{hours:d}:{minutes:02d}:{seconds:02d}] {seg.text}")
    return "\n".join(lines) + ("\n" if lines else "")
