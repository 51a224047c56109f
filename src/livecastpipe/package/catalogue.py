"""The conference catalogue (`output/site/index.html`), its Pagefind search index and the podcast feed.

Built from the manifests of the published session packages, so it can be rebuilt at any time
without the models; every file is replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from slugify import slugify

from livecastpipe import workspace
from livecastpipe.package import outputs
from livecastpipe.package.discovery import write_discovery_files
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.publish import write_static_assets
from livecastpipe.package.render import template_environment
from livecastpipe.package.store import published_sessions, read_manifest, swap_in
from livecastpipe.package.urls import site_url
from livecastpipe.processes import run_child
from livecastpipe.settings import PublishSettings
from livecastpipe.stages.media import make_title_card
from livecastpipe.storage import atomic_write_text, error_line
from livecastpipe.timefmt import rfc822_date

OTHER_PROGRAMME = "Overige sessies"


@dataclass(frozen=True)
class ProgrammeGroup:
    """The sessions of one programme, by date."""

    name: str
    sessions: tuple[dict[str, Any], ...]


def catalogue_entries(output_dir: Path) -> list[dict[str, Any]]:
    """The catalogue block of every published session's manifest."""
    entries = []
    for folder in published_sessions(output_dir):
        manifest = read_manifest(folder)
        if manifest.catalogue:
            entries.append(manifest.catalogue | {"sha256": manifest.recording["sha256"]})
    return entries


def _by_date(entry: dict[str, Any]) -> tuple[str, str]:
    return (entry.get("date") or "9999-99-99", entry["title"])


def group_by_programme(entries: Sequence[dict[str, Any]]) -> list[ProgrammeGroup]:
    """Sessions grouped by programme; groups in order of their first session, sessions by date."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted(entries, key=_by_date):
        groups.setdefault(entry.get("programme") or OTHER_PROGRAMME, []).append(entry)
    return [ProgrammeGroup(name, tuple(items)) for name, items in groups.items()]


def excerpt(text: str | None, limit: int = 240) -> str:
    """The first sentences of a summary, cut at a word boundary."""
    if not text:
        return ""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def render_catalogue(entries: Sequence[dict[str, Any]], feeds: Sequence[Feed], settings: PublishSettings) -> str:
    """The catalogue page: search, then the sessions grouped by programme, with their feeds."""
    return (
        template_environment()
        .get_template("catalogue.html.j2")
        .render(
            groups=group_by_programme(entries),
            feeds=feeds,
            feed_href=lambda feed: site_url(feed.path, None, outputs.CATALOGUE_PAGE.name()),
            count=len(entries),
            site=outputs.site_file_names(),
            excerpt=excerpt,
            site_title=settings.site_title,
            site_description=settings.site_description,
        )
    )


@dataclass(frozen=True)
class Feed:
    """One podcast feed of the site: where it is served, its title and its sessions."""

    path: str
    """Inside the site: `feed.xml`, `feeds/ochtendprogramma-video.xml`."""
    title: str
    entries: tuple[dict[str, Any], ...]
    video: bool
    """The MP4 videos as enclosures, instead of the audio copies."""
    programme: str | None = None


def site_feeds(entries: Sequence[dict[str, Any]], settings: PublishSettings) -> list[Feed]:
    """The audio and the video feed of every session, then both per programme (a programme's video
    feed only when it has videos)."""
    feeds = []
    groups = [(None, tuple(entries))] + [(g.name, g.sessions) for g in group_by_programme(entries)]
    for programme, sessions in groups:
        stem = f"{outputs.PROGRAMME_FEEDS.name()}/{slugify(programme)}" if programme else None
        for video in (False, True):
            chosen = tuple(e for e in sessions if e.get("video")) if video else sessions
            if programme and not chosen:
                continue
            if stem:
                path = f"{stem}-video.xml" if video else f"{stem}.xml"
            else:
                path = outputs.VIDEO_FEED.name() if video else outputs.FEED.name()
            title = settings.site_title + (f" — {programme}" if programme else "") + (" (video)" if video else "")
            feeds.append(Feed(path, title, chosen, video, programme))
    return feeds


PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
"""The namespace of `podcast:guid`, fixed by the Podcasting 2.0 specification."""


def podcast_guid(feed_url: str) -> str:
    """The Podcasting 2.0 `podcast:guid`: UUIDv5 of the feed's address without scheme and trailing slashes."""
    bare = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def render_feed(feed: Feed, settings: PublishSettings) -> str:
    """Podcast RSS 2.0 with enclosures, the iTunes channel fields and Podcasting 2.0 transcripts, chapters,
    people and guid, newest first; links relative to the feed, or absolute under `base_url`."""
    url = partial(site_url, base_url=settings.base_url, referrer=feed.path)
    languages = Counter(e["language"] for e in feed.entries)
    return (
        template_environment()
        .get_template("feed.xml.j2")
        .render(
            items=sorted(feed.entries, key=_by_date, reverse=True),
            video=feed.video,
            url=url,
            rfc822=rfc822_date,
            excerpt=excerpt,
            title=feed.title,
            site_title=settings.site_title,
            site_description=settings.site_description,
            language=languages.most_common(1)[0][0] if languages else SITE_LANGUAGE,
            settings=settings,
            self_url=url(feed.path),
            guid=podcast_guid(url(feed.path)) if settings.base_url else None,
            site_url=url(outputs.CATALOGUE_PAGE.name()),
            cover_url=url(outputs.PODCAST_COVER.name()),
            session_file=outputs.session_file,
            built=email.utils.format_datetime(dt.datetime.now(dt.timezone.utc)),
        )
    )


