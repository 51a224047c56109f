"""The unattended conference: recordings with sidecars processed through the Prefect deployment and a
worker that is killed at random moments, while scripted editors change, approve and publish sessions
through the workbench's HTTP API and the command line; then an archivist's rerun of the whole folder
(one sidecar's title changed) and one run on a nearly full disk.

    nice python bench/conference.py [--recordings 13] [--kills 3] [--seed 7] [--worker-limit 2]

Everything runs for real on loopback: `prefect server start` (its own SQLite), a process work pool,
`prefect deploy --all` from prefect.yaml, `prefect worker start`, one `livecast-folder` flow run per
recording. A kill SIGKILLs the worker's process group and those of its flow runs (a machine that dies);
the runs Prefect still shows running are marked crashed and submitted again, as an archivist would.
Every command has a time limit: one that runs past it is a hang. Reports sessions published, editor
changes made against those present in the published outputs, hangs, duplicate sessions, leftover
processes and staging folders, exit codes; writes bench/results/conference.json and .md.
Goal: everything published, every change present, zeros elsewhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import yaml  # noqa: E402

from bench.common import write_report  # noqa: E402
from livecastpipe import workspace  # noqa: E402
from livecastpipe.editor.workbench.service import other_run_alive  # noqa: E402
from livecastpipe.stages.ingest import ffmpeg_binary  # noqa: E402

SAMPLE = REPO / "media" / "cooperatieven-sample.mp4"
SAMPLE_SIDECAR = REPO / "media" / "cooperatieven-sample.yaml"
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
LIVECAST = [sys.executable, "-m", "livecastpipe"]
TAG = "LIVECAST_CONFERENCE_BENCH"
"""Environment variable every process the bench starts carries (inherited by their children): how
processes left behind are found."""
FOLDER_DEPLOYMENT = "process-folder/livecast-folder"
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")
TOPICS = (
    "Buurtcoöperaties en de stad",
    "Energie van de wijk",
    "Wonen met elkaar",
    "De ledenvergadering",
    "Zorg in de buurt",
    "Commons in Utrecht",
    "Geld dat blijft",
    "Samen bouwen",
    "De stad als meent",
    "Jongeren en de coöperatie",
    "Voedsel uit de wijk",
    "Ruimte voor initiatief",
    "Wat de gemeente kan doen",
)
UNLINKED = ("Automatisch ondertiteld, nog niet gecontroleerd",)
"""What a session page says while its captions are unapproved."""


# --- commands with time limits, and what they left behind -------------------------------------------


@dataclass
class Step:
    """One command the bench ran: its exit code, time, and whether it ran past its limit (a hang)."""

    name: str
    rc: int | None
    seconds: float
    hung: bool = False
    expected: str = "0"
    """The exit code a correct program gives: "0"; "non-zero" (the full disk); "stopped": 0, or the end by
    the signal the bench stopped it with (a long-running server)."""
    note: str = ""

    @property
    def as_expected(self) -> bool:
        if self.hung or self.rc is None:
            return False
        if self.expected == "stopped":
            return self.rc in (0, -signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT)
        return (self.rc == 0) == (self.expected == "0")


@dataclass
class Ledger:
    """Everything measured, shared by the phases and the editors' threads."""

    steps: list[Step] = field(default_factory=list)
    resubmits: int = 0
    kills: list[dict[str, object]] = field(default_factory=list)
    flow_runs: list[dict[str, object]] = field(default_factory=list)
    changes: list[dict[str, object]] = field(default_factory=list)
    """Editors' changes made: session (recording hash), kind, marker, where to find it."""
    publish_busy: int = 0
    """Workbench publishes refused (409) because a run was working, then tried again."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: Step) -> Step:
        with self.lock:
            self.steps.append(step)
        flag = " HANG" if step.hung else ""
        print(f"  [{step.rc}{flag}] {step.name} ({step.seconds:.1f} s) {step.note}", flush=True)
        return step

    def change(self, sha: str, kind: str, marker: str, by: str) -> None:
        with self.lock:
            self.changes.append({"sha": sha, "kind": kind, "marker": marker, "by": by})


def run_step(
    ledger: Ledger,
    name: str,
    command: list[str],
    env: dict[str, str],
    timeout: float,
    stdin: str | None = None,
    expected: str = "0",
) -> tuple[Step, str]:
    """Run a command in a process group of its own, killed with its group at `timeout` (a hang);
    its step and its output (stdout then stderr)."""
    began = time.monotonic()
    process = subprocess.Popen(
        command,
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        kill_group(process.pid)
        out, err = process.communicate()
        hung = True
    errors = [line for line in err.splitlines() if line.startswith("error")]
    step = Step(name, process.returncode, round(time.monotonic() - began, 1), hung, expected, " / ".join(errors)[:300])
    return ledger.add(step), out + err


def kill_group(pgid: int) -> None:
    """SIGKILL a process group, if it still has members."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def tagged_processes(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment carries `TAG=<tag…>`."""
    wanted = f"{TAG}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if any(v.startswith(wanted) for v in (entry / "environ").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def process_names(pids: list[int]) -> list[str]:
    """`pid name` of each process, for the report."""
    names = []
    for pid in pids:
        try:
            names.append(f"{pid} {(Path('/proc') / str(pid) / 'comm').read_text().strip()}")
        except OSError:
            continue
    return names


