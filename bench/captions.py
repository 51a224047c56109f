"""What a deaf viewer reads: loops, uncaptioned speech, WER, the session's names, before and after the
repair stage, on the sample, the fillets conversations (real Dutch speech) and a long joined recording.

Each recording is ingested (pinned decoder), transcribed by the transcribe stage (timed), its speech found
by the speakers stage's voice activity pass, then repaired by the repair stage (timed: the added time).
Captions are built from the words as the subtitles stage builds them; the figures are measured on them:
- loops: runs of a word or phrase of up to 20 words (a sentence; the issue counts up to 4) said 4 or more
  times in a row in the captions' text, as `repair.repeated_words` counts them: the words repeated;
- coverage: the share of speech time (reference turns; for the sample, the voice activity's speech)
  that a caption cue is on screen for;
- WER against the reference (the sample's script from `scripts/make_sample.py`);
- names and glossary terms spelled right (the sample's metadata): found / said in the reference;
- added time: the repair stage's wall time over transcription's.

Also, on the sample: which decoding hint spells the session's own words best (glossary hotwords as now,
names and glossary as hotwords, or as an initial prompt).

    .venv/bin/python bench/captions.py [--conversations DIR] [--minutes 30] [--no-long]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import concatenate, eval_pairs, fillets_conversations, normalise_dutch, word_error_rate, write_report  # noqa: E402

from livecastpipe.models import SessionMetadata, Transcript  # noqa: E402
from livecastpipe.settings import SpeakerSettings, SubtitleProfile, TranscribeSettings  # noqa: E402
from livecastpipe.stages import transcribe as transcribe_module  # noqa: E402
from livecastpipe.stages.diarization import find_speech  # noqa: E402
from livecastpipe.stages.diarization.rttm import read_rttm  # noqa: E402
from livecastpipe.stages.ingest import ingest  # noqa: E402
from livecastpipe.stages.languages import dictionary  # noqa: E402
from livecastpipe.stages.repair import check_transcript, repeated_words, uncaptioned_spans  # noqa: E402
from livecastpipe.stages.subtitles import build_cues  # noqa: E402
from livecastpipe.stages.terms import decoding_terms  # noqa: E402
from livecastpipe.stages.transcribe import transcribe_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "media" / "cooperatieven-sample.mp4"
Span = tuple[float, float]


def sample_script() -> str:
    """The sample's spoken script, from the script that made it."""
    sys.path.insert(0, str(REPO / "scripts"))
    from make_sample import DIALOGUE

    return " ".join(text for _, text in DIALOGUE)


def covered_share(speech: Sequence[Span], cues: Sequence[Span]) -> float:
    """The share of the speech time some cue is on screen for."""
    total = sum(b - a for a, b in speech)
    covered = 0.0
    for a, b in speech:
        covered += sum(max(0.0, min(b, d) - max(a, c)) for c, d in cues)
    return covered / total if total else 1.0


UNHELD = SubtitleProfile(min_linger=0, chain_gap=0)
"""The default profile as it was before cues were held after their last word and chained over short pauses."""


def cue_spans(transcript: Transcript, profile: SubtitleProfile | None = None) -> tuple[list[Span], str]:
    """The caption cues' time spans and their text, built from the words as the subtitles stage does."""
    cues = build_cues(transcript.words, profile or SubtitleProfile())
    return [(c.start, c.end) for c in cues], " ".join(line.text for c in cues for line in c.lines)


def terms_right(reference: str, hypothesis: str, terms: Sequence[str]) -> tuple[int, int]:
    """(said right, said) over the terms: each term's count in the normalised reference, capped matches."""
    ref, hyp = f" {normalise_dutch(reference)} ", f" {normalise_dutch(hypothesis)} "
    said = right = 0
    for term in terms:
        needle = f" {normalise_dutch(term)} "
        count = ref.count(needle)
        said += count
        right += min(count, hyp.count(needle))
    return right, said


