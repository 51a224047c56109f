"""A hostile day, in short: `livecast run` killed with `kill -9` during transcription, diarization, summaries
and publishing, then run again. Each time no process of the run may be left, the stages a killed run finished
are not done again (the decoded audio stays the first run's), and before the first publish no session may
show (no private folder, nothing in `review --list`); the end result must be the site an uninterrupted run
publishes, with no staging left. The full sweep (every stage and random moments) is bench/faults.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.package import store

from .conftest import SAMPLE, run_ffmpeg
from .kill_harness import CI_POINTS, TRANSCRIBING, differences, kill_at, run_env, site, staging_left, start_run

pytestmark = pytest.mark.slow


def test_kill_9_during_each_stage_then_rerun_publishes_the_same_site(prefect_harness, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    media = tmp_path / "media"
    media.mkdir()
    run_ffmpeg("-i", str(SAMPLE), "-t", "10", "-c", "copy", str(media / "lezing.mp4"))
    env = run_env(tmp_path)
    api_url = PREFECT_API_URL.value()  # the session's server: runs skip starting their own (but the first)
    reference = tmp_path / "reference"
    uninterrupted = start_run(media, reference, {**env, "PREFECT_API_URL": api_url})  # beside the kills: quicker

    out = tmp_path / "out"
    sweep = kill_at(CI_POINTS, media, out, env, api_url)
    assert uninterrupted.wait(timeout=600) == 0
    print(f"kill points: {len(CI_POINTS)} tried, {len(sweep.killed)} killed, {len(sweep.clean)} left no process")
    assert sweep.final_exit == 0
    assert sweep.killed == [p.name for p in CI_POINTS], sweep.finished_first  # each kill landed
    assert sweep.clean == sweep.killed, set(sweep.killed) - set(sweep.clean)
    assert sweep.problems == []  # no half-made session before the first publish
    assert site(out) == site(reference), (differences(site(out), site(reference)), sweep.final_log[-3000:])
    decoded = list(workspace.default_cache_dir(out).glob("*/audio-16k*.wav"))
    assert len(decoded) == 1  # the finished ingest stage (decoded audio) was reused by every run after the first
    assert decoded[0].stat().st_mtime < sweep.killed_at[TRANSCRIBING.name]
    assert staging_left(out) == []
    assert store.session_slugs(out) == ["lezing"]
    manifest = json.loads(next(workspace.site_dir(out).glob("*/session.json")).read_text())
    assert manifest["files"]
