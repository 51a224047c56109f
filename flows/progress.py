"""Transcription progress of one run: made for it (by `livecast run` around its progress bars, else by the
flow) and handed by the flow to the tasks that transcribe.

No module-level state: the progress bars receive what the run's tasks report through the object the flow
passes them, so two runs in one process never see each other's progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from livecastpipe.models import Recording

ProgressReporter = Callable[[str, float, float], None]
"""Called with (session source, seconds transcribed, total seconds)."""


class TranscriptionProgress:
    """Seconds transcribed per block of each recording the run transcribes in this process, summed per
    recording for `reporter`. Tasks in threads share it; a copy sent to another process (a Dask worker)
    reports nowhere, as the reporter (the CLI's progress bars) lives in this one."""

    def __init__(self, reporter: ProgressReporter | None = None) -> None:
        self._reporter = reporter
        self._lock = threading.Lock()
        self._blocks_done: dict[str, dict[int, float]] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled without its reporter, lock and counts: another process starts from nothing."""
        return (type(self), ())

    def block_progress(self, recording: Recording, index: int, seconds: float) -> None:
        """Block `index` of `recording` has transcribed `seconds`: report the recording's seconds so far."""
        total = recording.media.duration
        with self._lock:
            done = self._blocks_done.setdefault(recording.sha256, {})
            done[index] = seconds
            so_far = sum(done.values())
        self._report(recording.source, min(so_far, total), total)

    def blocks_ended(self, recording: Recording) -> None:
        """Drop a recording's block progress once its blocks ended (done or failed)."""
        with self._lock:
            self._blocks_done.pop(recording.sha256, None)

    def transcribed(self, recording: Recording) -> None:
        """Report `recording` transcribed in full (also when its transcript came from the cache)."""
        self._report(recording.source, recording.media.duration, recording.media.duration)

    def _report(self, source: str, done: float, total: float) -> None:
        """Hand (source, seconds done, total seconds) to the reporter, if the run has one."""
        if self._reporter is not None:
            self._reporter(source, done, total)
