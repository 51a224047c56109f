"""Crash-safe file writing: a reader sees the old file (or folder) or the new one, never half of either."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
"""The errors of a write that found no room: the disk is full (or the user's quota used up)."""
UNWRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
"""The errors of a write to a folder that cannot be written: read-only mount, permissions."""
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to a temporary file beside path, fsync it, then rename it over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # named after the file being written, not its temporary name
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc  # a full disk's write names no file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (see atomic_write_bytes)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's content, read in chunks so large recordings never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _libc_renameat2() -> Any:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    return getattr(libc, "renameat2", None)


def exchange_directories(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    renameat2 = _libc_renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def error_line(exc: BaseException) -> str:
    """`<path>: <problem>` for a file system error (`/out/site: Read-only file system`), else the
    error's own message, which names its file."""
    if isinstance(exc, OSError) and exc.filename is not None:
        problem = exc.strerror or str(exc)
        if exc.errno in DISK_FULL:
            problem += " (the disk is full: free space, then run the command again)"
        elif exc.errno in UNWRITABLE:
            problem += " (the folder cannot be written: check its permissions or mount)"
        return f"{exc.filename}: {problem}"
    return str(exc) or type(exc).__name__