def staging_left(out: Path) -> list[str]:
    """Staging folders and temporary files of runs anywhere under the output folder."""
    return sorted(str(p.relative_to(out)) for pattern in workspace.STAGING_PATTERNS for p in out.rglob(pattern))


# --- the recordings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    path: Path
    title: str
    sha: str
    seconds: float
    audio_only: bool


def make_recordings(media: Path, count: int, rng: random.Random) -> list[Recording]:
    """`count` distinct cuts of the sample (10–40 s, every third audio only), each with a sidecar."""
    media.mkdir(parents=True)
    sidecar = yaml.safe_load(SAMPLE_SIDECAR.read_text())
    recordings: list[Recording] = []
    for number in range(count):
        seconds = rng.randint(10, 40)
        offset = round(rng.uniform(0, 88 - seconds), 1)
        audio_only = number % 3 == 2
        name = f"sessie-{number + 1:02d}"
        path = media / (f"{name}.m4a" if audio_only else f"{name}.mp4")
        codec = ["-vn", "-c:a", "copy"] if audio_only else ["-c", "copy"]
        subprocess.run(
            [ffmpeg_binary(), "-v", "error", "-y", "-ss", str(offset), "-i", str(SAMPLE), "-t", str(seconds)]
            + [*codec, str(path)],
            check=True,
            timeout=120,
        )
        title = f"{TOPICS[number % len(TOPICS)]} ({number + 1})"
        (media / f"{name}.yaml").write_text(
            yaml.safe_dump({**sidecar, "title": title, "date": f"2026-03-{number % 28 + 1:02d}"}, allow_unicode=True)
        )
        recordings.append(Recording(path, title, sha256(path), seconds, audio_only))
    if len({r.sha for r in recordings}) != len(recordings):
        raise SystemExit("two cuts came out identical: choose another --seed")
    return recordings


