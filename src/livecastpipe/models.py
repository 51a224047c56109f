"""The data model every stage reads and writes: small typed dataclasses with JSON round trips.

Data flows one way: Recording → Transcript → speaker turns → chapters → subtitles/summaries → package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import TypeAdapter
from slugify import slugify

T = TypeVar("T")


@dataclass(frozen=True)
class AudioStream:
    """The audio stream of a recording, as probed."""

    codec: str
    sample_rate: int
    channels: int
    duration: float | None = None
    """What the stream header promises, when it says; used to detect truncated files."""


@dataclass(frozen=True)
class VideoStream:
    """The first video stream of a recording, as probed."""

    codec: str
    width: int
    height: int


@dataclass(frozen=True)
class MediaInfo:
    """What a probe of the container says: duration and the streams that matter."""

    format_name: str
    duration: float
    size_bytes: int
    audio: AudioStream
    video: VideoStream | None = None


@dataclass(frozen=True)
class PanelSpeaker:
    """A speaker named in the session metadata."""

    name: str
    role: str = "speaker"


@dataclass(frozen=True)
class SessionMetadata:
    """Editorial metadata of a session, from its sidecar YAML (all optional)."""

    title: str | None = None
    date: str | None = None
    programme: str | None = None
    description: str | None = None
    speakers: tuple[PanelSpeaker, ...] = ()
    glossary: tuple[str, ...] = ()
    speaker_count: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    sign_language_video: str | None = None
    """A sign-language interpreter's video of the session (path, same timeline), shown beside the player."""
    descriptions: str | None = None
    """A WebVTT file of audio descriptions (path), voiced or announced at their cue times."""


@dataclass(frozen=True)
class Recording:
    """One ingested recording: its identity (content hash), where it lives, and what it holds."""

    source: str
    sha256: str
    slug: str
    media: MediaInfo
    metadata: SessionMetadata
    audio_path: str
    """16 kHz mono 16-bit WAV decoded once from the source; later stages read only this."""
    decoder: str = ""
    """The pinned decoder (and its version) that made `audio_path`."""
    local_file: str = ""
    """Where the media are read from when `source` is a URL: its download in the cache."""
    listed_as: str = ""
    """For a URL that a sidecar names (`source_url:`), the path that sidecar lists the recording under."""

    @property
    def media_file(self) -> Path:
        """The recording's file on this machine: the source itself, or its download."""
        return Path(self.local_file or self.source)

    @property
    def named_path(self) -> Path | None:
        """The local path the recording's sidecar belongs to: its file, or the one a sidecar lists it under;
        None for a URL named on its own."""
        if self.listed_as:
            return Path(self.listed_as)
        return None if is_url(self.source) else Path(self.source)

    @property
    def file_name(self) -> str:
        """The recording's file name: its file's, the name a sidecar lists it under, or the URL's last part."""
        named = self.named_path
        return named.name if named is not None else url_file_name(self.source)

    @property
    def title(self) -> str:
        """The sidecar's title, else the file name's slug: a renamed file renames its session, whose folder
        (`slug`) stays where it was published."""
        return self.metadata.title or title_slug(Path(self.file_name).stem)


URL_SCHEMES = ("http", "https")
GENERIC_PLAYLIST_NAMES = frozenset({"index", "master", "playlist", "manifest", "chunklist", "prog_index", "stream"})


def is_url(source: str) -> bool:
    """Whether a recording is named by an http(s) URL rather than a local path."""
    parts = urlsplit(source)
    return parts.scheme.lower() in URL_SCHEMES and bool(parts.netloc)


def public_url(url: str) -> str:
    """The URL as published files may name it: without a user name and password, a query or a fragment
    (signed URLs carry their tokens there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def url_file_name(url: str) -> str:
    """The last part of a URL's path (`talk.m3u8`), which names a recording as a file name does; a playlist
    named as most streaming servers name them all (`index.m3u8`) is named by its folder (`zaal1.m3u8`)."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments:
        return parts.hostname or "recording"
    name = Path(segments[-1])
    if name.stem.lower() in GENERIC_PLAYLIST_NAMES and len(segments) > 1:
        return segments[-2] + name.suffix
    return name.name


