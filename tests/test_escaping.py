"""Hostile strings through every output format: markup, `-->`, blank lines, control characters, very long
texts. Each file is parsed back with an independent reader; its cues must all be there, the text as said."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pysubs2
import webvtt
from hypothesis import example, given, settings
from hypothesis import strategies as st

from livecastpipe.models import Chapter
from livecastpipe.package.escaping import EMPTY_CUE, json_in_html, lines_of, one_line, plain_text, srt_text
from livecastpipe.package.render import template_environment
from livecastpipe.stages.chapters import chapters_vtt
from livecastpipe.stages.subtitles import Cue, CueLine, render_srt, render_webvtt

FRAGMENTS = (
    "-->",
    " --> ",
    "\n\n",
    "\r\n\r\n",
    "\n \n",
    "<script>alert(1)</script>",
    "</script><!--",
    '"><img src=x onerror=alert(1)>',
    "<v Piet>",
    "</v>",
    "<i>",
    "{\\an8}",
    "\\N",
    "&amp;",
    "&",
    "]]>",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x85",
    "\u2028",
    "\ufeff",
    "NOTE",
    "WEBVTT",
    "1\n00:00:01,000 --> 00:00:02,000\n",
    "00:00:01.000 --> 00:00:02.000",
    "Coöperatie",
    "'",
    " ",
)
hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=12).map("".join)
"""Strings built from hostile pieces and arbitrary Unicode (control characters, surrogates included)."""
LONG = "Een zeer lange zin --> met <b>opmaak</b>\n\nen lege regels. " * 400
EXAMPLES = 150
RUNS = settings(max_examples=EXAMPLES, deadline=None)


def _vtt_texts(content: str) -> list[str]:
    return [html.unescape(c.text) for c in webvtt.from_string(content)]


def _srt_neutral(text: str) -> str:
    """The text as an SRT reader should show it: only markup and time look-alikes differ."""
    neutral = lines_of(text).translate(str.maketrans("<>{}\\", "‹›()/")).replace(":", "∶")
    return re.sub(r"^(\d+)$", "\\1\u2060", neutral, flags=re.MULTILINE) or EMPTY_CUE


@RUNS
@given(st.lists(hostile, min_size=1, max_size=5))
@example([LONG, "-->", "\n\n\n"])
def test_webvtt_cue_text_round_trips(texts: list[str]) -> None:
    cues = [Cue(float(i), i + 0.9, (CueLine(t, "S1", 0, 1),)) for i, t in enumerate(texts)]
    content = render_webvtt(cues)
    assert _vtt_texts(content) == [lines_of(t) or EMPTY_CUE for t in texts]
    named = webvtt.from_string(render_webvtt(cues, {"S1": texts[0]}))  # the text as a speaker name too
    assert len(named) == len(texts)
    if one_line(texts[0]):
        voices = [html.unescape(c.voice or "").strip() for c in named]  # browsers strip the annotation
        assert voices == [one_line(texts[0])] * len(texts)


@RUNS
@given(st.lists(hostile, min_size=1, max_size=5))
@example([LONG, "Titel\n\n00:00:05.000 --> 00:00:06.000\nIngevoegd", "-->"])
def test_webvtt_chapter_titles_round_trip(titles: list[str]) -> None:
    chapters = [Chapter(float(i), i + 1.0, t) for i, t in enumerate(titles)]
    assert _vtt_texts(chapters_vtt(chapters)) == [one_line(t) or EMPTY_CUE for t in titles]


@RUNS
@given(st.lists(hostile, min_size=1, max_size=5))
@example([LONG, "1\n00:00:01,000 --> 00:00:02,000\nIngevoegd", "<i>schuin</i> {\\an8}"])
@example(["1\n00:00:01,000 --> 00:00:02,000\n0"])
def test_srt_text_round_trips_without_markup(texts: list[str]) -> None:
    cues = [Cue(float(i), i + 0.9, (CueLine(t, None, 0, 1),)) for i, t in enumerate(texts)]
    events = pysubs2.SSAFile.from_string(render_srt(cues), format_="srt").events
    assert [e.plaintext for e in events] == [srt_text(t).strip() for t in texts]  # pysubs2 strips the space
    for event, text in zip(events, texts):
        assert "<" not in event.plaintext and "-->" not in event.plaintext
        assert event.plaintext.replace(":", "∶") == _srt_neutral(text).strip()  # only look-alikes replaced


@RUNS
@given(hostile)
@example(LONG)
def test_xml_text_round_trips(text: str) -> None:
    document = template_environment().from_string('<feed><title a="{{ t }}">{{ t }}</title></feed>').render(t=text)
    title = ET.fromstring(document).find("title")
    assert title is not None and (title.text or "") == plain_text(text)
    assert title.get("a") == plain_text(text).replace("\n", " ")  # XML normalises line breaks in attributes


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.paragraphs: list[str] = []
        self.titles: list[str | None] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in = tag
        if tag == "p":
            self.titles.append(dict(attrs).get("title"))
            self.paragraphs.append("")
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "p":
            self.paragraphs[-1] += data


@RUNS
@given(hostile)
@example(LONG)
def test_html_text_and_json_ld_round_trip(text: str) -> None:
    page = (
        template_environment()
        .from_string('<p title="{{ t }}">{{ t }}</p><script type="application/ld+json">{{ ld }}</script><p>einde</p>')
        .render(t=text, ld=json_in_html({"name": text, "@type": "VideoObject"}))
    )
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    assert parsed.paragraphs == [plain_text(text), "einde"]
    assert parsed.titles == [plain_text(text), None]
    assert len(parsed.scripts) == 1 and json.loads(parsed.scripts[0]) == {"name": text, "@type": "VideoObject"}
