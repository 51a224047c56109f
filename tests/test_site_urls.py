"""Every link a published site writes resolves where it is used: the feeds and the session pages'
JSON-LD and OpenGraph, relative without a public address and absolute with one, fetched from the
preview server."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest

from livecastpipe.package.catalogue import podcast_guid, publish_catalogue
from livecastpipe.package.publish import republish
from livecastpipe.package.server import preview_server
from livecastpipe.package.store import published_sessions
from livecastpipe.package.urls import site_url
from livecastpipe.settings import PublishSettings
from livecastpipe.workspace import site_dir

from .publish_fixtures import SETTINGS
from .test_publish import SAMPLE_SLUG, _Collector, parse_page

URL_ATTRIBUTES = ("url", "href")


def test_site_url_is_relative_to_the_referring_file_or_absolute_under_the_base() -> None:
    assert site_url("talk/poster.jpg", None, "talk/index.html") == "poster.jpg"
    assert site_url("talk/", None, "talk/index.html") == "./"
    assert site_url("talk/#t=01:05", None, "talk/index.html") == "./#t=01:05"
    assert site_url("talk/audio.m4a", None, "feed.xml") == "talk/audio.m4a"
    assert site_url("talk/audio.m4a", None, "feeds/ochtend.xml") == "../talk/audio.m4a"
    assert site_url("index.html", None, "feeds/ochtend.xml") == "../index.html"
    base = "https://example.org/replays/"
    assert site_url("talk/", base, "talk/index.html") == "https://example.org/replays/talk/"
    assert site_url("talk/poster.jpg", base.rstrip("/"), "feed.xml") == "https://example.org/replays/talk/poster.jpg"


@pytest.fixture(scope="module")
def relative_site(published_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same site re-rendered without a public address (the default settings)."""
    output = tmp_path_factory.mktemp("relative-site") / "output"
    shutil.copytree(published_site, output, symlinks=True)
    settings = PublishSettings()
    for folder in published_sessions(output):
        republish(output, folder.name, settings)
    publish_catalogue(output, settings)
    return output


