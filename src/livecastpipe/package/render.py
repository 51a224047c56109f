"""Rendering a session's package: its page and embeddable player (Jinja2), JSON-LD and oEmbed, the
transcript's paragraphs, Dutch hyphenation in titles, and the entry the catalogue and feed show.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyphen
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from livecastpipe.editor.edits.model import INAUDIBLE
from livecastpipe.editor.review import (
    CAPTIONS_UNREVIEWED_LABEL,
    Publishable,
    SpeakerNames,
)
from livecastpipe.models import (
    Chapter,
    Transcript,
)
from livecastpipe.package import outputs
from livecastpipe.package.escaping import json_in_html, markup_text
from livecastpipe.package.store import SessionPackage
from livecastpipe.package.urls import site_url
from livecastpipe.settings import PublishSettings
from livecastpipe.stages.dutch import language_name
from livecastpipe.stages.media import MediaFiles
from livecastpipe.timefmt import (
    dutch_date,
    dutch_duration,
    fragment_time,
    iso8601_duration,
    iso_datetime,
    player_time,
)

FEED_TRACKS = (
    outputs.CAPTIONS_VTT,
    outputs.SUBTITLES_SRT,
    outputs.PODCAST_TRANSCRIPT,
    outputs.TRANSLATED_SUBTITLES_VTT,
)
"""The files the feed lists as transcripts, in this order (the English translation with its own language)."""
TRANSLATED_TRACK_LABEL = "English (machine translation)"
"""How the player names the English track: viewers see that no person translated it."""


MAX_PARAGRAPH_S = 90.0
"""A speaker turn longer than this is split into several paragraphs (each with its own timestamp)."""

ROLE_LABELS = {"moderator": "moderator", "speaker": "spreker", "audience": "publiek"}
PODCAST_ROLES = {"moderator": "host", "speaker": "guest"}
"""A speaker's role as the Podcasting 2.0 `podcast:person` role (the audience is not listed)."""
OPEN_GRAPH_LOCALES = {"nl": "nl_NL", "en": "en_GB", "de": "de_DE", "fr": "fr_FR"}
"""OpenGraph's `og:locale` (language_TERRITORY) for a transcript language; others are given as they are."""


@dataclass(frozen=True)
class EditorialContent:
    """What editors allow on the page (from `review.json`): approved texts, or labelled drafts when allowed."""

    summary: str | None = None
    summary_label: str | None = None
    """Shown with a summary no editor approved (only when unreviewed texts may be published)."""
    keywords: tuple[str, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    """The package's chapters with their approved titles."""
    chapter_summaries: tuple[Publishable | None, ...] = ()
    speaker_names: SpeakerNames = field(default_factory=lambda: SpeakerNames({}, {}))
    """The names that may be shown (approved in review, or confirmed in speakers.yaml), and those shown."""
    captions_reviewed: bool = False
    """An editor approved the captions of this transcript; until then the page says they are unchecked."""


@dataclass(frozen=True)
class TranscriptPiece:
    """A stretch of a paragraph with its start time, so a click seeks to the sentence clicked."""

    start: float
    text: str
    language: str | None = None
    """The language it was spoken in where that is not the session's (the page gives it `lang`)."""


@dataclass(frozen=True)
class TranscriptParagraph:
    """One paragraph of the interactive transcript: a speaker turn (or part of a long one)."""

    start: float
    end: float
    speaker: str | None
    anchor: str
    pieces: tuple[TranscriptPiece, ...]
    language: str = ""
    """The session's language (pieces in another one carry theirs)."""

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.pieces)

    @property
    def marked_text(self) -> str:
        """The text with "[Engels]" (the language's Dutch name) where speech in another language than the
        session's begins, and "[Nederlands]" where the session's language returns: the transcript download's
        way of marking it."""
        parts, language = [], None
        for piece in self.pieces:
            if piece.language != language:
                parts.append(f"[{language_name(piece.language or self.language)}]")
                language = piece.language
            parts.append(piece.text)
        return " ".join(parts)


SOUND_CUE_LINE = re.compile(r"^\s*[\[(][^\])]+[\])]\s*$", re.MULTILINE)
"""A caption line that describes a sound: "[applaus]", "(gelach)"."""


