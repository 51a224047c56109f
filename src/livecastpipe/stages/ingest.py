"""Ingest: find recordings, read their metadata sidecars, probe them, and decode their audio once.

A recording's identity is the SHA-256 of its content; every later stage reads only the 16 kHz mono
WAV decoded here, so the (possibly huge) video is never held in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import os
import shutil
import subprocess
import wave
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, Literal

import av
import ffmpeg
import imageio_ffmpeg
import numpy as np
import webvtt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from livecastpipe.models import (
    AudioStream,
    MediaInfo,
    PanelSpeaker,
    Recording,
    SessionMetadata,
    VideoStream,
    is_url,
    title_slug,
)
from livecastpipe.names import MAX_NAME_LENGTH
from livecastpipe.package import outputs
from livecastpipe.processes import run_child
from livecastpipe.storage import sha256_file

SAMPLE_RATE = 16_000
MEDIA_SUFFIXES = frozenset(
    ".mp4 .m4v .mkv .webm .mov .avi .mpg .mpeg .ts .mts .mp3 .m4a .aac .wav .flac .ogg .oga .opus .wma".split()
)
FOLDER_SIDECAR = "sessions.yaml"
SILENCE_PEAK_DBFS = -60.0
"""A recording whose loudest sample stays below this has nothing to transcribe."""
TRUNCATION_TOLERANCE_S = 1.0


class IngestError(Exception):
    """A recording or its sidecar cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@cache
def ffmpeg_binary() -> str:
    """The one ffmpeg every stage runs: the binary inside the exactly pinned imageio-ffmpeg wheel, never a
    system ffmpeg on PATH (nor IMAGEIO_FFMPEG_EXE): another ffmpeg resamples the audio slightly differently,
    and that difference alone can tip Whisper into a repetition loop."""
    binaries = Path(imageio_ffmpeg.__file__).parent / "binaries"
    found = sorted(p for p in binaries.glob("ffmpeg-*") if p.is_file() and os.access(p, os.X_OK))
    if not found:
        raise RuntimeError(f"{binaries}: imageio-ffmpeg ships no ffmpeg binary for this platform")
    return str(found[0])


def decoder_name() -> str:
    """The decoder and its version, for provenance: `imageio-ffmpeg 0.8.1 (ffmpeg-linux-x86_64-v9.0.2)`."""
    return f"imageio-ffmpeg {version('imageio-ffmpeg')} ({Path(ffmpeg_binary()).name})"


