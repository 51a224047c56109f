"""Every text escaped for the format it is written into: one function per format.

Texts come from speech recognition, sidecars and editors, so they may hold markup, `-->`, blank lines,
control characters or anything else. Each function keeps what the text says and removes only what the
format cannot carry (a blank line ends a cue, a control character makes XML unreadable).
"""

from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import Markup

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
"""C0/C1 control characters (tab, line feed and carriage return aside), lone surrogates, the byte-order
mark and non-characters: no text format here may carry them."""
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")
EMPTY_CUE = "\u00a0"
"""The text of a cue with nothing left to show (a no-break space; `&nbsp;` in WebVTT): readers drop a
cue without text, and the file would then hold fewer cues than its times say."""
_SRT_TIMESTAMP = re.compile(r"(\d):(\d{1,2}):(\d{1,2}[.,]\d)")


def plain_text(text: str) -> str:
    """The text without control characters, its line breaks as `\\n` and tabs as spaces."""
    return _CONTROL.sub("", _LINE_BREAKS.sub("\n", text)).replace("\t", " ")


def one_line(text: str) -> str:
    """The text on one line, runs of white space as one space (titles, names)."""
    return " ".join(plain_text(text).split())


def lines_of(text: str) -> str:
    """The text's non-blank lines, each with its white space collapsed (a blank line would end a cue)."""
    return "\n".join(line for line in (" ".join(part.split()) for part in plain_text(text).split("\n")) if line)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_cue_text(text: str) -> str:
    """WebVTT cue text: no blank line, `&`, `<` and `>` as character references (so no `-->` and no tag)."""
    return _entities(lines_of(text)) or "&nbsp;"


def vtt_voice_name(name: str) -> str:
    """A speaker name in a WebVTT voice span `<v Name>`: one line, escaped like cue text, and a space
    before the tag's `>` when the name ends in `-` (else `<v Piet-->` holds `-->`, a timing line)."""
    escaped = _entities(one_line(name))
    return escaped + " " if escaped.endswith("-") else escaped


def vtt_chapter_title(title: str) -> str:
    """A chapter title as the text of a WebVTT chapters cue: one line, escaped like cue text."""
    return _entities(one_line(title)) or "&nbsp;"


_SRT_MARKUP = str.maketrans({"<": "‹", ">": "›", "{": "(", "}": ")", "\\": "/"})
"""SRT has no escapes: players read `<i>`, `{\\an8}` and `\\N` in the text as markup, and a line with two
times as a cue's timing, so those characters are replaced by look-alikes that carry no meaning (the
colons of a time by U+2236 RATIO)."""


_SRT_NUMBER_LINE = re.compile(r"^(\d+)$", re.MULTILINE)
WORD_JOINER = "\u2060"
"""Invisible: after a line of digits alone, which SRT readers would take for the next cue's number."""


def srt_text(text: str) -> str:
    """SRT cue text: no blank line, no character a player reads as markup (see `_SRT_MARKUP`), and no line
    of digits alone."""
    text = _SRT_TIMESTAMP.sub("\\1\u2236\\2\u2236\\3", lines_of(text).translate(_SRT_MARKUP))
    return _SRT_NUMBER_LINE.sub("\\1" + WORD_JOINER, text) or EMPTY_CUE


def markup_text(value: Any) -> Any:
    """A value about to be written into HTML or XML by a template, which then escapes its markup
    (`&`, `<`, `>`, quotes): strings lose the characters HTML and XML 1.0 cannot hold; markup already
    made safe and other values pass as they are. The templates' `finalize`."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return plain_text(value)
    return value


def json_in_html(data: Any) -> Markup:
    """JSON for a `<script type="application/ld+json">` block: no `</script>`, `<!--` or line separator in it."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return Markup(text)