def served(folder: Path) -> Iterator[str]:
    server = preview_server(folder, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", params=["relative", "absolute"])
def site(request: pytest.FixtureRequest, published_site: Path, relative_site: Path) -> Iterator[tuple[str, str | None]]:
    """(served root, base_url) of the site published without, then with, a public address."""
    if request.param == "relative":
        yield from ((root, None) for root in served(relative_site))
    else:
        yield from ((root, SETTINGS.base_url) for root in served(published_site))


def resolve(url: str, used_at: str, root: str, base_url: str | None) -> str:
    """Where a link written in the file served at `used_at` leads on the served site; checks its form."""
    if base_url:
        assert url.startswith(base_url), f"{url} is not absolute under {base_url}"
        return root + url[len(base_url) :]
    assert not urlsplit(url).scheme and not url.startswith("/"), f"{url} is not relative"
    return urljoin(used_at, url)


def assert_served(url: str) -> None:
    try:
        with urllib.request.urlopen(url.split("#")[0], timeout=10) as response:
            assert response.status == 200 and response.read(1), url
    except HTTPError as exc:
        raise AssertionError(f"{url}: {exc}") from exc


def feed_urls(xml: bytes) -> list[str]:
    """Every URL in a feed: `url`/`href` attributes and the text of `link` elements."""
    urls = []
    for element in ET.fromstring(xml).iter():
        urls += [value for name, value in element.attrib.items() if name in URL_ATTRIBUTES]
        if element.tag == "link" and element.text:
            urls.append(element.text.strip())
    return urls


def fetch_page(url: str) -> _Collector:
    """A served page's start tags and JSON-LD blocks."""
    with urllib.request.urlopen(url) as response:
        collector = _Collector()
        collector.feed(response.read().decode())
    return collector


def feed_files(root: str) -> list[str]:
    """The feeds the catalogue page announces, as served URLs."""
    catalogue = root + "index.html"
    links = [a["href"] for t, a in fetch_page(catalogue).tags if t == "link" and a.get("type") == "application/rss+xml"]
    return [urljoin(catalogue, href) for href in links if href]


@pytest.mark.slow
def test_every_feed_url_resolves_on_the_served_site(site: tuple[str, str | None]) -> None:
    root, base_url = site
    feeds = feed_files(root)
    assert {root + "feed.xml", root + "feed-video.xml"} <= set(feeds) and len(feeds) >= 5  # and per programme
    checked = 0
    for feed in feeds:
        with urllib.request.urlopen(feed) as response:
            xml = response.read()
        parsed = feedparser.parse(xml)
        assert not parsed.bozo, f"{feed}: {parsed.get('bozo_exception')}"
        for url in feed_urls(xml):
            assert_served(resolve(url, feed, root, base_url))
            checked += 1
    assert checked > 40  # channel links and images, item links, enclosures, images, transcripts, chapters


@pytest.mark.slow
def test_every_json_ld_and_opengraph_url_resolves_from_the_session_page(site: tuple[str, str | None]) -> None:
    root, base_url = site
    page = root + f"{SAMPLE_SLUG}/index.html"
    collector = fetch_page(page)
    (ld,) = [json.loads(block) for block in collector.json_ld]
    og = {
        a["property"]: a["content"]
        for t, a in collector.tags
        if t == "meta" and (a.get("property") or "").startswith("og:")
    }
    urls = [ld["thumbnailUrl"], ld["contentUrl"], ld["url"], *(clip["url"] for clip in ld["hasPart"])]
    urls += [og["og:image"], og["og:video"]] + ([og["og:url"]] if base_url else [])
    for url in urls:
        assert_served(resolve(url, page, root, base_url))
    page_url = resolve(ld["url"], page, root, base_url)
    assert resolve(ld["hasPart"][1]["url"], page, root, base_url).startswith(page_url + "#t=")
    assert ("og:url" in og) == bool(base_url)


@pytest.mark.slow
def test_clips_end_within_the_recording_and_the_upload_date_has_a_time_zone(published_site: Path) -> None:
    manifest = json.loads((site_dir(published_site) / SAMPLE_SLUG / "session.json").read_text())
    (ld,) = [json.loads(b) for b in parse_page(site_dir(published_site) / SAMPLE_SLUG / "index.html").json_ld]
    duration = manifest["recording"]["media"]["duration"]
    assert all(0 <= c["startOffset"] < c["endOffset"] <= duration for c in ld["hasPart"])
    upload = dt.datetime.fromisoformat(ld["uploadDate"])
    assert upload.tzinfo is not None and upload.date() == dt.date(2026, 3, 14)


@pytest.mark.slow
def test_the_preview_server_sends_the_registered_media_types(site: tuple[str, str | None]) -> None:
    root, _ = site
    expected = {
        f"{SAMPLE_SLUG}/chapters.json": "application/json+chapters",
        f"{SAMPLE_SLUG}/captions.nl.vtt": "text/vtt",
        f"{SAMPLE_SLUG}/transcript.tsv": "text/tab-separated-values",
        "feed.xml": "application/rss+xml",
        "feeds/voorbeeld-video.xml": "application/rss+xml",
    }
    for path, media_type in expected.items():
        with urllib.request.urlopen(root + path) as response:
            assert response.headers.get_content_type() == media_type, path
    request = urllib.request.Request(root + f"{SAMPLE_SLUG}/chapters.json", headers={"Range": "bytes=0-9"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206 and response.headers.get_content_type() == "application/json+chapters"


@pytest.mark.slow
def test_serve_gives_a_site_without_public_address_its_own_for_feeds_oembed_and_sitemap(relative_site: Path) -> None:
    """`livecast serve` on a site published without `base_url`: the feeds, oEmbed, sitemap and robots.txt
    name the preview's address, so a podcast app fetches the audio and an embed loads from it."""
    site = site_dir(relative_site)
    assert not (site / "sitemap.xml").exists() and "Sitemap:" not in (site / "robots.txt").read_text()
    server = preview_server(relative_site, port=0, preview_settings=PublishSettings())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with urllib.request.urlopen(root + "feed.xml") as response:
            feed = response.read()
        parsed = feedparser.parse(feed)
        assert not parsed.bozo and len(parsed.entries) == 2
        for entry in parsed.entries:
            (enclosure,) = entry.enclosures
            assert enclosure.href.startswith(root) and entry.image.href.startswith(root)
            assert_served(enclosure.href)
        guid = ET.fromstring(feed).findtext("channel/{https://podcastindex.org/namespace/1.0}guid")
        assert guid == podcast_guid(root + "feed.xml")
        with urllib.request.urlopen(f"{root}{SAMPLE_SLUG}/oembed.json") as response:
            oembed = json.loads(response.read())
        assert f'src="{root}{SAMPLE_SLUG}/embed.html"' in oembed["html"]
        assert oembed["provider_url"] == root and oembed["thumbnail_url"] == f"{root}{SAMPLE_SLUG}/poster.jpg"
        with urllib.request.urlopen(root + "robots.txt") as response:
            assert f"Sitemap: {root}sitemap.xml" in response.read().decode()
        with urllib.request.urlopen(root + "sitemap.xml") as response:
            locs = [e.text for e in ET.fromstring(response.read()).findall(".//{*}loc")]
        assert locs[0] == root and f"{root}{SAMPLE_SLUG}/" in locs
    finally:
        server.shutdown()
        server.server_close()
    assert (site / "feed.xml").read_bytes() != feed  # the files on disk stay as published