def caption_track_labels(captions_vtt: str | None, reviewed: bool, language: str) -> tuple[str, str]:
    """The labels of the captions and subtitles tracks: the transcript's language by its Dutch name,
    "geluiden" only when a cue describes a sound ("[onverstaanbaar]" is none), and "automatisch, niet
    gecontroleerd" until an editor approved the captions."""
    sounds = [m.group(0).strip() for m in SOUND_CUE_LINE.finditer(captions_vtt or "")]
    subtitles = language_name(language)
    captions = f"{subtitles}, met sprekers" + (" en geluiden" if any(s != INAUDIBLE for s in sounds) else "")
    if not reviewed:
        captions, subtitles = (f"{label} (automatisch, niet gecontroleerd)" for label in (captions, subtitles))
    return captions, subtitles


def _segment_pieces(transcript: Transcript) -> Iterator[tuple[str | None, TranscriptPiece, float]]:
    """(speaker, piece, end) per segment, split where the words' speaker changes inside it."""
    for seg in transcript.segments:
        language = seg.language if seg.language != transcript.language else None
        words = [w for w in seg.words if w.text.strip()]
        if not words or all(w.speaker is None for w in words):
            if seg.text.strip():
                yield seg.speaker, TranscriptPiece(seg.start, seg.text.strip(), language), seg.end
            continue
        run: list = [words[0]]
        for word in words[1:]:
            if word.speaker != run[0].speaker:
                piece = TranscriptPiece(run[0].start, " ".join(w.text for w in run), language)
                yield run[0].speaker, piece, run[-1].end
                run = [word]
            else:
                run.append(word)
        yield run[0].speaker, TranscriptPiece(run[0].start, " ".join(w.text for w in run), language), run[-1].end


def transcript_paragraphs(transcript: Transcript, names: Mapping[str, str]) -> list[TranscriptParagraph]:
    """Paragraphs per speaker turn (long turns split at segment boundaries), each with a unique anchor."""
    groups: list[tuple[str | None, list[TranscriptPiece], float]] = []
    for speaker, piece, end in _segment_pieces(transcript):
        if groups and groups[-1][0] == speaker and piece.start - groups[-1][1][0].start < MAX_PARAGRAPH_S:
            groups[-1][1].append(piece)
            groups[-1] = (speaker, groups[-1][1], end)
        else:
            groups.append((speaker, [piece], end))
    paragraphs: list[TranscriptParagraph] = []
    used: set[str] = set()
    for speaker, pieces, end in groups:
        at = pieces[0].start
        while (anchor := f"t={fragment_time(at)}") in used:  # two paragraphs starting in one millisecond
            at += 0.001
        used.add(anchor)
        paragraphs.append(
            TranscriptParagraph(
                start=pieces[0].start,
                end=end,
                speaker=names.get(speaker) if speaker else None,
                anchor=anchor,
                pieces=tuple(pieces),
                language=transcript.language,
            )
        )
    return paragraphs


LONG_WORD = re.compile(r"[^\W\d_]{12,}")
"""Words this long get soft hyphens in titles (Dutch compounds: `gemeenteraadsvergadering`)."""
_DUTCH_HYPHENATION = pyphen.Pyphen(lang="nl_NL", left=3, right=3)


def soft_hyphens(text: str) -> Markup:
    """The text, escaped, with soft hyphens where Dutch hyphenation allows in its long words, so a title
    breaks with a hyphen in every browser (`hyphens: auto` needs a dictionary Chromium on Linux lacks)."""
    return Markup(LONG_WORD.sub(lambda m: _DUTCH_HYPHENATION.inserted(m.group(0), hyphen="\u00ad"), str(escape(text))))


def jinja_environment(templates: str) -> Environment:
    """Jinja2 over a template folder shipped in the package: everything autoescaped, every value made
    safe text by `markup_text`."""
    return Environment(
        loader=PackageLoader("livecastpipe", templates),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=markup_text,
    )


def template_environment() -> Environment:
    """The published pages' Jinja2 environment, with their filters."""
    env = jinja_environment("templates")
    env.filters["player_time"] = player_time
    env.filters["fragment_time"] = fragment_time
    env.filters["soft_hyphens"] = soft_hyphens
    env.filters["dutch_duration"] = dutch_duration
    env.filters["dutch_date"] = dutch_date
    env.filters["human_size"] = human_size
    return env


