"""Speakers stage: which word is whose, and what each speaker is called.

Who speaks when comes from `livecastpipe.stages.diarization`. Names live in the editor-owned `speakers.yaml`;
voices are remembered across sessions in a plain JSON voice library.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

import yaml

from livecastpipe.editor.editor_files import locked_update
from livecastpipe.models import (
    Diarization,
    PanelSpeaker,
    Segment,
    SessionMetadata,
    SpeakerInfo,
    SpeakerTurn,
    Transcript,
    Word,
    to_json,
)
from livecastpipe.names import check_speaker_name
from livecastpipe.package import outputs
from livecastpipe.settings import SpeakerSettings
from livecastpipe.stages.diarization.rttm import to_rttm
from livecastpipe.stages.diarization.turns import speaking_order
from livecastpipe.stages.dutch import INTRODUCED_NAME_PARTICLES, NON_NAME_WORDS
from livecastpipe.stages.voices import SpeakerFileError, VoiceLibrary, update_voice_library
from livecastpipe.storage import atomic_write_text

ROLES = ("moderator", "speaker", "audience")
NAME_SOURCES = ("editor", "voice-library", "introduction", "metadata", "none")


# --- words and segments ----------------------------------------------------------------------------


class _TurnIndex:
    """Speaker turns sorted by start, for finding the turns that overlap a word without scanning them all."""

    def __init__(self, turns: Iterable[SpeakerTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.end - t.start for t in self.turns), default=0.0)

    def speaker_at(self, start: float, end: float) -> str | None:
        """Who talks most during [start, end]; for a word in a gap, the speaker of the nearest turn."""
        if not self.turns:
            return None
        overlap: dict[str, float] = {}
        first = bisect.bisect_left(self.starts, start - self.longest)
        for turn in self.turns[first : bisect.bisect_left(self.starts, end)]:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        if overlap:
            return max(overlap, key=lambda speaker: overlap[speaker])
        middle = (start + end) / 2
        return min(self.turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker


def _split_segment(segment: Segment, turns: _TurnIndex) -> list[Segment]:
    """A segment with every word attributed, cut into one segment per run of words by the same speaker."""
    if not segment.words:
        return [replace(segment, speaker=turns.speaker_at(segment.start, segment.end))]
    words = [replace(w, speaker=turns.speaker_at(w.start, w.end)) for w in segment.words]
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker)]
    pieces = []
    for index, run in enumerate(runs):
        start = segment.start if index == 0 else run[0].start
        end = segment.end if index == len(runs) - 1 else run[-1].end
        text = " ".join(w.text.strip() for w in run if w.text.strip())
        pieces.append(Segment(start, end, text, tuple(run), run[0].speaker))
    return pieces


def attribute_speakers(transcript: Transcript, diarization: Diarization) -> Transcript:
    """Give every word the speaker it overlaps most and split segments where the speaker changes."""
    turns = _TurnIndex(diarization.turns)
    segments = [piece for segment in transcript.segments for piece in _split_segment(segment, turns)]
    return replace(transcript, segments=tuple(segments))


# --- names -----------------------------------------------------------------------------------------

_NAME_WORD = r"[A-ZÀ-Ý][\w'’-]+"
_PARTICLE = rf"(?:{'|'.join(map(re.escape, sorted(INTRODUCED_NAME_PARTICLES)))})"
_FULL_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_NAME_WORD}){{0,3}}"
_INTRODUCTION = re.compile(rf"\b(?i:mijn naam is|ik heet|ik ben)\s+({_FULL_NAME})")


def introduced_names(transcript: Transcript) -> dict[str, str]:
    """Names speakers give themselves ("mijn naam is …", "ik heet …", "ik ben …"), by speaker id."""
    found: dict[str, str] = {}
    for segment in transcript.segments:
        if segment.speaker is None or segment.speaker in found:
            continue
        match = _INTRODUCTION.search(segment.text)
        if match and match.group(1).split()[0] not in NON_NAME_WORDS:
            found[segment.speaker] = match.group(1).strip(" .,!?")
    return found


def _same_person(a: str, b: str) -> bool:
    """Names that differ in case or punctuation, lack a first/last name part, or are misheard slightly."""

    def simple(name: str) -> list[str]:
        return re.sub(r"[^\w\s]", "", name.lower()).split()

    left, right = simple(a), simple(b)
    if not (left and right):
        return False
    if set(left) <= set(right) or set(right) <= set(left):
        return True
    return SequenceMatcher(None, " ".join(left), " ".join(right)).ratio() >= 0.8


def propose_speakers(
    diarization: Diarization,
    transcript: Transcript,
    metadata: SessionMetadata,
    library: VoiceLibrary | None = None,
    existing: Mapping[str, SpeakerInfo] | None = None,
    session: str | None = None,
    threshold: float = 0.7,
) -> dict[str, SpeakerInfo]:
    """Names and roles for each speaker: an editor's confirmation first, then voice library, introduction, metadata.

    `transcript` must already carry speakers (see `attribute_speakers`). Metadata names are given in
    speaking order to speakers still unnamed, the moderators' first; one name is never given to two speakers.
    """
    existing = existing or {}
    order = speaking_order(diarization.turns)
    ids = order + sorted(set(diarization.centroids) - set(order))
    listed = {p.name: p for p in metadata.speakers}
    proposals: dict[str, SpeakerInfo] = {}
    for speaker_id in ids:
        if speaker_id in existing and existing[speaker_id].confirmed:
            proposals[speaker_id] = existing[speaker_id]

    def taken(name: str) -> bool:
        return any(p.name and _same_person(p.name, name) for p in proposals.values())

    def role_of(name: str, fallback: str = "speaker") -> str:
        person = next((p for n, p in listed.items() if _same_person(n, name)), None)
        return person.role if person else fallback

    candidates: list[tuple[float, str, SpeakerInfo]] = []
    if library is not None:
        for speaker_id in ids:
            vector = diarization.centroids.get(speaker_id)
            match = library.match(vector, threshold, exclude_session=session) if vector else None
            if match and match.voice.name:
                confidence = round(match.similarity if match.voice.confirmed else 0.6 * match.similarity, 3)
                info = SpeakerInfo(speaker_id, match.voice.name, match.voice.role, confidence, "voice-library")
                candidates.append((confidence, speaker_id, info))
    for speaker_id, name in introduced_names(transcript).items():
        known = next((n for n in listed if _same_person(n, name)), None)
        confidence = 0.8 if known else 0.55
        info = SpeakerInfo(speaker_id, known or name, role_of(name), confidence, "introduction")
        candidates.append((confidence, speaker_id, info))
    for confidence, speaker_id, info in sorted(candidates, key=lambda c: -c[0]):
        if speaker_id not in proposals and info.name and not taken(info.name):
            proposals[speaker_id] = info
    # The moderator opens a session: the first voice gets the moderator's name, whatever the list's order.
    unnamed_people = sorted((p for p in metadata.speakers if not taken(p.name)), key=lambda p: p.role != "moderator")
    count_matches = len(metadata.speakers) == len(ids)
    for speaker_id in ids:
        if speaker_id in proposals or not unnamed_people:
            continue
        person: PanelSpeaker = unnamed_people.pop(0)
        proposals[speaker_id] = SpeakerInfo(
            speaker_id, person.name, person.role, 0.5 if count_matches else 0.3, "metadata"
        )
    for speaker_id in ids:
        proposals.setdefault(speaker_id, SpeakerInfo(speaker_id))
    return {speaker_id: proposals[speaker_id] for speaker_id in ids}


_SPEAKERS_HEADER = (
    "# Speakers of this session. Edit a name or role (moderator, speaker, audience) and set\n"
    "# confirmed: true; a rerun keeps confirmed entries and uses them in every output.\n"
)


def speakers_yaml(speakers: Mapping[str, SpeakerInfo]) -> str:
    """The editor's file: speaker id → name, role, confidence, source, confirmed."""
    body = {
        speaker_id: {
            "name": info.name,
            "role": info.role,
            "confidence": round(info.confidence, 3),
            "source": info.name_source,
            "confirmed": info.confirmed,
        }
        for speaker_id, info in speakers.items()
    }
    return _SPEAKERS_HEADER + yaml.safe_dump({"speakers": body}, allow_unicode=True, sort_keys=False)


