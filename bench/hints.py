"""Which use of a session's names and glossary helps recognition of real Dutch speech: WER and the
session's own words spelled right, per way of giving them (`[transcribe] hints`), on the fillets
conversations (real Dutch speech of two voice actors, the translator's script as reference).

Each conversation gets a sidecar as an organiser would write it (`<name>.yaml` beside a link to its audio):
- speakers: none. The two actors play two fish the Dutch script never names (it calls them the small and
  the big fish, never by a name), so there are no names to give;
- glossary: the level's salient terms by `level_glossary`'s rule: words of 5 or more letters said in this
  level's script and in no other level's that are names (a capital inside a sentence) or rare in Dutch
  (under 13 per million words in pyspellchecker's Dutch counts, or not listed and no misspelling of a
  listed word), by how often said, rarest, longest; at most 8, and at least 3.
The conversation is ingested (pinned decoder, the sidecar read as the pipeline reads it) and transcribed by
`transcribe_file` with the bundled base model and the default settings, in each decoding mode: no decoding
hint, names and glossary as hotwords, or as an initial prompt; and as hotwords with two moderators' names
listed that nobody says (`UNSAID_NAMES`), as a sidecar may list them. Each transcript is measured as decoded and
after the repair stage's correction of near spellings (`terms.correct_terms`): WER (jiwer, `normalise_dutch`)
and the glossary's occurrences in the reference found in the transcript, per conversation and pooled, with
a paired count of conversations better / worse than no hints at all. Transcripts are kept in the work
folder (they are derived from GPL-2 audio: never committed); only figures go to bench/results/hints.*.

    .venv/bin/python bench/hints.py [--conversations DIR] [--limit N] [--work /tmp/livecast-bench/hints]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import yaml
from spellchecker import SpellChecker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import eval_pairs, fillets_conversations, normalise_dutch, word_error_rate, write_report  # noqa: E402

from livecastpipe.models import PanelSpeaker, SessionMetadata, Transcript, from_jsonable, to_json  # noqa: E402
from livecastpipe.settings import TranscribeSettings  # noqa: E402
from livecastpipe.stages.ingest import ingest  # noqa: E402
from livecastpipe.stages.languages import dictionary  # noqa: E402
from livecastpipe.stages.terms import correct_terms, decoding_terms  # noqa: E402
from livecastpipe.stages.transcribe import transcribe_file  # noqa: E402

MIN_TERM_LETTERS = 5
MIN_TERMS, MAX_TERMS = 3, 8
UNSAID_NAMES = ("Anne de Vries", "Pieter Bakker")
"""Two moderators' names (the README's example sidecar) that no conversation says: do names that are
listed but never (or rarely) said make recognition worse?"""
DECODINGS = {
    "correction": ("correction", False),
    "hotwords": ("hotwords", False),
    "prompt": ("prompt", False),
    "hotwords-unsaid-names": ("hotwords", True),
}
"""Each decoding: its `[transcribe] hints` value (`correction`: names and glossary do not reach the
decoder), and whether the sidecar also lists `UNSAID_NAMES` as speakers."""
MODES = {
    "no hints": ("correction", False),
    "correction only": ("correction", True),
    "hotwords": ("hotwords", False),
    "hotwords + correction": ("hotwords", True),
    "prompt": ("prompt", False),
    "prompt + correction": ("prompt", True),
    "hotwords + correction, 2 unsaid names": ("hotwords-unsaid-names", True),
}
"""Each mode measured: (decoding, whether the repair stage's correction follows)."""
BASELINE = "no hints"
_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W\d_]|[^\W\d_]")


def script_words(text: str) -> list[tuple[str, bool]]:
    """The words of a script text, each with whether it begins a sentence."""
    words = []
    for match in _WORD.finditer(text):
        before = text[: match.start()].rstrip()
        words.append((match.group(0), not before or before.endswith((".", "!", "?", "…", ":"))))
    return words


RARE_PER_MILLION = 13.0
"""A word the Dutch word list (pyspellchecker's counts) has less often than this is rare: "kombuis",
"perkament", "schijf" are; "sleutels", "boeken", "vergeten" are not."""
FUNCTION_WORDS = 300
"""The Dutch word list's most frequent words: a word that is one of them joined to a listed word
("naarbinnen", "zodadelijk") is a spacing variant in the script, not a term."""


def _is_term(key: str, capitalised: bool, known: SpellChecker, common: set[str]) -> bool:
    """Whether a level-only word is salient: a name (a capital inside a sentence), or a word the Dutch word
    list has rarely or not at all; an unlisted lower-case word one letter from a listed word (a misspelling
    in the script), a spacing variant, a drawn-out word ("heeeel") or one without a vowel ("grmbl") is not."""
    if re.search(r"(.)\1\1", key) or not re.search(r"[aeiouy]", key):
        return False
    if capitalised:
        return True
    counts = known.word_frequency.dictionary
    if key in counts:
        return counts[key] * 1e6 / known.word_frequency.total_words < RARE_PER_MILLION
    joined = any(key[:i] in common and key[i:] in counts for i in range(1, len(key)))
    return not joined and not (known.edit_distance_1(key) & counts.keys())