def human_size(size: int) -> str:
    """A file size for people, Dutch decimal comma: `1,4 MB`."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            text = f"{value:.0f}" if unit == "B" else f"{value:.1f}"
            return f"{text.replace('.', ',')} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def session_url_builder(slug: str, settings: PublishSettings) -> Callable[[str], str]:
    """URLs of a session's files (`poster.jpg`; "" for the page) as its page must write them."""
    return lambda name: site_url(f"{slug}/{name}", settings.base_url, f"{slug}/{outputs.SESSION_PAGE.name()}")


def session_json_ld(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    paragraphs: Sequence[TranscriptParagraph],
    settings: PublishSettings,
) -> dict[str, Any]:
    """schema.org VideoObject (AudioObject for audio-only) with a Clip per chapter."""
    rec = package.recording
    url = session_url_builder(rec.slug, settings)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "VideoObject" if media.video else "AudioObject",
        "name": rec.title,
        "description": editorial.summary or rec.metadata.description or rec.title,
        "uploadDate": iso_datetime(rec.metadata.date, settings.time_zone),
        "duration": iso8601_duration(rec.media.duration),
        "inLanguage": package.language,
        "thumbnailUrl": url(media.poster),
        "contentUrl": url(media.video or media.audio),
        "transcript": "\n".join((f"{p.speaker}: " if p.speaker else "") + p.text for p in paragraphs),
        "url": url(""),
        "embedUrl": url(outputs.EMBED_PAGE.name()),
    }
    if editorial.keywords:
        data["keywords"] = ", ".join(editorial.keywords)
    if editorial.chapters:
        data["hasPart"] = [
            {
                "@type": "Clip",
                "name": c.title,
                "startOffset": math.floor(c.start),
                "endOffset": min(math.ceil(c.end), math.floor(rec.media.duration)),
                "url": url(f"#t={fragment_time(c.start)}"),
            }
            for c in editorial.chapters
        ]
    return data


def speaker_roles(package: SessionPackage, editorial: EditorialContent) -> list[tuple[str, str]]:
    """(name, role) per speaker: the identified speakers whose names may be shown, else the panel as
    announced in the session metadata."""
    named = [s for s in package.speakers if s.id in editorial.speaker_names.given]
    if named:
        return [(editorial.speaker_names.given[s.id], s.role) for s in named]
    return [(s.name, s.role) for s in package.recording.metadata.speakers]


def speaker_list(package: SessionPackage, editorial: EditorialContent) -> list[tuple[str, str]]:
    """(name, role label) per speaker, as the page shows them."""
    return [(name, ROLE_LABELS.get(role, role)) for name, role in speaker_roles(package, editorial)]


EMBED_WIDTH, EMBED_HEIGHT = 640, 360
"""The iframe's size in the embed code and oEmbed: a 16:9 frame the video fills (its controls and the
link to the full page follow below it, in the frame's scrolling)."""


def embed_code(slug: str, title: str, settings: PublishSettings) -> str:
    """The `<iframe>` a website pastes to show the session's player (`embed.html`)."""
    page = outputs.EMBED_PAGE.name()  # without a public address: relative, the page's script makes it absolute
    src = session_url_builder(slug, settings)(page)
    label = html.escape(f"Speler: {title}", quote=True)
    return (
        f'<iframe src="{html.escape(src, quote=True)}" title="{label}" width="{EMBED_WIDTH}" height="{EMBED_HEIGHT}" '
        'allow="fullscreen; autoplay" allowfullscreen></iframe>'
    )


def oembed_json(slug: str, title: str, poster: str, poster_size: tuple[int, int], settings: PublishSettings) -> str:
    """The oEmbed 1.0 response for a session (a `video`, its html the embed code, its poster as thumbnail),
    as a static file; its addresses absolute under `base_url`."""
    url = session_url_builder(slug, settings)
    data: dict[str, Any] = {
        "version": "1.0",
        "type": "video",
        "title": title,
        "provider_name": settings.site_title,
        "html": embed_code(slug, title, settings),
        "width": EMBED_WIDTH,
        "height": EMBED_HEIGHT,
        "thumbnail_url": url(poster),
        "thumbnail_width": poster_size[0],
        "thumbnail_height": poster_size[1],
    }
    if settings.base_url:
        data["provider_url"] = settings.base_url
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def player_context(
    package: SessionPackage, editorial: EditorialContent, media: MediaFiles, files: Mapping[str, str]
) -> dict[str, Any]:
    """What the player (`_player.html.j2`, on the page and in `embed.html`) is rendered from."""
    return {
        "rec": package.recording,
        "media": media,
        "audio_type": outputs.audio_copy(media.audio).media_type,
        "files": files,
        "out": outputs.session_file_names(package.language),
        "lang": package.language,
        "captions_notice": None if editorial.captions_reviewed else CAPTIONS_UNREVIEWED_LABEL,
        "track_labels": caption_track_labels(
            files.get(outputs.CAPTIONS_VTT.name(package.language)), editorial.captions_reviewed, package.language
        ),
        "translated": translated_track(package.language, files),
        "translated_label": TRANSLATED_TRACK_LABEL,
    }


