"""Chapters stage: one navigable chapter per substantive speaker turn, titled "Name — keywords".

Short turns and interjections ("ja", "precies", a laugh) stay inside the surrounding chapter; a stretch
of quick exchanges long enough to matter becomes a conversation chapter; monologues over the maximum
are split at their longest pauses. Output: WebVTT chapters, Podcasting 2.0 JSON chapters and a
YouTube description chapter list.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import webvtt
import yake

from livecastpipe.models import Chapter, SpeakerTurn, Transcript, Word
from livecastpipe.names import UNNAMED_SPEAKER
from livecastpipe.package import outputs
from livecastpipe.package.escaping import vtt_chapter_title
from livecastpipe.settings import ChapterSettings
from livecastpipe.stages.languages import LanguageWords, language_words
from livecastpipe.stages.terms import LOW_CONFIDENCE_FLAG, UNKNOWN_WORD_FLAG
from livecastpipe.timefmt import clock, webvtt_timestamp

YOUTUBE_MIN_CHAPTERS = 3
YOUTUBE_MIN_SECONDS = 10.0


@dataclass(frozen=True)
class ChapterResult:
    """The chapters of a session and notes for its report (why there is only one chapter, …)."""

    chapters: tuple[Chapter, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Block:
    start: float
    end: float
    speaker: str | None
    substantive: bool = True


def _is_interjection(words: Sequence[Word], interjections: frozenset[str]) -> bool:
    """A few words that are all backchannel or laughter (in the transcript's language)."""
    tokens = [re.sub(r"[^\w\[\]()]", "", w.text.lower()) for w in words]
    tokens = [t for t in tokens if t]
    return len(tokens) <= 3 and all(t in interjections for t in tokens)


def _words_in(words: Sequence[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if start <= (w.start + w.end) / 2 < end]


def _speaker_blocks(
    turns: Sequence[SpeakerTurn], words: Sequence[Word], minimum: float, language: LanguageWords
) -> list[_Block]:
    """Consecutive turns of one speaker joined; each marked substantive or not (short or an interjection)."""
    blocks: list[_Block] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if blocks and blocks[-1].speaker == turn.speaker:
            blocks[-1] = _Block(blocks[-1].start, max(blocks[-1].end, turn.end), turn.speaker)
        else:
            blocks.append(_Block(turn.start, turn.end, turn.speaker))
    marked = []
    for block in blocks:
        spoken = [w for w in _words_in(words, block.start, block.end) if w.speaker in (None, block.speaker)]
        substantive = block.end - block.start >= minimum and not (
            spoken and _is_interjection(spoken, language.interjections)
        )
        marked.append(_Block(block.start, block.end, block.speaker, substantive))
    return marked


def _sections(blocks: Sequence[_Block], minimum: float) -> list[tuple[float, str | None]]:
    """Chapter starts with their speaker (None: a conversation of quick exchanges)."""
    sections: list[tuple[float, str | None]] = []
    pending: list[_Block] = []

    def close_pending() -> None:
        speakers = {b.speaker for b in pending}
        span = pending[-1].end - pending[0].start if pending else 0.0
        if sections and len(speakers) >= 2 and span >= 2 * minimum:
            sections.append((pending[0].start, None))
        pending.clear()

    for block in blocks:
        if not block.substantive:
            pending.append(block)
            continue
        close_pending()
        if not sections or sections[-1][1] != block.speaker:
            sections.append((block.start, block.speaker))
    close_pending()
    return sections


def _longest_pause(words: Sequence[Word], low: float, high: float, target: float) -> float:
    """The middle of the longest pause between words in [low, high] (closest to target on ties), else target."""
    best, best_gap = target, 0.0
    for before, after in zip(words, words[1:]):
        gap = after.start - before.end
        middle = (before.end + after.start) / 2
        if low <= middle <= high and (
            gap > best_gap + 1e-6 or (abs(gap - best_gap) <= 1e-6 and abs(middle - target) < abs(best - target))
        ):
            best, best_gap = middle, gap
    return best


def _split_long(start: float, end: float, words: Sequence[Word], maximum: float) -> list[float]:
    """Cut points that split [start, end] into parts of at most about `maximum` seconds, at pauses."""
    parts = math.ceil((end - start) / maximum)
    if parts <= 1:
        return []
    length = (end - start) / parts
    inside = _words_in(words, start, end)
    cuts = []
    for k in range(1, parts):
        target = start + k * length
        cuts.append(_longest_pause(inside, target - length / 4, target + length / 4, target))
    return cuts


UNSURE_FLAGS = frozenset({LOW_CONFIDENCE_FLAG, UNKNOWN_WORD_FLAG})
"""Words flagged so are left out of chapter titles: a misheard word is rare, so YAKE would rank it high."""


def _keywords(words: Sequence[Word], count: int, language: str) -> tuple[str, ...]:
    """The chapter's most telling words or word pairs (YAKE, with the stop words of `language`), from
    words the model was sure of and a dictionary or the metadata knows (a left-out word breaks a pair, as
    a comma does)."""
    text = " ".join("," if UNSURE_FLAGS & set(w.flags) else w.text.strip() for w in words)
    if count == 0 or len(text.replace(",", " ").split()) < 3:
        return ()
    extractor = yake.KeywordExtractor(lan=language, n=2, top=count, dedup_lim=0.7)
    return tuple(keyword for keyword, _score in extractor.extract_keywords(text))


def _title(who: str, keywords: Sequence[str]) -> str:
    return f"{who} — {', '.join(keywords)}" if keywords else who


def with_speaker_name(chapter: Chapter, names: Mapping[str, str]) -> Chapter:
    """The chapter titled with its speaker's name as viewers see it now (`names`: id → public name), so a
    speaker named after this stage ran is named in the chapters too. A title not in this stage's form
    ("Who — keywords"; without keywords only "Spreker N" or the id) stays."""
    name = names.get(chapter.speaker or "")
    suffix = f" — {', '.join(chapter.keywords)}" if chapter.keywords else ""
    who = chapter.title.removesuffix(suffix)
    unnamed = who == chapter.speaker or re.fullmatch(UNNAMED_SPEAKER.format(number=r"\d+"), who)
    if not name or not chapter.title.endswith(suffix) or " — " in who or not (suffix or unnamed):
        return chapter
    return replace(chapter, title=_title(name, chapter.keywords))


def make_chapters(
    transcript: Transcript,
    turns: Sequence[SpeakerTurn],
    names: Mapping[str, str],
    duration: float,
    settings: ChapterSettings,
    fallback_title: str = "Sessie",
) -> ChapterResult:
    """Chapters from speaker turns (names from `names.public_speaker_names`) over [0, duration]; what is
    an interjection and what a keyword is judged in the transcript's language."""
    words = transcript.words
    notes: list[str] = []
    blocks = _speaker_blocks(turns, words, settings.min_chapter_s, language_words(transcript.language))
    sections = _sections(blocks, settings.min_chapter_s)
    if not sections:
        spoken: dict[str, float] = {}
        for turn in turns:
            spoken[turn.speaker] = spoken.get(turn.speaker, 0.0) + turn.end - turn.start
        speaker = max(spoken, key=lambda s: spoken[s]) if spoken else None
        sections = [(0.0, speaker)]
        notes.append(
            "no speech found: one chapter for the whole recording"
            if not turns
            else f"no turn of {settings.min_chapter_s:g} s or more: one chapter for the whole recording"
        )
    starts = [0.0] + [start for start, _ in sections[1:]]
    ends = starts[1:] + [duration]
    chapters: list[Chapter] = []
    for (start, end), (_, speaker) in zip(zip(starts, ends), sections):
        cuts = _split_long(start, end, words, settings.max_chapter_s)
        if cuts:
            notes.append(f"a turn of {(end - start) / 60:.0f} min was split into {len(cuts) + 1} chapters at pauses")
        bounds = [start, *cuts, end]
        for part_start, part_end in zip(bounds, bounds[1:]):
            if speaker is None:
                present = sorted({t.speaker for t in turns if t.start < part_end and t.end > part_start})
                who = " en ".join(names.get(s, s) for s in present) or fallback_title
            else:
                who = names.get(speaker, speaker)
            if not turns:
                who = fallback_title
            keywords = _keywords(_words_in(words, part_start, part_end), settings.keywords, transcript.language)
            chapters.append(Chapter(round(part_start, 3), round(part_end, 3), _title(who, keywords), speaker, keywords))
    return ChapterResult(tuple(chapters), tuple(notes))


def chapters_vtt(chapters: Sequence[Chapter]) -> str:
    """WebVTT for a `<track kind="chapters">`: one cue per chapter, the title as its text."""
    captions = [
        webvtt.Caption(webvtt_timestamp(c.start), webvtt_timestamp(c.end), vtt_chapter_title(c.title)) for c in chapters
    ]
    return webvtt.WebVTT(captions=captions).content


def chapters_json(chapters: Sequence[Chapter], title: str | None = None) -> str:
    """Podcasting 2.0 JSON chapters (version 1.2.0): startTime, endTime, title per chapter."""
    data: dict[str, object] = {"version": "1.2.0"}
    if title:
        data["title"] = title
    data["chapters"] = [
        {"startTime": round(c.start, 3), "endTime": round(c.end, 3), "title": c.title} for c in chapters
    ]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def youtube_chapters(chapters: Sequence[Chapter], duration: float) -> tuple[str | None, str | None]:
    """A YouTube description chapter list (first at 0:00, ≥ 3 chapters, each ≥ 10 s), or why there is none.

    Chapters shorter than 10 s are joined to the one before (the first to the one after).
    """
    kept = [c for i, c in enumerate(chapters) if i == 0 or c.end - c.start >= YOUTUBE_MIN_SECONDS]
    if len(kept) >= 2 and kept[1].start < YOUTUBE_MIN_SECONDS:
        kept.pop(0)  # a short opening: the next chapter is listed at 0:00
    if len(kept) >= 2 and duration - kept[-1].start < YOUTUBE_MIN_SECONDS:
        kept.pop()
    if len(kept) < YOUTUBE_MIN_CHAPTERS:
        return None, (
            f"no YouTube chapter list: YouTube needs at least {YOUTUBE_MIN_CHAPTERS} chapters of "
            f"{YOUTUBE_MIN_SECONDS:g} s or more, this session has {len(kept)}"
        )
    long_form = duration >= 3600
    lines = [f"{clock(0.0 if i == 0 else c.start, with_hours=long_form)} {c.title}" for i, c in enumerate(kept)]
    return "\n".join(lines) + "\n", None


def chapter_files(result: ChapterResult, duration: float, title: str | None = None) -> tuple[dict[str, str], list[str]]:
    """The stage's files for the session folder, and notes (e.g. why no YouTube list was made)."""
    files = {}
    youtube, problem = youtube_chapters(result.chapters, duration)
    notes = list(result.notes)
    if youtube is not None:
        files[outputs.YOUTUBE_CHAPTERS.name()] = youtube
    else:
        notes.append(problem or "")
    return files, notes