def sha256(path: Path) -> str:
    """The file's SHA-256, as sessions are identified."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- Prefect: server, pool, deployment, worker --------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_env(work: Path, api_url: str, run_id: str) -> dict[str, str]:
    """The environment of every command: the bench's own Prefect home, database and server."""
    return {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{work / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PWD": str(REPO),
        "COLUMNS": "300",
        TAG: run_id,
    }


def start_background(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A long-running command in a process group of its own, its output to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_background(
    process: subprocess.Popen[bytes], timeout: float = 20, stop: signal.Signals = signal.SIGTERM
) -> int | None:
    """Send `stop` to the process group, SIGKILL it when it has not ended within `timeout`; the exit code
    (None when it had to be killed)."""
    try:
        os.killpg(process.pid, stop)
    except ProcessLookupError:
        pass
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process.pid)
        process.wait()
        return None


def wait_healthy(api_url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until the server answers its health check; stop the bench when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"prefect server exited with {server.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"prefect server not healthy after {timeout} s")


class Worker:
    """`prefect worker start` on the pool; each start carries its own tag, so that what a kill leaves
    behind is found."""

    def __init__(self, env: dict[str, str], work: Path, limit: int) -> None:
        self.env, self.work, self.limit = env, work, limit
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def tag(self) -> str:
        """The tag of this start's processes."""
        return f"{self.env[TAG]}:worker-{self.starts}"

    def start(self) -> None:
        self.starts += 1
        command = [PREFECT, "worker", "start", "--pool", "livecast", "--type", "process", "--limit", str(self.limit)]
        self.process = start_background(command, {**self.env, TAG: self.tag}, self.work / "worker.log")

    def kill(self) -> list[str]:
        """SIGKILL the worker's process group and those of its flow runs (each in a session of its own),
        as when the machine dies; the processes still there 15 s later (then killed)."""
        assert self.process is not None
        groups = {group for pid in tagged_processes(self.tag) if (group := _group_of(pid)) is not None}
        for group in groups | {self.process.pid}:
            kill_group(group)
        self.process.wait()
        deadline = time.monotonic() + 15
        while (left := tagged_processes(self.tag)) and time.monotonic() < deadline:
            time.sleep(0.5)
        names = process_names(left)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return names

    def stop(self) -> int | None:
        """SIGTERM the worker (it stops its flow runs); its exit code."""
        return stop_background(self.process) if self.process is not None else None


def _group_of(pid: int) -> int | None:
    """The process group of a process, None when it has ended."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


@contextmanager
def prefect_stack(ledger: Ledger, work: Path, env: dict[str, str], worker_limit: int) -> Iterator[Worker]:
    """A Prefect server on the environment's loopback port, the pool and deployments, and a worker (started)."""
    api_url = env["PREFECT_API_URL"]
    port = api_url.split(":")[2].split("/")[0]
    server_env = {**env, TAG: f"{env[TAG]}:server"}
    server = start_background(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port], server_env, work / "server.log"
    )
    worker = Worker(env, work, worker_limit)
    try:
        wait_healthy(api_url, server, 180)
        pool = [PREFECT, "work-pool", "create", "livecast", "--type", "process"]
        run_step(ledger, "prefect work-pool create", pool, env, 180)
        run_step(ledger, "prefect deploy --all", [PREFECT, "deploy", "--all"], env, 300)
        worker.start()
        yield worker
    finally:
        code = worker.stop()
        ledger.add(Step("prefect worker (SIGTERM at the end)", code, 0.0, code is None, "stopped"))
        code = stop_background(server)
        ledger.add(Step("prefect server (SIGTERM at the end)", code, 0.0, code is None, "stopped"))


# --- phase 1: the flow runs, with the worker killed -------------------------------------------------


def submit(recording: Recording, out: Path) -> str:
    """One `livecast-folder` flow run for the recording; its id."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(
        FOLDER_DEPLOYMENT,
        parameters={"paths": [str(recording.path)], "settings": {"output_dir": str(out)}},
        timeout=0,
        as_subflow=False,
    )
    return str(flow_run.id)


def flow_run_states(flow_run_ids: list[str]) -> dict[str, tuple[str, str, float | None]]:
    """Per flow run: (state type, state name, seconds it has run or ran; None before it starts)."""
    from prefect import get_client

    states = {}
    now = dt.datetime.now(dt.timezone.utc)
    with get_client(sync_client=True) as client:
        for flow_run_id in flow_run_ids:
            run = client.read_flow_run(flow_run_id)
            running = ((run.end_time or now) - run.start_time).total_seconds() if run.start_time else None
            states[flow_run_id] = (run.state.type.value, run.state.name, running) if run.state else ("NONE", "", None)
    return states


def mark_crashed(flow_run_id: str) -> None:
    """Tell Prefect the flow run crashed (it shows it running: its process is gone)."""
    from prefect import get_client
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Crashed(message="its worker was killed (the bench)"), force=True)


def process_recordings(
    ledger: Ledger, worker: Worker, recordings: list[Recording], out: Path, args: argparse.Namespace, rng: random.Random
) -> dict[str, str]:
    """Submit every recording, kill the worker after random shares of them are done, mark the runs it
    left running crashed and submit them again; the final state type per recording path."""
    current = {str(r.path): submit(r, out) for r in recordings}
    attempts = dict.fromkeys(current, 1)
    submitted_at = {run: time.monotonic() for run in current.values()}
    done: dict[str, str] = {}
    milestones = sorted(rng.sample(range(1, len(recordings)), min(args.kills, len(recordings) - 1)))
    kill_after: float | None = None
    run_lengths: list[float] = []
    """Seconds each completed flow run ran."""
    deadline = time.monotonic() + args.processing_timeout
    while len(done) < len(recordings) and time.monotonic() < deadline:
        time.sleep(2)
        waiting = {path: run for path, run in current.items() if path not in done}
        states = flow_run_states(list(waiting.values()))
        for path, run in waiting.items():
            kind, name, running = states[run]
            if kind in FINAL_STATES:
                ledger.flow_runs.append(
                    {
                        "recording": Path(path).name,
                        "run": run,
                        "state": name,
                        "attempt": attempts[path],
                        "seconds": round(time.monotonic() - submitted_at[run], 1),
                    }
                )
                if kind == "COMPLETED" and running is not None:
                    run_lengths.append(running)
                if kind == "COMPLETED" or attempts[path] >= args.max_attempts:
                    done[path] = kind
                else:  # an archivist submits a failed or crashed session again
                    current[path] = submit(recording_at(recordings, path), out)
                    submitted_at[current[path]] = time.monotonic()
                    attempts[path] += 1
                    ledger.resubmits += 1
            elif running is not None and running > args.flow_timeout:
                ledger.add(
                    Step(f"flow run {Path(path).name} (running past {args.flow_timeout} s)", None, running, True)
                )
                done[path] = "HUNG"
        # A kill lands while a flow run works (Running: past the worker's start-up of it), at a moment drawn
        # up to nine tenths of a finished run's length after it was seen working.
        working = any(states[run][0] == "RUNNING" for path, run in waiting.items() if path not in done)
        if milestones and len(done) >= milestones[0] and kill_after is None and working:
            longest = 0.9 * statistics.median(run_lengths) if run_lengths else 20
            kill_after = time.monotonic() + rng.uniform(1, max(longest, 5))
        if kill_after is not None and time.monotonic() >= kill_after and working:  # else at the next look
            milestones.pop(0)
            kill_after = None
            kill_and_recover(ledger, worker, current, done, attempts, submitted_at, recordings, out)
    for path in current:
        if path not in done:
            ledger.add(
                Step(
                    f"flow run {Path(path).name} (not finished by the phase's end)", None, args.processing_timeout, True
                )
            )
            done[path] = "HUNG"
    return done


def recording_at(recordings: list[Recording], path: str) -> Recording:
    """The recording at a path."""
    return next(r for r in recordings if str(r.path) == path)


def kill_and_recover(
    ledger: Ledger,
    worker: Worker,
    current: dict[str, str],
    done: dict[str, str],
    attempts: dict[str, int],
    submitted_at: dict[str, float],
    recordings: list[Recording],
    out: Path,
) -> None:
    """Kill the worker with its flow runs, see what Prefect says of the runs it had, mark those still
    running crashed, submit their recordings again and start a worker."""
    waiting = {path: run for path, run in current.items() if path not in done}
    states = flow_run_states(list(waiting.values()))
    in_flight = {path: run for path, run in waiting.items() if states[run][0] in ("RUNNING", "PENDING")}
    killed_at = time.monotonic()
    left = worker.kill()
    time.sleep(10)  # what Prefect shows a while after the kill
    after = flow_run_states(list(in_flight.values()))
    shown = {path: after[run][1] for path, run in in_flight.items()}
    ledger.kills.append(
        {
            "worker_start": worker.starts,
            "runs_in_flight": len(in_flight),
            "running_s": [round(states[run][2] or 0.0, 1) for run in in_flight.values()],
            "prefect_shows": sorted(set(shown.values())),
            "processes_left": left,
            "published_before": len(done),
        }
    )
    print(
        f"  kill {len(ledger.kills)}: {len(in_flight)} runs in flight, Prefect shows {shown}, left {left}", flush=True
    )
    for path, run in in_flight.items():
        if after[run][0] in ("RUNNING", "PENDING"):
            mark_crashed(run)
        ledger.flow_runs.append(
            {
                "recording": Path(path).name,
                "run": run,
                "state": f"killed ({shown[path]})",
                "attempt": attempts[path],
                "seconds": round(killed_at - submitted_at[run], 1),
            }
        )
        current[path] = submit(recording_at(recordings, path), out)
        submitted_at[current[path]] = time.monotonic()
        attempts[path] += 1
        ledger.resubmits += 1
    worker.start()


# --- the editors --------------------------------------------------------------------------------------


def published_slugs(out: Path) -> dict[str, list[str]]:
    """Recording hash → the folders of the site published from it."""
    found: dict[str, list[str]] = {}
    for manifest in sorted(workspace.site_dir(out).glob("*/session.json")):
        try:
            sha = json.loads(manifest.read_text())["recording"]["sha256"]
        except (OSError, ValueError, KeyError):
            continue
        found.setdefault(sha, []).append(manifest.parent.name)
    return found


def wait_published(out: Path, sha: str, until: float) -> str | None:
    """The folder the recording is first published in, once it is (None at `until`)."""
    while time.monotonic() < until:
        if slugs := published_slugs(out).get(sha):
            return slugs[0]
        time.sleep(2)
    return None


def workbench_editor(
    ledger: Ledger,
    env: dict[str, str],
    out: Path,
    recording: Recording,
    number: int,
    until: float,
    approve: bool = True,
    when: str = "",
) -> None:
    """`livecast edit` on the session once it is published: a segment's text gets a marker word, and
    with `approve` the summary is approved with a marker and the captions approved; then the session is
    published (tried again while runs work in the folder). `when` labels the changes in the report."""
    slug = wait_published(out, recording.sha, until)
    if slug is None:
        ledger.add(Step(f"workbench {recording.path.name}: never published", None, 0.0, True))
        return
    began = time.monotonic()
    log = out.parent / f"workbench-{number}.log"
    command = [
        *LIVECAST,
        "edit",
        slug,
        "--no-browser",
        "--port",
        "0",
        "--output",
        str(out),
        "--editor",
        f"Redactie {number}",
    ]
    server = start_background(command, {**env, "COLUMNS": "400"}, log)
    try:
        base, token = _workbench_address(log, server, timeout=120)
        headers = {"X-Livecast-Token": token}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            marker = f"REDACTIEX7W{number:02d}"
            session = client.get(f"/api/sessions/{slug}").json()
            segment = max(session["segments"], key=lambda s: len(s["text"]))
            answer = client.post(
                f"/api/sessions/{slug}/segments/{segment['id']}",
                json={"version": session["version"], "text": f"{segment['text']} {marker}"},
            )
            _expect(ledger, f"workbench {slug}: segment text", answer)
            if answer.status_code == 200:
                ledger.change(recording.sha, f"segment text (workbench{when})", marker, "captions, transcript")
            if approve:
                approve_texts(ledger, client, recording, slug, session, number)
            _publish_until_free(ledger, client, slug, until)
    except (httpx.HTTPError, TimeoutError, ValueError, KeyError) as exc:
        ledger.add(
            Step(
                f"workbench {slug}: {type(exc).__name__}", None, round(time.monotonic() - began, 1), note=str(exc)[:200]
            )
        )
    finally:
        code = stop_background(server, stop=signal.SIGINT)
        seconds = round(time.monotonic() - began, 1)
        ledger.add(Step(f"livecast edit {slug} (Ctrl-C at the end)", code, seconds, code is None))


def approve_texts(
    ledger: Ledger, client: httpx.Client, recording: Recording, slug: str, session: dict[str, Any], number: int
) -> None:
    """Through the workbench's API: the summary approved with a marker word put before it, and the captions."""
    summary = next((i for i in session["review"] if i["key"] == "session/summary"), None)
    if summary is not None:
        marker = f"SAMENVATX7W{number:02d}"
        text = f"{marker} {summary['generated_text']}"
        answer = client.post(f"/api/sessions/{slug}/review/session/summary", json={"decision": "approve", "text": text})
        _expect(ledger, f"workbench {slug}: approve summary", answer)
        if answer.status_code == 200:
            ledger.change(recording.sha, "summary approved (workbench)", marker, "page")
    answer = client.post(f"/api/sessions/{slug}/review/session/captions", json={"decision": "approve"})
    _expect(ledger, f"workbench {slug}: approve captions", answer)
    if answer.status_code == 200:
        ledger.change(recording.sha, "captions approved (workbench)", "captions.reviewed", "session.json, page")


def _workbench_address(log: Path, server: subprocess.Popen[bytes], timeout: float) -> tuple[str, str]:
    """The address and token `livecast edit` printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := re.search(r"(http://127\.0\.0\.1:\d+)/\S*\?token=([\w-]+)", log.read_text(errors="replace")):
            return found.group(1), found.group(2)
        if server.poll() is not None:
            raise TimeoutError(f"livecast edit exited with {server.returncode}: {log.read_text()[-300:]}")
        time.sleep(0.3)
    raise TimeoutError(f"livecast edit printed no address within {timeout} s")


def _expect(ledger: Ledger, name: str, answer: httpx.Response, seconds: float = 0.0) -> None:
    """An HTTP answer as a step: 200 is exit code 0."""
    note = "" if answer.status_code == 200 else answer.text[:200]
    ledger.add(
        Step(
            f"{name} (HTTP {answer.status_code})",
            0 if answer.status_code == 200 else answer.status_code,
            seconds,
            note=note,
        )
    )


def _publish_until_free(ledger: Ledger, client: httpx.Client, slug: str, until: float) -> None:
    """Publish through the workbench; while another run works in the folder (409) try again every 3 s."""
    began = time.monotonic()
    while True:
        answer = client.post(f"/api/sessions/{slug}/publish")
        if answer.status_code != 409 or "versie" in answer.text or time.monotonic() > until:
            break
        with ledger.lock:
            ledger.publish_busy += 1
        time.sleep(3)
    _expect(ledger, f"workbench {slug}: publish", answer, round(time.monotonic() - began, 1))


def cli_editor(
    ledger: Ledger, env: dict[str, str], out: Path, recording: Recording, number: int, until: float, timeout: float
) -> None:
    """`livecast speakers --rename` (a marker name), `livecast review` with scripted answers (the summary
    edited through $EDITOR with a marker, the rest approved), then `livecast publish`."""
    slug = wait_published(out, recording.sha, until)
    if slug is None:
        ledger.add(Step(f"cli {recording.path.name}: never published", None, 0.0, True))
        return
    output = ["--output", str(out)]
    step, text = run_step(
        ledger, f"livecast speakers {slug} --json", [*LIVECAST, "speakers", slug, "--json", *output], env, timeout
    )
    speakers = _json_in(text)
    if step.rc == 0 and speakers:
        name = f"Anna NAAMX7C{number:02d}"
        step, _ = run_step(
            ledger,
            f"livecast speakers {slug} --rename",
            [
                *LIVECAST,
                "speakers",
                slug,
                "--rename",
                f"{max(speakers, key=lambda s: float(s['speaks_s']))['id']}={name}",
                *output,
            ],
            env,
            timeout,
        )
        if step.rc == 0:
            ledger.change(recording.sha, "speaker renamed (cli)", name, "page, captions")
    step, text = run_step(
        ledger, "livecast review --list --json", [*LIVECAST, "review", "--list", "--json", *output], env, timeout
    )
    listed = next((row for row in _json_in(text) or [] if row.get("session") == slug), None)
    if listed is not None:
        marker = f"SAMENVATX7C{number:02d}"
        answers = "".join("e\n" if key == "session/summary" else "a\n" for key in listed["awaiting_review"])
        editor_env = {**env, "EDITOR": f"sed -i -e {shlex.quote('$a ' + marker)}", "VISUAL": ""}
        step, _ = run_step(
            ledger,
            f"livecast review {slug} (scripted)",
            [*LIVECAST, "review", slug, "--reviewer", f"Redactie C{number}", *output],
            editor_env,
            timeout,
            stdin=answers,
        )
        if step.rc == 0 and "session/summary" in listed["awaiting_review"]:
            ledger.change(recording.sha, "summary edited and approved (cli)", marker, "page")
    run_step(ledger, f"livecast publish {slug}", [*LIVECAST, "publish", slug, *output], env, timeout)


def _json_in(text: str) -> list[dict[str, object]] | None:
    """The JSON list at the start of a command's output (stdout comes first)."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def start_editors(
    ledger: Ledger, env: dict[str, str], out: Path, recordings: list[Recording], args: argparse.Namespace
) -> list[threading.Thread]:
    """Editors' threads: the first sessions on the workbench, the next by the command line."""
    until = time.monotonic() + args.processing_timeout + 300
    threads = []
    for number, recording in enumerate(recordings[: args.workbench_editors], 1):
        threads.append(threading.Thread(target=workbench_editor, args=(ledger, env, out, recording, number, until)))
    cli = recordings[args.workbench_editors : args.workbench_editors + args.cli_editors]
    for number, recording in enumerate(cli, 1):
        threads.append(
            threading.Thread(target=cli_editor, args=(ledger, env, out, recording, number, until, args.step_timeout))
        )
    for thread in threads:
        thread.start()
    return threads


