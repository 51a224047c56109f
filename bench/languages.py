"""An English turn in a Dutch session (`stages/turn_languages.py`): on real Dutch conversations (fillets)
with real English speech (tests/fixtures/jfk.opus, 11 s) inserted between two turns near the middle.

Per conversation: Whisper's probability of English on every segment's audio (English turn vs Dutch turns:
what `DETECTION_PROBABILITY` is chosen by), the English turn's WER against JFK's words before and after the
stage, the Dutch WER (reference script against the words outside the English turn) before and after, and
on the conversation without the insert: whether the stage leaves every segment byte-identical, and what it
costs. The audio is GPL-2 (built locally): only figures go to bench/results/languages.*.

    .venv/bin/python bench/languages.py [--conversations DIR] [--limit N] [--work /tmp/livecast-bench/languages]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, eval_pairs, word_error_rate, write_report  # noqa: E402

from livecastpipe.models import Transcript, to_json  # noqa: E402
from livecastpipe.settings import TranscribeSettings  # noqa: E402
from livecastpipe.stages.ingest import SAMPLE_RATE, ffmpeg_binary, ingest, load_audio  # noqa: E402
from livecastpipe.stages.transcribe import load_model, transcribe_file  # noqa: E402
from livecastpipe.stages.turn_languages import language_probability, relabel_other_languages  # noqa: E402

JFK = REPO / "tests" / "fixtures" / "jfk.opus"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
PAUSE_S = 0.6


def insert_point(reference: Path) -> float:
    """The middle of the pause between two turns nearest the conversation's middle (from its script)."""
    data = json.loads(reference.read_text())
    turns = data["segments"]
    middle = data["duration_s"] / 2
    gaps = [(a["end"] + b["start"]) / 2 for a, b in zip(turns, turns[1:]) if b["start"] > a["end"]]
    return min(gaps, key=lambda g: abs(g - middle))


def with_english_turn(audio: Path, at: float, target: Path) -> Path:
    """The conversation with JFK's 11 s inserted at `at` seconds, `PAUSE_S` of silence either side (16 kHz)."""
    graph = (
        f"[0:a]aresample=16000,atrim=0:{at},asetpts=N/SR/TB[a];[0:a]aresample=16000,atrim={at},asetpts=N/SR/TB[c];"
        f"[1:a]aresample=16000,adelay={int(PAUSE_S * 1000)},apad=pad_dur={PAUSE_S}[b];"
        "[a][b][c]concat=n=3:v=0:a=1,aformat=sample_rates=16000:channel_layouts=mono[out]"
    )
    command = [ffmpeg_binary(), "-v", "error", "-y", "-i", str(audio), "-i", str(JFK)]
    subprocess.run([*command, "-filter_complex", graph, "-map", "[out]", str(target)], check=True)
    return target


def words_between(transcript: Transcript, start: float, end: float, inside: bool) -> str:
    """The words whose middle lies inside (or outside) `start`–`end`."""
    kept = [w.text for w in transcript.words if (start <= (w.start + w.end) / 2 <= end) == inside]
    return " ".join(kept)


def measure(audio: Path, reference: str, work: Path) -> dict:
    """One conversation with and without the English turn: detection, WER before/after, cost."""
    settings = TranscribeSettings()
    model = load_model(settings)
    at = insert_point(audio.with_suffix(".json"))
    mixed = ingest(with_english_turn(audio, at, work / f"{audio.stem}.en.wav"), work / "cache")
    english = (at + PAUSE_S, at + PAUSE_S + 11.0)
    row: dict = {"name": audio.stem, "inserted_at_s": round(at, 2)}
    for label, recording in (("mixed", mixed), ("dutch_only", ingest(audio, work / "cache"))):
        wav = Path(recording.audio_path)
        before = transcribe_file(wav, settings)

        def samples(a: float, b: float, wav: Path = wav) -> object:
            return load_audio(wav, int(a * SAMPLE_RATE), int((b - a) * SAMPLE_RATE))

        started = time.perf_counter()
        after, turns = relabel_other_languages(before, model, samples, settings.beam_size)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        probabilities = [
            (language_probability(model, samples(s.start, s.end), "en"), s.start, s.end)
            for s in before.segments  # type: ignore[arg-type]
        ]
        span = english if label == "mixed" else (-1.0, -1.0)
        in_turn = [p for p, a, b in probabilities if a < span[1] and b > span[0]]
        dutch = [p for p, a, b in probabilities if not (a < span[1] and b > span[0])]
        entry: dict = {
            "relabel_s": round(seconds, 3),
            "turns": [
                {"start": t.start, "end": t.end, "p": t.probability, "before": t.before, "after": t.after}
                for t in turns
            ],
            "p_en_english_segments": in_turn,
            "p_en_dutch_segments_max": max(dutch),
            "p_en_dutch_segments_over_0.1": sum(p > 0.1 for p in dutch),
            "dutch_segments": len(dutch),
            "dutch_wer_before": round(word_error_rate([reference], [words_between(before, *span, inside=False)]), 4),
            "dutch_wer_after": round(word_error_rate([reference], [words_between(after, *span, inside=False)]), 4),
            "unchanged": to_json(before.segments) == to_json(after.segments),
        }
        if label == "mixed":
            entry["english_before"] = words_between(before, *span, inside=True)
            entry["english_after"] = words_between(after, *span, inside=True)
            entry["english_wer_before"] = round(word_error_rate([JFK_TEXT], [entry["english_before"]]), 4)
            entry["english_wer_after"] = round(word_error_rate([JFK_TEXT], [entry["english_after"]]), 4)
            entry["english_labelled"] = [s.language for s in after.segments if s.start < span[1] and s.end > span[0]]
        row[label] = entry
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def markdown(rows: list[dict]) -> str:
    """The figures as a table per conversation."""
    lines = [
        "# An English turn in a Dutch session",
        "",
        "JFK's 11 s (tests/fixtures/jfk.opus) inserted between two turns near the middle of real Dutch",
        "conversations (fillets); bundled Whisper base, default settings. p(en): Whisper's probability of",
        "English on each segment's audio. WER: jiwer on normalised text.",
        "",
        "| conversation | p(en) English segments | max p(en) Dutch segments | English WER before → after | "
        "Dutch WER before → after (mixed) | Dutch-only: unchanged, WER, stage s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        m, d = r["mixed"], r["dutch_only"]
        lines.append(
            f"| {r['name']} | {', '.join(f'{p:.2f}' for p in m['p_en_english_segments'])} | "
            f"{max(m['p_en_dutch_segments_max'], d['p_en_dutch_segments_max']):.3f} | "
            f"{m['english_wer_before']:.2f} → {m['english_wer_after']:.2f} | "
            f"{m['dutch_wer_before']:.3f} → {m['dutch_wer_after']:.3f} | "
            f"{'yes' if d['unchanged'] else 'NO'}, {d['dutch_wer_before']:.3f} → {d['dutch_wer_after']:.3f}, "
            f"{d['relabel_s']:.3f} |"
        )
    lines += ["", "English turn as transcribed, before → after:", ""]
    lines += [f"- {r['name']}: “{r['mixed']['english_before']}” → “{r['mixed']['english_after']}”" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure the first `--limit` conversations and write bench/results/languages.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, default=Path("/tmp/livecast-bench/fillets/conversations"))
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/livecast-bench/languages"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = [measure(audio, reference, args.work) for audio, reference in eval_pairs(args.conversations)[: args.limit]]
    write_report("languages", {"rows": rows}, markdown(rows))


if __name__ == "__main__":
    main()
