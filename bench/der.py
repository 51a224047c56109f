"""Diarization error rate, computed like `pyannote.metrics.diarization.DiarizationErrorRate(collar, skip_overlap=False)`.

Time is sampled in 10 ms frames. Frames within `collar` seconds of any reference turn boundary are not
scored (pyannote's collar: ±collar around every reference start and end). Reference speakers are mapped
one-to-one onto hypothesis speakers by the Hungarian algorithm on co-occurring time (the optimal mapping
pyannote uses). Per frame, with R reference and H hypothesis speakers and C correctly mapped ones:
missed = max(0, R - H), false alarm = max(0, H - R), confusion = min(R, H) - C; DER = their sum over
the sum of R. Overlapping speech is scored the same way pyannote scores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from livecastpipe.models import SpeakerTurn

FRAME = 0.01


@dataclass(frozen=True)
class DerResult:
    """Error components in seconds, and the rate they add up to."""

    der: float
    missed: float
    false_alarm: float
    confusion: float
    scored_speech: float
    reference_speakers: int
    hypothesis_speakers: int


def _activity(turns: Sequence[SpeakerTurn], frames: int) -> tuple[list[str], np.ndarray]:
    speakers = sorted({t.speaker for t in turns})
    matrix = np.zeros((len(speakers), frames), dtype=bool)
    index = {s: i for i, s in enumerate(speakers)}
    for t in turns:
        matrix[index[t.speaker], int(round(t.start / FRAME)) : int(round(t.end / FRAME))] = True
    return speakers, matrix


def diarization_error_rate(
    reference: Sequence[SpeakerTurn], hypothesis: Sequence[SpeakerTurn], collar: float = 0.25
) -> DerResult:
    """DER of `hypothesis` against `reference` with a ±collar no-score zone around reference boundaries."""
    end = max([t.end for t in reference] + [t.end for t in hypothesis] + [0.0])
    frames = int(round(end / FRAME)) + 1
    ref_speakers, ref = _activity(reference, frames)
    hyp_speakers, hyp = _activity(hypothesis, frames)
    scored = np.ones(frames, dtype=bool)
    width = int(round(collar / FRAME))
    for t in reference:
        for boundary in (t.start, t.end):
            centre = int(round(boundary / FRAME))
            scored[max(0, centre - width) : centre + width] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    correct = np.zeros(ref.shape[1], dtype=np.int64)
    if len(ref_speakers) and len(hyp_speakers):
        overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows, cols):
            correct += ref[r] & hyp[c]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    missed = np.maximum(0, n_ref - n_hyp).sum() * FRAME
    false_alarm = np.maximum(0, n_hyp - n_ref).sum() * FRAME
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum() * FRAME
    total = n_ref.sum() * FRAME
    der = (missed + false_alarm + confusion) / total if total else 0.0
    return DerResult(
        float(der),
        float(missed),
        float(false_alarm),
        float(confusion),
        float(total),
        len(ref_speakers),
        len(hyp_speakers),
    )