def title_slug(title: str) -> str:
    """The slug of a session's title: its folder name, unless another recording has it already."""
    return slugify(title, max_length=80, word_boundary=True) or "sessie"


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span (seconds) and the model's confidence."""

    start: float
    end: float
    text: str
    probability: float
    speaker: str | None = None
    flags: tuple[str, ...] = ()
    """Why an editor should check it: `low-confidence`, `not-in-dictionary`, `corrected` (see `terms`)."""


@dataclass(frozen=True)
class Segment:
    """A stretch of recognised speech: text plus its words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    speaker: str | None = None
    language: str | None = None
    """The language it was spoken and decoded in where that is not the session's (`turn_languages`);
    None: the transcript's."""


@dataclass(frozen=True)
class Transcript:
    """The transcription of one recording, with the provenance needed to reproduce it."""

    language: str
    """ISO 639-1 code, resolved where the transcript is made (`transcribe.assemble_transcript`): the one
    language its files are named by and its words judged in (dictionary, keywords, chapters)."""
    language_probability: float
    duration: float
    segments: tuple[Segment, ...]
    model: str
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def speaker_ids(self) -> set[str]:
        """The speakers its segments and words are attributed to."""
        return {s.speaker for s in self.segments if s.speaker} | {w.speaker for w in self.words if w.speaker}


def to_jsonable(value: Any) -> Any:
    """Turn a model object into plain JSON types."""
    return TypeAdapter(type(value)).dump_python(value, mode="json")


def to_json(value: Any) -> str:
    """Serialise a model object as pretty, UTF-8 friendly JSON."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n"


def from_jsonable(kind: type[T], data: Any) -> T:
    """Validate plain JSON data into a model object of the given type."""
    return TypeAdapter(kind).validate_python(data)


def from_json(kind: type[T], text: str) -> T:
    """Parse JSON text into a model object of the given type."""
    return TypeAdapter(kind).validate_json(text)


# --- speakers and chapters (stages `speakers`, `chapters`) -----------------------------------------


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of time in which one speaker talks (one RTTM line)."""

    start: float
    end: float
    speaker: str


NO_DIARIZATION = "none"
"""The engine a `Diarization` names when none ran (`speakers.diarize` off)."""


@dataclass(frozen=True)
class Diarization:
    """Who speaks when in one recording: turns, each speaker's voice centroid, and what to tell a reader."""

    turns: tuple[SpeakerTurn, ...]
    centroids: dict[str, tuple[float, ...]]
    """Mean speaker embedding per speaker id, for matching voices across sessions."""
    engine: str
    speaker_count_source: str = "estimated"
    """`metadata` when the panel size was given, `settings` when the run's settings gave it (or said not to
    diarize), `estimated` otherwise."""
    notes: tuple[str, ...] = ()

    @property
    def speaker_ids(self) -> list[str]:
        """Every speaker with a voice or a turn (one found without diarization has no voice)."""
        return sorted(set(self.centroids) | {t.speaker for t in self.turns})


@dataclass(frozen=True)
class SpeakerInfo:
    """A speaker of a session: stable id (SPEAKER_00…), proposed or confirmed name and role."""

    id: str
    name: str | None = None
    role: str = "speaker"
    confidence: float = 0.0
    name_source: str = "none"
    """Where the name came from: editor, voice-library, introduction, metadata, or none."""
    confirmed: bool = False


@dataclass(frozen=True)
class Chapter:
    """A navigable part of a session, normally one substantive speaker turn."""

    start: float
    end: float
    title: str
    speaker: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionResult:
    """How one session ended: where its output is, or why it failed."""

    source: str
    status: str
    slug: str | None = None
    title: str | None = None
    duration: float | None = None
    output_dir: str | None = None
    language: str | None = None
    """The transcript's language, which names its caption files (`captions.nl.vtt`)."""
    error: str | None = None
    warnings: tuple[str, ...] = ()
