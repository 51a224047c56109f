"""Cost of the whole pipeline: per stage, against bare faster-whisper, and as recordings grow.

    python bench/run.py [--eval DIR] [--minutes 10 30 60 120] [--compare 10=3 60=1] [--reruns 5] [--pairs 3]
    python bench/run.py --quick    # only the side-by-side comparison and the reruns (`side_by_side.py`)

For each duration (made by concatenating the evaluation audio): every stage run in-process through
the library, one after the other, measured for wall time, CPU time and peak memory (RSS sampled every
50 ms); the stages the flow runs beside transcription (the diarization's speech pass, the replay's media)
are marked and left out of the share after transcription. Diarization starts, as in the flow, when a
transcription stream has no block left; what is left of it when transcription ends is timed. Then, for the
durations given to `--compare` (minutes=repeats), the whole `livecast run` (Prefect start-up included)
and bare faster-whisper in subprocesses, alternating, reporting medians and the median of per-run
ratios, the word error rate of both against the joined reference texts, and `--reruns` reruns of the
unchanged session after the first of them. Then `side_by_side.py`'s comparison on a 720p video of the
conversations joined (about 13 minutes), paired and interleaved, with process-tree memory, WER and the
rerun times of one and of thirteen sessions. Writes bench/results/run.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    concatenate,
    concatenated_sources,
    eval_pairs,
    fillets_conversations,
    measure,
    median,
    word_error_rate,
    write_report,
)
from side_by_side import side_by_side, side_by_side_markdown

BENCH = Path(__file__).resolve().parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
BESIDE = "(beside transcription) "
"""Marks the stages the flow runs while transcription runs: not counted in the share after transcription."""
TAIL_DIARIZE = "speakers: diarize (what is left after transcription)"
"""The diarization, started when a transcription stream fell idle: timed from transcription's end."""


@dataclass(frozen=True)
class StageCost:
    """Wall time, CPU time and the peak resident memory seen while one stage ran."""

    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 2**20


def timed(stage: str, costs: list[StageCost], work: Callable[[], Any]) -> Any:
    """Run one stage, sampling this process's RSS while it runs."""
    peak = [_rss_mb()]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        return work()
    finally:
        running.clear()
        sampler.join()
        costs.append(
            StageCost(
                stage,
                round(time.perf_counter() - wall, 2),
                round(time.process_time() - cpu, 2),
                round(max(peak[0], _rss_mb()), 1),
            )
        )