def write_feeds(site: Path, feeds: Sequence[Feed], settings: PublishSettings) -> None:
    """Write the feeds and their cover into the site folder; the per-programme folder is swapped in
    whole, so the feeds of programmes that are gone go with it."""
    cover = site / outputs.PODCAST_COVER.name()
    staged_cover = cover.with_name(f".{cover.name}.tmp-{os.getpid()}")
    make_title_card(staged_cover, settings.site_title, "Podcast", size=(1400, 1400))
    os.replace(staged_cover, cover)
    folder = outputs.PROGRAMME_FEEDS.name()
    staged = Path(tempfile.mkdtemp(prefix=f".{folder}-", dir=site))
    try:
        for feed in feeds:
            inside = feed.path.startswith(folder + "/")
            target = staged / feed.path.removeprefix(folder + "/") if inside else site / feed.path
            atomic_write_text(target, render_feed(feed, settings))
        staged.chmod(0o755)
        swap_in(staged, site / folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


SITE_LANGUAGE = "nl"
"""The language the site speaks (its labels, the catalogue page), whatever language a session is in."""


def build_search_index(output_dir: Path) -> Path | None:
    """Index every session page with Pagefind into `output/site/pagefind/`, swapped in atomically; None,
    and no index left, when no page has a word to search (sessions without speech)."""
    site = workspace.site_dir(output_dir)
    workspace.staging_dir(output_dir).mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".pagefind-", dir=workspace.staging_dir(output_dir)))
    try:
        result = run_child(
            [
                sys.executable,
                "-m",
                "pagefind",
                "--site",
                str(site.resolve()),
                "--glob",
                f"[!.]*/{outputs.SESSION_PAGE.name()}",
                "--output-path",
                str(staged.resolve()),
                # One index in the site's language: by each page's `lang` Pagefind would make one per
                # language, and the catalogue would search only its own (an English session not found).
                "--force-language",
                SITE_LANGUAGE,
            ],
            capture_output=True,
            text=True,
        )
        if "Indexed 0 pages" in result.stdout:  # Pagefind then says it failed, but there is nothing to find
            shutil.rmtree(staged, ignore_errors=True)
            shutil.rmtree(site / outputs.SEARCH_INDEX.name(), ignore_errors=True)
            return None
        if result.returncode != 0:
            lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
            raise PublishError(output_dir, f"pagefind failed: {lines[-1] if lines else result.returncode}")
        staged.chmod(0o755)
        swap_in(staged, site / outputs.SEARCH_INDEX.name())
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return site / outputs.SEARCH_INDEX.name()


class SiteNotRebuilt(PublishError):
    """A part of the site (the catalogue, its search index, the podcast feeds) could not be rebuilt; the
    message names the part, then the file and the problem, in one line."""

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(f"{part} not rebuilt", problem)
        self.part = part

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by its part and problem (Prefect keeps a failed run's exception)."""
        return (type(self), (self.part, self.problem))


@contextmanager
def rebuilding(part: str) -> Iterator[None]:
    """Report a file system fault or unpublishable content while rebuilding `part` as SiteNotRebuilt."""
    try:
        yield
    except (PublishError, OSError) as exc:
        raise SiteNotRebuilt(part, error_line(exc)) from exc


def publish_catalogue(output_dir: Path, settings: PublishSettings) -> Path:
    """Rebuild the catalogue page, its search index, the podcast feeds, the sitemap and robots.txt from the
    published packages; SiteNotRebuilt names the part that failed."""
    site = workspace.site_dir(output_dir)
    with rebuilding("catalogue"):
        site.mkdir(parents=True, exist_ok=True)
        entries = catalogue_entries(output_dir)
        write_static_assets(site, (outputs.CATALOGUE_CSS, outputs.CATALOGUE_JS))
    if entries:
        with rebuilding("search index"):
            build_search_index(output_dir)
    feeds = site_feeds(entries, settings)
    with rebuilding("podcast feeds"):
        write_feeds(site, feeds, settings)
    with rebuilding("sitemap"):
        write_discovery_files(site, entries, settings)
    with rebuilding("catalogue"):
        atomic_write_text(
            workspace.site_file(output_dir, outputs.CATALOGUE_PAGE), render_catalogue(entries, feeds, settings)
        )
    return workspace.site_file(output_dir, outputs.CATALOGUE_PAGE)
