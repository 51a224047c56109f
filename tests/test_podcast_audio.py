"""The audio copy as podcast apps play it: at -16 LUFS (EBU R128, measured by ffmpeg's ebur128 scanner),
as M4A or MP3 (`publish.podcast_audio`), and the feeds' enclosures typed and sized after the file."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest

from livecastpipe import workspace
from livecastpipe.models import Recording
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.publish import publish_session
from livecastpipe.processes import run_child
from livecastpipe.settings import PublishSettings
from livecastpipe.stages.ingest import ffmpeg_binary
from livecastpipe.stages.media import make_audio_copy

from .conftest import SAMPLE, run_ffmpeg
from .publish_fixtures import SETTINGS, hostile_package


def loudness_of(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file's audio, by ffmpeg's EBU R128 scanner."""
    result = run_child(
        [ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?(?:[\d.]+|inf)) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


@pytest.fixture(scope="module")
def quiet_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of the sample (its video too) recorded 12 dB too quiet, about -32 LUFS."""
    source = tmp_path_factory.mktemp("quiet") / "zacht.mp4"
    run_ffmpeg("-i", str(SAMPLE), "-t", "30", "-af", "volume=-12dB", "-c:v", "copy", "-c:a", "aac", str(source))
    return source


@pytest.mark.parametrize("audio_format", ["m4a", "mp3"])
def test_audio_copy_is_normalised_to_podcast_loudness(quiet_recording: Path, tmp_path: Path, audio_format: str) -> None:
    before, _ = loudness_of(quiet_recording)
    assert before < -28
    target = tmp_path / f"audio.{audio_format}"
    make_audio_copy(quiet_recording, target, replace_settings(podcast_audio=audio_format))
    integrated, true_peak = loudness_of(target)
    assert abs(integrated - -16.0) <= 1.0, integrated
    assert true_peak <= -1.0  # -1.5 dBTP asked; the encoder may overshoot by a few tenths
    magic = target.read_bytes()[:12]
    assert (magic[4:8] == b"ftyp") if audio_format == "m4a" else magic.startswith((b"ID3", b"\xff\xfb"))


def test_audio_copy_keeps_the_recordings_loudness_when_asked(quiet_recording: Path, tmp_path: Path) -> None:
    target = tmp_path / "audio.m4a"
    make_audio_copy(quiet_recording, target, replace_settings(normalise_audio=False))
    assert abs(loudness_of(target)[0] - loudness_of(quiet_recording)[0]) <= 1.0


def test_a_silent_recording_gets_a_silent_copy(tmp_path: Path) -> None:
    """Silence has no loudness to measure (-inf): the copy is written as it is, not amplified noise."""
    source = tmp_path / "stilte.m4a"
    run_ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "5", "-c:a", "aac", str(source))
    target = tmp_path / "audio.mp3"
    make_audio_copy(source, target, replace_settings(podcast_audio="mp3"))
    assert loudness_of(target)[0] <= -70  # the scanner's floor: nothing audible


def replace_settings(**changes: object) -> PublishSettings:
    """The publish tests' settings with `changes`, validated as a settings file's would be."""
    return PublishSettings.model_validate(SETTINGS.model_dump() | changes)


def test_mp3_enclosures_are_typed_and_sized_after_the_file(hostile_audio_recording: Recording, tmp_path: Path) -> None:
    """An audio-only session published with `podcast_audio = "mp3"`: the feed's enclosure is the MP3,
    `audio/mpeg`, its length the file's bytes, and the page offers it for download."""
    output = tmp_path / "output"
    settings = replace_settings(podcast_audio="mp3")
    package = hostile_package(hostile_audio_recording)
    package = replace(package, recording=replace(package.recording, slug="mp3-sessie"))
    folder = publish_session(package, output, settings)
    publish_catalogue(output, settings)
    audio = folder / "audio.mp3"
    assert audio.is_file() and not (folder / "audio.m4a").exists()
    parsed = feedparser.parse((workspace.site_dir(output) / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    (enclosure,) = parsed.entries[0].enclosures
    assert enclosure.type == "audio/mpeg" and int(enclosure.length) == audio.stat().st_size
    assert enclosure.href == f"{settings.base_url}mp3-sessie/audio.mp3"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert 'href="audio.mp3"' in page and "Alleen geluid (MP3)" in page and 'type="audio/mpeg"' in page
