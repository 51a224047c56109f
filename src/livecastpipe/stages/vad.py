"""Voice activity detection (Silero) shared by transcription and diarization: window probabilities, speech regions."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper.vad import VadOptions, get_vad_model

from livecastpipe.stages.ingest import SAMPLE_RATE, audio_frames, load_audio

VAD_WINDOW, VAD_CONTEXT = 512, 64
"""Silero VAD judges 32 ms windows, each seeing the 4 ms before it."""

Region = tuple[int, int]
"""A stretch of speech: first sample and the sample after its last."""


def silero_probabilities(session: Any, pieces: Iterable[np.ndarray]) -> np.ndarray:
    """Silero VAD's speech probability of every 32 ms window of `pieces` (consecutive stretches of audio,
    each a whole number of windows), the network's state and each window's 4 ms before it carried across
    pieces: the numbers one pass over the whole audio gives, with memory for one piece."""
    state = np.zeros((1, 1, 128), dtype=np.float32), np.zeros((1, 1, 128), dtype=np.float32)
    context = np.zeros((1, VAD_CONTEXT), dtype=np.float32)
    probabilities = [np.zeros(0, dtype=np.float32)]
    for samples in pieces:
        windows = samples.reshape(-1, VAD_WINDOW)
        contexts = np.concatenate([context, windows[:-1, -VAD_CONTEXT:]])
        context = windows[-1:, -VAD_CONTEXT:].copy()
        output, *state = session.run(
            None, {"input": np.concatenate([contexts, windows], axis=1), "h": state[0], "c": state[1]}
        )
        probabilities.append(output.reshape(-1))
    return np.concatenate(probabilities)


def speech_probabilities(wav_path: Path, piece_windows: int = 10_000) -> np.ndarray:
    """faster-whisper's Silero VAD probabilities of a decoded WAV, read `piece_windows` windows at a time:
    the same numbers faster-whisper computes over the whole recording in memory (20 MB a piece)."""
    total = audio_frames(wav_path)
    padded_total = total + VAD_WINDOW - total % VAD_WINDOW  # as faster-whisper pads: always at least one sample

    def pieces() -> Iterator[np.ndarray]:
        for start in range(0, padded_total, piece_windows * VAD_WINDOW):
            count = min(piece_windows * VAD_WINDOW, padded_total - start)
            samples = load_audio(wav_path, start, count)
            yield np.pad(samples, (0, count - samples.size))

    return silero_probabilities(get_vad_model().session, pieces())


def speech_regions(probabilities: np.ndarray, total: int, options: VadOptions) -> list[Region]:
    """The speech regions of a recording of `total` samples from its window probabilities: faster-whisper's
    `get_speech_timestamps` (MIT), step for step, so that the regions are exactly its regions."""
    threshold = options.threshold
    neg_threshold = options.neg_threshold if options.neg_threshold is not None else max(threshold - 0.15, 0.01)
    pad = SAMPLE_RATE * options.speech_pad_ms / 1000
    min_speech = SAMPLE_RATE * options.min_speech_duration_ms / 1000
    max_speech = SAMPLE_RATE * options.max_speech_duration_s - VAD_WINDOW - 2 * pad
    min_silence = SAMPLE_RATE * options.min_silence_duration_ms / 1000
    min_silence_at_max_speech = SAMPLE_RATE * 98 / 1000
    triggered, speeches, current = False, [], {}
    temp_end = prev_end = next_start = 0
    for index, probability in enumerate(probabilities):
        position = VAD_WINDOW * index
        if probability >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = position
        if probability >= threshold and not triggered:
            triggered = True
            current["start"] = position
            continue
        if triggered and position - current["start"] > max_speech:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = position
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if probability < neg_threshold and triggered:
            if not temp_end:
                temp_end = position
            if position - temp_end > min_silence_at_max_speech:
                prev_end = temp_end
            if position - temp_end < min_silence:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if current and total - current["start"] > min_speech:
        current["end"] = total
        speeches.append(current)
    for index, speech in enumerate(speeches):  # pad each region, sharing short silences between neighbours
        if index == 0:
            speech["start"] = int(max(0, speech["start"] - pad))
        if index == len(speeches) - 1:
            speech["end"] = int(min(total, speech["end"] + pad))
            continue
        following = speeches[index + 1]
        silence = following["start"] - speech["end"]
        if silence < 2 * pad:
            speech["end"] += int(silence // 2)
            following["start"] = int(max(0, following["start"] - silence // 2))
        else:
            speech["end"] = int(min(total, speech["end"] + pad))
            following["start"] = int(max(0, following["start"] - pad))
    return [(speech["start"], speech["end"]) for speech in speeches]


SENKO_VAD = VadOptions(threshold=0.55, min_speech_duration_ms=250, min_silence_duration_ms=100, speech_pad_ms=30)
"""senko's Silero settings (no longest region), for the same regions as `speech_regions` finds for transcription."""
SILERO_BLOCK_WINDOWS = 512
"""Windows per call of silero-vad's sequence model, as silero-vad runs it (the same numbers as its own loop)."""


def silero_sequence_session() -> Any:
    """silero-vad's sequence ONNX model in ONNX Runtime, one thread, found without importing silero-vad
    (its import loads PyTorch, a second of start-up for nothing)."""
    import onnxruntime

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        raise RuntimeError("the silero-vad package is not installed")
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    model = Path(spec.origin).parent / "data" / "silero_vad_16k_sequence.onnx"
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def senko_speech(session: Any, read: Callable[[int, int], np.ndarray], total: int) -> list[tuple[float, float]]:
    """Speech regions (seconds) of `total` samples that `read(start, count)` gives: silero-vad's
    `get_speech_timestamps_sequence` with senko's settings, run on `session` (`silero_sequence_session`)."""
    step = SILERO_BLOCK_WINDOWS * VAD_WINDOW
    padded_size = -(-total // VAD_WINDOW) * VAD_WINDOW  # the last window filled with zeros

    def blocks() -> Iterator[np.ndarray]:
        for start in range(0, total, step):
            block = read(start, step)
            yield np.pad(block, (0, min(step, padded_size - start) - block.size))

    regions = speech_regions(silero_probabilities(session, blocks()), total, SENKO_VAD)
    return [(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in regions]


def senko_speech_in_file(wav_path: Path, session: Any = None) -> list[tuple[float, float]]:
    """The same regions of a decoded WAV, read 16 s at a time so memory stays flat; without a session,
    on one shared by this process (no diarization engine needed)."""
    return senko_speech(
        session or _shared_sequence_session(),
        lambda start, count: load_audio(wav_path, start, count),
        audio_frames(wav_path),
    )


@cache
def _shared_sequence_session() -> Any:
    return silero_sequence_session()