def read_speakers_yaml(path: Path) -> dict[str, SpeakerInfo]:
    """An editor's speakers file; missing means no names yet, a malformed one is an error naming the file."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SpeakerFileError(f"{path}: not readable YAML: {exc}".splitlines()[0]) from exc
    entries = data.get("speakers") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise SpeakerFileError(f"{path}: expected a 'speakers:' mapping of speaker ids")
    speakers: dict[str, SpeakerInfo] = {}
    for speaker_id, entry in entries.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise SpeakerFileError(f"{path}: {speaker_id}: expected name/role/confirmed fields")
        role = entry.get("role") or "speaker"
        if role not in ROLES:
            raise SpeakerFileError(f"{path}: {speaker_id}: role '{role}' is not one of {', '.join(ROLES)}")
        name = entry.get("name")
        confirmed = bool(entry.get("confirmed", False))
        source = entry.get("source") or "none"
        speakers[str(speaker_id)] = SpeakerInfo(
            id=str(speaker_id),
            name=str(name).strip() if name else None,
            role=role,
            confidence=1.0 if confirmed else float(entry.get("confidence") or 0.0),
            name_source="editor" if confirmed else (source if source in NAME_SOURCES else "none"),
            confirmed=confirmed,
        )
    return speakers


def change_speakers_file(
    path: Path, change: Callable[[dict[str, SpeakerInfo]], dict[str, SpeakerInfo]]
) -> dict[str, SpeakerInfo]:
    """Read an editor's speakers file, apply `change` and write the result, under the session's editor
    lock (`editor_files.locked_update`), so a name another writer gave meanwhile is kept."""
    return locked_update(path, read_speakers_yaml, change, lambda p, s: atomic_write_text(p, speakers_yaml(s)))


def rename_speaker(
    speakers: Mapping[str, SpeakerInfo], speaker_id: str, name: str | None = None, role: str | None = None
) -> dict[str, SpeakerInfo]:
    """An editor's rename (and/or new role): the entry becomes confirmed."""
    if speaker_id not in speakers:
        raise KeyError(f"no speaker '{speaker_id}' (known: {', '.join(speakers)})")
    if role is not None and role not in ROLES:
        raise ValueError(f"role '{role}' is not one of {', '.join(ROLES)}")
    info = speakers[speaker_id]
    updated = dict(speakers)
    updated[speaker_id] = replace(
        info,
        name=check_speaker_name(name) if name is not None else info.name,
        role=role or info.role,
        confidence=1.0,
        name_source="editor",
        confirmed=True,
    )
    return updated


