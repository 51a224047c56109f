"""Kill `livecast run` with `kill -9` at chosen moments, then check what it left: shared by the CI test
(tests/test_kill.py, a few moments) and the full sweep (bench/faults.py, many moments, some random).

A moment is a marker (something the run made in its output folder) plus a delay after it appears."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.package import outputs

Marker = Callable[[Path, str, dict[Path, int]], bool]
"""True once the run reached the moment: given the output folder, the run's log so far (`run -v`) and
what the output folder held when the run started (path → modification time)."""


def exists(pattern: str) -> Marker:
    """Something the run made or rewrote in the output folder (not a leftover of the run killed before it)."""
    return lambda out, log, before: any(before.get(p) != _mtime(p) for p in out.glob(pattern))


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def finished(task: str) -> Marker:
    """A task of the run finished (its Prefect log line), e.g. `transcribe/`, `chapters-`."""
    return lambda out, log, before: any(
        f"Task run '{task}" in line and "Finished in state" in line for line in log.splitlines()
    )


def logged(text: str) -> Marker:
    """The run's log says it."""
    return lambda out, log, before: text in log


def started(out: Path, log: str, before: dict[Path, int]) -> bool:
    return True


@dataclass(frozen=True)
class KillPoint:
    name: str
    marker: Marker
    delay: float = 0.0
    """Seconds to wait after the marker before the kill."""


DECODING = KillPoint("decoding audio", exists("private/cache/*/audio-16k*.wav.partial"))
TRANSCRIBING = KillPoint("transcription", finished("speech/"), 1.0)
BLOCK_STORED = KillPoint("transcription, a block stored", finished("transcribe-block/"))
DIARIZING = KillPoint("diarization", finished("transcribe/"), 0.3)
SUMMARIZING = KillPoint("summaries and subtitles", finished("chapters-"), 0.2)
PUBLISHING = KillPoint("publishing, staged", exists("private/.*.publish-*"), 0.05)
PUBLISHED = KillPoint("published, voices and catalogue next", exists("site/*/session.json"))
CATALOGUE = KillPoint("search index", exists("private/.pagefind-*"))

CI_POINTS = (TRANSCRIBING, DIARIZING, SUMMARIZING, PUBLISHING, PUBLISHED, CATALOGUE)
"""The CI test's moments, each further into the run than the one before, so each rerun resumes later."""

STAGE_POINTS: tuple[KillPoint, ...] = (
    KillPoint("start-up", started, 0.2),
    KillPoint("start-up, imports", started, 2.0),
    KillPoint("Prefect server starting", started, 4.0),
    KillPoint("flow started, workspace locked", logged("for flow 'process-folder'")),
    DECODING,
    KillPoint("media being made", exists("private/cache/*/.media-*")),
    TRANSCRIBING,
    KillPoint("transcription, later", finished("speech/"), 2.5),
    BLOCK_STORED,
    DIARIZING,
    KillPoint("diarization, later", finished("transcribe/"), 0.8),
    KillPoint("repair", finished("diarize/"), 0.1),
    SUMMARIZING,
    KillPoint("review file", finished("summaries/")),
    PUBLISHING,
    KillPoint("publishing, later", exists("private/.*.publish-*"), 0.25),
    PUBLISHED,
    CATALOGUE,
    KillPoint("catalogue", exists("site/pagefind")),
    KillPoint("feed", exists("site/feed.xml")),
)
"""A moment in every stage of a run, in order: the full sweep's fixed moments."""

TIME_FIELDS = re.compile(r"<lastBuildDate>[^<]*</lastBuildDate>")


@dataclass
class Sweep:
    """What a sweep of kills did: which kills landed, which left no process, and what went wrong."""

    killed: list[str] = field(default_factory=list)
    clean: list[str] = field(default_factory=list)
    """Kills after which no process of the run was left."""
    finished_first: list[str] = field(default_factory=list)
    """Moments the run finished before (its cache got it there first)."""
    problems: list[str] = field(default_factory=list)
    """What a kill left that it must not (a half-made session, a review listed before a publish)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Per point, seconds from the run's start to the kill (or to its end, when it finished first)."""
    killed_at: dict[str, float] = field(default_factory=dict)
    """Per kill, when it landed (`time.time()`, to compare with the modification times of files)."""
    after: dict[str, str] = field(default_factory=dict)
    """Per kill, the last task the run's log says finished before it (where the kill landed)."""
    final_exit: int | None = None
    final_log: str = ""
    """The log of the run to the end (for a failure's message)."""


