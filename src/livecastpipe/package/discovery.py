"""How others find and reuse the site: `sitemap.xml` (with Google's video entries) and `robots.txt`,
the files other sites may read from a browser (CORS), and the warnings a run gives when the settings
leave the public address or the owner's e-mail unset, so that the feeds and embeds do not fail silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from livecastpipe.package import outputs
from livecastpipe.package.render import template_environment
from livecastpipe.package.urls import site_url
from livecastpipe.settings import PublishSettings
from livecastpipe.storage import atomic_write_text

SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
VIDEO_SITEMAP_NAMESPACE = "http://www.google.com/schemas/sitemap-video/1.1"
MAX_VIDEO_DESCRIPTION = 2048
"""Google's limit on `video:description`, in characters."""

MISSING_BASE_URL = (
    "[publish] base_url is not set: the feeds' enclosures and oembed.json's iframe are relative addresses, "
    "so podcast apps cannot fetch the audio, other sites cannot embed the player, and the pages have no "
    "og:url, the feeds no podcast:guid and the site no sitemap.xml (set base_url in livecast.toml)"
)
MISSING_OWNER_EMAIL = (
    "[publish] owner_email is not set: the feeds have no itunes:email and no podcast:locked owner, which "
    "podcast directories use to verify who owns the podcast"
)


def settings_warnings(settings: PublishSettings) -> list[str]:
    """One line for each setting whose absence makes the published feeds or embeds less usable."""
    missing = [(settings.base_url, MISSING_BASE_URL), (settings.owner_email, MISSING_OWNER_EMAIL)]
    return [warning for value, warning in missing if not value]


def render_sitemap(entries: Sequence[dict[str, Any]], base_url: str) -> str:
    """The sitemap of the catalogue and every session page; a session with video gets Google's video entry
    (poster, title, description, the MP4 and the embeddable player, duration)."""
    url = partial(site_url, base_url=base_url)  # absolute: a sitemap has only full URLs
    sessions = [
        {
            "loc": url(f"{e['slug']}/"),
            "video": e.get("video"),
            "thumbnail": url(f"{e['slug']}/{e['poster']}"),
            "title": e["title"],
            "description": (e.get("summary") or e["title"])[:MAX_VIDEO_DESCRIPTION],
            "content": url(f"{e['slug']}/{e['video']['path']}") if e.get("video") else None,
            "player": url(f"{e['slug']}/{outputs.EMBED_PAGE.name()}"),
            "duration": min(max(1, round(e["duration"])), 28800),
            "date": e.get("date"),
        }
        for e in sorted(entries, key=lambda e: e["slug"])
    ]
    return (
        template_environment()
        .get_template("sitemap.xml.j2")
        .render(catalogue=url(""), sessions=sessions, ns=SITEMAP_NAMESPACE, video_ns=VIDEO_SITEMAP_NAMESPACE)
    )


def render_robots(base_url: str | None) -> str:
    """`robots.txt`: everything may be crawled; with a public address, where the sitemap is."""
    lines = ["User-agent: *", "Allow: /"]
    if base_url:
        lines.append(f"Sitemap: {site_url(outputs.SITEMAP.name(), base_url)}")
    return "\n".join(lines) + "\n"


def write_discovery_files(site: Path, entries: Sequence[dict[str, Any]], settings: PublishSettings) -> None:
    """Write `robots.txt`, and `sitemap.xml` when the site has a public address (a sitemap's addresses must
    be absolute; one left from an earlier run with another address is removed)."""
    atomic_write_text(site / outputs.ROBOTS.name(), render_robots(settings.base_url))
    sitemap = site / outputs.SITEMAP.name()
    if settings.base_url:
        atomic_write_text(sitemap, render_sitemap(entries, settings.base_url))
    else:
        sitemap.unlink(missing_ok=True)
