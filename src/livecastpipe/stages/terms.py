"""The session's own words spelled right, and the words an editor should check marked.

Speaker names and glossary terms from the session's metadata are known to be said. After transcription,
a word or run of words that reads or sounds close to one of them is replaced by it, and each replacement
is recorded (original, corrected, time) so an editor can undo it. Words the model was unsure of, and words
neither the dictionary of the transcript's language (pyspellchecker's) nor the metadata knows, get a flag in
`transcript.json`; in a language pyspellchecker has no dictionary for, no word is flagged for it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from livecastpipe.models import Segment, SessionMetadata, Transcript, Word
from livecastpipe.stages.languages import dictionary, language_words

NAME_SIMILARITY = 78.0
"""Words this similar (0–100, by spelling or by sound) to a full name or a multi-word term are taken for
it: "Anne de Berees" → "Anne de Vries", "Peter Parker" → "Pieter Bakker"."""
WORD_SIMILARITY = 85.0
"""A word (or two: Whisper splits words) this similar to a one-word term or name part is taken for it."""
MIN_TERM_CHARS = 4
"""Shorter terms are left alone: too many ordinary words look like them."""
LOW_CONFIDENCE = 0.5
"""A word the model gives less than this probability is flagged `low-confidence` (0.4 before issue #28)."""
NEAR_CONFIDENCE = 0.65
"""A word next to a flagged word is flagged `near-flagged` below this probability (see `FlagRule`)."""
LOW_CONFIDENCE_FLAG = "low-confidence"
NEAR_FLAG = "near-flagged"
UNKNOWN_WORD_FLAG = "not-in-dictionary"
CORRECTED_FLAG = "corrected"


@dataclass(frozen=True)
class Term:
    """A word or phrase the session is known to use, and whether it is (part of) a person's name."""

    text: str
    is_name: bool


@dataclass(frozen=True)
class Correction:
    """One replacement made by `correct_terms`: what was heard, what was written, and when."""

    start: float
    end: float
    original: str
    corrected: str
    similarity: float


def session_terms(metadata: SessionMetadata) -> list[Term]:
    """The speakers' full names and their first and last names, and the glossary terms, longest first."""
    terms: dict[str, Term] = {}
    for speaker in metadata.speakers:
        terms.setdefault(speaker.name, Term(speaker.name, True))
        parts = speaker.name.split()
        for part in (parts[0], parts[-1]) if len(parts) > 1 else ():
            terms.setdefault(part, Term(part, True))
    for term in metadata.glossary:
        terms.setdefault(term, Term(term, False))
    usable = [t for t in terms.values() if len(_letters(t.text)) >= MIN_TERM_CHARS]
    return sorted(usable, key=lambda t: -len(t.text.split()))


def decoding_terms(metadata: SessionMetadata) -> tuple[str, ...]:
    """The speakers' names and the glossary, the words Whisper is told to expect (as `[transcribe] hints`
    says: hotwords by default; on real Dutch speech they lower WER and spell more terms right than an
    initial prompt or correction alone, `bench/results/hints.md`)."""
    words = [s.name for s in metadata.speakers] + list(metadata.glossary)
    return tuple(dict.fromkeys(w.strip() for w in words if w.strip()))


def _letters(text: str) -> str:
    return re.sub(r"[^\w]+", "", text.casefold())


def _folded(text: str) -> str:
    """Letters only, diacritics removed: "Coöperatie," → "cooperatie"."""
    decomposed = unicodedata.normalize("NFKD", _letters(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_SOUNDS = (
    ("sch", "s"), ("ch", "g"), ("ph", "f"), ("th", "t"), ("ij", "ei"), ("y", "ei"), ("ie", "i"),
    ("ee", "e"), ("oo", "o"), ("aa", "a"), ("uu", "u"), ("ou", "au"), ("dt", "t"), ("c", "k"),
    ("v", "f"), ("z", "s"), ("w", "f"), ("b", "p"), ("d", "t"), ("x", "ks"), ("q", "k"),
)  # fmt: skip
"""Dutch spellings that sound alike, each reduced to one: a crude sound key, enough to match names."""


def sound_key(text: str) -> str:
    """What a word or phrase sounds like in Dutch, roughly: similar spellings of one sound made equal,
    doubled letters single."""
    key = _folded(text)
    for spelling, sound in _SOUNDS:
        key = key.replace(spelling, sound)
    return re.sub(r"(.)\1+", r"\1", key)


def similarity(heard: str, term: str) -> float:
    """How close (0–100) what was heard is to a term, by spelling or by sound, whichever is closer."""
    return max(fuzz.ratio(_folded(heard), _folded(term)), fuzz.ratio(sound_key(heard), sound_key(term)))


def known_words(metadata: SessionMetadata) -> set[str]:
    """The words of the session's names and glossary, lower case."""
    texts = [s.name for s in metadata.speakers] + list(metadata.glossary) + [metadata.title or ""]
    return {_letters(w) for text in texts for w in text.split() if _letters(w)}


def _is_dictionary_word(text: str, language: str) -> bool:
    """Whether the language's dictionary knows the word (a number or bare punctuation counts as known);
    without a dictionary no word is known."""
    word = _letters(text)
    known = dictionary(language)
    return not word or word.isdigit() or (known is not None and word in known)


def _trailing_punctuation(text: str) -> str:
    return text[len(text.rstrip(".,;:!?…\"')")) :]


def _replacement(words: Sequence[Word], term: Term, sentence_start: bool) -> tuple[Word, ...]:
    """The term's words in the place of `words`: word for word when the counts match, else spread evenly
    over their time; the last keeps the original's closing punctuation, and a sentence's first word its
    capital."""
    parts = term.text.split()
    if sentence_start:
        parts[0] = parts[0][:1].upper() + parts[0][1:]
    start, end = words[0].start, words[-1].end
    probability = min(w.probability for w in words)
    if len(parts) == len(words):
        times = [(w.start, w.end) for w in words]
    else:
        step = (end - start) / len(parts)
        times = [(round(start + i * step, 3), round(start + (i + 1) * step, 3)) for i in range(len(parts))]
    tail = _trailing_punctuation(words[-1].text)
    return tuple(
        Word(a, b, part + (tail if i == len(parts) - 1 else ""), probability, words[0].speaker, (CORRECTED_FLAG,))
        for i, (part, (a, b)) in enumerate(zip(parts, times))
    )


def _score(window: Sequence[Word], term: Term) -> float | None:
    """How close the words are to the term (100: the same letters); None when they are already it."""
    heard = " ".join(w.text for w in window)
    if _folded(heard) != _folded(term.text):
        return similarity(heard, term.text)
    return None if heard.rstrip(".,;:!?…\"')") == term.text else 100.0


def _inflected(window: Sequence[Word], term: Term, language: str) -> Term:
    """The glossary term with the plural or genitive ending (`LanguageWords.inflections`) the last heard
    word has and the term lacks, else the term: "kooperaties" → "coöperaties", not "coöperatie". A Dutch
    -en form must be in the dictionary (its spelling often changes: "buurthuis" → "buurthuizen")."""
    word = window[-1].text
    heard = word[: len(word) - len(_trailing_punctuation(word))].casefold()
    if term.is_name:
        return term
    words = language_words(language)
    for ending in words.inflections:
        form = term.text + ending
        if heard.endswith(ending) and not term.text.casefold().endswith(ending):
            checked = ending in words.checked_inflections
            return Term(form, False) if not checked or _is_dictionary_word(form, language) else term
    return term


def _match(words: Sequence[Word], index: int, terms: Sequence[Term], language: str) -> tuple[int, Term, float] | None:
    """The term the words from `index` on are heard for, if any: (how many words, the term, similarity).

    One word more or fewer than the term has is allowed (Whisper splits and joins words), unless the
    words without their first or last one are as close: those are matched on their own. A glossary word
    heard with a plural or genitive ending is matched with that ending and written with it. Words the
    dictionary of `language` knows all stay, unless a capitalised word is heard for a name.
    """
    for base in terms:
        size = len(base.text.split())
        for count in (size, size + 1, size - 1):
            window = words[index : index + count]
            if count < 1 or len(window) < count:
                continue
            term = _inflected(window, base, language)
            score = _score(window, term)
            if score is None:
                return None  # already right
            if score < (NAME_SIMILARITY if size > 1 else WORD_SIMILARITY):
                continue
            if count > 1 and any((_score(part, term) or 100.0) >= score for part in (window[1:], window[:-1])):
                continue
            if all(_is_dictionary_word(w.text, language) for w in window) and score < 100.0:
                # An ordinary word stays, unless it is a capitalised word heard for a name.
                if not (term.is_name and window[0].text[:1].isupper() and count == size):
                    continue
            return count, term, score
    return None


def correct_segment(segment: Segment, terms: Sequence[Term], language: str) -> tuple[Segment, list[Correction]]:
    """The segment (in `language`) with words heard for a known name or term replaced by it, and the
    corrections made."""
    words = list(segment.words)
    corrections: list[Correction] = []
    out: list[Word] = []
    index = 0
    while index < len(words):
        match = _match(words, index, terms, language)
        if match is None:
            out.append(words[index])
            index += 1
            continue
        count, term, score = match
        window = words[index : index + count]
        sentence_start = not out or out[-1].text.rstrip("\"')").endswith((".", "?", "!", "…"))
        new = _replacement(window, term, sentence_start)
        original = " ".join(w.text for w in window)
        if original != " ".join(w.text for w in new):
            corrections.append(
                Correction(window[0].start, window[-1].end, original, " ".join(w.text for w in new), round(score, 1))
            )
            out.extend(new)
        else:
            out.extend(window)
        index += count
    if not corrections:
        return segment, []
    return replace(segment, words=tuple(out), text=" ".join(w.text for w in out)), corrections


def correct_terms(transcript: Transcript, metadata: SessionMetadata) -> tuple[Transcript, list[Correction]]:
    """The transcript with the session's names and glossary terms spelled right (judged by the dictionary
    of its language), and each correction."""
    terms = session_terms(metadata)
    if not terms:
        return transcript, []
    segments, corrections = [], []
    for segment in transcript.segments:
        corrected, made = correct_segment(segment, terms, segment.language or transcript.language)
        segments.append(corrected)
        corrections.extend(made)
    return replace(transcript, segments=tuple(segments)), corrections


@dataclass(frozen=True)
class FlagRule:
    """When a word is flagged for checking. The defaults are chosen on real Dutch speech: the highest recall
    of misrecognised words at a third of all words flagged, on half the fillets conversations and checked on
    the other half (`bench/flags.py`, `bench/results/flags.md`)."""

    low_confidence: float = LOW_CONFIDENCE
    """A word the model gives less than this probability is flagged `low-confidence`."""
    near_confidence: float = NEAR_CONFIDENCE
    """A word next to a flagged word is flagged `near-flagged` below this probability: Whisper's errors come
    in runs, and the word beside a wrong one is often wrong too."""


def word_flags(word: Word, known: Iterable[str], language: str, rule: FlagRule = FlagRule()) -> tuple[str, ...]:
    """Why an editor should check a word on its own: the model was unsure, or neither the dictionary of
    `language` nor the metadata (`known`) knows it; in a language without a dictionary no word is unknown."""
    flags = [f for f in word.flags if f == CORRECTED_FLAG]
    if word.probability < rule.low_confidence:
        flags.append(LOW_CONFIDENCE_FLAG)
    checkable = CORRECTED_FLAG not in flags and dictionary(language) is not None
    if checkable and not _is_dictionary_word(word.text, language) and _letters(word.text) not in known:
        flags.append(UNKNOWN_WORD_FLAG)
    return tuple(flags)


def segment_flags(words: Sequence[Word], known: Iterable[str], language: str, rule: FlagRule) -> list[tuple[str, ...]]:
    """Each word's flags (`word_flags`), and `near-flagged` on an unflagged word next to a flagged one that
    the model gave less than `rule.near_confidence`."""
    own = [word_flags(w, known, language, rule) for w in words]
    flags = []
    for index, (word, mine) in enumerate(zip(words, own)):
        beside = (index > 0 and own[index - 1]) or (index + 1 < len(own) and own[index + 1])
        near = not mine and beside and word.probability < rule.near_confidence
        flags.append((NEAR_FLAG,) if near else mine)
    return flags


def flag_words(transcript: Transcript, metadata: SessionMetadata, rule: FlagRule = FlagRule()) -> Transcript:
    """The transcript with each word's `flags` set by `rule` (`segment_flags`), by the dictionary of the
    language its segment was spoken in (an English turn in a Dutch session by the English one)."""
    known = known_words(metadata)
    return replace(
        transcript,
        segments=tuple(
            replace(
                segment,
                words=tuple(
                    replace(w, flags=f)
                    for w, f in zip(
                        segment.words,
                        segment_flags(segment.words, known, segment.language or transcript.language, rule),
                    )
                ),
            )
            for segment in transcript.segments
        ),
    )


def word_alternative(word: Word, language: str) -> str | None:
    """A likely right spelling of a word flagged `not-in-dictionary`: the most frequent word of the
    language's dictionary one letter away (added, left out, changed or two swapped), with the heard word's
    capital and closing punctuation; None for other words, or when the dictionary has no such word."""
    if UNKNOWN_WORD_FLAG not in word.flags:
        return None
    tail = _trailing_punctuation(word.text)
    heard = word.text[: len(word.text) - len(tail)]
    found = _nearest_known(heard.casefold(), language)
    if found is None:
        return None
    return (found[:1].upper() + found[1:] if heard[:1].isupper() else found) + tail


_SPELLING_LETTERS = "abcdefghijklmnopqrstuvwxyzáàâäçéèêëíìîïñóòôöúùûü"
"""The letters an alternative may differ in (a dictionary's own list also holds digits and punctuation)."""


@functools.lru_cache(maxsize=4096)
def _nearest_known(heard: str, language: str) -> str | None:
    """The dictionary's most frequent word one edit from `heard` (lower case), if any: some 600 lookups for
    an 8-letter word, so a two-hour session's unknown words cost well under a second."""
    known = dictionary(language)
    if known is None or not heard.isalpha():
        return None
    frequency = known.word_frequency.dictionary
    splits = [(heard[:i], heard[i:]) for i in range(len(heard) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    edits |= {a + c + b[1:] for a, b in splits if b for c in _SPELLING_LETTERS}
    edits |= {a + c + b for a, b in splits for c in _SPELLING_LETTERS}
    near = [w for w in edits if w in frequency and len(w) > 1 and w != heard]
    return max(near, key=lambda w: (frequency[w], w), default=None)
