"""What an editor may type into a text: the one check every text field of the workbench, `livecast review`
and the edit operations goes through (segment texts, find and replace, chapter titles, reviewed texts).

Texts end up in caption files, pages and feeds, so a text is refused (ValueError with a Dutch line for the
editor) when it holds what no reader sees but every file carries: control characters, lone surrogates,
bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F), zero-width
characters (U+200B–U+200D, U+2060, U+FEFF) and other format, private-use or unassigned characters; or when
it is longer than its field's limit. A text that passes is NFC-normalised (so `ö` typed or pasted is one
character) and its white space tidied.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

ALLOWED_WHITE_SPACE = "\t\n\r"
"""The control characters a text may hold: they are turned into spaces (or line breaks, where kept)."""
_LINE_BREAKS = re.compile("\r\n?")
_BLANK_LINES = re.compile("\n{3,}")
"""More than one blank line: a text that keeps its lines keeps one between paragraphs."""
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn")
"""Controls, format characters (bidi, zero-width, soft hyphen), lone surrogates, private use, unassigned."""


class TextRefused(ValueError):
    """An editor's text that cannot be kept; the message is one Dutch line saying why and what to do."""


@dataclass(frozen=True)
class TextField:
    """One kind of text an editor types: its longest length and whether its line breaks are kept."""

    limit: int
    keeps_lines: bool = False
    too_long_hint: str = "maak de tekst korter"


SEGMENT_TEXT = TextField(10_000, too_long_hint="splits de tekst over meer segmenten")
SEARCH_TEXT = TextField(1_000)
"""What find and replace looks for, and what it puts in its place."""
CHAPTER_TITLE = TextField(200, too_long_hint="een titel is een korte regel")
SPEAKER_NAME = TextField(80, too_long_hint="een naam is een korte regel")
"""It precedes caption lines (`names.check_speaker_name` adds its own rules)."""
REVIEW_TEXT = TextField(5_000, keeps_lines=True)
"""A summary or the keywords an editor approves."""


def refused_character(text: str) -> str | None:
    """The first character of `text` no text field may hold (see the module), as `U+XXXX`; None when none."""
    for char in text:
        if char not in ALLOWED_WHITE_SPACE and (
            unicodedata.category(char) in _REFUSED_CATEGORIES or char in "\u2028\u2029"
        ):
            return f"U+{ord(char):04X}"
    return None


def _number(n: int) -> str:
    """A count as Dutch readers write it: 10 000."""
    return f"{n:,}".replace(",", "\u202f")


def checked_text(value: Any, field: TextField, what: str, when_empty: str) -> str:
    """`value` as the text an editor meant: NFC, white space tidied (one line unless the field keeps its
    lines, and then at most one blank line between paragraphs); TextRefused when it is not a string, holds a refused character, is longer than the field's
    limit or is empty (`what` names the text in the message, `when_empty` says what to do instead)."""
    if not isinstance(value, str):
        raise TextRefused(f"{what} moet tekst zijn")
    text = value if len(value) > field.limit else unicodedata.normalize("NFC", value)
    if len(text) > field.limit:  # looked at before every character is: a request may hold 4 MiB
        raise TextRefused(
            f"{what} is te lang: {_number(len(text))} tekens, hooguit {_number(field.limit)}; {field.too_long_hint}"
        )
    found = refused_character(text)
    if found is not None:
        raise TextRefused(
            f"{what} bevat onzichtbare stuurtekens: typ de tekst opnieuw, of plak hem als platte tekst "
            f"({found}: een stuur-, richtings- of nulbreedteteken)"
        )
    lines = _LINE_BREAKS.sub("\n", text).split("\n") if field.keeps_lines else [text]
    tidied = _BLANK_LINES.sub("\n\n", "\n".join(" ".join(line.split()) for line in lines)).strip("\n")
    if not tidied:
        raise TextRefused(f"{what} is leeg: {when_empty}")
    return tidied
