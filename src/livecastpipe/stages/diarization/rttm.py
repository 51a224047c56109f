"""RTTM, the diarization exchange format: speaker turns written for the session folder and read back."""

from __future__ import annotations

from livecastpipe.models import Diarization, SpeakerTurn


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
