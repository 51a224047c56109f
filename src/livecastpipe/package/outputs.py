"""The registry of every file a run produces: which stage makes it, its media type, and whether it is
public (goes on the web) or private (caches, editors' files, the voice library).

Writers name their files from here, publishing lists and checks them from here, the page's downloads
come from here. Adding a format is one entry below plus its writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Literal

DEFAULT_LANGUAGE = "nl"
"""A transcript's language when nothing says which (no speech decoded, no language configured): set where
the transcript is made, so every file name and page has its language from the transcript."""

Visibility = Literal["public", "private"]
Scope = Literal["session", "site", "cache"]


@dataclass(frozen=True)
class OutputFile:
    """One kind of file: its name (`{lang}` stands for the transcript's language), maker and audience."""

    key: str
    """Stable identifier, also how templates refer to the file (`out.captions_vtt`)."""
    pattern: str
    stage: str
    """The stage whose module writes it: ingest, media, repair, speakers, chapters, subtitles, review, edits,
    publish, catalogue."""
    media_type: str
    visibility: Visibility
    scope: Scope = "session"
    """In each session's folder, once for the whole site (catalogue, feed, voice library), or in each
    recording's cache folder."""
    download_label: str | None = None
    """Offered on the replay page under this Dutch label (in registry order), when the package has it."""
    output_format: str | None = None
    """The transcript or subtitle format (`OUTPUT_FORMATS`) this file is written for, when `publish.formats`
    (`--output-format`) chooses it; None: written whatever the formats chosen."""
    language: str | None = None
    """The language of a file in a fixed language whatever the transcript's (the English translation)."""

    def name(self, language: str | None = None) -> str:
        """The file's name (a path inside its folder); files named by language need the language."""
        if "{lang}" in self.pattern and not language:
            raise ValueError(f"{self.pattern}: a language is needed to name this file")
        return self.pattern.format(lang=language)

    def language_of(self, name: str) -> str | None:
        """The language in `name` when it is this kind of file ("" for a file not named by language), else None."""
        head, lang, tail = self.pattern.partition("{lang}")
        if not lang:
            return (self.language or "") if name == self.pattern else None
        if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
            return name[len(head) : len(name) - len(tail)]
        return None


# Session files, in the order the page offers the downloadable ones.
CAPTIONS_VTT = OutputFile(
    "captions_vtt",
    "captions.{lang}.vtt",
    "subtitles",
    "text/vtt",
    "public",
    download_label="Ondertiteling met sprekersnamen (WebVTT)",
    output_format="vtt",
)
CAPTIONS_SRT = OutputFile(
    "captions_srt",
    "captions.{lang}.srt",
    "subtitles",
    "application/x-subrip",
    "public",
    download_label="Ondertiteling met sprekersnamen (SRT)",
    output_format="srt",
)
SUBTITLES_VTT = OutputFile(
    "subtitles_vtt",
    "subtitles.{lang}.vtt",
    "subtitles",
    "text/vtt",
    "public",
    download_label="Ondertitels (WebVTT)",
    output_format="vtt",
)
SUBTITLES_SRT = OutputFile(
    "subtitles_srt",
    "subtitles.{lang}.srt",
    "subtitles",
    "application/x-subrip",
    "public",
    download_label="Ondertitels (SRT)",
    output_format="srt",
)
TRANSLATED_SUBTITLES_VTT = OutputFile(
    "translated_subtitles_vtt",
    "subtitles.en.vtt",
    "translate",
    "text/vtt",
    "public",
    download_label="Engelse ondertitels, machinevertaling (WebVTT)",
    output_format="vtt",
    language="en",
)
"""English subtitles machine-translated by Whisper's translate task (`[transcribe] translate = "en"`)."""
TRANSLATED_SUBTITLES_SRT = OutputFile(
    "translated_subtitles_srt",
    "subtitles.en.srt",
    "translate",
    "application/x-subrip",
    "public",
    download_label="Engelse ondertitels, machinevertaling (SRT)",
    output_format="srt",
    language="en",
)
TRANSCRIPT_TXT = OutputFile(
    "transcript_txt",
    "transcript.txt",
    "publish",
    "text/plain",
    "public",
    download_label="Transcript (tekst)",
    output_format="txt",
)
TRANSCRIPT_JSON = OutputFile(
    "transcript_json",
    "transcript.json",
    "publish",
    "application/json",
    "public",
    download_label="Transcript met woordtijden (JSON)",
    output_format="json",
)
PODCAST_TRANSCRIPT = OutputFile(
    "podcast_transcript",
    "transcript.podcast.json",
    "publish",
    "application/json",
    "public",
    download_label="Transcript voor podcastapps (Podcasting 2.0 JSON)",
    output_format="podcast",
)
WHISPERX_JSON = OutputFile(
    "whisperx_json",
    "transcript.whisperx.json",
    "publish",
    "application/json",
    "public",
    download_label="Transcript met woorden, scores en sprekers (WhisperX JSON)",
    output_format="whisperx",
)
TRANSCRIPT_TSV = OutputFile(
    "transcript_tsv",
    "transcript.tsv",
    "publish",
    "text/tab-separated-values",
    "public",
    download_label="Transcript per zin in milliseconden (TSV, als whisper)",
    output_format="tsv",
)
CHAPTERS_JSON = OutputFile(
    "chapters_json",
    "chapters.json",
    "publish",
    "application/json+chapters",
    "public",
    download_label="Hoofdstukken (JSON)",
)
DESCRIPTIONS_VTT = OutputFile(
    "descriptions_vtt",
    "descriptions.vtt",
    "publish",
    "text/vtt",
    "public",
    download_label="Audiodescriptie (WebVTT)",
)
SIGN_LANGUAGE_VIDEO = OutputFile(
    "sign_language_video",
    "sign-language.mp4",
    "publish",
    "video/mp4",
    "public",
    download_label="Tolk Nederlandse Gebarentaal (MP4)",
)
WEB_VIDEO = OutputFile("web_video", "video.mp4", "media", "video/mp4", "public", download_label="Video (MP4)")
AUDIO_COPY = OutputFile("audio_copy", "audio.m4a", "media", "audio/mp4", "public", download_label="Alleen geluid (M4A)")
AUDIO_COPY_MP3 = OutputFile(
    "audio_copy_mp3", "audio.mp3", "media", "audio/mpeg", "public", download_label="Alleen geluid (MP3)"
)
"""The audio copy as MP3 instead of M4A (`publish.podcast_audio = "mp3"`)."""
POSTER = OutputFile("poster", "poster.jpg", "media", "image/jpeg", "public")
EPISODE_ARTWORK = OutputFile("episode_artwork", "artwork.jpg", "publish", "image/jpeg", "public")
"""The episode's square image in the feeds (`itunes:image`, 1400×1400: Apple asks for square art of at least
1400 px), made from the poster or, for audio-only recordings, a square title card."""
SESSION_PAGE = OutputFile("session_page", "index.html", "publish", "text/html", "public")
EMBED_PAGE = OutputFile("embed_page", "embed.html", "publish", "text/html", "public")
"""The player alone, for an iframe on another website (the one page other sites may frame)."""
OEMBED = OutputFile("oembed", "oembed.json", "publish", "application/json", "public")
"""Served as JSON; `application/json+oembed` is only the type of the page's discovery link to it."""
CHAPTERS_VTT = OutputFile("chapters_vtt", "chapters.vtt", "publish", "text/vtt", "public")
YOUTUBE_CHAPTERS = OutputFile("youtube_chapters", "youtube-chapters.txt", "chapters", "text/plain", "public")
PLAYER_CSS = OutputFile("player_css", "assets/player.css", "publish", "text/css", "public")
PLAYER_JS = OutputFile("player_js", "assets/player.js", "publish", "text/javascript", "public")
MANIFEST = OutputFile("manifest", "session.json", "publish", "application/json", "public")
TRANSCRIPT_REPORT = OutputFile("transcript_report", "transcript-report.json", "repair", "application/json", "private")
"""What the repair stage repaired, corrected, flagged, and what speech stays uncaptioned (`repair`)."""
SUBTITLE_REPORT = OutputFile("subtitle_report", "subtitle-report.json", "subtitles", "application/json", "private")
CUE_SEARCH = OutputFile("cue_search", "cue-search.json", "subtitles", "application/json", "private")
"""The cue searches behind the captions and subtitles, kept so that corrected words are searched again
only around the corrections (`subtitles.search_cues`)."""
SPEAKER_TURNS = OutputFile("speaker_turns", "speakers.rttm", "speakers", "text/plain", "private")
DIARIZATION = OutputFile("diarization", "diarization.json", "speakers", "application/json", "private")
PACKAGE_DATA = OutputFile("package_data", "package.json", "publish", "application/json", "private")
REVIEW = OutputFile("review", "review.json", "review", "application/json", "private")
SPEAKERS = OutputFile("speakers", "speakers.yaml", "speakers", "application/yaml", "private")
EDITS = OutputFile("edits", "edits.json", "edits", "application/json", "private")
"""The editor's corrections of the transcript, speakers and chapter starts, with who and when (`edits`)."""
MACHINE_TRANSCRIPT = OutputFile(
    "machine_transcript", "machine-transcript.json", "publish", "application/json", "private"
)
"""The pipeline's own transcript, kept as made: what edits are reconciled with and reverted to."""

# Site files.
CATALOGUE_PAGE = OutputFile("catalogue_page", "index.html", "catalogue", "text/html", "public", scope="site")
FEED = OutputFile("feed", "feed.xml", "catalogue", "application/rss+xml", "public", scope="site")
"""The podcast feed of every session, audio enclosures."""
VIDEO_FEED = OutputFile("video_feed", "feed-video.xml", "catalogue", "application/rss+xml", "public", scope="site")
"""The same feed with the MP4 videos as enclosures (sessions recorded on video)."""
PROGRAMME_FEEDS = OutputFile("programme_feeds", "feeds", "catalogue", "application/rss+xml", "public", scope="site")
"""A folder with an audio feed (`<programme>.xml`) and a video feed (`<programme>-video.xml`) per programme."""
PODCAST_COVER = OutputFile("podcast_cover", "cover.jpg", "catalogue", "image/jpeg", "public", scope="site")
"""The feeds' square channel image (1400×1400, what podcast directories ask for)."""
SITEMAP = OutputFile("sitemap", "sitemap.xml", "catalogue", "application/xml", "public", scope="site")
"""Every page, with Google's video entries (written only with a public address: its URLs must be absolute)."""
ROBOTS = OutputFile("robots", "robots.txt", "catalogue", "text/plain", "public", scope="site")
"""Everything may be crawled; names the sitemap when the site has a public address."""
SEARCH_INDEX = OutputFile("search_index", "pagefind", "catalogue", "application/octet-stream", "public", scope="site")
"""Pagefind's folder: files of many kinds (scripts, WebAssembly, index fragments), typed by their extension."""
CATALOGUE_JS = OutputFile("catalogue_js", "assets/catalogue.js", "catalogue", "text/javascript", "public", scope="site")
CATALOGUE_CSS = OutputFile("catalogue_css", "assets/player.css", "catalogue", "text/css", "public", scope="site")
VOICE_LIBRARY = OutputFile("voice_library", "voices.json", "speakers", "application/json", "private", scope="site")
WATCH_STATE = OutputFile("watch_state", "watched.json", "watch", "application/json", "private", scope="site")
"""What `livecast watch` submitted: each recording's path, size and modification time, so none goes twice."""
LAST_RUN = OutputFile("last_run", "last-run.json", "run", "application/json", "private", scope="site")
"""What decided the last `livecast run` that published every session, and the output it left (`unchanged`)."""

# A recording's cache folder.
DECODED_AUDIO = OutputFile(
    "decoded_audio",
    f"audio-16k-imageio-ffmpeg-{version('imageio-ffmpeg')}.wav",
    "ingest",
    "audio/wav",
    "private",
    "cache",
)
"""Named by the pinned decoder's version: audio decoded by another ffmpeg is never reused."""
MEDIA_RECORD = OutputFile("media_record", "media.json", "media", "application/json", "private", scope="cache")
"""What a folder of media prepared ahead holds: the `MediaFiles` record, as in a manifest's `media`."""
DOWNLOAD_RECORD = OutputFile("download_record", "download.json", "ingest", "application/json", "private", scope="cache")
"""A URL's download (`cache/downloads/<hash of the URL>/`): the URL, its file's name, SHA-256 and size."""

OUTPUTS: tuple[OutputFile, ...] = (
    CAPTIONS_VTT, CAPTIONS_SRT, SUBTITLES_VTT, SUBTITLES_SRT, TRANSLATED_SUBTITLES_VTT, TRANSLATED_SUBTITLES_SRT,
    TRANSCRIPT_TXT, TRANSCRIPT_JSON, PODCAST_TRANSCRIPT, WHISPERX_JSON, TRANSCRIPT_TSV, CHAPTERS_JSON,
    DESCRIPTIONS_VTT, SIGN_LANGUAGE_VIDEO, WEB_VIDEO, AUDIO_COPY, AUDIO_COPY_MP3, POSTER, EPISODE_ARTWORK, SESSION_PAGE,
    EMBED_PAGE, OEMBED, CHAPTERS_VTT, YOUTUBE_CHAPTERS, PLAYER_CSS, PLAYER_JS, MANIFEST,
    TRANSCRIPT_REPORT, SUBTITLE_REPORT, CUE_SEARCH, SPEAKER_TURNS, DIARIZATION, PACKAGE_DATA, REVIEW, SPEAKERS, EDITS,
    MACHINE_TRANSCRIPT,
    CATALOGUE_PAGE, FEED, VIDEO_FEED, PROGRAMME_FEEDS, PODCAST_COVER, SITEMAP, ROBOTS, SEARCH_INDEX, CATALOGUE_JS,
    CATALOGUE_CSS, VOICE_LIBRARY, WATCH_STATE, LAST_RUN,
    DECODED_AUDIO, MEDIA_RECORD, DOWNLOAD_RECORD,
)  # fmt: skip
"""Every registered file; the downloadable ones in the order the page lists them."""

AUDIO_COPIES: dict[str, OutputFile] = {"m4a": AUDIO_COPY, "mp3": AUDIO_COPY_MP3}
"""The audio copy's file by `publish.podcast_audio`."""


def audio_copy(name: str) -> OutputFile:
    """The audio copy a package's audio file is (M4A or MP3, by its name): its media type for the player
    and the feeds' enclosures."""
    return next((o for o in AUDIO_COPIES.values() if o.name() == name), AUDIO_COPY)


OUTPUT_FORMATS = ("vtt", "srt", "txt", "json", "tsv", "whisperx", "podcast")
"""The transcript and subtitle formats a run chooses from (`publish.formats`, `--output-format`; `all`: every
one): whisper's names, plus the WhisperX and Podcasting 2.0 JSON transcripts."""
ALL_FORMATS = "all"

ALWAYS_WRITTEN: tuple[OutputFile, ...] = (CAPTIONS_VTT, SUBTITLES_VTT, TRANSLATED_SUBTITLES_VTT, TRANSCRIPT_JSON)
"""Written whatever the formats chosen: the player's caption tracks, and the transcript that
republishing (`livecast publish`) and the editors' tools read back."""

CROSS_ORIGIN: tuple[OutputFile, ...] = (
    CAPTIONS_VTT, CAPTIONS_SRT, SUBTITLES_VTT, SUBTITLES_SRT, TRANSLATED_SUBTITLES_VTT, TRANSLATED_SUBTITLES_SRT,
    TRANSCRIPT_TXT, TRANSCRIPT_JSON, PODCAST_TRANSCRIPT, WHISPERX_JSON, TRANSCRIPT_TSV, CHAPTERS_JSON, CHAPTERS_VTT,
    OEMBED,
)  # fmt: skip
"""The session files other websites' scripts may read (`Access-Control-Allow-Origin: *`): transcripts,
captions and chapters (podcast apps on the web fetch them, as the Podcasting 2.0 transcript spec asks) and
oEmbed."""

EDITOR_FILES: tuple[OutputFile, ...] = (REVIEW, SPEAKERS, EDITS)
"""The editors' own files in a session folder: inputs to publishing, never overwritten by it."""


def session_outputs() -> Iterator[OutputFile]:
    return (o for o in OUTPUTS if o.scope == "session")


def session_file_names(language: str) -> dict[str, str]:
    """Every session file's name for this language, by key (what templates get as `out`)."""
    return {o.key: o.name(language) for o in session_outputs()}


def site_file_names() -> dict[str, str]:
    """Every site file's name, by key (what the catalogue template gets as `site`)."""
    return {o.key: o.name() for o in OUTPUTS if o.scope == "site"}


def session_file(path: str) -> tuple[OutputFile, str] | None:
    """The entry a file of a session folder belongs to and the language in its name ("" when it has
    none), or None for a file nobody registered. Files of a fixed name come first: `subtitles.en.vtt` is the
    English translation, not a transcript's subtitles."""
    for entry in sorted(session_outputs(), key=lambda o: "{lang}" in o.pattern):
        language = entry.language_of(path)
        if language is not None:
            return entry, language
    return None


def format_files(output_format: str) -> tuple[OutputFile, ...]:
    """The files written for one of `OUTPUT_FORMATS`."""
    return tuple(o for o in OUTPUTS if o.output_format == output_format)


def written(name: str, formats: Iterable[str]) -> bool:
    """Whether a package gets the session file `name` when `formats` (`publish.formats`) are chosen: a file
    of a format not chosen is left out, unless the page needs it (`ALWAYS_WRITTEN`)."""
    found = session_file(name)
    if found is None or found[0].output_format is None or found[0] in ALWAYS_WRITTEN:
        return True
    chosen = set(formats)
    return ALL_FORMATS in chosen or found[0].output_format in chosen


def downloads(language: str, sizes: Mapping[str, int]) -> list[tuple[str, str, int]]:
    """(file name, label, bytes) of each downloadable file the package has, in registry order (a translation
    into the transcript's own language is none: an English transcript's subtitles are its own)."""
    return [
        (o.name(language), o.download_label, sizes[o.name(language)])
        for o in session_outputs()
        if o.download_label and o.name(language) in sizes and o.language != language
    ]


def cross_origin(path: str) -> bool:
    """Whether a file served from the site (`slug/chapters.json`) may be read by other websites' scripts."""
    _, _, inside = path.partition("/")
    found = session_file(inside) if inside else None
    return found is not None and found[0] in CROSS_ORIGIN


def media_type(path: str) -> str | None:
    """The registered media type of a file served from the site (`slug/chapters.json`, `feeds/x.xml`),
    None for one the registry does not type (left to its extension)."""
    for entry in OUTPUTS:
        if entry.scope == "site" and entry.media_type != "application/octet-stream":
            if path == entry.pattern or path.startswith(entry.pattern + "/"):
                return entry.media_type
    _, _, inside = path.partition("/")
    found = session_file(inside) if inside else None
    return found[0].media_type if found else None
