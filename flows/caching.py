"""Cache keys of the pipeline's tasks: a stage reruns only when its recording, settings or inputs change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from prefect.context import TaskRunContext

from livecastpipe import __version__
from livecastpipe.models import to_jsonable

CacheKeyFn = Callable[[TaskRunContext, dict[str, Any]], str]


def inputs_hash(*parts: Any) -> str:
    """A short, stable hash of a stage's inputs (model objects, mappings, strings)."""
    blob = json.dumps([to_jsonable(part) for part in parts], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stage_cache_key(
    stage: str,
    inputs: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
    settings_of: Callable[[dict[str, Any]], Any] = lambda parameters: parameters["settings"],
) -> CacheKeyFn:
    """Key = stage, library version, the `recording` parameter's SHA-256, the fingerprint of the stage's
    settings (`settings_of`: the `settings` parameter), and a hash of what `inputs` picks from the task's
    parameters."""

    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        recording = parameters["recording"]
        settings = settings_of(parameters)
        digest = inputs_hash(*inputs(parameters)) if inputs else "-"
        return f"{stage}-{__version__}-{recording.sha256}-{settings.fingerprint()}-{digest}"

    return key
