"""What the stages know of the language a transcript is in (its `language`, resolved where it is made):
the dictionary that flags and corrects words, and the word lists chapters and keywords are chosen by.

Dutch (`dutch.py`) and English (`english.py`) have word lists. Another language gets the dictionary
pyspellchecker ships for it, if any, yake's own stop words, and no lists of its own: where a list is
missing nothing is judged by it (no word is flagged "not in the dictionary", no keyword refused for not
being a noun) rather than every word judged by Dutch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from spellchecker import SpellChecker

from livecastpipe.stages import dutch, english


@dataclass(frozen=True)
class LanguageWords:
    """One language's word lists (lower case): what the chapters, summaries and terms stages decide by."""

    code: str
    """The ISO 639-1 code, as Whisper gives it: also yake's language, for its stop words."""
    interjections: frozenset[str] = frozenset()
    """Backchannel words and laughter (a turn of only these is no chapter)."""
    fillers: frozenset[str] = frozenset()
    """Hesitations dropped from sentences before they are scored."""
    conversational_stopwords: frozenset[str] = frozenset()
    """Words of talk, not of topic, that disqualify a keyword."""
    noun_determiners: frozenset[str] = frozenset()
    """Words that make the word after them (or after them and an adjective) a noun; empty: not checked."""
    adjective_ending: str | None = None
    """How an adjective between a determiner and its noun ends ("de grote": "e"); None where an adjective
    cannot be told by its ending (English): only a word right after a determiner is a noun then."""
    inflections: tuple[str, ...] = ()
    """Plural and genitive endings a glossary word may be heard with, and is then written with."""
    checked_inflections: frozenset[str] = frozenset()
    """Those of `inflections` that often change the spelling: the inflected form must be in the dictionary."""


DUTCH = LanguageWords(
    code="nl",
    interjections=dutch.INTERJECTIONS,
    fillers=dutch.FILLERS,
    conversational_stopwords=dutch.CONVERSATIONAL_STOPWORDS,
    noun_determiners=dutch.NOUN_DETERMINERS,
    adjective_ending="e",
    inflections=("'s", "s", "en"),
    checked_inflections=frozenset({"en"}),
)
ENGLISH = LanguageWords(
    code="en",
    interjections=english.INTERJECTIONS,
    fillers=english.FILLERS,
    conversational_stopwords=english.CONVERSATIONAL_STOPWORDS,
    noun_determiners=english.NOUN_DETERMINERS,
    inflections=("'s", "s"),
)
KNOWN_LANGUAGES = {words.code: words for words in (DUTCH, ENGLISH)}


def language_words(language: str) -> LanguageWords:
    """The word lists of a transcript's language; a language without lists of its own gets empty ones."""
    return KNOWN_LANGUAGES.get(language) or LanguageWords(code=language)


@cache
def dictionary(language: str) -> SpellChecker | None:
    """pyspellchecker's word list of the language (Dutch: about 340 000 words), loaded once; None when
    pyspellchecker has none for it."""
    try:
        return SpellChecker(language=language)
    except ValueError:  # pyspellchecker ships no dictionary for this language
        return None
