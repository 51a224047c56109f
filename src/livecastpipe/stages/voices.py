"""The voice library: speakers' voices remembered across sessions in a plain JSON file, to name them again."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from livecastpipe.editor.editor_files import editor_lock
from livecastpipe.models import SpeakerInfo
from livecastpipe.stages.diarization.clustering import unit_vector
from livecastpipe.storage import atomic_write_text


class SpeakerFileError(ValueError):
    """An editor's speakers file or the voice library cannot be read; the message names the file."""


@dataclass(frozen=True)
class VoiceSample:
    """One speaker of one session whose voice belongs to a library entry."""

    session: str
    speaker: str
    embedding: tuple[float, ...]
    confirmed: bool = False


@dataclass(frozen=True)
class Voice:
    """A person's voice as remembered across sessions; `confirmed` once an editor named it."""

    id: str
    name: str | None
    role: str = "speaker"
    confirmed: bool = False
    samples: tuple[VoiceSample, ...] = ()

    @property
    def centroid(self) -> np.ndarray:
        """Mean of the unit-length sample embeddings, confirmed samples only when there are any."""
        chosen = [s for s in self.samples if s.confirmed] or list(self.samples)
        return unit_vector(np.mean([unit_vector(s.embedding) for s in chosen], axis=0))


@dataclass(frozen=True)
class VoiceMatch:
    """The library voice closest to a speaker, and how close (cosine similarity)."""

    voice: Voice
    similarity: float


class VoiceLibrary:
    """Voices of a collection, kept in a plain JSON file in the private workspace (`output/private/voices.json`)."""

    def __init__(self, voices: Iterable[Voice] = ()) -> None:
        self.voices: list[Voice] = list(voices)

    @classmethod
    def load(cls, path: Path) -> VoiceLibrary:
        """Read the library; a missing file is an empty library, an unreadable one an error naming it."""
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            voices = [
                Voice(
                    id=str(v["id"]),
                    name=v.get("name"),
                    role=v.get("role", "speaker"),
                    confirmed=bool(v.get("confirmed", False)),
                    samples=tuple(
                        VoiceSample(s["session"], s["speaker"], tuple(s["embedding"]), bool(s.get("confirmed")))
                        for s in v.get("samples", [])
                    ),
                )
                for v in data["voices"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SpeakerFileError(f"{path}: not a readable voice library: {exc}") from exc
        return cls(voices)

    def to_json(self) -> str:
        """The library as pretty JSON, one entry per voice."""
        data = {
            "version": 1,
            "voices": [
                {
                    "id": v.id,
                    "name": v.name,
                    "role": v.role,
                    "confirmed": v.confirmed,
                    "samples": [
                        {
                            "session": s.session,
                            "speaker": s.speaker,
                            "confirmed": s.confirmed,
                            "embedding": list(s.embedding),
                        }
                        for s in v.samples
                    ],
                }
                for v in self.voices
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    def match(
        self, embedding: Sequence[float], threshold: float, exclude_session: str | None = None
    ) -> VoiceMatch | None:
        """The most similar voice at or above the threshold, learnt from other sessions than `exclude_session`."""
        probe = unit_vector(embedding)
        best: VoiceMatch | None = None
        for voice in self.voices:
            others = tuple(s for s in voice.samples if s.session != exclude_session)
            if not others:
                continue
            similarity = float(np.dot(probe, replace(voice, samples=others).centroid))
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = VoiceMatch(voice, similarity)
        return best

    def remember(
        self,
        session: str,
        speakers: Mapping[str, SpeakerInfo],
        centroids: Mapping[str, Sequence[float]],
        threshold: float,
    ) -> None:
        """Record a session's voices: confirmed speakers enrol under their name, others join the closest voice.

        Samples of earlier runs of the same session are replaced; an editor's confirmation (a confirmed
        voice's name and role, a confirmed sample) is never changed here.
        """
        kept_confirmed = {(s.session, s.speaker) for v in self.voices for s in v.samples if s.confirmed}
        self.voices = [
            replace(v, samples=tuple(s for s in v.samples if s.session != session or s.confirmed)) for v in self.voices
        ]
        for speaker_id, vector in sorted(centroids.items()):
            info = speakers.get(speaker_id, SpeakerInfo(speaker_id))
            if (session, speaker_id) in kept_confirmed and not info.confirmed:
                continue
            sample = VoiceSample(session, speaker_id, tuple(vector), info.confirmed)
            if info.confirmed and info.name:
                self._enrol(info, sample)
                continue
            match = self.match(vector, threshold, exclude_session=session)
            if match is not None and all(s.session != session for s in match.voice.samples):
                self._add_sample(match.voice.id, sample)
            else:
                self.voices.append(Voice(self._new_id(), info.name, info.role, False, (sample,)))
        self.voices = [v for v in self.voices if v.samples]

    def _enrol(self, info: SpeakerInfo, sample: VoiceSample) -> None:
        key = (sample.session, sample.speaker)
        for index, voice in enumerate(self.voices):
            self.voices[index] = replace(
                voice, samples=tuple(s for s in voice.samples if (s.session, s.speaker) != key)
            )
        named = next((v for v in self.voices if v.confirmed and v.name == info.name), None)
        if named is None:
            self.voices.append(Voice(self._new_id(), info.name, info.role, True, (sample,)))
        else:
            self._add_sample(named.id, sample)

    def _add_sample(self, voice_id: str, sample: VoiceSample) -> None:
        self.voices = [replace(v, samples=v.samples + (sample,)) if v.id == voice_id else v for v in self.voices]

    def _new_id(self) -> str:
        taken = {v.id for v in self.voices}
        number = len(taken) + 1
        while f"voice-{number:04d}" in taken:
            number += 1
        return f"voice-{number:04d}"


def update_voice_library(
    path: Path,
    session: str,
    speakers: Mapping[str, SpeakerInfo],
    centroids: Mapping[str, Sequence[float]],
    threshold: float,
) -> VoiceLibrary:
    """Remember a session's voices in the library file, read and written under its editor lock
    (`editor_files.editor_lock`), so parallel sessions and editors' confirmations do not clash."""
    with editor_lock(path):
        library = VoiceLibrary.load(path)
        library.remember(session, speakers, centroids, threshold)
        atomic_write_text(path, library.to_json())
    return library
