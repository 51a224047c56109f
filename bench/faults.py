"""The full fault-injection sweep: `livecast run` killed with `kill -9` at a moment of every stage (one
output folder, each run resuming the one killed before), then at random moments (each in a fresh output
folder, killed once, then run again). Every run starts its own temporary Prefect server, as a user's does.

    nice python bench/faults.py [--random 8] [--seed 17]

A kill point survives when the kill left no process of the run, no half-made session showed before the
first publish (no private folder, nothing in `review --list`), and the rerun published the site an
uninterrupted run publishes (time fields aside) with no staging left. Prints "kill points survived /
tried" and writes bench/results/faults.json and .md. The CI test (tests/test_kill.py) runs 6 of them.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_report  # noqa: E402
from tests.conftest import SAMPLE, run_ffmpeg  # noqa: E402
from tests.kill_harness import (  # noqa: E402
    STAGE_POINTS,
    KillPoint,
    Sweep,
    differences,
    kill_at,
    run_env,
    site,
    staging_left,
    start_run,
    started,
)

CLIP_S = 10


def _outcome(sweep: Sweep, out: Path, reference: dict[str, object]) -> tuple[bool, str]:
    """Whether the rerun after the sweep's kills published the reference site with no staging left."""
    if sweep.final_exit != 0:
        return False, f"the rerun exited {sweep.final_exit}"
    if (differs := differences(site(out), reference)) or (left := staging_left(out)):
        return False, "; ".join(differs[:3]) if differs else f"staging left: {left[:3]}"
    return True, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--random", type=int, default=8, help="random moments after the stage sweep")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows: list[dict[str, object]] = []
    started_at = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="livecast-faults-") as folder:
        tmp = Path(folder)
        media = tmp / "media"
        media.mkdir()
        run_ffmpeg("-i", str(SAMPLE), "-t", str(CLIP_S), "-c", "copy", str(media / "lezing.mp4"))
        env = run_env(tmp)
        began = time.monotonic()
        if start_run(media, tmp / "reference", env).wait(timeout=900) != 0:
            raise SystemExit("the uninterrupted run failed")
        run_s = time.monotonic() - began
        reference = site(tmp / "reference")

        def record(sweep: Sweep, points: list[KillPoint], out: Path, kind: str) -> None:
            ok, why = _outcome(sweep, out, reference)
            for point in points:
                killed = point.name in sweep.killed
                problems = [p for p in sweep.problems if p.startswith(f"{point.name}: ")]
                clean = point.name in sweep.clean
                rows.append(
                    {
                        "kind": kind,
                        "point": point.name,
                        "killed": killed,
                        "seconds": sweep.seconds.get(point.name),
                        "after": sweep.after.get(point.name, "–"),
                        "no process left": clean,
                        "no half-made session": not problems,
                        "rerun equals reference": ok,
                        "survived": killed and clean and not problems and ok,
                        "note": "; ".join([*problems, why]) if killed else "finished before the kill",
                    }
                )
                print(rows[-1], flush=True)

        stages = list(STAGE_POINTS)
        record(kill_at(stages, media, tmp / "stages", env), stages, tmp / "stages", "stage")
        whole_s = run_s  # how long a whole run takes now (the machine's load changes): moments are drawn below it
        for number in range(args.random):
            for attempt in range(3):
                moment = round(rng.uniform(0.5, whole_s), 1)
                point = KillPoint(f"random {number + 1}: {moment} s after start", started, moment)
                out = tmp / f"random-{number + 1}-{attempt + 1}"
                sweep = kill_at([point], media, out, env)
                if point.name in sweep.killed or attempt == 2:
                    break
                whole_s = sweep.seconds[point.name]  # finished first: draw again, below this run's length
            record(sweep, [point], out, "random")

    killed = [r for r in rows if r["killed"]]
    survived = [r for r in killed if r["survived"]]
    summary = f"kill points survived / tried: {len(survived)} / {len(killed)}"
    lines = [
        "# Fault injection: `livecast run` killed with `kill -9`",
        "",
        f"A {CLIP_S} s clip of the sample; an uninterrupted run took {run_s:.0f} s (start-up included), the whole "
        f"sweep {(time.monotonic() - started_at) / 60:.0f} min on a shared 2-core machine. {len(STAGE_POINTS)} "
        f"moments of every stage on one output folder (each run resuming the one killed before), then "
        f"{args.random} random moments (seed {args.seed}) each in a fresh folder, drawn below a whole run's length "
        "(drawn again, below the new length, when the run finished first). Every run starts its own "
        "temporary Prefect server.",
        "",
        f"**{summary}**"
        + (f" ({len(rows) - len(killed)} runs finished before their moment)" if len(rows) > len(killed) else ""),
        "",
        "| kind | kill point | killed after | last task finished | no process left | no half-made session "
        "| rerun = reference | survived | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    mark = {True: "yes", False: "**no**"}
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['point']} | {r['seconds'] or '–'} s | {r['after']} | {mark[bool(r['no process left'])]} | "
            f"{mark[bool(r['no half-made session'])]} | {mark[bool(r['rerun equals reference'])]} | "
            f"{mark[bool(r['survived'])] if r['killed'] else '–'} | {str(r['note']).replace('|', '/')} |"
        )
    write_report(
        "faults",
        {"summary": summary, "run_s": round(run_s, 1), "seed": args.seed, "rows": rows},
        "\n".join(lines) + "\n",
    )
    print(summary)


if __name__ == "__main__":
    main()
