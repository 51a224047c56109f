"""Child processes (ffmpeg, Pagefind, Prefect's temporary server) that end with the run that started
them, even when it is killed with `kill -9`, and that run no Python between fork and exec.

Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG)`) is armed by an exec shim: a fresh, bare Python
(`-I -S`) that sets it and then execs the command in its place (same pid). No `preexec_fn`, so CPython
starts every child with vfork, which runs no fork handlers: OpenBLAS's handler waits for its busy
threads, and with the GIL held by a forking `preexec_fn` child that froze the whole run (issue #26).
The signal fires when the *thread* that started a child ends, not the process: every child is started
by one long-lived thread of this module, which lives as long as the process.
"""

from __future__ import annotations

import errno
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import IO, Any

ARM_AND_EXEC = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
for name in ("SIGPIPE", "SIGXFSZ"):
    signal.signal(getattr(signal, name), signal.SIG_DFL)
os.execv(sys.argv[2], sys.argv[3:])
"""
"""The exec shim's code: arm the parent-death signal, exit at once when the parent (argv[1]) already died
(before the signal was armed), restore the signals Python ignores (as subprocess does), exec the command."""

ChildStream = int | IO[Any] | None
"""What a child's stdin, stdout or stderr is connected to, as for subprocess (PIPE, DEVNULL, a file)."""

_starter_lock = threading.Lock()
_starter: threading.Thread | None = None
_start_requests: queue.SimpleQueue[tuple[Callable[[], subprocess.Popen[Any]], Future[subprocess.Popen[Any]]]] = (
    queue.SimpleQueue()
)


def armed_command(command: Sequence[str], executable: str, parent: int) -> list[str]:
    """`command` prefixed with the exec shim that arms the parent-death signal for `parent`'s death (Linux
    only; elsewhere the command as is). `executable` is the program to exec, command[0] its argv[0]."""
    if not sys.platform.startswith("linux"):
        return [executable, *command[1:]]
    return [sys.executable, "-I", "-S", "-c", ARM_AND_EXEC, str(parent), executable, *command]


def start_child(
    command: Sequence[str],
    *,
    stdin: ChildStream = None,
    stdout: ChildStream = None,
    stderr: ChildStream = None,
    env: Mapping[str, str] | None = None,
    text: bool = False,
) -> subprocess.Popen[Any]:
    """Start `command` (looked up on the PATH like subprocess does) as a child that dies with this process,
    even after `kill -9`; FileNotFoundError, as from subprocess, when the program is not there."""
    path = (os.environ if env is None else env).get("PATH", os.defpath)
    executable = shutil.which(command[0], path=path)
    if executable is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command[0])
    arguments = armed_command(command, executable, os.getpid())

    def popen() -> subprocess.Popen[Any]:
        return subprocess.Popen(arguments, stdin=stdin, stdout=stdout, stderr=stderr, env=env, text=text)

    started: Future[subprocess.Popen[Any]] = Future()
    _start_requests.put((popen, started))
    _ensure_starter()
    return started.result()


def run_child(
    command: Sequence[str],
    *,
    stdin: ChildStream = None,
    capture_output: bool = False,
    text: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[Any]:
    """Run `command` to its end, like `subprocess.run`, as a child that dies with this process (see
    start_child); waits in the calling thread. The child is killed when the wait is interrupted."""
    pipe = subprocess.PIPE if capture_output else None
    with start_child(command, stdin=stdin, stdout=pipe, stderr=pipe, env=env, text=text) as process:
        try:
            output, errors = process.communicate()
        except BaseException:
            process.kill()
            raise
    return subprocess.CompletedProcess(list(command), process.returncode, output, errors)


def _ensure_starter() -> None:
    """Start the thread that starts every child, unless it runs (it does not after a fork: started anew)."""
    global _starter
    with _starter_lock:
        if _starter is None or not _starter.is_alive():
            _starter = threading.Thread(target=_start_children, name="livecast-child-starter", daemon=True)
            _starter.start()


def _start_children() -> None:
    """Start each requested child in turn, for the life of the process: each child's parent-death signal
    follows this thread, which never ends before the process does."""
    while True:
        popen, started = _start_requests.get()
        try:
            started.set_result(popen())
        except BaseException as error:
            started.set_exception(error)
