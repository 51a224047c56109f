"""How well the words flagged for the editor point at the misrecognised ones, on real Dutch speech (the
fillets conversations: two voice actors, the translator's script as reference).

Each conversation is staged with its sidecar as `bench/hints.py` stages it (a glossary of the level's
salient terms), transcribed ONCE by `transcribe_file` with the default `[transcribe]` settings (hotwords,
as `livecast run` does) and kept in the work folder with its words' probabilities (`hints.decoded`: a
transcript bench/hints.py kept for the same conversation can be copied there); the repair stage's
correction of names and terms (`terms.correct_terms`) follows. The flags are then set offline by
`terms.flag_words` under each `FlagRule` of a grid.

A word is misrecognised when a plain Levenshtein alignment of the normalised transcript against the
normalised reference (`common.aligned_words`) substitutes or inserts it (a word that normalises to more
than one, "eruit-getrok", is wrong when one of them is). Recall: misrecognised words flagged / all
misrecognised; precision: flagged words misrecognised / flagged; flag rate: flagged / all words. Words the
transcript left out cannot be flagged and are not counted.

Split: the conversations in name order, alternately into CHOOSE (1st, 3rd, …) and CHECK (2nd, 4th, …). The
rule with the highest recall at a flag rate of at most `CHOSEN_RATE` pooled over CHOOSE is chosen; the
figures on CHECK are held out. The pipeline's default (`FlagRule()`) is measured beside today's rule.
Flags change no word: the WER with and without them is the same (checked).
Also measured: how often a flagged word's alternative (`terms.word_alternative`) is the reference's word;
and, as a lever not taken, a second decoding's disagreement: each conversation decoded again greedily
(beam 1, else the same settings; kept as `<name>.greedy.json`), a word flagged as well where the greedy
decoding heard another word (alignment of the two normalised transcripts), with what that decoding cost.
Transcripts are derived from GPL-2 audio: kept in the work folder, never committed; figures only go to
bench/results/flags.*.

    .venv/bin/python bench/flags.py [--conversations DIR] [--work /tmp/livecast-bench/flags]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import aligned_words, fillets_conversations, normalise_dutch, word_error_rate, write_report  # noqa: E402
from hints import decoded, decoded_with, staged_conversations  # noqa: E402

from livecastpipe.models import SessionMetadata, Transcript  # noqa: E402
from livecastpipe.settings import TranscribeSettings  # noqa: E402
from livecastpipe.stages.ingest import ingest  # noqa: E402
from livecastpipe.stages.terms import (  # noqa: E402
    FlagRule,
    correct_terms,
    flag_words,
    word_alternative,
)

TODAY = FlagRule(low_confidence=0.4, near_confidence=0.0)
"""The rule before issue #28: probability under 0.4, not in the dictionary, or corrected."""
CHOSEN_RATE = 0.33
"""The highest flag rate a chosen rule may have on CHOOSE (the goal is at most 0.35 on any set)."""
GRID = [
    FlagRule(low_confidence=low, near_confidence=near)
    for low, near in itertools.product(
        [x / 100 for x in range(40, 96, 5)], [0.0] + [x / 100 for x in range(50, 100, 5)]
    )
]
"""The rules tried: low-confidence and near-flagged thresholds (a rule flagging short words under a higher
probability was tried too and never chosen)."""


@dataclass(frozen=True)
class Conversation:
    """One conversation's transcript (names and terms corrected) and, per word, whether it is
    misrecognised and the reference word it is aligned to."""

    name: str
    transcript: Transcript
    metadata: SessionMetadata
    wrong: tuple[bool, ...]
    reference_words: tuple[str | None, ...]
    wer: float
    transcribe_s: float
    disputed: tuple[bool, ...]
    """Per word: a greedy second decoding heard another word there."""
    greedy_s: float


