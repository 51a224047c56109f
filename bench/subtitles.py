"""Subtitle compliance on real Dutch speech: the fillets conversations and a long (≥ 30 min) recording.

Each recording is transcribed by the pipeline's transcribe stage (transcripts cached under --cache),
its words get speakers from the reference RTTM (the speakers stage's word attribution), and the
subtitle stage writes its files. The figures are measured on the files as written, parsed back:
share of cues within line length, line count, reading speed, duration and gap, cues mixing speakers
unmarked, and whether the words in the cues equal the transcript's words.

    .venv/bin/python bench/subtitles.py [--conversations DIR] [--cache DIR] [--minutes 30]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import av
import pysubs2
import webvtt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import concatenate, fillets_conversations, write_report  # noqa: E402

from livecastpipe.models import Diarization, SpeakerTurn, Transcript, from_json, to_json  # noqa: E402
from livecastpipe.settings import (  # noqa: E402
    BUILTIN_SUBTITLE_PROFILES,
    SubtitleProfile,
    SubtitleSettings,
    TranscribeSettings,
)
from livecastpipe.stages.diarization.rttm import read_rttm  # noqa: E402
from livecastpipe.stages.ingest import ingest  # noqa: E402
from livecastpipe.stages.speakers import attribute_speakers  # noqa: E402
from livecastpipe.stages.subtitle_report import mixes_speakers_unmarked  # noqa: E402
from livecastpipe.stages.subtitles import (  # noqa: E402
    PHRASE_SPLIT_COST,
    break_cost,
    build_cues,
    subtitle_files,
    words_in_text,
)
from livecastpipe.stages.transcribe import transcribe_file  # noqa: E402

PROFILES = ("nl-default", "nl-broadcast")
SAMPLE = Path(__file__).resolve().parents[1] / "media" / "cooperatieven-sample.mp4"
_VOICE = re.compile(r"<v[^>]*>")


def cached_transcript(audio: Path, cache: Path) -> Transcript:
    """The transcribe stage's transcript of a recording, cached by content hash and settings."""
    settings = TranscribeSettings()
    recording = ingest(audio, cache / "ingest")
    path = cache / "transcripts" / f"{recording.sha256[:32]}-{settings.fingerprint()}.json"
    if path.is_file():
        return from_json(Transcript, path.read_text())
    started = time.perf_counter()
    transcript = transcribe_file(Path(recording.audio_path), settings)
    print(f"transcribed {audio.name} in {time.perf_counter() - started:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(transcript))
    return transcript


def duration_of(path: Path) -> float:
    with av.open(str(path)) as container:
        return container.duration / 1_000_000


def long_recording_turns(sources: list[Path], minutes: float) -> list[SpeakerTurn]:
    """The reference turns of the sources repeated in order, as `common.concatenate` joins them."""
    turns: list[SpeakerTurn] = []
    offset, i = 0.0, 0
    while offset < minutes * 60:
        source = sources[i % len(sources)]
        for t in read_rttm(source.with_suffix(".rttm").read_text()):
            turns.append(SpeakerTurn(round(t.start + offset, 3), round(t.end + offset, 3), t.speaker))
        offset += duration_of(source)
        i += 1
    return turns


def with_reference_speakers(transcript: Transcript, turns: list[SpeakerTurn]) -> Transcript:
    return attribute_speakers(transcript, Diarization(turns=tuple(turns), centroids={}, engine="reference-rttm"))


def vtt_ms(timestamp: webvtt.models.Timestamp) -> int:
    hours, minutes, seconds, millis = timestamp.to_tuple()
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def measure_files(files: dict[str, str], transcript: Transcript, profile: SubtitleProfile) -> dict:
    """The figures, from the written files parsed back (pysubs2 for SRT, webvtt-py for WebVTT)."""
    srt = pysubs2.SSAFile.from_string(files["subtitles.nl.srt"], format_="srt")
    cues = [(e.start, e.end, e.plaintext.split("\n")) for e in srt]
    n = len(cues)
    within = {
        "line_length": sum(all(len(line) <= profile.max_line_chars for line in lines) for _, _, lines in cues),
        "line_count": sum(len(lines) <= profile.max_lines for _, _, lines in cues),
        "reading_speed": sum(
            sum(len(line) for line in lines) * 1000 <= profile.max_cps * (end - start) + 1e-6
            for start, end, lines in cues
        ),
        "duration": sum(
            profile.min_duration * 1000 - 0.5 <= end - start <= profile.max_duration * 1000 + 0.5
            for start, end, _ in cues
        ),
        "gap": sum(b[0] - a[1] >= profile.min_gap * 1000 - 0.5 for a, b in zip(cues, cues[1:])),
    }
    shares = {k: round(100 * v / (n - 1 if k == "gap" else n), 2) if n > 1 else 100.0 for k, v in within.items()}
    expected = [w.text for w in transcript.words]
    srt_words = [w for e in srt for w in words_in_text(e.plaintext, profile.continuation)]
    captions = webvtt.from_string(files["captions.nl.vtt"])
    vtt_words = [w for c in captions for w in words_in_text(c.text, profile.continuation)]
    # a caption cue with more than one voice must be a dialogue cue: one "- " line per voice
    unmarked_in_vtt = sum(
        len(set(_VOICE.findall(c.raw_text))) > 1 and not all(_VOICE.sub("", line).startswith("- ") for line in c.lines)
        for c in captions
    )
    two_line = [lines for _, _, lines in cues if len(lines) == 2 and not lines[0].startswith("- ")]
    cps = sorted(sum(len(line) for line in lines) * 1000 / (end - start) for start, end, lines in cues)
    return {
        "cues": n,
        "within_pct": shares,
        "cps_median": round(statistics.median(cps), 1) if cps else None,
        "cps_p95": round(cps[int(0.95 * (len(cps) - 1))], 1) if cps else None,
        "two_line_cues": len(two_line),
        "two_line_bottom_longer_or_equal_pct": round(
            100 * sum(len(b) >= len(t) for t, b in two_line) / len(two_line), 1
        )
        if two_line
        else None,
        "two_line_median_short_to_long": round(
            statistics.median(min(len(t), len(b)) / max(len(t), len(b)) for t, b in two_line), 2
        )
        if two_line
        else None,
        "cues_mixing_speakers_unmarked_in_captions_vtt": unmarked_in_vtt,
        "words_in_cues_equal_transcript_words": srt_words == expected and vtt_words == expected,
        "transcript_words": len(expected),
        "monotonic_non_overlapping": all(a[1] <= b[0] and a[0] < a[1] for a, b in zip(cues, cues[1:])),
    }


def turns_too_fast(transcript: Transcript, profile: SubtitleProfile) -> int:
    """Speaker turns whose words cannot be read at the profile's speed by any timing the rules allow:
    their text over the time from the first word to the last word plus `max_linger` (or the next
    turn's start, if sooner). Each such turn needs at least one cue over the reading speed."""
    words = transcript.words
    turns: list[list] = []
    for word in words:
        if turns and turns[-1][-1].speaker == word.speaker:
            turns[-1].append(word)
        else:
            turns.append([word])
    count = 0
    for index, turn in enumerate(turns):
        chars = sum(len(w.text) for w in turn) + len(turn) - 1
        end = turn[-1].end + profile.max_linger
        if index + 1 < len(turns):
            end = min(end, turns[index + 1][0].start)
        count += chars > profile.max_cps * max(end - turn[0].start, 1e-3)
    return count


def evaluate(name: str, transcript: Transcript, names: dict[str, str]) -> dict:
    row: dict = {"recording": name, "duration_s": round(transcript.duration, 1)}
    for profile_name in PROFILES:
        profile = BUILTIN_SUBTITLE_PROFILES[profile_name]
        started = time.perf_counter()
        files = subtitle_files(transcript, names, SubtitleSettings(profile=profile_name))
        build_s = time.perf_counter() - started
        cues = build_cues(transcript.words, profile)
        texts = [w.text for w in transcript.words]
        line_breaks = [line.first_word for cue in cues for line in cue.lines[1:] if not cue.dialogue]
        cue_breaks = [cue.first_word for cue in cues[1:]]
        report = json.loads(files["subtitle-report.json"])
        row[profile_name] = measure_files(files, transcript, profile) | {
            "cues_mixing_speakers_unmarked": sum(mixes_speakers_unmarked(c) for c in cues),
            "dialogue_cues": report["dialogue_cues"],
            # breaks after an article/determiner or inside a capitalised name
            "line_breaks": len(line_breaks),
            "line_breaks_splitting_article_noun_or_name": sum(
                break_cost(texts, k) >= PHRASE_SPLIT_COST for k in line_breaks
            ),
            "cue_breaks_splitting_article_noun_or_name": sum(
                break_cost(texts, k) >= PHRASE_SPLIT_COST for k in cue_breaks
            ),
            "flagged": len(report["flagged"]),
            "turns_too_fast_to_read_verbatim": turns_too_fast(transcript, profile),
            "flag_kinds": flag_kinds(report["flagged"]),
            "files_seconds": round(build_s, 2),
        }
    return row


def flag_kinds(flagged: list[dict]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for item in flagged:
        for reason in item["reasons"]:
            kind = re.sub(r"[\d.]+", "N", reason)
            kind = re.sub(r"line N has", "line has", kind)
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def totals(rows: list[dict], profile_name: str) -> dict:
    """Pooled shares over all cues of the rows."""
    cues = sum(r[profile_name]["cues"] for r in rows)
    pooled = {}
    for key in ("line_length", "line_count", "reading_speed", "duration", "gap"):
        count = sum(r[profile_name]["within_pct"][key] * (r[profile_name]["cues"] - (key == "gap")) / 100 for r in rows)
        pooled[key] = round(100 * count / (cues - len(rows) * (key == "gap")), 2)
    return {
        "cues": cues,
        "within_pct": pooled,
        "turns_too_fast_to_read_verbatim": sum(r[profile_name]["turns_too_fast_to_read_verbatim"] for r in rows),
        "cues_mixing_speakers_unmarked": sum(r[profile_name]["cues_mixing_speakers_unmarked"] for r in rows),
        "words_in_cues_equal_transcript_words": all(
            r[profile_name]["words_in_cues_equal_transcript_words"] for r in rows
        ),
    }


def _pair(a: float | None, b: float | None) -> str:
    return f"{a} / {b}" if a is not None else ""


def markdown(data: dict) -> str:
    out = [
        "# Subtitles: compliance on real Dutch speech",
        "",
        f"Command: `{data['command']}`. Transcripts: bundled Whisper base (int8), speakers from the reference "
        "RTTM by word overlap. Figures measured on the written `subtitles.nl.srt` / `captions.nl.vtt`, parsed back. "
        "Timings are on a shared 2-core machine (noisy).",
        "",
    ]
    for profile_name in PROFILES:
        out += [
            f"## Profile `{profile_name}`",
            "",
            "| recording | min | cues | line length % | lines % | reading speed % | duration % | gap % "
            "| mixing unmarked | dialogue | turns too fast | cps median / p95 | 2-line: bottom ≥ top % "
            "| words equal | files s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in data["recordings"] + [data["totals"][profile_name] | {"recording": "**fillets, all**"}]:
            r = row.get(profile_name, row)
            w = r["within_pct"]
            minutes = f"{row['duration_s'] / 60:.1f}" if "duration_s" in row else ""
            out.append(
                f"| {row['recording']} | {minutes} | {r['cues']} | {w['line_length']} | {w['line_count']} | "
                f"{w['reading_speed']} | {w['duration']} | {w['gap']} | {r['cues_mixing_speakers_unmarked']} | "
                f"{r.get('dialogue_cues', '')} | {r['turns_too_fast_to_read_verbatim']} | "
                f"{_pair(r.get('cps_median'), r.get('cps_p95'))} | {r.get('two_line_bottom_longer_or_equal_pct', '')} | "
                f"{'yes' if r['words_in_cues_equal_transcript_words'] else 'NO'} | "
                f"{r.get('files_seconds', '')} |"
            )
        out.append("")
        kinds: dict[str, int] = {}
        for row in data["recordings"]:
            for kind, count in row[profile_name]["flag_kinds"].items():
                kinds[kind] = kinds.get(kind, 0) + count
        out.append(
            "*turns too fast*: speaker turns whose words cannot be shown within the reading speed by any "
            "timing the profile allows (from the first word to 1 s after the last, never into the next "
            "turn); each forces at least one cue over the limit, so they bound the reading-speed share."
        )
        out.append("")
        splits = sum(r[profile_name]["line_breaks_splitting_article_noun_or_name"] for r in data["recordings"])
        cue_splits = sum(r[profile_name]["cue_breaks_splitting_article_noun_or_name"] for r in data["recordings"])
        breaks = sum(r[profile_name]["line_breaks"] for r in data["recordings"])
        out.append(
            f"Line breaks between an article/determiner and what follows, or inside a name: {splits} of {breaks} "
            f"line breaks; cue breaks doing so: {cue_splits} (all recordings)."
        )
        out.append("")
        out.append(
            "Flag reasons (all recordings): " + (", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) or "none")
        )
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, default=Path("/work/fillets-eval/conversations"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/livecast-bench"))
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    folder = args.conversations
    if not (folder / "INDEX.tsv").is_file():
        folder = fillets_conversations(args.cache / "fillets")
    sources = sorted(folder.glob("conv_*.flac"))
    rows = []
    for source in sources:
        transcript = with_reference_speakers(
            cached_transcript(source, args.cache), read_rttm(source.with_suffix(".rttm").read_text())
        )
        speakers = {w.speaker for w in transcript.words if w.speaker}
        rows.append(evaluate(source.stem, transcript, {s: s.replace("_", " ").title() for s in speakers}))
        print(rows[-1]["recording"], rows[-1]["nl-default"]["within_pct"], flush=True)
    long_audio = concatenate(sources, args.minutes, args.cache / f"fillets-{args.minutes:g}min.flac")
    long_transcript = with_reference_speakers(
        cached_transcript(long_audio, args.cache), long_recording_turns(sources, args.minutes)
    )
    speakers = {w.speaker for w in long_transcript.words if w.speaker}
    long_row = evaluate(long_audio.stem, long_transcript, {s: s.replace("_", " ").title() for s in speakers})
    sample_row = evaluate(SAMPLE.stem + " (no speakers)", cached_transcript(SAMPLE, args.cache), {})
    data = {
        "command": "python bench/subtitles.py",
        "recordings": rows + [long_row, sample_row],
        "totals": {p: totals(rows, p) for p in PROFILES},
    }
    data["totals_note"] = (
        "totals pool the fillets conversations; the long recording and the sample are rows of their own"
    )
    write_report("subtitles", data, markdown(data))


if __name__ == "__main__":
    main()
