"""One writer at a time for the editors' files: `livecast review` answering at its prompt while the
workbench decides, `livecast speakers` naming while the workbench saves a name, parallel writers of the
voice library, and a rerun merging its texts while an editor decides. Over the small published session of
the workbench tests (ffmpeg only, no model)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.editor import review
from livecastpipe.editor.review import KEYWORDS_KEY, SESSION_SUMMARY_KEY, read_review, update_review
from livecastpipe.editor.workbench import service
from livecastpipe.editor.workbench.guard import TOKEN_HEADER
from livecastpipe.editor.workbench.routes import workbench_app
from livecastpipe.editor.workbench.service import Workbench
from livecastpipe.models import SpeakerInfo
from livecastpipe.package import outputs
from livecastpipe.settings import Settings
from livecastpipe.stages.speakers import read_speakers_yaml, rename_speaker
from livecastpipe.stages.summaries import SessionSummary, SummarySentence
from livecastpipe.stages.voices import VoiceLibrary, update_voice_library

from .publish_fixtures import SETTINGS
from .workbench_fixtures import SLUG

TOKEN = "test-token-0123456789"
PROMPT = "[q]uit"


@pytest.fixture()
def client(output: Path) -> TestClient:
    """The workbench of the output folder, as a script talks to it (token header)."""
    settings = Settings(output_dir=output, publish=SETTINGS)
    app = workbench_app(Workbench(settings, TOKEN, "Redactie"), "127.0.0.1", 8642)
    return TestClient(app, base_url="http://127.0.0.1:8642", headers={TOKEN_HEADER: TOKEN})


class ReviewPrompt:
    """`livecast review SLUG` in a child process, answered line by line; what it printed so far."""

    def __init__(self, output: Path, reviewer: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "livecastpipe", "review", SLUG, "--output", str(output), "--reviewer", reviewer],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"},
        )
        self.printed = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := os.read(self.process.stdout.fileno(), 4096):
            with self._lock:
                self.printed += chunk.decode("utf-8", "replace")

    def wait_for_prompt(self, count: int) -> str:
        """Wait until the command asks its `count`-th question; what it printed."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self._lock:
                if self.printed.count(PROMPT) >= count:
                    return self.printed
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"livecast review did not ask question {count}: {self.printed}")

    def answer(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()

    def finish(self) -> tuple[int, str]:
        """Its exit status and everything it printed."""
        status = self.process.wait(timeout=60)
        self._reader.join(timeout=30)  # until it has read the last output
        return status, self.printed


def decide(client: TestClient, key: str, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/api/sessions/{SLUG}/review/{key}", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_an_answer_at_the_review_prompt_keeps_the_decision_the_workbench_made_meanwhile(
    output: Path, client: TestClient
) -> None:
    decide(client, KEYWORDS_KEY, decision="reject")
    cli = ReviewPrompt(output, "Marleen")
    shown = cli.wait_for_prompt(1)
    assert SESSION_SUMMARY_KEY in shown
    decide(client, KEYWORDS_KEY, decision="approve", text="wonen, werken")  # while the command waits
    cli.answer("a")
    cli.wait_for_prompt(2)
    cli.answer("q")
    status, printed = cli.finish()
    assert status == 0, printed

    stored = read_review(workspace.session_private_dir(output, SLUG))
    assert stored is not None
    summary = stored.item(SESSION_SUMMARY_KEY)
    assert summary.state == "approved" and summary.decision is not None and summary.decision.reviewer == "Marleen"
    keywords = stored.item(KEYWORDS_KEY)
    assert keywords.decision is not None
    assert (keywords.state, keywords.decision.reviewer, keywords.decision.text) == (
        "approved",
        "Redactie",
        "wonen, werken",
    )
    assert [(d.state, d.reviewer) for d in keywords.history] == [("rejected", "Redactie")]


def test_an_answer_on_an_item_the_workbench_decided_meanwhile_is_refused_saying_why(
    output: Path, client: TestClient
) -> None:
    cli = ReviewPrompt(output, "Marleen")
    cli.wait_for_prompt(1)
    decide(client, SESSION_SUMMARY_KEY, decision="reject")  # the same item, while the command waits
    cli.answer("a")
    cli.wait_for_prompt(2)
    cli.answer("q")
    status, printed = cli.finish()

    assert status == 1
    said = " ".join(printed.split())
    assert f"not saved: {SLUG}: '{SESSION_SUMMARY_KEY}' changed since you read it (now rejected by Redactie" in said
    assert "look at the item again" in said
    stored = read_review(workspace.session_private_dir(output, SLUG))
    assert stored is not None
    summary = stored.item(SESSION_SUMMARY_KEY)
    assert summary.state == "rejected" and summary.decision is not None and summary.decision.reviewer == "Redactie"
    assert summary.history == ()


def test_a_name_given_with_livecast_speakers_while_the_workbench_saves_another_is_kept(
    output: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.put(f"/api/sessions/{SLUG}/speakers/SPEAKER_00", json={"role": "moderator"}).status_code == 200
    workbench_has_read = threading.Event()
    command_done = threading.Event()

    def rename_then_wait(*args: Any, **kwargs: Any) -> dict[str, SpeakerInfo]:
        """The workbench's rename, then a pause before it writes, in which the command runs (or waits)."""
        renamed = rename_speaker(*args, **kwargs)
        workbench_has_read.set()
        command_done.wait(timeout=3)
        return renamed

    monkeypatch.setattr(service, "rename_speaker", rename_then_wait)
    answers: list[Any] = []
    saving = threading.Thread(
        target=lambda: answers.append(
            client.put(f"/api/sessions/{SLUG}/speakers/SPEAKER_01", json={"name": "Pieter Bakker"})
        )
    )
    saving.start()
    assert workbench_has_read.wait(timeout=30)
    renamed = CliRunner().invoke(
        app, ["speakers", SLUG, "--output", str(output), "--rename", "SPEAKER_00=Anne de Vries-Bakker"]
    )
    command_done.set()
    saving.join(timeout=30)
    assert renamed.exit_code == 0, renamed.output
    assert answers and answers[0].status_code == 200, answers

    folder = workspace.session_private_dir(output, SLUG)
    stored = read_speakers_yaml(folder / outputs.SPEAKERS.name())
    assert (stored["SPEAKER_00"].name, stored["SPEAKER_00"].confirmed) == ("Anne de Vries-Bakker", True)
    assert (stored["SPEAKER_01"].name, stored["SPEAKER_01"].confirmed) == ("Pieter Bakker", True)
    decisions = read_review(folder)
    assert decisions is not None
    approved = {i.key: i.decision.text for i in decisions.items if i.kind == "speaker_name" and i.decision}
    assert approved == {
        "speaker/SPEAKER_00/name": "Anne de Vries-Bakker",
        "speaker/SPEAKER_01/name": "Pieter Bakker",
    }


def test_a_rerun_merging_its_texts_keeps_a_decision_made_while_it_merged(
    output: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = workspace.session_private_dir(output, SLUG)
    before = read_review(folder)
    assert before is not None
    rerun_has_read = threading.Event()
    decided = threading.Event()
    merge = review.merge_review

    def merge_then_wait(*args: Any, **kwargs: Any) -> review.SessionReview:
        """The rerun's merge, then a pause before it writes, in which the editor decides (or waits)."""
        merged = merge(*args, **kwargs)
        rerun_has_read.set()
        decided.wait(timeout=3)
        return merged

    monkeypatch.setattr(review, "merge_review", merge_then_wait)
    summary = SessionSummary(
        sentences=(SummarySentence(0.5, 4.0, "SPEAKER_00", "Welkom bij de buurtcoöperatie van Amsterdam Noord."),),
        chapters=(),
        keywords=("coöperatie", "wonen"),
        source_hash="herhaling",
        backend="extractive",
    )
    rerun = threading.Thread(target=update_review, args=(folder, SLUG, "Werkbank proef", summary, ()))
    rerun.start()
    assert rerun_has_read.wait(timeout=30)
    decide(client, KEYWORDS_KEY, decision="approve", text="coöperatie, wonen, werken")
    decided.set()
    rerun.join(timeout=30)

    after = read_review(folder)
    assert after is not None
    keywords = after.item(KEYWORDS_KEY)
    assert keywords.decision is not None and keywords.decision.text == "coöperatie, wonen, werken"
    assert after.item(SESSION_SUMMARY_KEY).source_hash == "herhaling"


def test_parallel_writers_of_the_voice_library_lose_no_voice(tmp_path: Path) -> None:
    library = workspace.site_file(tmp_path / "output", outputs.VOICE_LIBRARY)
    rng = np.random.default_rng(7)
    voices = {f"sessie-{n}": rng.normal(size=16).tolist() for n in range(12)}

    def remember(sessions: list[str]) -> None:
        for session in sessions:
            speaker = SpeakerInfo("SPEAKER_00", f"Spreker van {session}", "speaker", 1.0, "editor", True)
            update_voice_library(library, session, {"SPEAKER_00": speaker}, {"SPEAKER_00": voices[session]}, 0.99)

    writers = [threading.Thread(target=remember, args=(sorted(voices)[n::3],)) for n in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
    remembered = VoiceLibrary.load(library)
    assert sorted(v.name or "" for v in remembered.voices) == sorted(f"Spreker van {s}" for s in voices)
