"""The transcript in other tools' formats: Podcasting 2.0 JSON, WhisperX JSON and whisper's TSV, read
back as those tools read them, and offered on the page and in the feed."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from livecastpipe.models import Segment, Transcript, Word
from livecastpipe.package.transcript_formats import podcast_transcript_json, whisper_tsv, whisperx_json
from livecastpipe.workspace import site_dir

from .test_publish import SAMPLE_SLUG, parse_page

NAMES = {"SPEAKER_00": "Anne de Vries", "SPEAKER_01": "Spreker 2"}


def two_speaker_transcript() -> Transcript:
    """One segment in which the speaker changes, one with a tab in its text."""
    words = (
        Word(0.0, 0.4, " Welkom", 0.9, "SPEAKER_00"),
        Word(0.4, 0.9, " allemaal.", 0.8, "SPEAKER_00"),
        Word(1.2, 1.6, " Dank", 0.7, "SPEAKER_01"),
        Word(1.6, 2.0, " je.", 0.95, "SPEAKER_01"),
    )
    return Transcript(
        "nl",
        1.0,
        5.0,
        (
            Segment(0.0, 2.0, " Welkom allemaal. Dank je.", words, "SPEAKER_00"),
            Segment(2.5, 4.0, "Over\tde buurt.", (Word(2.5, 4.0, "Over\tde buurt.", 0.5, "SPEAKER_01"),), "SPEAKER_01"),
        ),
        "test",
    )


def read_tsv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def test_podcast_transcript_splits_at_speaker_changes_with_public_names() -> None:
    data = json.loads(podcast_transcript_json(two_speaker_transcript(), NAMES))
    assert data["version"] == "1.0.0"
    assert [(s["speaker"], s["startTime"], s["endTime"], s["body"]) for s in data["segments"]] == [
        ("Anne de Vries", 0.0, 0.9, "Welkom allemaal."),
        ("Spreker 2", 1.2, 2.0, "Dank je."),
        ("Spreker 2", 2.5, 4.0, "Over\tde buurt."),
    ]


def test_podcast_transcript_phrases_end_with_sentences_or_stay_short() -> None:
    words = tuple(Word(i, i + 0.5, f"woord{i}" + ("." if i == 3 else ""), 0.9, "SPEAKER_00") for i in range(40))
    transcript = Transcript("nl", 1.0, 40.0, (Segment(0.0, 40.0, "…", words, "SPEAKER_00"),), "test")
    bodies = [s["body"].split() for s in json.loads(podcast_transcript_json(transcript, NAMES))["segments"]]
    assert [len(b) for b in bodies] == [4, 16, 16, 4] and bodies[0][-1] == "woord3."
    assert sum(bodies, []) == [w.text for w in words]


def test_whisperx_json_has_words_with_scores_and_speakers() -> None:
    data = json.loads(whisperx_json(two_speaker_transcript()))
    first = data["segments"][0]
    assert first["text"] == "Welkom allemaal. Dank je." and first["speaker"] == "SPEAKER_00"
    assert first["words"][2] == {"word": "Dank", "start": 1.2, "end": 1.6, "score": 0.7, "speaker": "SPEAKER_01"}
    assert len(data["word_segments"]) == 5 and data["language"] == "nl"


def test_tsv_is_whispers_milliseconds_with_tabs_kept_out_of_the_text() -> None:
    rows = read_tsv(whisper_tsv(two_speaker_transcript()))
    assert rows == [
        {"start": "0", "end": "2000", "text": "Welkom allemaal. Dank je."},
        {"start": "2500", "end": "4000", "text": "Over de buurt."},
    ]


@pytest.mark.slow
def test_published_transcript_formats_read_back_and_are_offered(published_site: Path) -> None:
    folder = site_dir(published_site) / SAMPLE_SLUG
    stored = json.loads((folder / "transcript.json").read_text())
    duration = stored["duration"]
    spoken = [w["text"].strip() for s in stored["segments"] for w in s["words"] if w["text"].strip()]

    podcast = json.loads((folder / "transcript.podcast.json").read_text())
    times = [(s["startTime"], s["endTime"]) for s in podcast["segments"]]
    assert all(0 <= a <= b <= duration + 0.5 for a, b in times) and times == sorted(times)
    assert {s["speaker"] for s in podcast["segments"]} == {"Anne de Vries", "Pieter Bakker"}
    assert " ".join(s["body"] for s in podcast["segments"]).split() == " ".join(spoken).split()

    whisperx = json.loads((folder / "transcript.whisperx.json").read_text())
    words = [w for s in whisperx["segments"] for w in s["words"]]
    assert words == whisperx["word_segments"] and [w["word"] for w in words] == spoken
    assert all(set(w) == {"word", "start", "end", "score", "speaker"} for w in words)
    assert all(0 <= w["score"] <= 1 and w["start"] <= w["end"] for w in words)

    rows = read_tsv((folder / "transcript.tsv").read_text())
    assert len(rows) == len([s for s in stored["segments"] if s["text"].strip()])
    assert all(int(r["start"]) <= int(r["end"]) <= round(duration * 1000) + 500 for r in rows)

    downloads = {a["href"] for t, a in parse_page(folder / "index.html").tags if t == "a" and a.get("href")}
    assert {"transcript.podcast.json", "transcript.whisperx.json", "transcript.tsv"} <= downloads
    ns = {"podcast": "https://podcastindex.org/namespace/1.0"}
    channel = ET.fromstring((site_dir(published_site) / "feed.xml").read_bytes()).find("channel")
    item = next(i for i in channel.findall("item") if SAMPLE_SLUG in i.findtext("link"))
    transcript_urls = [
        t.get("url") for t in item.findall("podcast:transcript", ns) if t.get("type") == "application/json"
    ]
    assert [u.rsplit("/", 1)[1] for u in transcript_urls] == ["transcript.podcast.json"]
