"""Many and long recordings: sessions at once on one shared model, and a failed block transcribed again alone
(a run killed during transcription resumes: tests/test_kill.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from livecastpipe.flows import pipeline
from livecastpipe.flows.pipeline import process_folder
from livecastpipe.models import Transcript, from_json
from livecastpipe.settings import Settings
from livecastpipe.stages import transcribe
from tests.conftest import SAMPLE, LongSample, run_ffmpeg, timed_words

pytestmark = pytest.mark.slow


def cut_clips(folder: Path, count: int, seconds: float = 14.0) -> list[Path]:
    """Short sessions cut from different parts of the sample (real speech, distinct titles)."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for index in range(count):
        clip = folder / f"deel-{index + 1}.wav"
        run_ffmpeg("-ss", str(2 + 20 * index), "-t", str(seconds), "-i", str(SAMPLE), "-vn", str(clip))
        clips.append(clip)
    return clips


def transcript_words(output_dir: Path) -> dict[str, list[str]]:
    """Each session folder's transcript as its list of words."""
    return {
        path.parent.name: [w.text for w in from_json(Transcript, path.read_text()).words]
        for path in sorted((output_dir / "site").glob("*/transcript.json"))
    }


def test_sessions_run_at_once_on_one_model_and_a_failure_stays_alone(
    prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    cut_clips(media, 2, seconds=8)
    (media / "kapot.wav").write_text("geen audio")
    loads: list[str] = []

    class CountedWhisperModel(transcribe.WhisperModel):
        def __init__(self, *args, **kwargs) -> None:
            loads.append(str(args[0]))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(transcribe, "WhisperModel", CountedWhisperModel)
    monkeypatch.setattr(transcribe, "_models", {})
    started = datetime.now(timezone.utc)

    together = process_folder([str(media)], Settings(output_dir=tmp_path / "together", max_concurrent_sessions=2))

    assert [(Path(r.source).name, r.status) for r in together] == [
        ("deel-1.wav", "done"),
        ("deel-2.wav", "done"),
        ("kapot.wav", "failed"),
    ]
    assert "kapot.wav" in together[2].error and "not a readable audio" in together[2].error
    assert len(loads) == 1, "sessions at once must share one loaded model"
    spans = _session_spans_since(started)
    assert len(spans) == 3
    assert any(
        a_start < b_end and b_start < a_end
        for i, (a_start, a_end) in enumerate(spans)
        for b_start, b_end in spans[i + 1 :]
    ), f"no two sessions ran at the same time: {spans}"

    one_by_one = process_folder(  # one session at a time, each diarized beside its transcription
        [str(media)], Settings(output_dir=tmp_path / "one-by-one", diarize_beside_transcription=True)
    )
    assert [r.status for r in one_by_one] == ["done", "done", "failed"]
    assert len(loads) == 1
    words_together = transcript_words(tmp_path / "together")
    assert sorted(words_together) == ["deel-1", "deel-2"]
    assert all(words_together.values())
    assert words_together == transcript_words(tmp_path / "one-by-one")
    for name in ("deel-1", "deel-2"):
        rttm = (tmp_path / "together" / "private" / "sessions" / name / "speakers.rttm").read_text()
        alone = (tmp_path / "one-by-one" / "private" / "sessions" / name / "speakers.rttm").read_text()
        assert rttm.strip() and rttm == alone


def _session_spans_since(started: datetime) -> list[tuple[datetime, datetime]]:
    """Start and end of every `process-session` flow run recorded by the Prefect API since `started`."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=started)))
        names = {flow.id: flow.name for flow in client.read_flows()}
    return sorted(
        (run.start_time, run.end_time or run.start_time)
        for run in runs
        if names.get(run.flow_id) == "process-session" and run.start_time is not None
    )


def test_a_failed_block_is_the_only_one_transcribed_again(
    prefect_harness, long_sample: LongSample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks are cached one by one: when one block's transcription dies, the rerun transcribes that block
    only, and the transcript is the one an uninterrupted run gives."""
    long_session = long_sample.copy_into(tmp_path / "media")  # about 3 min, two blocks on two streams
    settings = Settings(output_dir=tmp_path / "out", transcribe=long_sample.settings)
    transcribed: list[int] = []
    broken = [True]

    def dying_second_block(wav_path, plan, index, *args, **kwargs):
        transcribed.append(index)
        if index == 1 and broken[0]:
            raise MemoryError("killed")  # as a worker killed for memory would end
        return transcribe.transcribe_block(wav_path, plan, index, *args, **kwargs)

    monkeypatch.setattr(pipeline, "transcribe_block", dying_second_block)

    first = process_folder([str(long_session)], settings)
    assert first[0].status == "failed" and "killed" in first[0].error
    assert sorted(transcribed) == [0, 1, 1]  # the failed block was retried once, as a transient failure
    assert not list((settings.output_dir / "site").glob("*/transcript.json"))

    broken[0] = False
    transcribed.clear()
    second = process_folder([str(long_session)], settings)

    assert second[0].status == "done", second[0].error
    assert transcribed == [1], "the finished block must come from the cache"
    transcript = from_json(Transcript, (Path(second[0].output_dir) / "transcript.json").read_text())
    assert timed_words(transcript) == timed_words(long_sample.reference)