# --- stage -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerStage:
    """The speakers stage's result: the transcript with speakers, named speakers, and notes for the report."""

    transcript: Transcript
    diarization: Diarization
    speakers: dict[str, SpeakerInfo]
    notes: tuple[str, ...] = ()


def name_speakers(
    transcript: Transcript,
    diarization: Diarization,
    metadata: SessionMetadata,
    existing: Mapping[str, SpeakerInfo],
    library: VoiceLibrary | None,
    session: str,
    threshold: float,
) -> SpeakerStage:
    """Attribute words, then propose names around the editor's confirmed ones."""
    attributed = attribute_speakers(transcript, diarization)
    speakers = propose_speakers(diarization, attributed, metadata, library, existing, session, threshold)
    notes = list(diarization.notes)
    stated = metadata.speaker_count or (len(metadata.speakers) or None)
    if stated and len(speakers) > stated:
        notes.append(f"{len(speakers)} speakers found, the metadata names {stated}")
    stale = sorted(i for i, info in existing.items() if info.confirmed and i not in diarization.speaker_ids)
    if stale:
        notes.append(
            f"confirmed speakers not in this diarization, kept in {outputs.SPEAKERS.name()}: {', '.join(stale)}"
        )
        speakers.update({i: existing[i] for i in stale})
    return SpeakerStage(attributed, diarization, speakers, tuple(notes))


def identify_speakers(
    transcript: Transcript,
    diarization: Diarization,
    metadata: SessionMetadata,
    session_folder: Path,
    library_path: Path,
    settings: SpeakerSettings,
) -> SpeakerStage:
    """The whole naming step of a session: read the editor's `speakers.yaml` and the voice library,
    attribute words and propose names. The library is not changed (see `remember_voices`)."""
    existing = read_speakers_yaml(session_folder / outputs.SPEAKERS.name())
    library = VoiceLibrary.load(library_path)
    return name_speakers(
        transcript, diarization, metadata, existing, library, session_folder.name, settings.library_threshold
    )


def remember_voices(
    library_path: Path,
    session_id: str,
    speakers: Mapping[str, SpeakerInfo],
    diarization: Diarization,
    settings: SpeakerSettings,
) -> None:
    """Remember a session's voices in the library: once the session is published, so a failed session
    leaves the shared library as it was."""
    update_voice_library(library_path, session_id, speakers, diarization.centroids, settings.library_threshold)


def diarization_json(diarization: Diarization) -> str:
    """The diarization (turns, centroids, notes) as JSON, kept so editors' tools can enrol voices later."""
    return to_json(diarization)


def speaker_files(stage: SpeakerStage, recording_id: str) -> dict[str, str]:
    """The stage's files for the session folder: RTTM, diarization JSON and the merged speakers.yaml."""
    return {
        outputs.SPEAKER_TURNS.name(): to_rttm(stage.diarization, recording_id),
        outputs.DIARIZATION.name(): diarization_json(stage.diarization),
        outputs.SPEAKERS.name(): speakers_yaml(stage.speakers),
    }