def find_recordings(paths: Iterable[Path]) -> list[Path]:
    """Expand files and folders into a sorted list of recordings: media files, and the recordings their
    sidecars name by URL (`source_url:`, as `folder/talk` for `talk.yaml`); a missing path raises IngestError."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            media = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES]
            found.extend(sorted([*media, *_listed_recordings(path, media)]))
        elif path.is_file() and path.suffix.lower() == ".yaml" and listed_url(path.with_suffix("")):
            found.append(path.with_suffix(""))
        elif path.is_file() or (not path.exists() and listed_url(path)):
            found.append(path)
        else:
            raise IngestError(path, "no such file or folder")
    return found


def _listed_recordings(folder: Path, media: Sequence[Path]) -> list[Path]:
    """The recordings a folder's sidecars name by URL, where no file of theirs is in the folder: each
    `<name>.yaml` with `source_url:` (or that cannot be read: ingest then says why) and each entry of
    `sessions.yaml` with one."""
    names = {p.name for p in media} | {p.stem for p in media}
    listed: list[Path] = []
    for sidecar in folder.glob("*.yaml"):
        if sidecar.name == FOLDER_SIDECAR or sidecar.stem in names or not sidecar.is_file():
            continue
        try:
            data = _read_yaml(sidecar)
        except IngestError:
            listed.append(sidecar.with_suffix(""))
            continue
        if isinstance(data, Mapping) and "source_url" in data:
            listed.append(sidecar.with_suffix(""))
    folder_file = folder / FOLDER_SIDECAR
    with contextlib.suppress(IngestError):
        data = _read_yaml(folder_file) if folder_file.is_file() else None
        if isinstance(data, Mapping):
            listed.extend(
                folder / str(name)
                for name, entry in data.items()
                if isinstance(entry, Mapping)
                and "source_url" in entry
                and str(name) not in names
                and "/" not in str(name)
            )
    return listed


# --- metadata sidecars ----------------------------------------------------------------------------


MAX_SIDECAR_BYTES = 1_000_000
"""The largest metadata file read (a folder's `sessions.yaml` holds many sessions)."""
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_SPEAKERS = 50
MAX_GLOSSARY_TERMS = 500
MAX_TERM = 100
MAX_URL = 2000
"""Field limits: what fits a page, a feed item and a caption; longer text is an error, not cut."""


class _SpeakerSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    role: Literal["moderator", "speaker", "audience"] = "speaker"


class _SidecarSchema(BaseModel):
    """The schema of `<recording>.yaml` and of each entry of a folder's `sessions.yaml`."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    date: dt.date | None = None
    programme: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    speakers: list[_SpeakerSchema] = Field(default=[], max_length=MAX_SPEAKERS)
    glossary: list[Annotated[str, Field(max_length=MAX_TERM)]] = Field(default=[], max_length=MAX_GLOSSARY_TERMS)
    speaker_count: int | None = Field(default=None, ge=1)
    min_speakers: int | None = Field(default=None, ge=1)
    max_speakers: int | None = Field(default=None, ge=1)
    sign_language_video: str | None = Field(default=None, min_length=1)
    descriptions: str | None = Field(default=None, min_length=1)
    source_url: str | None = Field(default=None, max_length=MAX_URL)

    @field_validator("source_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not is_url(value.strip()):
            raise ValueError("must be an http:// or https:// address")
        return value.strip() if value is not None else None

    @field_validator("speakers", mode="before")
    @classmethod
    def _plain_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    def to_metadata(self, folder: Path) -> SessionMetadata:
        """The metadata, with the accessibility files (sign language, descriptions) as paths under `folder`."""
        return SessionMetadata(
            title=self.title,
            date=self.date.isoformat() if self.date else None,
            programme=self.programme,
            description=self.description,
            speakers=tuple(PanelSpeaker(s.name, s.role) for s in self.speakers),
            glossary=tuple(term.strip() for term in self.glossary if term.strip()),
            speaker_count=self.speaker_count,
            min_speakers=self.min_speakers,
            max_speakers=self.max_speakers,
            sign_language_video=str(folder / self.sign_language_video) if self.sign_language_video else None,
            descriptions=str(folder / self.descriptions) if self.descriptions else None,
        )


def _read_yaml(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise IngestError(path, f"metadata file of {size} bytes, more than the {MAX_SIDECAR_BYTES} allowed")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read metadata: {exc}") from exc
    except yaml.YAMLError as exc:
        raise IngestError(path, f"not valid YAML: {exc}".replace("\n", " ")) from exc


def _validated(path: Path, data: Any, where: str = "") -> _SidecarSchema:
    """The sidecar's fields checked against the schema; mistakes raise IngestError by file and field."""
    if not isinstance(data, Mapping):
        raise IngestError(path, f"{where or 'metadata'} must be a mapping of fields")
    try:
        return _SidecarSchema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{where}{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise IngestError(path, f"invalid metadata: {problems}") from exc


def _validate_sidecar(path: Path, data: Any, where: str = "") -> SessionMetadata:
    if data is None:
        return SessionMetadata()
    metadata = _validated(path, data, where).to_metadata(path.parent)
    _check_accessibility_files(path, metadata, where)
    return metadata


def _check_accessibility_files(path: Path, metadata: SessionMetadata, where: str) -> None:
    """The sign-language video must be a file, the descriptions a readable WebVTT file with cues."""
    for field, named in (
        ("sign_language_video", metadata.sign_language_video),
        ("descriptions", metadata.descriptions),
    ):
        if named and not Path(named).is_file():
            raise IngestError(path, f"invalid metadata: {where}{field}: no such file {Path(named).name}")
    if metadata.descriptions:
        try:
            cues = webvtt.read(metadata.descriptions)
        except Exception as exc:  # webvtt-py raises its own error types for malformed files
            raise IngestError(path, f"invalid metadata: {where}descriptions: not a WebVTT file ({exc})") from exc
        if not len(cues):
            raise IngestError(path, f"invalid metadata: {where}descriptions: the WebVTT file holds no cues")


def _sidecar_entry(recording: Path) -> tuple[Path, Any, str] | None:
    """Where `recording`'s metadata is: the sidecar file, its data, and the prefix naming its fields in errors."""
    for sidecar in (recording.with_suffix(".yaml"), recording.with_name(recording.name + ".yaml")):
        if sidecar.is_file():
            return sidecar, _read_yaml(sidecar), ""
    folder_file = recording.parent / FOLDER_SIDECAR
    if folder_file.is_file():
        data = _read_yaml(folder_file)
        if not isinstance(data, Mapping):
            raise IngestError(folder_file, "must map recording file names to their metadata")
        if recording.name in data:
            return folder_file, data[recording.name], f"{recording.name}."
    return None


def sidecar_file(recording: Path) -> Path | None:
    """The file `read_metadata` takes the recording's metadata from, if any (for its hash in the manifest)."""
    for sidecar in (recording.with_suffix(".yaml"), recording.with_name(recording.name + ".yaml")):
        if sidecar.is_file():
            return sidecar
    folder_file = recording.parent / FOLDER_SIDECAR
    if folder_file.is_file():
        data = _read_yaml(folder_file)
        return folder_file if isinstance(data, Mapping) and recording.name in data else None
    return None


def read_metadata(recording: Path) -> SessionMetadata:
    """Metadata from `<name>.yaml` / `<name>.<ext>.yaml` beside the recording, else its folder's `sessions.yaml`."""
    entry = _sidecar_entry(recording)
    return _validate_sidecar(*entry) if entry else SessionMetadata()


def listed_url(recording: Path) -> str | None:
    """The URL the recording's sidecar names (`source_url:`), when it has one; a sidecar with mistakes
    raises IngestError by file and field."""
    entry = _sidecar_entry(recording)
    if entry is None or entry[1] is None:
        return None
    return _validated(*entry).source_url


# --- probing and decoding -------------------------------------------------------------------------


def _wav_header_duration(path: Path) -> float | None:
    """What a PCM WAV header promises; ffmpeg estimates WAV duration from the file size instead."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError, OSError):
        return None


def probe(path: Path) -> MediaInfo:
    """Container format, duration and streams, read with PyAV (no ffprobe needed)."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError(path, "file is empty (0 bytes)")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio_streams = list(container.streams.audio)
            if not audio_streams:
                raise IngestError(path, "has no audio stream, so there is nothing to transcribe")
            audio = audio_streams[0]
            video = next(
                (v for v in container.streams.video if not v.disposition & av.stream.Disposition.attached_pic),
                None,
            )
            duration = 0.0
            if container.duration is not None:
                duration = container.duration / av.time_base
            elif audio.duration is not None and audio.time_base is not None:
                duration = float(audio.duration * audio.time_base)
            return MediaInfo(
                format_name=container.format.name,
                duration=duration,
                size_bytes=size,
                audio=AudioStream(
                    codec=audio.codec_context.name,
                    sample_rate=audio.codec_context.sample_rate or 0,
                    channels=audio.codec_context.channels or 0,
                    duration=(
                        _wav_header_duration(path)
                        if container.format.name == "wav"
                        else float(audio.duration * audio.time_base)
                        if audio.duration is not None and audio.time_base is not None
                        else None
                    ),
                ),
                video=(
                    VideoStream(codec=video.codec_context.name, width=video.width, height=video.height)
                    if video is not None
                    else None
                ),
            )
    except IngestError:
        raise
    except av.error.FFmpegError as exc:
        raise IngestError(path, f"not a readable audio or video file ({exc.strerror})") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise IngestError(path, f"not a readable audio or video file ({exc})") from exc


def decode_audio(source: Path, target: Path) -> float:
    """Decode the first audio stream to a 16 kHz mono 16-bit WAV at target (atomically); return its duration."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    stream = ffmpeg.input(str(source)).output(str(partial), vn=None, ac=1, ar=SAMPLE_RATE, acodec="pcm_s16le", f="wav")
    command = stream.compile(cmd=ffmpeg_binary(), overwrite_output=True)
    result = run_child(command, capture_output=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        text = result.stderr.decode("utf-8", "replace")
        for code in (errno.ENOSPC, errno.EROFS):  # the cache cannot be written: not the recording's fault
            if os.strerror(code) in text:
                raise OSError(code, os.strerror(code), str(partial))
        lines = [ln for ln in text.splitlines() if ln.strip()]
        raise IngestError(source, f"audio cannot be decoded: {lines[-1] if lines else result.returncode}")
    with wave.open(str(partial), "rb") as wav:
        duration = wav.getnframes() / wav.getframerate()
    partial.replace(target)
    return duration


def _decoded_and_checked(source: Path, info: MediaInfo, wav_path: Path) -> float:
    """Seconds of audio decoded from `source` into `wav_path` (or found there from an earlier run); raise
    IngestError when the recording holds nothing to transcribe or less than it promises."""
    if wav_path.is_file():
        with wave.open(str(wav_path), "rb") as wav:
            decoded = wav.getnframes() / wav.getframerate()
    else:
        decoded = decode_audio(source, wav_path)
    if decoded == 0.0:
        raise IngestError(source, "audio stream holds no samples")
    promised = info.audio.duration or info.duration
    if promised and decoded + max(TRUNCATION_TOLERANCE_S, 0.02 * promised) < promised:
        raise IngestError(
            source,
            f"truncated: the file promises {promised:.1f} s of audio, but only {decoded:.1f} s could be decoded",
        )
    if peak_dbfs(wav_path) < SILENCE_PEAK_DBFS:
        raise IngestError(source, "the audio is silent (no sound above -60 dBFS)")
    return decoded


def audio_frames(wav_path: Path) -> int:
    """How many samples the decoded 16 kHz mono WAV holds."""
    with wave.open(str(wav_path), "rb") as wav:
        return wav.getnframes()


def load_audio(
    wav_path: Path, start: int = 0, count: int | None = None, chunk_frames: int = SAMPLE_RATE * 60
) -> np.ndarray:
    """The decoded 16 kHz mono WAV (or `count` samples of it from sample `start`) as float32 samples in
    [-1, 1], converted a minute at a time so memory holds little more than the float32 result (230 MB
    per hour)."""
    with wave.open(str(wav_path), "rb") as wav:
        total = wav.getnframes()
        start = min(max(start, 0), total)
        wanted = total - start if count is None else min(count, total - start)
        wav.setpos(start)
        samples = np.empty(wanted, dtype=np.float32)
        done = 0
        while done < wanted and (frames := wav.readframes(min(chunk_frames, wanted - done))):
            chunk = np.frombuffer(frames, dtype=np.int16)
            np.multiply(chunk, 1 / 32768.0, out=samples[done : done + chunk.size], casting="unsafe")
            done += chunk.size
    return samples[:done]


def peak_dbfs(wav_path: Path, chunk_frames: int = SAMPLE_RATE * 60) -> float:
    """Loudest sample of a 16-bit WAV in dBFS, read in chunks to keep memory flat."""
    peak = 0
    with wave.open(str(wav_path), "rb") as wav:
        while frames := wav.readframes(chunk_frames):
            samples = np.frombuffer(frames, dtype=np.int16)
            if samples.size:
                peak = max(peak, int(np.abs(samples.astype(np.int32)).max()))
    return -np.inf if peak == 0 else float(20 * np.log10(peak / 32768.0))


# --- identity and output folders ------------------------------------------------------------------


def session_slug(title: str, sha256: str, taken: Mapping[str, str]) -> str:
    """A safe folder name for a session: the folder its recording (by content) already has, else the slug
    of its title, with part of its hash on a clash. A recording is its content: under a new title or file
    name it keeps its session's folder, so its address and its editors' files stay.

    `taken` maps slugs already in use to the recording hash that owns them.
    """
    base = title_slug(title)
    owned = sorted(slug for slug, owner in taken.items() if owner == sha256)
    if base in owned or (not owned and base not in taken):
        return base
    return owned[0] if owned else f"{base}-{sha256[:8]}"


def forget_decoded_audio(recording: Recording) -> None:
    """Remove a recording's decoded audio from the cache, once the run has refused it (a 10-hour WAV is
    1.15 GB that no later run asked for)."""
    shutil.rmtree(Path(recording.audio_path).parent, ignore_errors=True)


def ingest(source: Path, cache_dir: Path, taken_slugs: Mapping[str, str] | None = None) -> Recording:
    """Probe, identify and decode one recording file; raise IngestError naming the file and the problem."""
    if not source.exists():
        raise IngestError(source, "no such file")
    if not source.is_file():
        raise IngestError(source, "not a file")
    return ingest_file(source, read_metadata(source), cache_dir, taken_slugs)


def ingest_file(
    file: Path,
    metadata: SessionMetadata,
    cache_dir: Path,
    taken_slugs: Mapping[str, str] | None = None,
    source: str | None = None,
    listed_as: Path | None = None,
) -> Recording:
    """Probe, hash and decode `file`, with its metadata; `source` names the recording when it is not the
    file itself (the URL it was downloaded from, listed in a sidecar as `listed_as`)."""
    info = probe(file)
    sha = sha256_file(file)
    wav_path = cache_dir / sha[:32] / outputs.DECODED_AUDIO.name()
    try:
        decoded = _decoded_and_checked(file, info, wav_path)
    except IngestError:  # a rejected recording leaves nothing in the cache (a 10-hour WAV is 1.15 GB)
        shutil.rmtree(wav_path.parent, ignore_errors=True)
        raise
    except BaseException:  # the disk's fault, or an interruption: a decoded WAV already there stays
        with contextlib.suppress(OSError):
            wav_path.parent.rmdir()
        raise
    if not info.duration:
        info = MediaInfo(info.format_name, decoded, info.size_bytes, info.audio, info.video)
    recording = Recording(
        source=source or str(file),
        sha256=sha,
        slug="",
        media=info,
        metadata=metadata,
        audio_path=str(wav_path),
        decoder=decoder_name(),
        local_file=str(file) if source else "",
        listed_as=str(listed_as) if listed_as else "",
    )
    slug = session_slug(metadata.title or Path(recording.file_name).stem, sha, taken_slugs or {})
    return dataclasses.replace(recording, slug=slug)