def translated_track(language: str, files: Mapping[str, str]) -> str | None:
    """The English machine translation's WebVTT file when the package has one (an English transcript's own
    subtitles bear that name, and are no translation)."""
    entry = outputs.TRANSLATED_SUBTITLES_VTT
    return entry.name() if entry.language != language and entry.name() in files else None


def render_embed_page(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    sizes: Mapping[str, int],
    settings: PublishSettings,
) -> str:
    """The session's `embed.html`: the player alone, linking to the full page."""
    return (
        template_environment()
        .get_template("embed.html.j2")
        .render(
            **player_context(package, editorial, media, files),
            title=package.recording.title,
            sizes=sizes,
            site_title=settings.site_title,
        )
    )


def render_session_page(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    sizes: Mapping[str, int],
    settings: PublishSettings,
) -> str:
    """The session's `index.html`: player, chapters, summary, speakers, transcript, downloads."""
    names = editorial.speaker_names.public
    paragraphs = transcript_paragraphs(package.transcript, names)
    rec = package.recording
    url = session_url_builder(rec.slug, settings)
    return (
        template_environment()
        .get_template("session.html.j2")
        .render(
            **player_context(package, editorial, media, files),
            title=rec.title,
            meta=rec.metadata,
            sizes=sizes,
            chapters=list(zip(editorial.chapters, editorial.chapter_summaries)),
            summary_label=editorial.summary_label,
            summary_paragraphs=[p.strip() for p in (editorial.summary or "").split("\n\n") if p.strip()],
            keywords=editorial.keywords,
            speakers=speaker_list(package, editorial),
            speakers_announced=not editorial.speaker_names.given,
            paragraphs=paragraphs,
            downloads=outputs.downloads(package.language, sizes),
            json_ld=json_in_html(session_json_ld(package, editorial, media, paragraphs, settings)),
            description=editorial.summary or rec.metadata.description or rec.title,
            page_url=url("") if settings.base_url else None,
            poster_url=url(media.poster),
            video_url=url(media.video) if media.video else None,
            locale=OPEN_GRAPH_LOCALES.get(package.language, package.language),
            site_title=settings.site_title,
            embed_code=embed_code(rec.slug, rec.title, settings),
            oembed_url=url(outputs.OEMBED.name()),
        )
    )


def catalogue_entry(
    package: SessionPackage,
    editorial: EditorialContent,
    media: MediaFiles,
    files: Mapping[str, str],
    sizes: Mapping[str, int],
) -> dict[str, Any]:
    """What the catalogue and the feed need to know about a session, kept in its manifest."""
    rec = package.recording
    return {
        "slug": rec.slug,
        "title": rec.title,
        "date": rec.metadata.date,
        "programme": rec.metadata.programme,
        "duration": rec.media.duration,
        "speakers": [name for name, _ in speaker_list(package, editorial)],
        "summary": editorial.summary or rec.metadata.description,
        "keywords": list(editorial.keywords),
        "poster": media.poster,
        "artwork": outputs.EPISODE_ARTWORK.name(),
        "people": [
            {"name": name, "role": PODCAST_ROLES[role]}
            for name, role in speaker_roles(package, editorial)
            if role in PODCAST_ROLES
        ],
        "language": package.language,
        "audio": {"path": media.audio, "bytes": sizes[media.audio], "type": outputs.audio_copy(media.audio).media_type},
        "video": {"path": media.video, "bytes": sizes[media.video], "type": outputs.WEB_VIDEO.media_type}
        if media.video
        else None,
        "tracks": [  # an English transcript's own subtitles are no translation of it
            o.name(package.language)
            for o in FEED_TRACKS
            if o.language != package.language and o.name(package.language) in files
        ],
        "chapters": outputs.CHAPTERS_JSON.name() if outputs.CHAPTERS_JSON.name() in files else None,
    }
