"""The workbench's captions: the cues as publishing would make them from the current edits (with their
warnings against the package's profile), a cue's start and end moved, the warnings of a text being typed
or a cue being moved before it is saved, the preview track, and the level strip of the session's audio."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.model import EditError, SessionEdits
from livecastpipe.editor.workbench.guard import ApiError
from livecastpipe.editor.workbench.service import Workbench
from livecastpipe.editor.workbench.views import site_file
from livecastpipe.package.editorial import EditedCaptions, edited_captions
from livecastpipe.package.package_format import PublishError
from livecastpipe.processes import run_child
from livecastpipe.stages.cue_times import key_seconds, warnings_of
from livecastpipe.stages.ingest import ffmpeg_binary
from livecastpipe.stages.subtitles import render_webvtt
from livecastpipe.storage import error_line

LEVEL_STEP_S = 0.05
"""The level strip's resolution: one peak per 50 ms."""
LEVEL_RATE_HZ = 4000
"""The rate the audio is decoded at for the level strip (enough for a peak per 50 ms, small for long sessions)."""
_LEVELS: dict[tuple[Path, int, int], list[int]] = {}
"""Level strips computed, by audio file, its modification time and size."""


def captions_of(bench: Workbench, slug: str, edits: SessionEdits | None = None) -> EditedCaptions:
    """The session's captions as publishing would make them from the stored edits (or `edits`)."""
    bench.require_session(slug)
    try:
        return edited_captions(bench.output_dir, slug, edits)
    except PublishError as exc:
        raise ApiError(500, error_line(exc)) from exc


def cues_json(captions: EditedCaptions, version: int) -> dict[str, Any]:
    """GET …/cues: every cue (key, start, end, text, moved, warnings), the timing edits that cannot be
    placed, and the profile the warnings follow."""
    warnings = warnings_of(captions.cues, captions.profile)
    profile = captions.profile
    return {
        "version": version,
        "duration": captions.duration,
        "profile": {"max_cps": profile.max_cps, "max_line_chars": profile.max_line_chars, "min_gap": profile.min_gap},
        "cues": [
            {
                "key": t.key,
                "start": t.cue.start,
                "end": t.cue.end,
                "text": t.cue.text,
                "moved": t.moved,
                "warnings": found,
            }
            for t, found in zip(captions.cues, warnings)
        ],
        "unplaced": [
            {"key": key, "start": times[0], "end": times[1]} for key, times in sorted(captions.unplaced.items())
        ],
    }


def session_cues(bench: Workbench, slug: str) -> dict[str, Any]:
    """GET /api/sessions/{slug}/cues."""
    edits = bench.current_edits(slug)
    return cues_json(captions_of(bench, slug, edits), edits.version)


def move_cue(bench: Workbench, slug: str, key: str, start: Any, end: Any, base_version: Any) -> dict[str, Any]:
    """POST …/cues/{key}: the cue's new start and end stored as an edit (under the edits' lock, 409 on a
    stale version, 400 when out of bounds); the change, and the cues as they are now."""
    captions = captions_of(bench, slug)
    shown = [(t.key, t.cue.start, t.cue.end) for t in captions.cues]
    min_gap, duration = captions.profile.min_gap, captions.duration

    def operation(current: SessionEdits) -> SessionEdits:
        return ed.set_cue_time(
            current,
            key,
            start,
            end,
            base_version=current.version,
            editor=bench.editor,
            cues=shown,
            min_gap=min_gap,
            duration=duration,
        )

    result = bench.change(slug, operation, base_version)
    result["captions"] = session_cues(bench, slug)
    return result


def check_cues(bench: Workbench, slug: str, data: dict[str, Any]) -> dict[str, Any]:
    """POST …/cues/check: the warnings the captions would get, nothing saved: with `segment` and `text`,
    of the cues of that segment's time were the text saved; with `cue`, `start` and `end`, of that cue
    (and its neighbours) were it moved there."""
    edits = bench.current_edits(slug)
    try:
        if "segment" in data:
            segment = edits.segment(str(data["segment"]))
            text = str(data.get("text", ""))
            changed = ed.set_text(edits, segment.id, text, base_version=edits.version, editor=bench.editor)
            low, high = segment.start, changed.segment(segment.id).end
        else:
            key, times = str(data.get("cue")), (data.get("start"), data.get("end"))
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in times):
                raise EditError("geef 'start' en 'end' van de regel in seconden")
            key_seconds(key)
            low, high = float(times[0]), float(times[1])  # type: ignore[arg-type]  # checked as numbers above
            changed = replace(edits, cue_times={**edits.cue_times, key: (low, high)})
    except (EditError, ValueError) as exc:
        raise ApiError(400, str(exc) if isinstance(exc, EditError) else f"'{data.get('cue')}' is geen regel") from exc
    found = cues_json(captions_of(bench, slug, changed), edits.version)
    found["cues"] = [c for c in found["cues"] if c["end"] > low - 1 and c["start"] < high + 1]
    return found


def preview_vtt(bench: Workbench, slug: str) -> str:
    """GET …/captions.vtt: the captions as publishing would make them now, for the preview track."""
    captions = captions_of(bench, slug)
    return render_webvtt([t.cue for t in captions.cues], captions.names)


def audio_levels(bench: Workbench, slug: str) -> dict[str, Any]:
    """GET …/levels: the peak level (0–255) of every 50 ms of the session's published audio, decoded once
    with the pinned ffmpeg (kept while the file is unchanged), for the workbench's level strip."""
    view = bench.view(slug)
    audio = site_file(bench.output_dir, slug, str(view.media.get("audio") or ""))
    if audio is None:
        raise ApiError(404, f"sessie '{slug}' heeft geen gepubliceerde audio")
    stat = audio.stat()
    key = (audio, stat.st_mtime_ns, stat.st_size)
    if key not in _LEVELS:
        command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(audio), "-map", "0:a:0"]
        command += ["-ac", "1", "-ar", str(LEVEL_RATE_HZ), "-f", "s16le", "-"]
        done = run_child(command, capture_output=True)
        if done.returncode != 0:
            raise ApiError(500, f"ffmpeg kon de audio van sessie '{slug}' niet lezen")
        samples = np.abs(np.frombuffer(done.stdout, dtype="<i2").astype(np.int32))
        per_step = int(LEVEL_RATE_HZ * LEVEL_STEP_S)
        padded = np.pad(samples, (0, -len(samples) % per_step))
        peaks = padded.reshape(-1, per_step).max(axis=1) if len(padded) else np.zeros(0, dtype=np.int32)
        if len(_LEVELS) >= 4:
            _LEVELS.clear()
        _LEVELS[key] = [int(p) for p in np.minimum(peaks * 255 // 32767, 255)]
    return {"step": LEVEL_STEP_S, "peaks": _LEVELS[key]}
