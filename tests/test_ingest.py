"""Ingest: probing, decoding, identity, sidecars, and a clear error for every kind of bad input."""

from __future__ import annotations

import errno
import os
import random
import wave
from importlib.metadata import version
from pathlib import Path

import pytest

from livecastpipe.stages.ingest import (
    IngestError,
    decode_audio,
    ffmpeg_binary,
    find_recordings,
    ingest,
    read_metadata,
    session_slug,
)
from livecastpipe.storage import error_line

from .conftest import run_ffmpeg


def _tone(path: Path, seconds: float = 3.0, extra: tuple[str, ...] = ()) -> Path:
    run_ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", *extra, str(path))
    return path


def test_sample_is_probed_and_decoded_once(sample: Path, tmp_path: Path) -> None:
    recording = ingest(sample, tmp_path / "cache")
    assert recording.media.video is not None and recording.media.video.codec == "h264"
    assert recording.media.audio.codec == "aac"
    assert 55 < recording.media.duration < 90
    with wave.open(recording.audio_path, "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert abs(wav.getnframes() / 16000 - recording.media.duration) < 0.5
    assert recording.metadata.title == "Coöperatieven maken de stad — voorbeeldsessie"
    assert [s.name for s in recording.metadata.speakers] == ["Anne de Vries", "Pieter Bakker"]
    assert "buurtcoöperatie" in recording.metadata.glossary
    assert recording.slug == "cooperatieven-maken-de-stad-voorbeeldsessie"


def test_decoded_audio_does_not_depend_on_an_ffmpeg_on_path(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = ingest(sample, tmp_path / "pinned")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "ffmpeg"  # writes garbage to its last argument, as a broken system ffmpeg might
    fake.write_text('#!/bin/sh\nfor last; do :; done\necho garbage > "$last"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    beside_fake = ingest(sample, tmp_path / "beside-fake")
    assert "imageio_ffmpeg" in ffmpeg_binary()
    assert Path(beside_fake.audio_path).read_bytes() == Path(pinned.audio_path).read_bytes()
    assert version("imageio-ffmpeg") in Path(pinned.audio_path).name  # another decoder, another cache file
    assert pinned.decoder.startswith(f"imageio-ffmpeg {version('imageio-ffmpeg')}")


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".mkv", ".webm"])
def test_common_containers_are_accepted(tmp_path: Path, suffix: str) -> None:
    extra: tuple[str, ...] = ()
    if suffix in (".mkv", ".webm"):
        extra = ("-f", "lavfi", "-i", "color=c=black:s=64x48:r=5:d=3", "-shortest")
    source = _tone(tmp_path / f"tone{suffix}", extra=extra)
    recording = ingest(source, tmp_path / "cache")
    assert 2.5 < recording.media.duration < 3.6
    assert (recording.media.video is not None) == (suffix in (".mkv", ".webm"))


def test_identity_is_content_hash_and_slug_never_escapes(tmp_path: Path) -> None:
    a = _tone(tmp_path / "a.wav")
    b = tmp_path / "renamed.wav"
    b.write_bytes(a.read_bytes())
    assert ingest(a, tmp_path / "c").sha256 == ingest(b, tmp_path / "c").sha256
    assert session_slug("../../etc/passwd", "f" * 64, {}) == "etc-passwd"
    assert session_slug("Zelfde titel", "a" * 64, {"zelfde-titel": "b" * 64}) == "zelfde-titel-aaaaaaaa"
    assert session_slug("Zelfde titel", "a" * 64, {"zelfde-titel": "a" * 64}) == "zelfde-titel"
    # A recording keeps the folder its content has, under a new title or file name.
    assert session_slug("Nieuwe titel", "a" * 64, {"oude-titel": "a" * 64}) == "oude-titel"
    assert session_slug("Zelfde titel", "a" * 64, {"zelfde-titel": "b" * 64, "oud": "a" * 64}) == "oud"
    assert ingest(b, tmp_path / "c", {"a": ingest(a, tmp_path / "c").sha256}).slug == "a"


def _expect_error(path: Path, tmp_path: Path, words: str) -> None:
    """Ingest refuses the recording with one line naming it and the problem, and leaves nothing in the
    cache: no folder for its hash, no decoded or partly decoded audio."""
    with pytest.raises(IngestError) as caught:
        ingest(path, tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(str(path)) and words in message, message
    assert "\n" not in message
    assert not list((tmp_path / "cache").glob("*")), "a rejected recording left its cache folder"


def test_missing_file(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.mp4", tmp_path, "no such file")
    with pytest.raises(IngestError, match="no such file or folder"):
        find_recordings([tmp_path / "nowhere"])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    _expect_error(path, tmp_path, "empty")


def test_a_full_disk_while_decoding_says_so(sample: Path, tmp_path: Path) -> None:
    """ffmpeg writing the decoded audio onto a full disk (/dev/full) is the disk's fault, not the recording's."""
    target = tmp_path / "cache" / "audio.wav"
    target.parent.mkdir()
    Path(f"{target}.partial").symlink_to("/dev/full")
    with pytest.raises(OSError) as raised:
        decode_audio(sample, target)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == f"{target}.partial"
    assert "the disk is full" in error_line(raised.value)
    assert not target.exists() and not Path(f"{target}.partial").is_symlink()


def test_not_media(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("Dit is geen video, maar een boodschappenlijstje.\n" * 50)
    _expect_error(path, tmp_path, "not a readable audio or video file")


def test_video_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "mute.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x48:r=5:d=2", "-c:v", "libx264", str(path))
    _expect_error(path, tmp_path, "no audio stream")


@pytest.mark.parametrize(
    ("suffix", "extra", "words"),
    [
        (".wav", (), "truncated"),
        (".mp4", ("-c:a", "aac", "-movflags", "+faststart"), "truncated"),
        (".mp4", ("-c:a", "aac"), "not a readable audio or video file"),
    ],
)
def test_truncated_file(tmp_path: Path, suffix: str, extra: tuple[str, ...], words: str) -> None:
    whole = _tone(tmp_path / f"whole{suffix}", seconds=20, extra=extra)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    _expect_error(cut, tmp_path, words)


def test_a_recording_whose_audio_cannot_be_decoded(tmp_path: Path) -> None:
    """Its index is intact, so it probes as 20 s of AAC, but every audio frame is noise: ffmpeg gives up."""
    garbled = _tone(tmp_path / "garbled.mp4", seconds=20, extra=("-c:a", "aac", "-movflags", "+faststart"))
    data = bytearray(garbled.read_bytes())
    frames = data.index(b"mdat") + 4
    data[frames:] = random.Random(7).randbytes(len(data) - frames)
    garbled.write_bytes(bytes(data))
    _expect_error(garbled, tmp_path, "audio cannot be decoded")


def test_silent_file(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    run_ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", str(path))
    _expect_error(path, tmp_path, "silent")


def test_sidecar_errors_name_the_field(tmp_path: Path) -> None:
    recording = _tone(tmp_path / "talk.wav")
    sidecar = tmp_path / "talk.yaml"
    sidecar.write_text("title: Panel\nspeakers:\n  - name: Anne\n    role: chef\nspeaker_count: nul\n")
    with pytest.raises(IngestError) as caught:
        read_metadata(recording)
    message = str(caught.value)
    assert message.startswith(str(sidecar))
    assert "speakers.0.role" in message and "speaker_count" in message
    sidecar.write_text("title: [unclosed\n")
    with pytest.raises(IngestError, match="not valid YAML"):
        read_metadata(recording)


def test_folder_sidecar(tmp_path: Path) -> None:
    recording = _tone(tmp_path / "talk.wav")
    (tmp_path / "sessions.yaml").write_text(
        "talk.wav:\n  title: Buurtcoöperaties\n  date: 2026-03-14\n  speakers: [Anne, Piet]\n"
        "  glossary: [Commons Vlag]\n"
    )
    metadata = read_metadata(recording)
    assert metadata.title == "Buurtcoöperaties" and metadata.date == "2026-03-14"
    assert [s.name for s in metadata.speakers] == ["Anne", "Piet"]
    assert metadata.glossary == ("Commons Vlag",)


def test_sidecar_names_a_sign_language_video_and_audio_descriptions(tmp_path: Path) -> None:
    recording = _tone(tmp_path / "talk.wav")
    sidecar = tmp_path / "talk.yaml"
    sidecar.write_text("title: Panel\nsign_language_video: talk-ngt.mp4\ndescriptions: talk.beschrijving.vtt\n")
    with pytest.raises(IngestError, match="sign_language_video: no such file talk-ngt.mp4"):
        read_metadata(recording)
    (tmp_path / "talk-ngt.mp4").write_bytes(b"video")
    (tmp_path / "talk.beschrijving.vtt").write_text("not a caption file\n")
    with pytest.raises(IngestError, match="descriptions: not a WebVTT file"):
        read_metadata(recording)
    (tmp_path / "talk.beschrijving.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nEen zaal vol mensen.\n")
    metadata = read_metadata(recording)
    assert metadata.sign_language_video == str(tmp_path / "talk-ngt.mp4")
    assert metadata.descriptions == str(tmp_path / "talk.beschrijving.vtt")
