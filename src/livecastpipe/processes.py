"""Child processes (ffmpeg, Pagefind, Prefect's temporary server) that end with the run that started
them, even when it is killed with `kill -9`: Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG)`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


def _prctl() -> Any:
    """libc's prctl, looked up once in the parent (a child of a threaded process must not load libraries)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name, use_errno=True), "prctl", None) if name else None


_PRCTL = _prctl()


def dies_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess: the child is killed when this process dies (None where Linux's
    parent-death signal is not available). The child exits at once if its parent is already gone."""
    if _PRCTL is None:
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return arm
