"""`livecast run` against bare faster-whisper side by side, and the rerun of unchanged sessions (issue #30).

Used by `bench/run.py` (`--quick` runs only this): the recording is a 720p H.264 video of the fillets
conversations joined; pipeline and bare run in turn after a warm-up (pipeline, bare, pipeline, bare, ...),
each pair's ratio and the machine's load average recorded; peak memory is the whole process tree's
(the RSS of every process in it, summed, sampled every 50 ms). The reruns: one session, and a folder of
thirteen published sessions (each conversation's first `CLIP_S` seconds).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common import median

from livecastpipe.stages.ingest import ffmpeg_binary

BENCH = Path(__file__).resolve().parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLIP_S = 30
"""Seconds of each conversation in the folder of thirteen sessions whose rerun is timed."""


@dataclass(frozen=True)
class TreeRun:
    """One command's wall time, CPU time (its waited-for children included), the peak summed RSS of its
    process tree, its exit status and the one-minute load average when it started."""

    wall_s: float
    cpu_s: float
    tree_peak_mb: float
    returncode: int
    load_before: float


def _children() -> dict[int, list[int]]:
    """Every live process's children, by parent id."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    return children


def tree_rss_mb(root: int) -> float:
    """The summed resident memory of `root` and every process under it, MiB."""
    children, pending, total = _children(), [root], 0
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            continue
    return total / 2**20