def alignment_checked() -> None:
    """The alignment on small cases whose answer is known (the bench checks its own yardstick)."""
    assert aligned_words("a b c d".split(), "a x c d e".split()) == ["a", "b", "c", "d", None]
    assert aligned_words("a b c d".split(), "a c d".split()) == ["a", "c", "d"]
    assert aligned_words("a b".split(), "q a b".split()) == [None, "a", "b"]


def greedy_decoded(audio: Path, metadata: SessionMetadata, cache: Path) -> tuple[Transcript, float]:
    """The conversation decoded a second time greedily (beam 1, else the default settings), and the seconds it
    took; kept in `cache` like `hints.decoded`."""
    return decoded_with(audio, metadata, TranscribeSettings(beam_size=1), "greedy", cache)


def per_word(aligned: Sequence[str | None], tokens: Sequence[list[str]]) -> tuple[list[bool], list[str | None]]:
    """Per word (its normalised tokens): whether the alignment makes it wrong, and the words it is aligned to."""
    wrong, against, at = [], [], 0
    for word_tokens in tokens:
        mine = aligned[at : at + len(word_tokens)]
        at += len(word_tokens)
        wrong.append(any(r != t for r, t in zip(mine, word_tokens)))
        against.append(" ".join(r or "" for r in mine).strip() or None)
    return wrong, against


def prepared(audio: Path, reference: str, cache: Path) -> Conversation:
    """The conversation transcribed (once, kept) and corrected, its words aligned against the reference and
    against a greedy second decoding."""
    metadata = ingest(audio, cache / "ingest").metadata
    heard, seconds = decoded(audio, metadata, "hotwords", cache)
    transcript, _ = correct_terms(heard, metadata)
    tokens = [normalise_dutch(w.text).split() for w in transcript.words]
    flat = [t for word in tokens for t in word]
    wrong, reference_words = per_word(aligned_words(normalise_dutch(reference).split(), flat), tokens)
    greedy, greedy_s = greedy_decoded(audio, metadata, cache)
    disputed, _ = per_word(aligned_words(normalise_dutch(greedy.text).split(), flat), tokens)
    flagged_text = flag_words(transcript, metadata).text
    assert flagged_text == transcript.text, "flags changed the words"
    wer = round(word_error_rate([reference], [flagged_text]), 4)
    return Conversation(
        audio.stem, transcript, metadata, tuple(wrong), tuple(reference_words), wer, seconds, tuple(disputed), greedy_s
    )


def counts(conversation: Conversation, rule: FlagRule, disputed: bool = False) -> dict[str, int]:
    """Words, misrecognised words, flagged words and flagged misrecognised words under `rule` (with
    `disputed`: a word the greedy decoding disputes flagged too); words that normalise to nothing
    (punctuation) are left out."""
    words = flag_words(conversation.transcript, conversation.metadata, rule).words
    kept = [
        (bool(w.flags) or (disputed and other), wrong)
        for w, wrong, other in zip(words, conversation.wrong, conversation.disputed)
        if normalise_dutch(w.text)
    ]
    return {
        "words": len(kept),
        "wrong": sum(wrong for _, wrong in kept),
        "flagged": sum(flag for flag, _ in kept),
        "flagged_wrong": sum(flag and wrong for flag, wrong in kept),
    }


def figures(tally: dict[str, int]) -> dict[str, float]:
    """Recall, precision and flag rate of summed counts."""
    return {
        "recall": round(tally["flagged_wrong"] / max(1, tally["wrong"]), 3),
        "precision": round(tally["flagged_wrong"] / max(1, tally["flagged"]), 3),
        "flag_rate": round(tally["flagged"] / max(1, tally["words"]), 3),
    }


def summed(tallies: Sequence[dict[str, int]]) -> dict[str, int]:
    return {key: sum(t[key] for t in tallies) for key in tallies[0]}