def measure(
    name: str,
    audio: Path,
    reference: str | None,
    turns: Sequence[Span] | None,
    cache: Path,
    metadata: SessionMetadata | None = None,
) -> dict:
    """Transcribe, repair and measure one recording."""
    recording = ingest(audio, cache)
    metadata = metadata or recording.metadata
    settings = TranscribeSettings()
    wav = Path(recording.audio_path)
    started = time.perf_counter()
    raw = transcribe_file(wav, settings, decoding_terms(metadata))
    transcribe_s = time.perf_counter() - started
    speech = find_speech(wav, SpeakerSettings())
    fixed, report = check_transcript(raw, wav, speech, settings, metadata)
    reference_speech = list(turns) if turns else list(speech)
    result: dict = {
        "name": name,
        "duration_s": round(recording.media.duration, 1),
        "transcribe_s": round(transcribe_s, 2),
        "repair_s": report.seconds,
        "added_time": round(report.seconds / transcribe_s, 4),
        "redecoded_s": report.redecoded_s,
        "repairs": len(report.repairs),
        "repairs_by_problem": {
            p: sum(r.problem == p for r in report.repairs) for p in sorted({r.problem for r in report.repairs})
        },
        "still_uncaptioned": len(report.uncaptioned),
        "corrections": [(c.original, c.corrected) for c in report.corrections],
    }
    for label, transcript in (("before", raw), ("after", fixed)):
        spans, text = cue_spans(transcript)
        result[label] = {
            "loops": repeated_words(text.split()),
            "coverage": round(covered_share(reference_speech, spans), 4),
            "speech_without_words": round(
                sum(b - a for a, b in uncaptioned_spans(reference_speech, transcript.words))
                / max(1e-9, sum(b - a for a, b in reference_speech)),
                4,
            ),
            "wer": round(word_error_rate([reference], [transcript.text]), 4) if reference else None,
        }
        result[label]["coverage_unheld"] = round(covered_share(reference_speech, cue_spans(transcript, UNHELD)[0]), 4)
        terms = [s.name for s in metadata.speakers] + list(metadata.glossary)
        if reference and terms:
            result[label]["terms_right"] = terms_right(reference, transcript.text, terms)
    print(name, result, flush=True)
    return result


def decoding_hints(cache: Path) -> list[dict]:
    """The sample decoded with each way of telling Whisper the session's words: WER and terms right."""
    recording = ingest(SAMPLE, cache)
    meta = recording.metadata
    names = [s.name for s in meta.speakers]
    terms = names + list(meta.glossary)
    reference = sample_script()
    options = transcribe_module._decoding_options
    rows = []
    variants = {
        "glossary as hotwords (before)": (list(meta.glossary), None),
        "names and glossary as hotwords (now)": (terms, None),
        "names and glossary as initial prompt": ([], ", ".join(terms) + "."),
    }
    for label, (hotwords, prompt) in variants.items():
        transcribe_module._decoding_options = lambda s, g, prompt=prompt: {**options(s, g), "initial_prompt": prompt}
        try:
            started = time.perf_counter()
            transcript = transcribe_file(Path(recording.audio_path), TranscribeSettings(), hotwords)
            seconds = time.perf_counter() - started
        finally:
            transcribe_module._decoding_options = options
        right, said = terms_right(reference, transcript.text, terms)
        rows.append(
            {
                "hint": label,
                "wer": round(word_error_rate([reference], [transcript.text]), 4),
                "terms_right": [right, said],
                "loops": repeated_words(transcript.text.split()),
                "seconds": round(seconds, 2),
            }
        )
        print(rows[-1], flush=True)
    return rows


