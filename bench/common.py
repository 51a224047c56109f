"""Shared helpers for the benchmarks: evaluation sets, Dutch text normalisation, measured subprocesses."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from livecastpipe.stages.ingest import MEDIA_SUFFIXES, ffmpeg_binary

REPO = Path(__file__).resolve().parents[1]
FILLETS_BUILDER = REPO.parent / "shared" / "eval" / "fillets" / "build.py"
RESULTS = REPO / "bench" / "results"
_TIMED_PREFIX = re.compile(r"^\s*\[[0-9.:\-– ]+\]\s*(?:[\w .'-]{1,40}:\s)?")


def fillets_conversations(target: Path) -> Path:
    """The fillets evaluation set (real Dutch speech), built from Debian packages when missing.

    The audio is GPL-2: it is built locally, never committed.
    """
    folder = target / "conversations"
    if (folder / "INDEX.tsv").is_file():
        return folder
    if not FILLETS_BUILDER.is_file():
        raise SystemExit(f"{FILLETS_BUILDER}: not found; pass an evaluation folder instead")
    with tempfile.TemporaryDirectory() as shim:
        os.symlink(ffmpeg_binary(), Path(shim) / "ffmpeg")
        env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
        subprocess.run([sys.executable, str(FILLETS_BUILDER), str(target)], check=True, env=env)
    return folder


def eval_pairs(folder: Path) -> list[tuple[Path, str]]:
    """(audio, reference text) for every NAME.<audio> with a NAME.txt (or fillets NAME.json) beside it."""
    pairs = []
    for audio in sorted(folder.iterdir()):
        if audio.suffix.lower() not in MEDIA_SUFFIXES:
            continue
        as_json = audio.with_suffix(".json")
        as_text = audio.with_suffix(".txt")
        if as_json.is_file() and "segments" in (data := json.loads(as_json.read_text())):
            reference = " ".join(seg["text"] for seg in data["segments"])
        elif as_text.is_file():
            reference = " ".join(_TIMED_PREFIX.sub("", line) for line in as_text.read_text().splitlines())
        else:
            continue
        pairs.append((audio, reference))
    return pairs


def normalise_dutch(text: str) -> str:
    """WER normalisation: NFC, lower case, apostrophe forms unified ('t, z'n kept as words),
    hyphens and all other punctuation to spaces, whitespace collapsed. Numbers are left as written."""
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"[’‘`´]", "'", text)
    text = re.sub(r"(?<![\w])'|'(?![\w])", " ", text)  # quotes, not apostrophes inside words
    text = re.sub(r"[^\w' ]+", " ", text)
    return " ".join(text.split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER over normalised texts (jiwer)."""
    import jiwer

    return jiwer.wer([normalise_dutch(r) for r in references], [normalise_dutch(h) for h in hypotheses])


def concatenated_sources(sources: list[Path], minutes: float) -> list[Path]:
    """The sources, repeated in order, that make up at least `minutes` of audio."""
    import av

    durations = []
    for src in sources:
        with av.open(str(src)) as c:
            durations.append(c.duration / 1_000_000)
    chosen, total, i = [], 0.0, 0
    while total < minutes * 60:
        chosen.append(sources[i % len(sources)])
        total += durations[i % len(sources)]
        i += 1
    return chosen


def concatenate(sources: list[Path], minutes: float, target: Path) -> Path:
    """An audio file of at least `minutes`, made by repeating the sources in order (FLAC, 16 kHz)."""
    if target.is_file():
        return target
    chosen = concatenated_sources(sources, minutes)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("".join(f"file '{p.resolve()}'\n" for p in chosen))
    subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            listing.name,
            "-ar",
            "16000",
            "-ac",
            "1",
            str(target),
        ],
        check=True,
    )
    os.unlink(listing.name)
    return target


@dataclass(frozen=True)
class Measured:
    """Wall time, CPU time (user+sys, children included) and peak memory of one subprocess run."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int


def measure(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run a command to completion and measure it with wait4 (peak RSS of the process tree's largest)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall_s=round(wall, 2),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        returncode=process.returncode,
    )


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def write_report(name: str, data: dict, markdown: str) -> None:
    """Write bench/results/<name>.json and .md, and print the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def aligned_words(reference: list[str], hypothesis: list[str]) -> list[str | None]:
    """For each hypothesis word, the reference word a plain Levenshtein alignment (substitution, insertion
    and deletion each cost 1) puts it against; None for an inserted word. A word is misrecognised when it
    differs from its reference word (substituted) or has none (inserted)."""
    rows, cols = len(reference) + 1, len(hypothesis) + 1
    cost = [[i + j if i == 0 or j == 0 else 0 for j in range(cols)] for i in range(rows)]
    for i in range(1, rows):
        for j in range(1, cols):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i][j] = min(cost[i - 1][j - 1] + (not same), cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    aligned: list[str | None] = [None] * len(hypothesis)
    i, j = len(reference), len(hypothesis)
    while j > 0:
        if i > 0 and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            aligned[j - 1] = reference[i - 1]
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i][j - 1] + 1:
            j -= 1  # inserted
        else:
            i -= 1  # a reference word the hypothesis left out
    return aligned