def session_processes(session: int) -> list[int]:
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


def start_run(media: Path, out: Path, env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """`livecast run -v media --output out` in a process session of its own, its log (stderr) to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "livecastpipe", "run", "-v", str(media), "--output", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
        start_new_session=True,
    )


def run_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "PREFECT_HOME": str(tmp / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def unpublished_leftovers(out: Path) -> list[str]:
    """Before any session is published, what a user would find of one: private session folders, and
    sessions `livecast review --list` shows."""
    if any(workspace.site_dir(out).glob(f"*/{outputs.MANIFEST.name()}")):
        return []
    sessions = workspace.private_dir(out) / workspace.SESSIONS
    found = [f"private folder {p.name}" for p in sessions.glob("*")] if sessions.is_dir() else []
    listed = CliRunner().invoke(app, ["review", "--list", "--json", "--output", str(out)])
    if listed.exit_code != 0 or json.loads(listed.stdout) != []:
        found.append(f"review --list: {listed.stdout.strip()[:200]}")
    return found


def kill_at(
    points: Sequence[KillPoint], media: Path, out: Path, env: dict[str, str], api_url: str | None = None
) -> Sweep:
    """Start a run for each point and kill it there with SIGKILL; then one run to the end.

    With `api_url`, every run but the first uses that Prefect server instead of starting its own (much
    quicker); the first still starts its own temporary server, which must die with it."""
    sweep = Sweep()
    log = out.parent / f"{out.name}.log"
    for number, point in enumerate(points):
        shared = {"PREFECT_API_URL": api_url} if api_url and number > 0 else {}
        before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
        run = start_run(media, out, {**env, **shared}, log)
        began = time.monotonic()
        deadline = time.monotonic() + 300
        while run.poll() is None and not point.marker(out, _text(log), before) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(point.delay)
        if run.poll() is not None:
            sweep.finished_first.append(point.name)
            sweep.seconds[point.name] = round(time.monotonic() - began, 1)
            continue
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        sweep.killed_at[point.name] = time.time()
        sweep.seconds[point.name] = round(time.monotonic() - began, 1)
        sweep.killed.append(point.name)
        sweep.after[point.name] = last_finished(_text(log))
        deadline = time.monotonic() + 15
        while session_processes(run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not session_processes(run.pid):
            sweep.clean.append(point.name)
        for pid in session_processes(run.pid):
            os.kill(pid, signal.SIGKILL)
        sweep.problems.extend(f"{point.name}: {problem}" for problem in unpublished_leftovers(out))
    final = start_run(media, out, {**env, **({"PREFECT_API_URL": api_url} if api_url else {})}, log)
    sweep.final_exit = final.wait(timeout=900)
    sweep.final_log = _text(log)
    return sweep


def last_finished(log: str) -> str:
    """The task or flow run the log last says finished ("start-up" when none did)."""
    names = re.findall(r"(?:Task|Flow) run '([^']+)' - Finished in state", log)
    return names[-1] if names else "start-up"


def _text(log: Path) -> str:
    try:
        return log.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def site(out: Path) -> dict[str, object]:
    """The published site, its time fields and the output folder's own path taken out; the manifest
    without the hashes of the editors' files (private, and holding times of their own)."""
    tree: dict[str, object] = {}
    for path in sorted(workspace.site_dir(out).rglob("*")):
        if path.is_file():
            text = path.read_bytes().replace(str(out).encode(), b"<out>").decode("utf-8", "replace")
            if path.name == outputs.MANIFEST.name():
                manifest = json.loads(text)
                manifest.pop("published")
                manifest.pop("editor_files")
                tree[str(path.relative_to(out))] = manifest
            else:
                tree[str(path.relative_to(out))] = TIME_FIELDS.sub("", text)
    return tree


def differences(a: object, b: object, where: str = "") -> list[str]:
    """Where two JSON-like values differ (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{where}/{k}")]
    return [] if a == b else [f"{where}: {str(a)[:80]} != {str(b)[:80]}"]


def staging_left(out: Path) -> list[Path]:
    """Staging folders and temporary files anywhere in the output folder."""
    return [p for pattern in workspace.STAGING_PATTERNS for p in out.rglob(pattern)]


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
