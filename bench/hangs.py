"""Does `livecast run` ever freeze, or leave a child behind, while the machine is loaded (issue #26)?

`livecast run` of a short clip of the sample, again and again, each into a fresh output folder (so each
run transcribes, makes its media and indexes anew, and starts its own temporary Prefect server), while
two background processes keep OpenBLAS busy. A run still going after `--timeout-factor` times the first
run's wall time is a hang: it is killed with `kill -9` (its children must then die too). After each run,
any process of it still alive is a leftover: a process of the run's process session, or one whose
command line names the run's output folder (ffmpeg, Pagefind, Prefect's server).

    nice .venv/bin/python bench/hangs.py [--runs 20] [--clip 20] [--commit SHA]

`--commit` runs another commit's code (its tree exported with `git archive`, put first on PYTHONPATH)
with this environment, e.g. the code before the fix. Prints the figures and writes
bench/results/hangs.json and .md (hangs-<commit>.* with `--commit`). Goals: 0 hangs, 0 leftovers.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_report  # noqa: E402
from livecastpipe.processes import run_child  # noqa: E402
from tests.conftest import SAMPLE, run_ffmpeg  # noqa: E402
from tests.kill_harness import run_env, session_processes, start_run  # noqa: E402

BLAS_LOAD = """
import numpy as np
matrix = np.random.rand(400, 400)
while True:
    matrix @ matrix
"""
"""A background process that keeps OpenBLAS computing, one thread (one core) busy."""

FIRST_RUN_TIMEOUT_S = 900.0
MIN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Run:
    """One run: its exit status (None: it hung and was killed), wall time, leftovers and last log line."""

    number: int
    exit: int | None
    seconds: float
    leftovers: list[str]
    note: str


def leftovers(run_pid: int, out: Path) -> list[str]:
    """Processes of the run still alive (not zombies): of its process session, or naming its output folder."""
    folder = str(out).encode()
    found = set(session_processes(run_pid))
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if folder in cmdline.read_bytes() and _state(int(cmdline.parent.name)) not in ("Z", None):
                found.add(int(cmdline.parent.name))
        except OSError:
            continue
    return [_describe(pid) for pid in sorted(found)]


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _describe(pid: int) -> str:
    """`pid name arguments…` of a process, shortened."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return f"{pid} (gone)"
    return f"{pid} {' '.join(words)[:120]}"


def leftovers_after(run_pid: int, out: Path, grace_s: float = 10.0) -> list[str]:
    """The run's leftovers once the kernel had `grace_s` to deliver the parent-death signals; then killed."""
    deadline = time.monotonic() + grace_s
    while (left := leftovers(run_pid, out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for line in left:
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def child_start_ms(count: int = 30) -> tuple[float, float]:
    """Median milliseconds to run `true` to its end: through the exec shim (run_child), and plainly."""
    shim, plain = [], []
    for _ in range(count):
        began = time.perf_counter()
        run_child(["true"])
        shim.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        subprocess.run(["true"])
        plain.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(shim), 1), round(statistics.median(plain), 1)


def exported_tree(commit: str, target: Path) -> Path:
    """The commit's files in `target` (git archive), for running another commit's code."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
    target.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clip", type=float, default=20.0, help="seconds of the sample each run processes")
    parser.add_argument("--timeout-factor", type=float, default=10.0, help="a hang: this many first runs long")
    parser.add_argument("--commit", help="run this commit's code instead of the working tree's")
    args = parser.parse_args()
    rows: list[Run] = []
    loads = [
        subprocess.Popen(
            [sys.executable, "-c", BLAS_LOAD], env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, start_new_session=True
        )
        for _ in range(2)
    ]
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="livecast-hangs-") as folder:
            tmp = Path(folder)
            media = tmp / "media"
            media.mkdir()
            run_ffmpeg("-i", str(SAMPLE), "-t", str(args.clip), "-c", "copy", str(media / "lezing.mp4"))
            env = run_env(tmp)
            if args.commit:
                tree = exported_tree(args.commit, tmp / "tree")
                env["PYTHONPATH"] = f"{tree / 'src'}{os.pathsep}{tree}"
            shim_ms, plain_ms = child_start_ms()
            timeout = FIRST_RUN_TIMEOUT_S
            for number in range(1, args.runs + 1):
                out = tmp / f"out-{number}"
                log = tmp / f"run-{number}.log"
                run = start_run(media, out, env, log)
                started = time.monotonic()
                try:
                    code: int | None = run.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.kill(run.pid, signal.SIGKILL)
                    run.wait()
                    code = None
                wall = time.monotonic() - started
                left = leftovers_after(run.pid, out)
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if code != 0 else []
                rows.append(Run(number, code, round(wall, 1), left, " ".join(tail)))
                print(rows[-1], flush=True)
                if number == 1 and code is not None:
                    timeout = max(MIN_TIMEOUT_S, args.timeout_factor * wall)
    finally:
        for load in loads:
            load.kill()
            load.wait()

    hangs = [r for r in rows if r.exit is None]
    failed = [r for r in rows if r.exit not in (0, None)]
    left = [line for r in rows for line in r.leftovers]
    finished = [r.seconds for r in rows if r.exit is not None]
    code_name = f"commit {args.commit}" if args.commit else "the working tree"
    summary = f"hangs: {len(hangs)} / {len(rows)}, leftover processes: {len(left)}, failed runs: {len(failed)}"
    lines = [
        "# Hangs and leftover children: `livecast run` on a loaded machine",
        "",
        f"{len(rows)} runs of {code_name} on a {args.clip:g} s clip of the sample, each into a fresh output folder "
        "(transcription, media, search index and a temporary Prefect server every time), while two background "
        "processes kept OpenBLAS busy (one core each) on a 2-core machine shared with other work; "
        f"{(time.monotonic() - began) / 60:.0f} min in all. A run still going after {args.timeout_factor:g}× the "
        f"first run's time (at least {MIN_TIMEOUT_S:.0f} s) counts as a hang and is killed with `kill -9`. "
        "A leftover is a process of the run (its process session, or naming its output folder) alive 10 s after "
        "the run ended.",
        "",
        f"**{summary}**",
        "",
        f"Run wall time: median {statistics.median(finished):.0f} s, max {max(finished):.0f} s."
        if finished
        else "No run finished.",
        f"Starting a child through the exec shim (`run_child(['true'])`, a bare `python -I -S` that arms the "
        f"parent-death signal, then exec): median {shim_ms} ms, against {plain_ms} ms for `subprocess.run` "
        "(under the same load).",
        "",
        "| run | exit | seconds | leftovers | note |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        exit_text = "**hang (killed)**" if r.exit is None else str(r.exit)
        note = r.note[:150].replace("|", "/")
        lines.append(f"| {r.number} | {exit_text} | {r.seconds} | {'; '.join(r.leftovers) or 'none'} | {note} |")
    name = f"hangs-{args.commit[:7]}" if args.commit else "hangs"
    write_report(
        name,
        {"summary": summary, "commit": args.commit, "clip_s": args.clip, "shim_ms": shim_ms, "plain_ms": plain_ms}
        | {"rows": [asdict(r) for r in rows]},
        "\n".join(lines) + "\n",
    )
    print(summary)


if __name__ == "__main__":
    main()