def stage_costs(audio: Path, work: Path) -> list[StageCost]:
    """Every stage of one session, through the library (no Prefect), in data-flow order."""
    from livecastpipe.names import public_speaker_names
    from livecastpipe.package import outputs
    from livecastpipe.package.publish import publish_session
    from livecastpipe.package.store import SessionPackage
    from livecastpipe.settings import Settings
    from livecastpipe.stages.chapters import chapter_files, make_chapters
    from livecastpipe.stages.diarization import diarize, find_speech
    from livecastpipe.stages.ingest import ingest, load_audio
    from livecastpipe.stages.media import prepare_media_ahead
    from livecastpipe.stages.speakers import identify_speakers, speaker_files
    from livecastpipe.stages.subtitles import subtitle_files
    from livecastpipe.stages.summaries import extractive_summary
    from livecastpipe.stages.transcribe import load_model, transcribe_file

    out = work / "stages-out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / "stages-cache", ignore_errors=True)
    settings = Settings(output_dir=out, cache_dir=work / "stages-cache")
    costs: list[StageCost] = []
    timed("load model", costs, lambda: load_model(settings.transcribe))
    recording = timed("ingest", costs, lambda: ingest(audio, settings.resolved_cache_dir))
    wav = Path(recording.audio_path)
    # The flow runs these two beside transcription (timed here one after the other).
    speech = timed(BESIDE + "speakers: find speech", costs, lambda: find_speech(wav, settings.speakers))
    media = timed(BESIDE + "publish: media", costs, lambda: prepare_media_ahead(recording, out, settings.publish))
    # As in the flow, diarization starts when a transcription stream has no block left; only what is left
    # of it when transcription ends counts after transcription.
    stream_free, diarized = threading.Event(), {}

    def diarize_at_tail() -> None:
        stream_free.wait()
        diarized["result"] = diarize(load_audio(wav), recording.metadata, settings.speakers, speech=speech)

    diarizing = threading.Thread(target=diarize_at_tail, daemon=True)
    diarizing.start()
    transcript = timed(
        "transcribe", costs, lambda: transcribe_file(wav, settings.transcribe, on_stream_free=stream_free.set)
    )
    timed(TAIL_DIARIZE, costs, diarizing.join)
    diarization = diarized["result"]
    folder = out / recording.slug
    stage = timed(
        "speakers: attribute and name",
        costs,
        lambda: identify_speakers(
            transcript, diarization, recording.metadata, folder, out / outputs.VOICE_LIBRARY.name(), settings.speakers
        ),
    )
    names = public_speaker_names(stage.speakers.values(), also=stage.transcript.speaker_ids)
    chapters = timed(
        "chapters",
        costs,
        lambda: make_chapters(
            stage.transcript,
            list(diarization.turns),
            names,
            recording.media.duration,
            settings.chapters,
            recording.title,
        ),
    )
    files, _ = chapter_files(chapters, recording.media.duration, recording.title)
    subtitles = timed("subtitles", costs, lambda: subtitle_files(stage.transcript, names, settings.subtitles))
    timed(
        "summaries", costs, lambda: extractive_summary(stage.transcript, chapters.chapters, settings.summaries, names)
    )
    package = SessionPackage(
        recording,
        stage.transcript,
        tuple(stage.speakers.values()),
        chapters.chapters,
        stage_files={**speaker_files(stage, recording.slug), **files, **subtitles},
    )
    timed("publish", costs, lambda: publish_session(package, out, settings.publish, prepared_media=media))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, help="folder of audio files (default: fillets conversations)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/livecast-bench"))
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 60, 120])
    parser.add_argument(
        "--compare",
        nargs="*",
        default=["10=3"],
        metavar="MINUTES=REPEATS",
        help="durations to run whole-pipeline vs bare, and how often (default 10=3)",
    )
    parser.add_argument("--reruns", type=int, default=5, help="timed reruns of the unchanged first compared session")
    parser.add_argument("--pairs", type=int, default=3, help="side-by-side pairs after the warm-up (default 3)")
    parser.add_argument("--quick", action="store_true", help="only the side-by-side comparison and the reruns")
    parser.add_argument("--child-stages", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.work
    if args.child_stages:  # one fresh process per duration, so peak memory is that duration's own
        costs = stage_costs(args.child_stages, work)
        print(json.dumps([c.__dict__ for c in costs]))
        return
    work.mkdir(parents=True, exist_ok=True)
    folder = args.eval or fillets_conversations(work / "fillets")
    pairs = eval_pairs(folder)
    references = dict(pairs)
    sources = [a for a, _ in pairs] or sorted(folder.glob("*.flac"))
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(work / "prefect-home")}
    if args.quick:
        data = {"machine": "", **side_by_side(sources, references, work, env, args.pairs, max(args.reruns, 2))}
        data["machine"] = _machine()  # with the load average at the end
        md = ["# Whole pipeline vs bare faster-whisper (--quick)", "", f"Machine: {data['machine']}.", ""]
        write_report("run", data, "\n".join([*md, *side_by_side_markdown(data)]) + "\n")
        return
    compare = {float(m): int(r) for m, r in (item.split("=") for item in args.compare)}
    rows: list[dict[str, Any]] = []
    data_reruns: dict[str, Any] = {}
    for minutes in args.minutes:
        audio = concatenate(sources, minutes, work / f"long-{minutes:g}min.flac")
        import av

        with av.open(str(audio)) as container:
            seconds = container.duration / 1_000_000
        child = subprocess.run(
            [sys.executable, __file__, "--work", str(work), "--child-stages", str(audio)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        costs = json.loads(child.stdout.strip().splitlines()[-1])
        row: dict[str, Any] = {"minutes": round(seconds / 60, 2), "stages": costs}
        transcribe = next(c for c in costs if c["stage"] == "transcribe")
        after = [
            c
            for c in costs
            if c["stage"] not in ("load model", "ingest", "transcribe") and not c["stage"].startswith(BESIDE)
        ]
        row["transcribe_rtf"] = round(transcribe["wall_s"] / seconds, 4)
        row["after_transcription_share"] = round(sum(c["wall_s"] for c in after) / transcribe["wall_s"], 3)
        row["stages_peak_rss_mb"] = max(c["peak_rss_mb"] for c in costs)
        row["wall_s_per_audio_minute"] = round(sum(c["wall_s"] for c in costs) / (seconds / 60), 2)
        if minutes in compare:
            pipe, bare = [], []
            command = [sys.executable, "-m", "livecastpipe", "run", str(audio), "--output", str(work / "run-out")]
            for _ in range(compare[minutes]):
                shutil.rmtree(work / "run-out", ignore_errors=True)
                pipe.append(measure(command, env=env, cwd=work))
                bare.append(
                    measure(
                        [sys.executable, str(BENCH / "bare_whisper.py"), str(work / "bare.json"), str(audio)],
                        env=env,
                        cwd=work,
                    )
                )
            row["repeats"] = compare[minutes]
            row["pipeline"] = {
                "wall_s_median": median([p.wall_s for p in pipe]),
                "cpu_s_median": median([p.cpu_s for p in pipe]),
                "peak_rss_mb_median": median([p.peak_rss_mb for p in pipe]),
                "peak_rss_mb_max": max(p.peak_rss_mb for p in pipe),
                "failures": sum(1 for p in pipe if p.returncode),
            }
            row["bare"] = {
                "wall_s_median": median([b.wall_s for b in bare]),
                "peak_rss_mb_median": median([b.peak_rss_mb for b in bare]),
            }
            row["ratio_median"] = median([p.wall_s / b.wall_s for p, b in zip(pipe, bare)])
            if references:  # the last runs' words against the joined reference texts
                reference = " ".join(references[a] for a in concatenated_sources(sources, minutes))
                from livecastpipe.workspace import site_dir

                piped = next(site_dir(work / "run-out").glob("*/transcript.json"))
                piped_text = " ".join(s["text"] for s in json.loads(piped.read_text())["segments"])
                bare_text = " ".join(json.loads((work / "bare.json").read_text()).values())
                row["wer"] = {
                    "pipeline": round(word_error_rate([reference], [piped_text]), 4),
                    "bare": round(word_error_rate([reference], [bare_text]), 4),
                }
            if args.reruns and "rerun" not in data_reruns:
                reruns = [measure(command, env=env, cwd=work) for _ in range(args.reruns)]
                data_reruns["rerun"] = {
                    "minutes": row["minutes"],
                    "runs": [r.wall_s for r in reruns],
                    "wall_s_median": median([r.wall_s for r in reruns]),
                    "failures": sum(1 for r in reruns if r.returncode),
                }
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]["wall_s_per_audio_minute"]
    for row in rows:
        row["per_minute_vs_first"] = round(row["wall_s_per_audio_minute"] / base, 3)
    compared = side_by_side(sources, references, work, env, args.pairs, max(args.reruns, 2))
    data = {
        "machine": _machine(),
        "eval_folder": str(folder),
        "rows": rows,
        **data_reruns,
        **compared,
    }
    md = ["# Whole pipeline: per stage, vs bare faster-whisper, scaling", "", f"Machine: {data['machine']}.", ""]
    stage_names = [c["stage"] for c in rows[0]["stages"]]
    md.append("| stage | " + " | ".join(f"{r['minutes']:g} min: wall / CPU / peak MB" for r in rows) + " |")
    md.append("|---|" + "---|" * len(rows))
    for name in stage_names:
        cells = []
        for r in rows:
            c = next(c for c in r["stages"] if c["stage"] == name)
            cells.append(f"{c['wall_s']} s / {c['cpu_s']} s / {c['peak_rss_mb']}")
        md.append(f"| {name} | " + " | ".join(cells) + " |")
    md += [
        "",
        "| audio | transcribe RTF | after-transcription / transcription | s per audio min (vs first) "
        "| pipeline / bare (median) | pipeline peak MB | WER pipeline / bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r.get("ratio_median", "–")
        peak = r.get("pipeline", {}).get("peak_rss_mb_median", r["stages_peak_rss_mb"])
        wer = f"{r['wer']['pipeline']} / {r['wer']['bare']}" if "wer" in r else "–"
        md.append(
            f"| {r['minutes']:g} min | {r['transcribe_rtf']} | {r['after_transcription_share']} | "
            f"{r['wall_s_per_audio_minute']} ({r['per_minute_vs_first']}) | {ratio} | {peak} | {wer} |"
        )
    if data_reruns:
        rerun = data_reruns["rerun"]
        md += [
            "",
            f"Rerun of the unchanged {rerun['minutes']:g} min session (`livecast run`, Prefect start-up "
            f"included): median {rerun['wall_s_median']} s over {len(rerun['runs'])} runs "
            f"({', '.join(str(r) for r in rerun['runs'])}).",
        ]
    md += [
        "",
        f"Stages marked {BESIDE.strip()} run while transcription runs in the flow; timed here on their "
        "own, they are not counted in the share after transcription. Pipeline peak MB: the median of the "
        "`livecast run` repeats where compared, else the in-process stages' peak.",
    ]
    md += [
        "",
        "Repeats of the whole-pipeline comparison: "
        + ", ".join(f"{r['minutes']:g} min × {r['repeats']}" for r in rows if "repeats" in r)
        + ".",
    ]
    md += ["", *side_by_side_markdown(data)]
    write_report("run", data, "\n".join(md) + "\n")


def _machine() -> str:
    """The machine in words, with its load average now."""
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, load average (1/5/15 min) {load}"


if __name__ == "__main__":
    main()