def markdown(results: list[dict], hints: list[dict]) -> str:
    lines = [
        "# Captions a deaf viewer can trust (bench/captions.py)",
        "",
        "Before = the transcribe stage's words; after = the repair stage's (loops decoded again, speech",
        "without words decoded again, names and glossary corrected). Coverage = share of speech time",
        "(reference turns; VAD speech for the sample) with a caption cue on screen, cues held 0.7 s after",
        "their last word and chained over pauses under 1.5 s; 'unheld' = the same words with cues ending at",
        "their last word (the cue timing before). Speech > 1 s without words: the share of speech time in",
        "stretches longer than 1 s that no word covers. Loops: words repeated in runs of a word or phrase of",
        "up to 20 words said 4 or more times in a row.",
        "",
        "| recording | min | loops before → after | coverage before → after | coverage after, unheld "
        "| speech > 1 s without words | WER before → after | terms right before → after | repairs | still empty "
        "| added time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b, a = r["before"], r["after"]
        wer = f"{b['wer']:.3f} → {a['wer']:.3f}" if b["wer"] is not None else "–"
        terms = (
            f"{b['terms_right'][0]}/{b['terms_right'][1]} → {a['terms_right'][0]}/{a['terms_right'][1]}"
            if "terms_right" in b
            else "–"
        )
        lines.append(
            f"| {r['name']} | {r['duration_s'] / 60:.1f} | {b['loops']} → {a['loops']} "
            f"| {b['coverage']:.1%} → {a['coverage']:.1%} | {a['coverage_unheld']:.1%} "
            f"| {b['speech_without_words']:.1%} → {a['speech_without_words']:.1%} | {wer} | {terms} | {r['repairs']} "
            f"| {r['still_uncaptioned']} | {r['added_time']:.1%} ({r['repair_s']:.1f} s / {r['transcribe_s']:.1f} s) |"
        )
    if hints:
        lines += [
            "",
            "## Decoding hints on the sample",
            "",
            "| hint | WER | terms right | loops |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {h['hint']} | {h['wer']:.3f} | {h['terms_right'][0]}/{h['terms_right'][1]} | {h['loops']} |"
            for h in hints
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, default=None, help="fillets conversations folder")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/livecast-bench-captions"))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--no-long", action="store_true", help="skip the long joined recording")
    parser.add_argument("--no-hints", action="store_true", help="skip the decoding-hint comparison")
    args = parser.parse_args()
    cache = args.cache
    dictionary("nl")  # loaded ahead, as the flow loads it beside the models
    results: list[dict] = []
    hints: list[dict] = []

    def report() -> None:  # after every recording, so an interrupted run still leaves its figures
        fillets = [r for r in results if r["name"].startswith("conv_")]
        rows = results + ([_pooled_row(fillets)] if fillets else [])
        write_report("captions", {"recordings": rows, "decoding_hints": hints}, markdown(rows, hints))

    results.append(measure("sample", SAMPLE, sample_script(), None, cache))
    hints.extend([] if args.no_hints else decoding_hints(cache))
    report()
    folder = args.conversations or fillets_conversations(cache / "fillets")
    pairs = eval_pairs(folder)
    for audio, reference in pairs:
        turns = [(t.start, t.end) for t in read_rttm(audio.with_suffix(".rttm").read_text())]
        results.append(measure(audio.stem, audio, reference, turns, cache, SessionMetadata()))
        report()
    if not args.no_long:
        sources = [audio for audio, _ in pairs]
        joined = concatenate(sources, args.minutes, cache / f"fillets-{args.minutes:.0f}min.flac")
        turns = long_recording_turns(sources, args.minutes)
        results.append(
            measure(f"fillets joined ({args.minutes:.0f} min)", joined, None, turns, cache, SessionMetadata())
        )
        report()


def long_recording_turns(sources: list[Path], minutes: float) -> list[Span]:
    """The reference turns of the sources repeated in order, as `common.concatenate` joins them."""
    import av

    turns: list[Span] = []
    offset, index = 0.0, 0
    while offset < minutes * 60:
        source = sources[index % len(sources)]
        turns += [(t.start + offset, t.end + offset) for t in read_rttm(source.with_suffix(".rttm").read_text())]
        with av.open(str(source)) as container:
            offset += container.duration / 1_000_000
        index += 1
    return turns


def _pooled_row(fillets: list[dict]) -> dict:
    """The fillets conversations together."""
    return {
        "name": f"fillets (all {len(fillets)})",
        "duration_s": round(sum(r["duration_s"] for r in fillets), 1),
        "transcribe_s": round(sum(r["transcribe_s"] for r in fillets), 2),
        "repair_s": round(sum(r["repair_s"] for r in fillets), 2),
        "added_time": round(sum(r["repair_s"] for r in fillets) / sum(r["transcribe_s"] for r in fillets), 4),
        "repairs": sum(r["repairs"] for r in fillets),
        "still_uncaptioned": sum(r["still_uncaptioned"] for r in fillets),
        "before": _pooled(fillets, "before"),
        "after": _pooled(fillets, "after"),
    }


def _pooled(rows: list[dict], label: str) -> dict:
    """Loops summed, coverage and WER weighted by duration (WER approximately, per recording)."""
    total = sum(r["duration_s"] for r in rows)
    return {
        "loops": sum(r[label]["loops"] for r in rows),
        "coverage": round(sum(r[label]["coverage"] * r["duration_s"] for r in rows) / total, 4),
        "coverage_unheld": round(sum(r[label]["coverage_unheld"] * r["duration_s"] for r in rows) / total, 4),
        "speech_without_words": round(sum(r[label]["speech_without_words"] * r["duration_s"] for r in rows) / total, 4),
        "wer": round(sum(r[label]["wer"] * r["duration_s"] for r in rows) / total, 4),
    }


if __name__ == "__main__":
    main()