def chosen_rule(conversations: Sequence[Conversation]) -> tuple[FlagRule, dict[str, float]]:
    """The grid's rule with the highest pooled recall at a flag rate of at most `CHOSEN_RATE` on these
    conversations (ties: the lower flag rate)."""
    best: tuple[float, float, FlagRule, dict[str, float]] | None = None
    for rule in GRID:
        pooled = figures(summed([counts(c, rule) for c in conversations]))
        if pooled["flag_rate"] > CHOSEN_RATE:
            continue
        key = (pooled["recall"], -pooled["flag_rate"])
        if best is None or key > best[:2]:
            best = (*key, rule, pooled)
    assert best is not None
    return best[2], best[3]


def alternatives(conversations: Sequence[Conversation]) -> dict[str, int]:
    """Flagged words (default rule) with an alternative, and how many of those alternatives are the
    reference's word, on misrecognised and on right words."""
    tally = {"offered": 0, "offered_on_wrong": 0, "right_alternative": 0, "offered_on_right": 0}
    for c in conversations:
        words = flag_words(c.transcript, c.metadata).words
        for word, wrong, reference in zip(words, c.wrong, c.reference_words):
            alternative = word_alternative(word, c.transcript.language) if word.flags else None
            if alternative is None:
                continue
            tally["offered"] += 1
            tally["offered_on_wrong"] += wrong
            tally["offered_on_right"] += not wrong
            tally["right_alternative"] += normalise_dutch(alternative) == reference
    return tally


def greedy_disagreement(conversations: Sequence[Conversation]) -> dict:
    """Pooled figures per set of flagging what the greedy decoding disputes, alone and with the default rule,
    and the seconds of both decodings."""
    never = FlagRule(low_confidence=0.0, near_confidence=0.0)
    result: dict = {
        "greedy_s": round(sum(c.greedy_s for c in conversations), 1),
        "beam_s": round(sum(c.transcribe_s for c in conversations), 1),
    }
    for part, chosen in (("choose", conversations[0::2]), ("check", conversations[1::2])):
        result[part] = {
            "disputed, unknown, corrected": figures(summed([counts(c, never, disputed=True) for c in chosen])),
            "default + disputed": figures(summed([counts(c, FlagRule(), disputed=True) for c in chosen])),
        }
    return result