# --- phase 2: the archivist's rerun; phase 3: a nearly full disk -------------------------------------


def rerun_folder(
    ledger: Ledger, env: dict[str, str], media: Path, out: Path, recordings: list[Recording], args: argparse.Namespace
) -> str:
    """One sidecar's title changed, then the whole folder again as one flow run while editors correct
    sessions in the workbench (publishing once the rerun is done); its final state."""
    renamed = recordings[0].path.with_suffix(".yaml")
    sidecar = yaml.safe_load(renamed.read_text())
    sidecar["title"] = f"{sidecar['title']} (herzien)"
    renamed.write_text(yaml.safe_dump(sidecar, allow_unicode=True))
    from prefect.deployments import run_deployment

    began = time.monotonic()
    until = began + args.flow_timeout + 300
    flow_run = run_deployment(
        FOLDER_DEPLOYMENT,
        parameters={"paths": [str(media)], "settings": {"output_dir": str(out), "max_concurrent_sessions": 2}},
        timeout=0,
        as_subflow=False,
    )
    run = str(flow_run.id)
    while not other_run_alive(out) and not _final(run) and time.monotonic() < began + args.flow_timeout:
        time.sleep(0.5)  # the editors start once the rerun holds the output folder
    editors = [
        threading.Thread(
            target=workbench_editor,
            args=(ledger, env, out, recording, 50 + number, until, False, ", during the rerun"),
        )
        for number, recording in enumerate(recordings[1 : 1 + args.rerun_editors], 1)
    ]
    for thread in editors:
        thread.start()
    while not _final(run) and time.monotonic() < began + args.flow_timeout:
        time.sleep(2)
    seconds = round(time.monotonic() - began, 1)
    kind, name, _ = flow_run_states([run])[run]
    ledger.add(
        Step(
            "rerun of the folder (flow run, one title changed)",
            0 if kind == "COMPLETED" else 1,
            seconds,
            not _final(run),
            note=name,
        )
    )
    for thread in editors:
        thread.join(timeout=until - time.monotonic() + 60)
    return name