def level_glossary(level: str, scripts: dict[str, str]) -> list[str]:
    """A level's salient terms, as an organiser would list a programme's terms: words of at least
    `MIN_TERM_LETTERS` letters said in this level's script and in no other level's that are names or rare
    in Dutch (`_is_term`), by how often said, then rarest, then longest; at most `MAX_TERMS`, filled up to
    `MIN_TERMS` with the other level-only words (by how often, length). A word is written as said inside a
    sentence (a name keeps its capital), else in lower case."""
    others = {w.casefold() for name, text in scripts.items() if name != level for w, _ in script_words(text)}
    known = dictionary("nl")
    assert known is not None
    counts: Counter[str] = Counter()
    forms: dict[str, str] = {}
    for word, starts_sentence in script_words(scripts[level]):
        key = word.casefold()
        if len(word) < MIN_TERM_LETTERS or key in others:
            continue
        counts[key] += 1
        if not starts_sentence or key not in forms:
            forms[key] = word if not starts_sentence else key
    frequency = known.word_frequency.dictionary
    common = set(sorted(frequency, key=lambda w: -frequency[w])[:FUNCTION_WORDS])
    salient = sorted(
        (k for k in counts if _is_term(k, forms[k] != k, known, common)),
        key=lambda k: (-counts[k], frequency.get(k, 0), -len(k)),
    )[:MAX_TERMS]
    rest = sorted((k for k in counts if k not in salient), key=lambda k: (-counts[k], -len(k)))
    return [forms[k] for k in salient + rest[: max(0, MIN_TERMS - len(salient))]]


def terms_right(reference: str, hypothesis: str, terms: Sequence[str]) -> tuple[int, int]:
    """(spelled right, said): each term's occurrences in the normalised reference, and as many of them as
    the normalised transcript holds."""
    ref, hyp = f" {normalise_dutch(reference)} ", f" {normalise_dutch(hypothesis)} "
    said = right = 0
    for term in terms:
        needle = f" {normalise_dutch(term)} "
        said += ref.count(needle)
        right += min(ref.count(needle), hyp.count(needle))
    return right, said


def staged_conversations(folder: Path, work: Path, limit: int) -> list[tuple[Path, str]]:
    """(audio link with its sidecar beside it, reference) for the first `limit` conversations."""
    pairs = eval_pairs(folder)
    scripts = {audio.stem: reference for audio, reference in pairs}
    staged = work / "sessions"
    staged.mkdir(parents=True, exist_ok=True)
    chosen = []
    for audio, reference in pairs[:limit]:
        link = staged / audio.name
        if not link.is_symlink():
            link.symlink_to(audio.resolve())
        sidecar = {"speakers": [], "glossary": level_glossary(audio.stem, scripts)}
        link.with_suffix(".yaml").write_text(yaml.safe_dump(sidecar, allow_unicode=True, sort_keys=False))
        chosen.append((link, reference))
    return chosen


def decoded(audio: Path, metadata: SessionMetadata, decoding: str, cache: Path) -> tuple[Transcript, float]:
    """The conversation transcribed with `hints = decoding` (else default settings), and the seconds it
    took; kept in `cache` so that a rerun of the bench measures again without decoding again."""
    return decoded_with(audio, metadata, TranscribeSettings(hints=DECODINGS[decoding][0]), decoding, cache)


def decoded_with(
    audio: Path, metadata: SessionMetadata, settings: TranscribeSettings, label: str, cache: Path
) -> tuple[Transcript, float]:
    """The conversation transcribed with `settings` and the session's decoding terms, and the seconds it
    took; kept in `cache` under `label`."""
    kept = cache / f"{audio.stem}.{label}.json"
    if kept.is_file():
        stored = json.loads(kept.read_text())
        return from_jsonable(Transcript, stored["transcript"]), stored["seconds"]
    recording = ingest(audio, cache / "ingest")
    started = time.perf_counter()
    transcript = transcribe_file(Path(recording.audio_path), settings, decoding_terms(metadata))
    seconds = round(time.perf_counter() - started, 2)
    kept.write_text(json.dumps({"transcript": json.loads(to_json(transcript)), "seconds": seconds}))
    return transcript, seconds


