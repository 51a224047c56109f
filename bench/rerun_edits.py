"""Edits across a rerun on a two-hour session: how long reconciling by time takes, and what is published.

The synthetic two-hour session of `bench/workbench.py` (two speakers, a segment per sentence) is edited
(every tenth segment: a word replaced, the last word deleted), then "rerun" as `--no-diarize` with
another model would give it: the same words, one speaker, cut into 30 s segments, every time 0.12 s later.
For the reconciling before (`git show BEFORE:src/livecastpipe/edits.py`) and now: the time to reconcile
and render the published transcript (medians), the edits published once, the rerun's words of an edit's
time published beside it, and the rerun's words away from the edits that were lost. No model.

    python bench/rerun_edits.py [--runs N] [--before REV]

Writes bench/results/rerun_edits.json and .md.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import median, write_report  # noqa: E402
from bench.workbench import two_hour_transcript  # noqa: E402
from livecastpipe.editor.edits.layout import start_edits  # noqa: E402
from livecastpipe.editor.edits.operations import set_text  # noqa: E402
from livecastpipe.editor.edits.rerun import edited_transcript, reconcile  # noqa: E402
from livecastpipe.models import Segment, Transcript, Word  # noqa: E402

CHUNK_S = 30.0
SHIFT_S = 0.12
EDIT_EVERY = 10
FLAT_MODULES = {
    "outputs": "package.outputs",
    "edits": "editor.edits",
    "editor_files": "editor.editor_files",
    "editor_text": "editor.editor_text",
}
"""Modules the editor's edits imported from the package's top before they moved into folders."""
EDITS_NOW = SimpleNamespace(
    start_edits=start_edits, set_text=set_text, edited_transcript=edited_transcript, reconcile=reconcile
)
"""The edits now (split by concern into `livecastpipe.editor.edits.*`), under the names `measured` calls on
the single module `edits_module_at` gives."""


def edits_module_at(revision: str, folder: Path) -> ModuleType:
    """`livecastpipe.editor.edits` as it was at `revision` (imported beside the current package; before the
    modules moved into folders, its flat imports are pointed at where those modules are now)."""
    for flat, now in FLAT_MODULES.items():
        sys.modules.setdefault(f"livecastpipe.{flat}", importlib.import_module(f"livecastpipe.{now}"))
    for path in ("src/livecastpipe/editor/edits.py", "src/livecastpipe/edits.py"):
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{revision}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            break
    source = shown.stdout
    path = folder / "edits_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("livecastpipe._edits_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def rerun_of(machine: Transcript) -> Transcript:
    """The same words, one speaker's, in 30 s segments, every time `SHIFT_S` later."""
    words = [replace(w, start=w.start + SHIFT_S, end=w.end + SHIFT_S, speaker="SPEAKER_00") for w in machine.words]
    groups: dict[int, list[Word]] = {}
    for word in words:
        groups.setdefault(int(word.start // CHUNK_S), []).append(word)
    segments = tuple(
        Segment(g[0].start, g[-1].end, " ".join(w.text for w in g), tuple(g), "SPEAKER_00") for g in groups.values()
    )
    return replace(machine, segments=segments)


def edited(module: Any, machine: Transcript) -> Any:
    """Every tenth segment corrected: its middle word replaced, its last word deleted."""
    edits = module.start_edits("bench", machine)
    for n, segment in enumerate(list(edits.segments)[::EDIT_EVERY]):
        tokens = segment.text.split()
        if len(tokens) < 3:
            continue
        tokens[len(tokens) // 2] = f"Zwaluwstaart{n}"
        edits = module.set_text(edits, segment.id, " ".join(tokens[:-1]), base_version=edits.version, editor="bench")
    return edits


def measured(module: Any, machine: Transcript, rerun: Transcript, runs: int) -> dict[str, Any]:
    """Times and what is published, for one implementation of the edits."""
    edits = edited(module, machine)
    changed = [s for s in edits.segments if not s.machine]
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        published = module.edited_transcript(rerun, edits)
        seconds.append(time.perf_counter() - began)
    texts = [s.text for s in published.segments]
    spans = [(s.start, s.end) for s in changed]
    edit_texts = {s.text for s in changed}
    machine_words = [w for s in published.segments if s.text not in edit_texts for w in s.words]
    beside = [w for w in machine_words if any(a <= (w.start + w.end) / 2 <= b for a, b in spans)]
    published_set = set(machine_words)
    clear = [w for w in rerun.words if all(w.end <= a or w.start >= b for a, b in spans)]
    return {
        "reconcile_and_render_s": median(seconds),
        "edits": len(changed),
        "edits_published_once": sum(texts.count(s.text) == 1 for s in changed),
        "rerun_words_beside_edits": len(beside),
        "rerun_words_away_from_edits_lost": sum(w not in published_set for w in clear),
        "stale": len(module.reconcile(edits, rerun).stale),
    }


def main(runs: int, before: str) -> None:
    machine = two_hour_transcript()
    rerun = rerun_of(machine)
    with tempfile.TemporaryDirectory() as folder:
        results = {
            "before": measured(edits_module_at(before, Path(folder)), machine, rerun, runs),
            "now": measured(EDITS_NOW, machine, rerun, runs),
        }
    data = {
        "session": {
            "segments": len(machine.segments),
            "words": len(machine.words),
            "rerun_segments": len(rerun.segments),
        },
        "runs": runs,
        "before_revision": before,
        **results,
    }
    rows = [
        ("reconcile and render the published transcript (median)", "reconcile_and_render_s", " s"),
        ("edits", "edits", ""),
        ("edits published exactly once", "edits_published_once", ""),
        ("rerun words of an edit's time published beside it", "rerun_words_beside_edits", ""),
        ("rerun words away from the edits lost", "rerun_words_away_from_edits_lost", ""),
        ("edits marked stale (the rerun heard the same words)", "stale", ""),
    ]
    table = "\n".join(
        f"| {label} | {results['before'][key]:,}{unit} | {results['now'][key]:,}{unit} |" for label, key, unit in rows
    )
    markdown = (
        "# Edits across a rerun (two-hour session)\n\n"
        f"The synthetic two-hour session of `bench/workbench.py` ({len(machine.segments):,} segments, "
        f"{len(machine.words):,} words, two speakers), every {EDIT_EVERY}th segment corrected, then rerun as "
        f"`--no-diarize` with another model would give it: the same words, one speaker, {len(rerun.segments):,} "
        f"segments of {CHUNK_S:.0f} s, every time {SHIFT_S} s later. Before: `edits.py` at `{before}` (segment "
        f"ids); now: by time. Medians of {runs} runs on a shared 2-core machine (noisy). No model.\n\n"
        "| figure | before | now |\n|---|---|---|\n" + table + "\n"
    )
    write_report("rerun_edits", data, markdown)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", default="a2f1450~1", help="the revision whose edits.py keyed edits to ids")
    arguments = parser.parse_args()
    main(arguments.runs, arguments.before)