def _final(flow_run_id: str) -> bool:
    """Whether the flow run has ended (completed, failed, crashed, cancelled)."""
    return flow_run_states([flow_run_id])[flow_run_id][0] in FINAL_STATES


def nearly_full_disk(
    ledger: Ledger, work: Path, out: Path, extra: Path, run_id: str, timeout: float
) -> dict[str, object]:
    """A copy of the output folder on a tmpfs with 128 KiB free (private mount namespace): `livecast run`
    of a new recording must fail with one line and leave the copy's site intact."""
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        return {"skipped": "no `unshare -rm` here"}
    full = work / "full"
    full.mkdir()
    used = int(subprocess.run(["du", "-sb", str(out)], capture_output=True, text=True, check=True).stdout.split()[0])
    size_k = (used * 11 // 10) // 1024 + 4096
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_HOME": str(work / "prefect-full"), TAG: f"{run_id}:full-disk", "COLUMNS": "300"})
    script = "\n".join(
        [
            f"mount -t tmpfs -o size={size_k}k tmpfs {full}",
            f"cp -a {out}/. {full}/",
            f"free=$(df -B1 --output=avail {full} | tail -1); head -c $((free - 131072)) /dev/zero > {full}/.filler",
            f'timeout {int(timeout)} {sys.executable} -m livecastpipe run {extra} --output {full} --quiet; echo "rc=$?" >&2',
            f"rm -f {full}/.filler; {sys.executable} {Path(__file__)} --check-site {full}",
        ]
    )
    step, text = run_step(
        ledger,
        "livecast run on a nearly full disk",
        ["unshare", "-rm", "sh", "-c", script],
        env,
        timeout + 120,
        expected="non-zero",
    )
    run_rc = re.search(r"rc=(\d+)", text)
    errors = [line for line in text.splitlines() if line.startswith("error")]
    check = _json_in(text[text.find("[{") :]) if "[{" in text else None
    result = {
        "rc": int(run_rc.group(1)) if run_rc else None,
        "error_lines": errors,
        "traceback": "Traceback" in text,
        "site": check[0] if check else None,
    }
    step.rc = result["rc"] if isinstance(result["rc"], int) else step.rc
    step.note = " / ".join(errors)[:300]
    return result


def site_check(out: Path) -> dict[str, object]:
    """Whether every published file matches its manifest's SHA-256, and the staging left."""
    broken = []
    sessions = 0
    for manifest_path in sorted(workspace.site_dir(out).glob("*/session.json")):
        sessions += 1
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            path = manifest_path.parent / entry["path"]
            if not path.is_file() or sha256(path) != entry["sha256"]:
                broken.append(f"{manifest_path.parent.name}/{entry['path']}")
    catalogue = (workspace.site_dir(out) / "index.html").is_file()
    return {"sessions": sessions, "broken_files": broken, "catalogue": catalogue, "staging_left": staging_left(out)}


# --- the final checks ---------------------------------------------------------------------------------


def changes_present(out: Path, changes: list[dict[str, object]]) -> list[dict[str, object]]:
    """Each change with the published folders of its session, those that show it, and whether all do."""
    by_sha = published_slugs(out)
    site = workspace.site_dir(out)
    checked = []
    for change in changes:
        folders = [site / slug for slug in by_sha.get(str(change["sha"]), [])]
        marker, kind = str(change["marker"]), str(change["kind"])
        if marker == "captions.reviewed":
            showing = [f for f in folders if _captions_reviewed(f)]
        elif kind.startswith("segment"):
            showing = [f for f in folders if marker in _captions(f) and marker in _read(f / "transcript.txt")]
        elif kind.startswith("speaker"):
            showing = [f for f in folders if marker in _read(f / "index.html") and marker in _captions(f)]
        else:
            showing = [f for f in folders if marker in _read(f / "index.html")]
        checked.append(
            {
                **change,
                "folders": [f.name for f in folders],
                "showing": [f.name for f in showing],
                "present": bool(folders) and len(showing) == len(folders),
            }
        )
    return checked


def _captions_reviewed(folder: Path) -> bool:
    manifest = json.loads(_read(folder / "session.json") or "{}")
    page = _read(folder / "index.html")
    return bool(manifest.get("captions", {}).get("reviewed")) and not any(text in page for text in UNLINKED)


def _captions(folder: Path) -> str:
    return "".join(_read(p) for p in sorted(folder.glob("captions.*.vtt")))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def duplicates(out: Path) -> dict[str, object]:
    """Recordings published in more than one folder, and listed more than once in the catalogue and the
    feeds (audio and video: their items' guid is the recording's SHA-256)."""
    by_sha = published_slugs(out)
    site = workspace.site_dir(out)
    catalogue = _read(site / "index.html")
    feeds = [_read(site / "feed.xml"), _read(site / "feed-video.xml")]
    twice = {sha[:12]: slugs for sha, slugs in by_sha.items() if len(slugs) > 1}
    listed = sum(max(0, sum(f'href="{slug}/' in catalogue for slug in slugs) - 1) for slugs in by_sha.values())
    in_feed = sum(max(0, feed.count(f">{sha}</guid>") - 1) for sha in by_sha for feed in feeds)
    return {"folders": twice, "catalogue": listed, "feed": in_feed}


# --- report -------------------------------------------------------------------------------------------


def commit() -> str:
    """The checked-out commit, for the report."""
    done = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %cs"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def report(figures: dict[str, Any], ledger: Ledger, args: argparse.Namespace) -> None:
    """Print the table and write bench/results/conference.json and .md."""
    steps = ledger.steps
    checked = figures["changes"]
    unexpected = [s for s in steps if not s.as_expected]
    lines = [
        "# The unattended conference",
        "",
        f"{figures['when']}, commit {figures['commit']}, on a shared {os.cpu_count()}-core machine (load average "
        f"{figures['load_start']} at the start, {figures['load_end']} at the end); {figures['minutes']} min in all. "
        f"{args.recordings} cuts of the sample ({figures['audio_s']} s of audio, {figures['audio_only']} audio only), "
        f"each with a sidecar, one `livecast-folder` flow run each on a Prefect server, pool and worker "
        f"(`--limit {args.worker_limit}`) on loopback; the worker killed {len(ledger.kills)} times with its flow runs "
        f"(seed {args.seed}); {args.workbench_editors} sessions edited in the workbench (HTTP API), {args.cli_editors} "
        "with `livecast speakers` / `review` / `publish`; then the folder rerun as one flow run with one title "
        f"changed while {args.rerun_editors} sessions were corrected in the workbench, and one `livecast run` on a "
        "copy of the output on a nearly full tmpfs.",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
    ]
    for name, value, goal in figures["table"]:
        lines.append(f"| {name} | {value} | {goal} |")
    lines += [
        "",
        "## Kills",
        "",
        "| kill | runs in flight | running for (s) | Prefect shows them, 10 s later | processes left | sessions done before |",
        "|---|---|---|---|---|---|",
    ]
    for number, kill in enumerate(ledger.kills, 1):
        lines.append(
            f"| {number} | {kill['runs_in_flight']} | {', '.join(map(str, kill['running_s'])) or '–'} | "
            f"{', '.join(kill['prefect_shows']) or '–'} | "
            f"{', '.join(kill['processes_left']) or 'none'} | {kill['published_before']} |"
        )
    lines += [
        "",
        "## Editors' changes",
        "",
        "| published folders of the session | change | marker | looked for in | folders showing it |",
        "|---|---|---|---|---|",
    ]
    for change in checked:
        shown = f"{len(change['showing'])} of {len(change['folders'])}"
        lines.append(
            f"| {', '.join(change['folders']) or '(none)'} | {change['kind']} | {change['marker']} | {change['by']} | "
            f"{shown if change['present'] else f'**{shown}**'} |"
        )
    lines += ["", "## Commands not as expected", ""]
    lines += [
        f"- `{s.name}`: exit {s.rc}{' (hang)' if s.hung else ''}, expected {s.expected}. {s.note}".rstrip()
        for s in unexpected
    ] or ["none"]
    lines += ["", f"All {len(steps)} commands and answers (exit code, seconds) are in `conference.json`.", ""]
    data = {
        **figures,
        "steps": [asdict(s) for s in steps],
        "kills": ledger.kills,
        "flow_runs": ledger.flow_runs,
        "table": [{"figure": name, "value": value, "goal": goal} for name, value, goal in figures["table"]],
    }
    write_report("conference", data, "\n".join(lines))


# --- main ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the phases left, for the final checks."""

    out: Path
    recordings: list[Recording]
    finals: dict[str, str]
    """Per recording, the state of its last flow run in the first phase."""
    published_first: int
    rerun_state: str
    disk: dict[str, object]
    left: list[str]
    """Processes of the bench still alive once everything was stopped."""


def run_conference(ledger: Ledger, work: Path, run_id: str, args: argparse.Namespace) -> Outcome:
    """The phases: recordings, flow runs with kills and editors, the rerun, the nearly full disk."""
    rng = random.Random(args.seed)
    media, out = work / "media", work / "output"
    recordings = make_recordings(media, args.recordings + 1, rng)
    extra = recordings.pop()  # the full disk's new recording, not in the folder
    extra_path = work / extra.path.name
    extra.path.rename(extra_path)
    extra.path.with_suffix(".yaml").rename(extra_path.with_suffix(".yaml"))
    print(f"{len(recordings)} recordings in {media}", flush=True)
    env = prefect_env(work, f"http://127.0.0.1:{free_port()}/api", run_id)
    os.environ.update({name: env[name] for name in ("PREFECT_HOME", "PREFECT_API_URL")})  # this process's client
    with prefect_stack(ledger, work, env, args.worker_limit) as worker:
        editors = start_editors(ledger, env, out, recordings, args)
        finals = process_recordings(ledger, worker, recordings, out, args, rng)
        for thread in editors:
            thread.join(timeout=args.processing_timeout + 600)
        published_first = len(published_slugs(out))
        rerun_state = rerun_folder(ledger, env, media, out, recordings, args)
    time.sleep(5)
    left = process_names(tagged_processes(run_id))
    disk = nearly_full_disk(ledger, work, out, extra_path, run_id, args.step_timeout)
    left += [p for p in process_names(tagged_processes(run_id)) if p not in left]
    return Outcome(out, recordings, finals, published_first, rerun_state, disk, left)


def full_disk_ok(disk: dict[str, object], sessions: object) -> bool:
    """The nearly full disk's run failed with one line, no traceback, and left every session intact."""
    site = disk.get("site")
    lines = disk.get("error_lines")
    return (
        disk.get("rc") not in (0, None)
        and isinstance(lines, list)
        and len(lines) == 1
        and not disk.get("traceback")
        and isinstance(site, dict)
        and not site.get("broken_files")
        and site.get("sessions") == sessions
    )


def summary(outcome: Outcome, ledger: Ledger, args: argparse.Namespace) -> dict[str, Any]:
    """The figures (the table's rows: figure, value, goal) and the checks behind them."""
    checked = changes_present(outcome.out, ledger.changes)
    twice = duplicates(outcome.out)
    site = site_check(outcome.out)
    published = published_slugs(outcome.out)
    recordings, disk = outcome.recordings, outcome.disk
    count = len(recordings)
    hangs = [s.name for s in ledger.steps if s.hung]
    unexpected = [s for s in ledger.steps if not s.as_expected]
    completed = sum(v == "COMPLETED" for v in outcome.finals.values())
    error_lines = disk.get("error_lines")
    table = [
        (
            "sessions published (recordings with a published folder)",
            f"{sum(r.sha in published for r in recordings)} / {count}",
            str(count),
        ),
        ("… after the first phase, before the rerun", str(outcome.published_first), str(count)),
        ("flow runs completed at the first phase's end", f"{completed} / {count}", str(count)),
        ("resubmits (crashed or failed runs submitted again)", str(ledger.resubmits), "–"),
        ("worker kills landed", f"{len(ledger.kills)} / {args.kills}", str(args.kills)),
        ("editor changes present / made", f"{sum(bool(c['present']) for c in checked)} / {len(checked)}", "all"),
        ("workbench publishes refused while a run worked (tried again)", str(ledger.publish_busy), "–"),
        ("rerun of the folder (one title changed)", outcome.rerun_state, "Completed"),
        ("duplicate sessions: folders of one recording", str(len(twice["folders"])), "0"),
        ("duplicate sessions: catalogue / feed entries", f"{twice['catalogue']} / {twice['feed']}", "0 / 0"),
        ("hangs (a command or flow run past its limit)", str(len(hangs)), "0"),
        ("processes left (after the worker kills)", str(sum(len(k["processes_left"]) for k in ledger.kills)), "0"),
        ("processes left (at the end)", str(len(outcome.left)), "0"),
        ("staging folders and temporary files left", str(len(site["staging_left"])), "0"),
        ("published files not matching their manifest", str(len(site["broken_files"])), "0"),
        (
            "nearly full disk: exit code, error lines, traceback",
            f"{disk.get('rc')}, {len(error_lines) if isinstance(error_lines, list) else '–'}, {disk.get('traceback')}",
            "non-zero, 1, False",
        ),
        (
            "nearly full disk: site intact afterwards",
            "yes" if full_disk_ok(disk, site["sessions"]) else "**no**",
            "yes",
        ),
        ("commands with an unexpected exit code", f"{len(unexpected)} of {len(ledger.steps)}", "0"),
    ]
    return {
        "table": table,
        "changes": checked,
        "duplicates": twice,
        "site": site,
        "full_disk": disk,
        "processes_left": outcome.left,
        "hangs": hangs,
        "audio_s": sum(r.seconds for r in recordings),
        "audio_only": sum(r.audio_only for r in recordings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=13)
    parser.add_argument("--kills", type=int, default=3, help="worker kills, at random moments")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker-limit", type=int, default=2, help="flow runs at once on the worker")
    parser.add_argument("--workbench-editors", type=int, default=5)
    parser.add_argument("--cli-editors", type=int, default=4)
    parser.add_argument("--rerun-editors", type=int, default=2, help="sessions corrected during the rerun")
    parser.add_argument("--max-attempts", type=int, default=4, help="submissions of one recording at most")
    parser.add_argument("--flow-timeout", type=float, default=900, help="a flow run running longer is a hang")
    parser.add_argument("--processing-timeout", type=float, default=1500, help="the whole first phase")
    parser.add_argument("--step-timeout", type=float, default=300, help="each command")
    parser.add_argument("--check-site", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_site:  # run inside the full disk's mount namespace
        print(json.dumps([site_check(args.check_site)]))
        return
    started = time.monotonic()
    load_start = round(os.getloadavg()[0], 1)
    ledger = Ledger()
    with tempfile.TemporaryDirectory(prefix="livecast-conference-") as folder:
        outcome = run_conference(ledger, Path(folder), f"{os.getpid()}-{int(time.time())}", args)
        figures = summary(outcome, ledger, args)
    figures.update(
        when=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit=commit(),
        load_start=load_start,
        load_end=round(os.getloadavg()[0], 1),
        minutes=round((time.monotonic() - started) / 60, 1),
        seed=args.seed,
    )
    report(figures, ledger, args)


if __name__ == "__main__":
    main()
