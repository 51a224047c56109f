"""A hostile day: `livecast run` killed with `kill -9` at many moments (start-up, decoding, transcription,
diarization, media, publishing, the catalogue), then run again. Each time no process of the run may
be left, and the end result must be the site an uninterrupted run publishes, with no staging left."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from livecastpipe import workspace

from .conftest import SAMPLE, run_ffmpeg

pytestmark = pytest.mark.slow

Marker = Callable[[Path], bool]


def _exists(pattern: str) -> Marker:
    return lambda out: any(out.glob(pattern))


def _results(count: int) -> Marker:
    """True once the cache holds this many stored stage results (transcription blocks, diarization, …)."""
    return lambda out: len([p for p in (out / "private/cache/results").glob("*") if p.is_file()]) >= count


KILL_POINTS: list[tuple[str, Marker, float]] = [
    ("start-up", lambda out: True, 0.2),
    ("start-up, imports", lambda out: True, 2.0),
    ("Prefect server starting", lambda out: True, 4.0),
    ("workspace made", _exists("private"), 0.0),
    ("decoding audio", _exists("private/cache/*/audio-16k.wav.partial"), 0.0),
    ("audio decoded", _exists("private/cache/*/audio-16k.wav"), 0.0),
    ("media being made", _exists("private/cache/*/.media-*"), 0.0),
    ("transcription, first result", _results(1), 0.0),
    ("transcription, later", _results(1), 1.5),
    ("transcription, later still", _results(1), 3.0),
    ("transcription, second result", _results(2), 0.0),
    ("diarization", _results(3), 0.0),
    ("diarization, later", _results(3), 1.0),
    ("chapters and summaries", _results(4), 0.0),
    ("summaries", _results(5), 0.0),
    ("review file", _exists("private/sessions/*/review.json"), 0.0),
    ("publishing, staging", _exists("private/.*.publish-*"), 0.0),
    ("publishing, staging later", _exists("private/.*.publish-*"), 0.3),
    ("publishing, pages", _exists("private/.*.publish-*"), 0.6),
    ("published", _exists("site/*/session.json"), 0.0),
    ("search index", _exists("private/.pagefind-*"), 0.0),
    ("catalogue", _exists("site/pagefind"), 0.0),
    ("feed", _exists("site/feed.xml"), 0.0),
]
TIME_FIELDS = re.compile(r"<lastBuildDate>[^<]*</lastBuildDate>")


def _session_processes(session: int) -> list[int]:
    """Processes (not zombies) of the process session the run started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            found.append(int(stat.parent.name))
    return found


def _run(media: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "livecastpipe", "run", str(media), "--output", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _site(out: Path) -> dict[str, object]:
    """The published site, its time fields and the output folder's own path taken out; the manifest
    without the hashes of the editors' files (private, and holding times of their own)."""
    tree: dict[str, object] = {}
    for path in sorted(workspace.site_dir(out).rglob("*")):
        if path.is_file():
            text = path.read_bytes().replace(str(out).encode(), b"<out>").decode("utf-8", "replace")
            if path.name == "session.json":
                manifest = json.loads(text)
                manifest.pop("published")
                manifest.pop("editor_files")
                tree[str(path.relative_to(out))] = manifest
            else:
                tree[str(path.relative_to(out))] = TIME_FIELDS.sub("", text)
    return tree


def _differences(a: object, b: object, where: str = "") -> list[str]:
    """Where two JSON-like values differ (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{where}/{k}")]
    return [] if a == b else [f"{where}: {str(a)[:80]} != {str(b)[:80]}"]


def test_kill_9_at_many_moments_then_rerun_publishes_the_same_site(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    run_ffmpeg("-i", str(SAMPLE), "-t", "10", "-c", "copy", str(media / "lezing.mp4"))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}

    reference = tmp_path / "reference"
    assert _run(media, reference, env).wait(timeout=600) == 0

    out = tmp_path / "out"
    survived, killed, finished_first = [], [], []
    for name, marker, delay in KILL_POINTS:
        run = _run(media, out, env)
        deadline = time.monotonic() + 300
        while run.poll() is None and not marker(out) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        if run.poll() is not None:
            finished_first.append(name)  # the cache got it there before the kill
            continue
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        killed.append(name)
        deadline = time.monotonic() + 15
        while _session_processes(run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _session_processes(run.pid):
            survived.append(name)
        else:
            for pid in _session_processes(run.pid):
                os.kill(pid, signal.SIGKILL)
    final = _run(media, out, env)
    assert final.wait(timeout=600) == 0
    print(
        f"kill points: {len(KILL_POINTS)} tried, {len(killed)} killed, {len(survived)} left no process, "
        f"finished before the kill: {finished_first}"
    )
    assert len(killed) >= 20 and survived == killed, set(killed) - set(survived)
    assert _site(out) == _site(reference), _differences(_site(out), _site(reference))
    leftovers = [p for pattern in workspace.STAGING_PATTERNS for p in out.rglob(pattern)]
    assert leftovers == []
    manifest = json.loads(next(workspace.site_dir(out).glob("*/session.json")).read_text())
    assert manifest["files"]
