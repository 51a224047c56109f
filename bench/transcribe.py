"""Pipeline vs bare faster-whisper on the same audio: WER, wall-time ratio, rerun time, peak memory.

    python bench/transcribe.py [--eval DIR] [--repeats 3] [--long-minutes 10] [--hour]

DIR holds NAME.{wav,flac,mp3,...} with NAME.txt (or fillets NAME.json) as reference; by default the
fillets conversations (real Dutch speech) are built into /tmp/livecast-bench/fillets. Writes
bench/results/transcribe.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

from common import (
    concatenate,
    eval_pairs,
    fillets_conversations,
    measure,
    median,
    word_error_rate,
    write_report,
)

BENCH = Path(__file__).resolve().parent
LIVECAST = [sys.executable, "-m", "livecastpipe", "run"]
BARE = [sys.executable, str(BENCH / "bare_whisper.py")]


def _env(work: Path) -> dict[str, str]:
    return {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(work / "prefect-home")}


def pipeline_texts(output: Path) -> dict[str, str]:
    from livecastpipe.workspace import session_private_dir, site_dir

    texts = {}
    for manifest in site_dir(output).glob("*/session.json"):
        stored = session_private_dir(output, manifest.parent.name) / "package.json"  # the public manifest names no path
        source = json.loads(stored.read_text())["recording"]["source"]
        transcript = json.loads((manifest.parent / "transcript.json").read_text())
        texts[str(Path(source).resolve())] = " ".join(s["text"] for s in transcript["segments"])
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, help="folder of audio + reference text")
    parser.add_argument("--work", type=Path, default=Path("/tmp/livecast-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--hour", action="store_true", help="also measure peak memory on 60 minutes")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work)
    folder = args.eval or fillets_conversations(work / "fillets")
    pairs = eval_pairs(folder)
    if not pairs:
        raise SystemExit(f"{folder}: no audio with reference text found")
    audio_files = [str(a.resolve()) for a, _ in pairs]

    # 1. accuracy: every file once through the pipeline and once bare
    out = work / "accuracy-out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / "prefect-home", ignore_errors=True)
    staged = work / "accuracy-in"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    for audio in audio_files:
        os.symlink(audio, staged / Path(audio).name)
    run_pipe = measure([*LIVECAST, str(staged), "--output", str(out)], env=env, cwd=work)
    pipe_texts = {str((staged / Path(k).name)): v for k, v in pipeline_texts(out).items()}
    pipe_texts = {str(Path(os.path.realpath(k))): v for k, v in pipe_texts.items()}
    bare_json = work / "bare.json"
    run_bare = measure([*BARE, str(bare_json), *audio_files], env=env, cwd=work)
    bare_texts = json.loads(bare_json.read_text())
    refs = [ref for _, ref in pairs]
    wer_pipe = word_error_rate(refs, [pipe_texts.get(a, "") for a in audio_files])
    wer_bare = word_error_rate(refs, [bare_texts[a] for a in audio_files])
    audio_minutes = None

    # 2. speed on a long recording, alternating runs; 3. rerun of the unchanged session
    long_file = concatenate([a for a, _ in pairs], args.long_minutes, work / f"long-{args.long_minutes:g}min.flac")
    import av

    with av.open(str(long_file)) as c:
        audio_minutes = c.duration / 60_000_000
    pipe_runs, bare_runs, reruns = [], [], []
    for i in range(args.repeats):
        fresh = work / "speed-out"
        shutil.rmtree(fresh, ignore_errors=True)
        pipe_runs.append(measure([*LIVECAST, str(long_file), "--output", str(fresh)], env=env, cwd=work))
        reruns.append(measure([*LIVECAST, str(long_file), "--output", str(fresh)], env=env, cwd=work))
        bare_runs.append(measure([*BARE, str(work / "bare-long.json"), str(long_file)], env=env, cwd=work))
        print(f"run {i + 1}: pipeline {pipe_runs[-1]}, bare {bare_runs[-1]}, rerun {reruns[-1]}", flush=True)
    ratios = [p.wall_s / b.wall_s for p, b in zip(pipe_runs, bare_runs)]

    hour = None
    if args.hour:
        hour_file = concatenate([a for a, _ in pairs], 60, work / "long-60min.flac")
        shutil.rmtree(work / "hour-out", ignore_errors=True)
        hour = measure([*LIVECAST, str(hour_file), "--output", str(work / "hour-out")], env=env, cwd=work)

    data = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "eval_folder": str(folder),
        "files": len(pairs),
        "wer": {"pipeline": round(wer_pipe, 4), "bare": round(wer_bare, 4)},
        "accuracy_runs": {"pipeline": run_pipe.__dict__, "bare": run_bare.__dict__},
        "long_audio_minutes": round(audio_minutes, 2),
        "repeats": args.repeats,
        "pipeline_wall_s_median": median([r.wall_s for r in pipe_runs]),
        "bare_wall_s_median": median([r.wall_s for r in bare_runs]),
        "ratio_pipeline_over_bare_median": median(ratios),
        "ratios": [round(r, 3) for r in ratios],
        "rtf_pipeline_median": median([r.wall_s / (audio_minutes * 60) for r in pipe_runs]),
        "rerun_wall_s_median": median([r.wall_s for r in reruns]),
        "peak_rss_mb_pipeline_median": median([r.peak_rss_mb for r in pipe_runs]),
        "peak_rss_mb_bare_median": median([r.peak_rss_mb for r in bare_runs]),
        "hour": hour.__dict__ if hour else None,
        "failures": [r.__dict__ for r in [run_pipe, run_bare, *pipe_runs, *bare_runs, *reruns] if r.returncode],
    }
    md = [
        "# Transcription: pipeline vs bare faster-whisper",
        "",
        f"Machine: {data['machine']}. Model: bundled Whisper base, int8, beam 5, batched (8), VAD, nl.",
        "",
        "| measure | pipeline | bare faster-whisper |",
        "|---|---|---|",
        f"| WER on {len(pairs)} files ({folder.name}) | {wer_pipe:.3f} | {wer_bare:.3f} |",
        f"| wall time, {audio_minutes:.1f} min audio (median of {args.repeats}) | "
        f"{data['pipeline_wall_s_median']} s | {data['bare_wall_s_median']} s |",
        f"| ratio pipeline / bare (median of per-run ratios) | {data['ratio_pipeline_over_bare_median']} | 1 |",
        f"| peak memory (median) | {data['peak_rss_mb_pipeline_median']} MB | {data['peak_rss_mb_bare_median']} MB |",
        f"| rerun of the unchanged session (median) | {data['rerun_wall_s_median']} s | – |",
    ]
    if hour:
        md.append(f"| 60 min recording: wall / peak memory | {hour.wall_s} s / {hour.peak_rss_mb} MB | – |")
    md.append("")
    write_report("transcribe", data, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