def markdown(data: dict) -> str:
    """The report: the rules, pooled figures per set, per-conversation figures, alternatives."""
    today, rule = data["rules"]["today"], data["rules"]["default"]
    lines = [
        "# Flags that find the errors: recall, precision and flag rate on real speech",
        "",
        f"{len(data['per_conversation'])} fillets conversations (real Dutch speech; reference: the script), bundled",
        "Whisper base, default `[transcribe]` settings (hotwords from the sidecar's glossary), the repair stage's",
        "correction, then `terms.flag_words`; `bench/flags.py`. Misrecognised: substituted or inserted against the",
        "reference (Levenshtein alignment of normalised words). Choose: conversations 1, 3, 5, … in name order;",
        "check (held out): 2, 4, 6, ….",
        "",
        f"- today: probability < {today['low_confidence']}, not in the dictionary, or corrected",
        f"- default now: probability < {rule['low_confidence']}; a word beside a flagged one < "
        f"{rule['near_confidence']} (`near-flagged`); not in the dictionary; corrected",
        "",
        "| set | rule | recall | precision | flag rate |",
        "|---|---|---|---|---|",
    ]
    for part in ("choose", "check", "all"):
        for name in ("today", "default"):
            f = data["pooled"][part][name]
            lines.append(f"| {part} | {name} | {f['recall']:.3f} | {f['precision']:.3f} | {f['flag_rate']:.3f} |")
    held_out = data["pooled"]["check"]["default"]
    reached = held_out["recall"] >= 0.75 and held_out["flag_rate"] <= 0.35
    lines += [
        "",
        f"Goal of issue #28: recall ≥ 0.75 with ≤ 0.35 of the words flagged — {'reached' if reached else 'not reached'}"
        f" on the held-out half (recall {held_out['recall']:.3f} at {held_out['flag_rate']:.3f}).",
        "",
        "| conversation | set | words | misrecognised | WER | recall today → now | precision today → now |"
        " flag rate today → now |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in data["per_conversation"]:
        t, d = r["today"], r["default"]
        lines.append(
            f"| {r['name']} | {r['set']} | {r['counts']['words']} | {r['counts']['wrong']} | {r['wer']:.3f} | "
            f"{t['recall']:.3f} → {d['recall']:.3f} | {t['precision']:.3f} → {d['precision']:.3f} | "
            f"{t['flag_rate']:.3f} → {d['flag_rate']:.3f} |"
        )
    g = data["greedy_disagreement"]
    lines += [
        "",
        "Lever measured, not taken: a greedy second decoding (beam 1), a word it hears otherwise flagged too.",
        "",
        "| set | rule | recall | precision | flag rate |",
        "|---|---|---|---|---|",
    ]
    for part in ("choose", "check"):
        for name in ("disputed, unknown, corrected", "default + disputed"):
            f = g[part][name]
            lines.append(f"| {part} | {name} | {f['recall']:.3f} | {f['precision']:.3f} | {f['flag_rate']:.3f} |")
    lines += [
        "",
        f"The greedy decodings took {g['greedy_s']:.0f} s against {g['beam_s']:.0f} s for the pipeline's own "
        "(this 2-core machine, shared and loaded: noisy): a second decoding would about double transcription "
        "for 7–9 points of recall, with more than a third of the words flagged. (`disputed, unknown, corrected`:"
        " no word flagged for its probability alone.)",
    ]
    a = data["alternatives"]
    lines += [
        "",
        f"Alternatives (`terms.word_alternative`): offered for {a['offered']} flagged words "
        f"({a['offered_on_wrong']} misrecognised, {a['offered_on_right']} right); the alternative is the "
        f"reference's word for {a['right_alternative']}.",
        "",
        f"Rule chosen on `choose` by the grid ({len(GRID)} rules): {data['rules']['chosen_on_choose']}; "
        f"chosen on `check` instead (stability): {data['rules']['chosen_on_check']}. "
        f"Flags leave every word as it was: WER with and without them identical (pooled {data['wer']:.3f}).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, help="folder of the fillets conversations")
    parser.add_argument("--work", type=Path, default=Path("/tmp/livecast-bench/flags"))
    args = parser.parse_args()
    alignment_checked()
    folder = args.conversations or fillets_conversations(Path("/tmp/livecast-bench/fillets"))
    cache = args.work / "cache"
    (cache / "ingest").mkdir(parents=True, exist_ok=True)
    staged = staged_conversations(folder, args.work, 100)
    conversations = [prepared(audio, reference, cache) for audio, reference in staged]
    choose, check = conversations[0::2], conversations[1::2]
    started = time.perf_counter()
    on_choose, _ = chosen_rule(choose)
    on_check, _ = chosen_rule(check)
    rules = {"today": TODAY, "default": FlagRule()}
    per = []
    for index, c in enumerate(conversations):
        row: dict = {"name": c.name, "set": "choose" if index % 2 == 0 else "check", "wer": c.wer}
        for name, rule in rules.items():
            tally = counts(c, rule)
            row["counts"], row[name], row[f"{name}_counts"] = tally, figures(tally), tally
        per.append(row)
    pooled = {
        part: {name: figures(summed([r[f"{name}_counts"] for r in per if part in (r["set"], "all")])) for name in rules}
        for part in ("choose", "check", "all")
    }
    data = {
        "conversations": len(conversations),
        "model": "bundled Whisper base",
        "rules": {
            "today": asdict(TODAY),
            "default": asdict(FlagRule()),
            "chosen_on_choose": asdict(on_choose),
            "chosen_on_check": asdict(on_check),
        },
        "pooled": pooled,
        "per_conversation": per,
        "alternatives": alternatives(conversations),
        "greedy_disagreement": greedy_disagreement(conversations),
        "wer": round(
            word_error_rate([r for _, r in staged], [c.transcript.text for c in conversations]),
            4,
        ),
        "search_s": round(time.perf_counter() - started, 1),
    }
    write_report("flags", data, markdown(data))


if __name__ == "__main__":
    main()