def measure_tree(command: Sequence[str], env: dict[str, str], cwd: Path) -> TreeRun:
    """Run `command` to completion, sampling its process tree's memory every 50 ms."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    errors = threading.Thread(target=lambda: process.stderr.read() if process.stderr else None, daemon=True)
    errors.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return TreeRun(
        round(wall, 2),
        round(usage.ru_utime + usage.ru_stime, 2),
        round(peak[0], 1),
        os.waitstatus_to_exitcode(status),
        round(load, 2),
    )


def video_of(audio: Path, target: Path) -> Path:
    """A 720p H.264 video (a still grey frame, 25 fps) with `audio` as its AAC sound, as a talk's recording."""
    if not target.is_file():
        partial = target.with_suffix(".partial.mp4")
        subprocess.run(
            [
                ffmpeg_binary(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=1280x720:r=25",
                "-i", str(audio), "-shortest", "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(partial),
            ],
            check=True,
        )  # fmt: skip
        partial.rename(target)
    return target


def paired_runs(video: Path, work: Path, env: dict[str, str], pairs: int) -> dict[str, Any]:
    """`livecast run` into a fresh output folder and bare faster-whisper on `video`, in turn, after a warm-up
    of each: every run, each pair's ratio, and the medians."""
    out = work / "side-by-side-out"
    pipeline = [sys.executable, "-m", "livecastpipe", "run", str(video), "--output", str(out), "--quiet"]
    bare = [sys.executable, str(BENCH / "bare_whisper.py"), str(work / "bare.json"), str(video)]
    runs: list[dict[str, Any]] = []
    for index in range(pairs + 1):  # the first pair warms the page cache and is not counted
        shutil.rmtree(out, ignore_errors=True)
        piped = measure_tree(pipeline, env, work)
        alone = measure_tree(bare, env, work)
        runs.append({"warm_up": index == 0, "pipeline": asdict(piped), "bare": asdict(alone)})
        print(runs[-1], flush=True)
    counted = [r for r in runs if not r["warm_up"]]
    ratios = [r["pipeline"]["wall_s"] / r["bare"]["wall_s"] for r in counted]
    memory = [r["pipeline"]["tree_peak_mb"] / r["bare"]["tree_peak_mb"] for r in counted]
    return {
        "runs": runs,
        "ratio_median": median(ratios),
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "cpu_ratio_median": median([r["pipeline"]["cpu_s"] / r["bare"]["cpu_s"] for r in counted]),
        "memory_ratio_median": median(memory),
        "pipeline_tree_peak_mb_median": median([r["pipeline"]["tree_peak_mb"] for r in counted]),
        "bare_tree_peak_mb_median": median([r["bare"]["tree_peak_mb"] for r in counted]),
        "failures": sum(1 for r in counted if r["pipeline"]["returncode"] or r["bare"]["returncode"]),
        "output": str(out),
    }


def thirteen_sessions(sources: Sequence[Path], folder: Path) -> Path:
    """A folder of thirteen recordings: the first `CLIP_S` seconds of each conversation (16 kHz FLAC)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in list(sources)[:13]:
        target = folder / source.name
        if not target.is_file():
            subprocess.run(
                [ffmpeg_binary(), "-v", "error", "-y", "-i", str(source), "-t", str(CLIP_S), str(target)], check=True
            )
    return folder


def rerun_times(target: Path, work: Path, env: dict[str, str], name: str, reruns: int) -> dict[str, Any]:
    """Publish `target` (a recording or a folder) into a fresh output folder, then time `reruns` reruns of it
    unchanged; the first rerun goes through the flow (the record of the last run is written by it), the
    next ones take the unchanged path."""
    out = work / f"rerun-{name}-out"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "livecastpipe", "run", str(target), "--output", str(out), "--quiet"]
    first = measure_tree(command, env, work)
    runs = [measure_tree(command, env, work) for _ in range(reruns)]
    return {
        "first_run_s": first.wall_s,
        "runs_s": [r.wall_s for r in runs],
        "load_before": [r.load_before for r in runs],
        "through_flow_s": runs[0].wall_s,
        "unchanged_median_s": median([r.wall_s for r in runs[1:]]) if len(runs) > 1 else None,
        "failures": sum(1 for r in [first, *runs] if r.returncode),
    }


def side_by_side(
    sources: Sequence[Path], references: dict[Path, str], work: Path, env: dict[str, str], pairs: int, reruns: int
) -> dict[str, Any]:
    """The comparison on the fillets conversations joined (about 13 minutes) as a 720p video, with the WER
    of both sides' last run, and the rerun times of one session and of thirteen."""
    from common import concatenate, concatenated_sources, word_error_rate

    from livecastpipe.workspace import site_dir

    audio = concatenate(list(sources), 13, work / "long-13min.flac")
    video = video_of(audio, work / "talk-13min-720p.mp4")
    compared = paired_runs(video, work, env, pairs)
    if references:
        reference = " ".join(references[a] for a in concatenated_sources(list(sources), 13))
        piped = next(site_dir(Path(compared["output"])).glob("*/transcript.json"))
        piped_text = " ".join(s["text"] for s in json.loads(piped.read_text())["segments"])
        bare_text = " ".join(json.loads((work / "bare.json").read_text()).values())
        compared["wer"] = {
            "pipeline": round(word_error_rate([reference], [piped_text]), 4),
            "bare": round(word_error_rate([reference], [bare_text]), 4),
        }
    return {
        "recording": f"{video.name}: {len(concatenated_sources(list(sources), 13))} conversations joined",
        "side_by_side": compared,
        "rerun_one": rerun_times(video, work, env, "one", reruns),
        "rerun_thirteen": rerun_times(thirteen_sessions(sources, work / "thirteen"), work, env, "thirteen", reruns),
    }


def side_by_side_markdown(data: dict[str, Any]) -> list[str]:
    """The comparison and the reruns as Markdown lines."""
    compared = data["side_by_side"]
    wer = compared.get("wer", {})
    lines = [
        f"## `livecast run` vs bare faster-whisper, side by side ({data['recording']})",
        "",
        "| pair | pipeline wall s | bare wall s | ratio | pipeline tree peak MB | bare tree peak MB | load before |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(compared["runs"]):
        piped, bare = run["pipeline"], run["bare"]
        label = "warm-up" if run["warm_up"] else str(number)
        lines.append(
            f"| {label} | {piped['wall_s']} | {bare['wall_s']} | {piped['wall_s'] / bare['wall_s']:.3f} | "
            f"{piped['tree_peak_mb']} | {bare['tree_peak_mb']} | {piped['load_before']} / {bare['load_before']} |"
        )
    lines += [
        "",
        f"Wall ratio pipeline / bare: median **{compared['ratio_median']}** (range "
        f"{compared['ratio_range'][0]}–{compared['ratio_range'][1]}); CPU time ratio {compared['cpu_ratio_median']}; "
        f"process-tree peak memory {compared['pipeline_tree_peak_mb_median']} MB against "
        f"{compared['bare_tree_peak_mb_median']} MB (**{compared['memory_ratio_median']}×**); WER pipeline "
        f"{wer.get('pipeline', '–')}, bare {wer.get('bare', '–')}; failed runs {compared['failures']}.",
        "",
    ]
    for key, what in (("rerun_one", "one session (the video above)"), ("rerun_thirteen", "thirteen sessions")):
        rerun = data[key]
        lines.append(
            f"Rerun of {what}, unchanged: first rerun (through the flow) {rerun['through_flow_s']} s, then "
            f"{rerun['unchanged_median_s']} s median (the unchanged path; runs {rerun['runs_s']}, load before "
            f"{rerun['load_before']}; first run {rerun['first_run_s']} s; failures {rerun['failures']})."
        )
    return lines
