"""A watched folder (`livecast watch`): a recording is submitted once it has stopped growing, once per
version of its content, and never a partial copy or a sidecar. The submission itself, to a real Prefect
server and worker, is in tests/test_distributed.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from livecastpipe import watching
from tests.conftest import REPO

SETTLE_S = 30.0


def drop(path: Path, data: bytes, at: float) -> None:
    """Write `data` to `path` as if the write ended at Unix time `at`."""
    path.write_bytes(data)
    os.utime(path, ns=(int(at * 1e9), int(at * 1e9)))


def test_a_recording_still_growing_is_not_submitted_until_it_settles(tmp_path: Path) -> None:
    start = 1_900_000_000.0
    drop(tmp_path / "opening.mp4", b"x" * 1000, at=start)
    sightings = watching.observe({}, watching.scan(tmp_path), now=start + 1)
    assert watching.to_submit(sightings, set(), now=start + 1, settle_s=SETTLE_S) == []

    drop(tmp_path / "opening.mp4", b"x" * 2000, at=start + 20)  # the copy goes on
    sightings = watching.observe(sightings, watching.scan(tmp_path), now=start + 31)
    assert watching.to_submit(sightings, set(), now=start + 31, settle_s=SETTLE_S) == [], "grew 11 s ago"

    sightings = watching.observe(sightings, watching.scan(tmp_path), now=start + 50)
    [(path, version)] = watching.to_submit(sightings, set(), now=start + 50, settle_s=SETTLE_S)
    assert path == (tmp_path / "opening.mp4").absolute() and version.size == 2000


def test_a_recording_copied_long_ago_goes_on_the_first_look(tmp_path: Path) -> None:
    """What `livecast watch --once` from cron finds: a file last written before the settle time is whole."""
    drop(tmp_path / "keynote.wav", b"RIFF", at=1_900_000_000.0)
    sightings = watching.observe({}, watching.scan(tmp_path), now=1_900_000_100.0)
    assert [p.name for p, _ in watching.to_submit(sightings, set(), 1_900_000_100.0, SETTLE_S)] == ["keynote.wav"]


def test_a_clock_ahead_of_this_machines_does_not_make_a_new_file_settled(tmp_path: Path) -> None:
    drop(tmp_path / "panel.mkv", b"data", at=1_900_000_500.0)  # a file server's clock runs ahead
    sightings = watching.observe({}, watching.scan(tmp_path), now=1_900_000_000.0)
    assert watching.to_submit(sightings, set(), 1_900_000_000.0, SETTLE_S) == []
    assert watching.to_submit(sightings, set(), 1_900_000_000.0 + SETTLE_S, SETTLE_S) != []


def test_partial_copies_hidden_files_and_sidecars_are_not_recordings(tmp_path: Path) -> None:
    for name in ["talk.mp4.part", ".talk.mp4.Xy12", ".talk.mp4", "talk.tmp", "talk.yaml", "sessions.yaml",
                 "talk.mp4.crdownload", "~talk.mp4", "notes.txt", "Talk.MP4"]:  # fmt: skip
        drop(tmp_path / name, b"data", at=1_000_000_000.0)
    (tmp_path / "sub.mp4").mkdir()  # a folder named like a recording
    assert [path.name for path in watching.scan(tmp_path)] == ["Talk.MP4"]


def test_a_restarted_watcher_submits_nothing_twice_and_a_replaced_recording_again(tmp_path: Path) -> None:
    media, output = tmp_path / "media", tmp_path / "output"
    media.mkdir()
    drop(media / "opening.mp4", b"first", at=1_900_000_000.0)
    now = 1_900_000_100.0
    [(path, version)] = watching.to_submit(watching.observe({}, watching.scan(media), now), set(), now, SETTLE_S)
    watching.record_submitted(output, {version.key(path)})

    restarted = watching.read_submitted(output)  # a new watcher process reads the state file
    assert watching.to_submit(watching.observe({}, watching.scan(media), now), restarted, now, SETTLE_S) == []
    assert watching.state_file(output).is_relative_to(output / "private"), "never on the public site"

    drop(media / "opening.mp4", b"second take", at=1_900_000_200.0)  # replaced by another recording
    now = 1_900_000_300.0
    resubmit = watching.to_submit(watching.observe({}, watching.scan(media), now), restarted, now, SETTLE_S)
    assert [(p.name, v.size) for p, v in resubmit] == [("opening.mp4", len(b"second take"))]


def test_watch_without_a_prefect_server_says_so_in_one_line(tmp_path: Path) -> None:
    """Without PREFECT_API_URL Prefect would submit to a temporary server of its own that no worker polls."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    done = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "watch", str(tmp_path), "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: PREFECT_API_URL is not set: the watcher submits runs to the Prefect server the workers poll"
    ]
