"""The subtitle quality report: how many cues keep each limit of the profile, and every flagged cue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from livecastpipe.models import Word
from livecastpipe.settings import SubtitleProfile
from livecastpipe.stages.cues import DIALOGUE_DASH, Cue, too_fast_to_read
from livecastpipe.timefmt import webvtt_timestamp


def subtitle_report(cues: Sequence[Cue], words: Sequence[Word], profile: SubtitleProfile, profile_name: str) -> dict:
    """The compliance report: share of cues within each limit of the profile, and every flagged cue."""
    total = len(cues)
    durations = [cue.end - cue.start for cue in cues]
    gaps = [b.start - a.end for a, b in zip(cues, cues[1:])]
    eps = 1e-6
    within = {
        "line_length": sum(all(len(line.text) <= profile.max_line_chars for line in c.lines) for c in cues),
        "line_count": sum(len(c.lines) <= profile.max_lines for c in cues),
        "reading_speed": sum(
            not too_fast_to_read(c.chars, round(d * 1000), profile.max_cps) for c, d in zip(cues, durations)
        ),
        "duration": sum(profile.min_duration - eps <= d <= profile.max_duration + eps for d in durations),
        "gap": sum(g >= profile.min_gap - eps for g in gaps),
    }
    counts = {key: total for key in within} | {"gap": len(gaps)}
    words_in_cues = sum(line.end_word - line.first_word for cue in cues for line in cue.lines)
    return {
        "profile": {"name": profile_name, **profile.model_dump()},
        "cues": total,
        "transcript_words": len(words),
        "words_in_cues": words_in_cues,
        "dialogue_cues": sum(c.dialogue for c in cues),
        "cues_mixing_speakers_unmarked": sum(mixes_speakers_unmarked(c) for c in cues),
        "within": {
            key: {
                "cues": within[key],
                "of": counts[key],
                "share": round(within[key] / counts[key], 4) if counts[key] else 1.0,
            }
            for key in within
        },
        "flagged": [
            {
                "cue": number,
                "start": webvtt_timestamp(cue.start),
                "end": webvtt_timestamp(cue.end),
                "text": cue.text,
                "reasons": list(cue.flags),
            }
            for number, cue in enumerate(cues, 1)
            if cue.flags
        ],
    }


def mixes_speakers_unmarked(cue: Cue) -> bool:
    """Whether a cue holds words of more than one speaker without a "- " line per speaker."""
    speakers = {line.speaker for line in cue.lines}
    if len(speakers) <= 1:
        return False
    return not (cue.dialogue and all(line.text.startswith(DIALOGUE_DASH) for line in cue.lines))


_LIMIT_TITLES = {
    "line_length": "line length",
    "line_count": "lines per cue",
    "reading_speed": "reading speed",
    "duration": "duration",
    "gap": "gap between cues",
}


def report_markdown(report: Mapping) -> str:
    """The report as Markdown (a Prefect artifact): shares within each limit, then every flagged cue."""
    p = report["profile"]
    limits = {
        "line_length": f"≤ {p['max_line_chars']} characters",
        "line_count": f"≤ {p['max_lines']}",
        "reading_speed": f"≤ {p['max_cps']:g} cps",
        "duration": f"{p['min_duration']:.2f}–{p['max_duration']:g} s",
        "gap": f"≥ {p['min_gap'] * 1000:g} ms",
    }
    out = [
        f"# Subtitles: profile `{p['name']}`",
        "",
        f"{report['cues']} cues, {report['words_in_cues']} of {report['transcript_words']} words in cues, "
        f"{report['dialogue_cues']} dialogue cues, "
        f"{report['cues_mixing_speakers_unmarked']} cues mixing speakers unmarked.",
        "",
        "| limit | rule | within | share |",
        "|---|---|---|---|",
    ]
    for key, title in _LIMIT_TITLES.items():
        row = report["within"][key]
        out.append(f"| {title} | {limits[key]} | {row['cues']} of {row['of']} | {row['share'] * 100:.1f} % |")
    out += ["", f"## Flagged cues ({len(report['flagged'])})", ""]
    if report["flagged"]:
        out += ["| cue | time | text | reasons |", "|---|---|---|---|"]
        for item in report["flagged"]:
            text = item["text"].replace("\n", " / ").replace("|", "\\|")
            out.append(f"| {item['cue']} | {item['start']} | {text} | {'; '.join(item['reasons'])} |")
    else:
        out.append("None: every cue meets the profile.")
    return "\n".join(out) + "\n"