def measure_conversation(audio: Path, reference: str, cache: Path) -> tuple[dict, dict[str, str]]:
    """One conversation in every mode: WER and its glossary spelled right, and each mode's text."""
    metadata = ingest(audio, cache / "ingest").metadata
    terms = [s.name for s in metadata.speakers] + list(metadata.glossary)
    row: dict = {"name": audio.stem, "glossary_size": len(terms), "modes": {}}
    texts = {}
    for decoding, (_, unsaid_names) in DECODINGS.items():
        listed = metadata
        if unsaid_names:
            listed = replace(metadata, speakers=tuple(PanelSpeaker(name, "moderator") for name in UNSAID_NAMES))
        transcript, seconds = decoded(audio, listed, decoding, cache)
        corrected, corrections = correct_terms(transcript, listed)
        for mode, (mode_decoding, correct) in MODES.items():
            if mode_decoding != decoding:
                continue
            text = texts[mode] = (corrected if correct else transcript).text
            right, said = terms_right(reference, text, terms)
            row["modes"][mode] = {
                "wer": round(word_error_rate([reference], [text]), 4),
                "terms_right": [right, said],
                "corrections": len(corrections) if correct else 0,
                "transcribe_s": seconds,
            }
    print(json.dumps({row["name"]: {m: v["wer"] for m, v in row["modes"].items()}}), flush=True)
    return row, texts


def pooled(rows: Sequence[dict], references: dict[str, str], texts: dict[str, dict[str, str]]) -> dict:
    """Per mode: corpus WER, glossary right / said, and conversations better / same / worse than no hints."""
    result = {}
    for mode in MODES:
        names = [r["name"] for r in rows]
        wer = word_error_rate([references[n] for n in names], [texts[n][mode] for n in names])
        right = sum(r["modes"][mode]["terms_right"][0] for r in rows)
        said = sum(r["modes"][mode]["terms_right"][1] for r in rows)
        deltas = [r["modes"][mode]["wer"] - r["modes"][BASELINE]["wer"] for r in rows]
        result[mode] = {
            "wer": round(wer, 4),
            "terms_right": [right, said],
            "better": sum(d < -1e-9 for d in deltas),
            "same": sum(abs(d) <= 1e-9 for d in deltas),
            "worse": sum(d > 1e-9 for d in deltas),
            "transcribe_s": round(sum(r["modes"][mode]["transcribe_s"] for r in rows), 1),
        }
    return result


def markdown(rows: Sequence[dict], totals: dict) -> str:
    """The report: pooled table, per-conversation WER table, and the glossaries' sizes."""
    lines = [
        "# Hints on real speech: names and glossary as hotwords, prompt or correction",
        "",
        f"{len(rows)} fillets conversations (real Dutch speech, two voice actors; reference: the script),",
        "bundled Whisper base, default `[transcribe]` settings, `bench/hints.py`. Sidecars: no speakers' names",
        "(the script never names the two fish), a glossary of 3–8 terms per level (rule in `bench/hints.py`).",
        "Paired: conversations whose WER is lower / equal / higher than with no hints. Last row: the sidecar",
        "also lists two moderators' names nobody says (`UNSAID_NAMES`).",
        "",
        "| mode | WER (pooled) | glossary right | better / same / worse | transcription s |",
        "|---|---|---|---|---|",
    ]
    for mode, t in totals.items():
        right, said = t["terms_right"]
        lines.append(
            f"| {mode} | {t['wer']:.3f} | {right}/{said} | {t['better']} / {t['same']} / {t['worse']} | "
            f"{t['transcribe_s']} |"
        )
    lines += ["", "Per conversation: WER (glossary right/said).", ""]
    lines += ["| conversation | terms | " + " | ".join(MODES) + " |", "|---|---|" + "---|" * len(MODES)]
    for r in rows:
        cells = [
            f"{r['modes'][m]['wer']:.3f} ({r['modes'][m]['terms_right'][0]}/{r['modes'][m]['terms_right'][1]})"
            for m in MODES
        ]
        lines.append(f"| {r['name']} | {r['glossary_size']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, help="folder of the fillets conversations")
    parser.add_argument("--work", type=Path, default=Path("/tmp/livecast-bench/hints"))
    parser.add_argument("--limit", type=int, default=100, help="measure only the first N conversations")
    args = parser.parse_args()
    folder = args.conversations or fillets_conversations(Path("/tmp/livecast-bench/fillets"))
    cache = args.work / "cache"
    (cache / "ingest").mkdir(parents=True, exist_ok=True)
    staged = staged_conversations(folder, args.work, args.limit)
    rows, texts = [], {}
    references = {audio.stem: reference for audio, reference in staged}
    for audio, reference in staged:
        row, texts[audio.stem] = measure_conversation(audio, reference, cache)
        rows.append(row)
    totals = pooled(rows, references, texts)
    data = {
        "conversations": len(rows),
        "model": "bundled Whisper base",
        "settings": TranscribeSettings().model_dump(exclude={"hints"}),
        "pooled": totals,
        "per_conversation": rows,
    }
    write_report("hints", data, markdown(rows, totals))


if __name__ == "__main__":
    main()
