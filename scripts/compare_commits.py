"""Run `livecast run` at two commits on the same recordings and compare every published file.

A restructuring must not change what a run publishes: this script shows it. Each commit's tree is
taken with `git archive` into a folder of its own and run with this interpreter (the project's venv:
same dependencies, same model cache), in the same relative output folder, so paths in the settings
dump agree. Files are compared byte for byte; in JSON files only the fields that name code versions or
the publishing moment are left out (`published`, `versions`, the `livecastpipe` version).

    .venv/bin/python scripts/compare_commits.py OLD NEW media/ /tmp/fillets-eval/conversations \
        --work /tmp/compare

Exit status 0 when every published file agrees, 1 otherwise (the differing files are listed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SKIPPED_PARTS = {".cache", "cache"}
"""Private caches (`private/cache/`, `.cache/` in older layouts), not published files: their keys hash the
stages' code, which a restructuring changes by definition."""
SKIPPED_SUFFIXES = (".lock",)
VOLATILE_KEYS = {"published", "updated_at", "versions", "livecastpipe", "editor_files", "seconds"}
"""JSON keys that name the code's version, a moment or a duration of work (publishing, the review file's
update, and so the hash of that file in the manifest; the repair stage's processing time in
`transcript-report.json`; the editors' files themselves are compared): they differ between any two runs."""
VOLATILE_LINE = re.compile(r"^\s*<lastBuildDate>.*</lastBuildDate>\s*$", re.MULTILINE)
"""The feed's build time."""


def commit_hash(commit: str) -> str:
    full = subprocess.run(["git", "-C", str(REPO), "rev-parse", commit], capture_output=True, text=True, check=True)
    return full.stdout.strip()


def export_tree(sha: str, target: Path) -> None:
    """Write the commit's files into `target`."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", sha], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def run_commit(tree: Path, sources: list[Path]) -> float:
    """`livecast run` of the commit's code on the sources, into `<tree>/output`; returns wall seconds."""
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{tree / 'src'}{os.pathsep}{tree}"
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "run", *map(str, sources), "--output", "output"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"livecast run failed at {tree.name} (exit {done.returncode})")
    return time.monotonic() - started


def published_files(output: Path) -> dict[str, Path]:
    """Every published file under `output`, by relative path (caches and lock files left out)."""
    return {
        str(path.relative_to(output)): path
        for path in sorted(output.rglob("*"))
        if path.is_file()
        and not SKIPPED_PARTS.intersection(path.relative_to(output).parts)
        and not path.name.endswith(SKIPPED_SUFFIXES)
    }


def without_volatile(value: Any) -> Any:
    """A JSON value with the version and publishing-time fields removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    if isinstance(value, str) and value.startswith("{"):  # a stage's JSON file kept inside package.json
        try:
            return without_volatile(json.loads(value))
        except ValueError:
            return value
    return value


def same_content(a: Path, b: Path) -> bool:
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix == ".json":
        try:
            return without_volatile(json.loads(a.read_text())) == without_volatile(json.loads(b.read_text()))
        except ValueError:
            return False
    if a.suffix == ".xml":
        return VOLATILE_LINE.sub("", a.read_text()) == VOLATILE_LINE.sub("", b.read_text())
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("sources", nargs="+", type=Path, help="recordings or folders, as for `livecast run`")
    parser.add_argument("--work", type=Path, default=Path("/tmp/livecast-compare"))
    parser.add_argument("--reuse", action="store_true", help="keep a side's output made earlier by the same commit")
    args = parser.parse_args()
    sources = [s.resolve() for s in args.sources]
    outputs = []
    for label, commit in (("old", args.old), ("new", args.new)):
        tree, sha = args.work / label, commit_hash(commit)
        stamp = tree / ".compared-commit"
        if args.reuse and stamp.is_file() and stamp.read_text() == sha:
            print(f"{label}: {sha[:10]} output reused")
        else:
            export_tree(sha, tree)
            seconds = run_commit(tree, sources)
            stamp.write_text(sha)
            print(f"{label}: {sha[:10]} ran in {seconds:.1f} s")
        outputs.append(tree / "output")
    old, new = (published_files(o) for o in outputs)
    only_old, only_new = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    differing = sorted(p for p in old.keys() & new.keys() if not same_content(old[p], new[p]))
    identical_bytes = sum(old[p].read_bytes() == new[p].read_bytes() for p in old.keys() & new.keys())
    print(
        f"published files: {len(old)} old, {len(new)} new; byte-identical {identical_bytes}; "
        f"equal but for version/time fields {len(old.keys() & new.keys()) - identical_bytes - len(differing)}; "
        f"differing {len(differing)}; only old {len(only_old)}; only new {len(only_new)}"
    )
    digest = hashlib.sha256("".join(f"{p}\n" for p in sorted(old)).encode()).hexdigest()[:12]
    print(f"file list digest {digest}")
    for title, paths in (("differing", differing), ("only in old", only_old), ("only in new", only_new)):
        for path in paths:
            print(f"  {title}: {path}")
    return 0 if not (differing or only_old or only_new) else 1


if __name__ == "__main__":
    sys.exit(main())
