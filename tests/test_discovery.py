"""Found and played elsewhere: the sitemap with its video entries and robots.txt, oEmbed as other sites read
it (a 16:9 frame, a thumbnail, served as JSON), JSON-LD's embedUrl, square episode art in the feeds, the
CORS header on the files other sites' scripts read (and the production servers' patterns in the docs),
and the warning when the settings leave the feeds and embeds without a public address."""

from __future__ import annotations

import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from email.message import Message
from pathlib import Path

import feedparser
import pytest
from PIL import Image
from typer.testing import CliRunner

from livecastpipe.cli.main import app
from livecastpipe.package import outputs
from livecastpipe.package.discovery import SITEMAP_NAMESPACE, VIDEO_SITEMAP_NAMESPACE
from livecastpipe.workspace import site_dir

from .publish_fixtures import SETTINGS
from .test_publish import SAMPLE_SLUG, parse_page

BASE = SETTINGS.base_url
NS = {"s": SITEMAP_NAMESPACE, "video": VIDEO_SITEMAP_NAMESPACE}
PUBLISHING_DOC = Path(__file__).resolve().parents[1] / "docs" / "publishing.md"


def fetch(url: str) -> tuple[bytes, Message]:
    """A served file's body and headers."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers


def served(url: str, site_url: str) -> str:
    """The preview server's address of a URL under the public address."""
    assert url.startswith(BASE), url
    return site_url + url[len(BASE) :]


@pytest.mark.slow
def test_sitemap_lists_every_page_with_video_entries_and_robots_names_it(published_site: Path, site_url: str) -> None:
    site = site_dir(published_site)
    root = ET.fromstring((site / "sitemap.xml").read_bytes())
    assert root.tag == f"{{{SITEMAP_NAMESPACE}}}urlset"
    urls = {u.findtext("s:loc", namespaces=NS): u for u in root.findall("s:url", NS)}
    sessions = sorted(p.name for p in site.iterdir() if (p / "session.json").is_file())
    assert sorted(urls) == sorted([BASE] + [f"{BASE}{slug}/" for slug in sessions])
    manifest = json.loads((site / SAMPLE_SLUG / "session.json").read_text())
    (video,) = urls[f"{BASE}{SAMPLE_SLUG}/"].findall("video:video", NS)
    field = {child.tag.split("}")[1]: child.text for child in video}
    assert field["title"] == manifest["catalogue"]["title"]
    assert field["description"] and len(field["description"]) <= 2048
    assert field["duration"] == str(round(manifest["recording"]["media"]["duration"]))
    assert field["publication_date"] == "2026-03-14"
    for key, media_type in (("thumbnail_loc", "image/jpeg"), ("content_loc", "video/mp4"), ("player_loc", "text/html")):
        body, headers = fetch(served(field[key], site_url))
        assert body and headers.get_content_type() == media_type, key
    audio_only = [loc for loc, u in urls.items() if loc not in (BASE, f"{BASE}{SAMPLE_SLUG}/")]
    assert audio_only and all(not urls[loc].findall("video:video", NS) for loc in audio_only)
    robots, _ = fetch(site_url + "robots.txt")
    assert f"Sitemap: {BASE}sitemap.xml" in robots.decode().splitlines()


@pytest.mark.slow
def test_oembed_is_a_16_9_frame_with_a_thumbnail_served_as_json(published_site: Path, site_url: str) -> None:
    body, headers = fetch(f"{site_url}{SAMPLE_SLUG}/oembed.json")
    assert headers.get_content_type() == "application/json" and headers["Access-Control-Allow-Origin"] == "*"
    oembed = json.loads(body)
    assert oembed["width"] * 9 == oembed["height"] * 16
    src = re.search(r'src="([^"]+)"', oembed["html"]).group(1)
    assert src == f"{BASE}{SAMPLE_SLUG}/embed.html"
    assert f'width="{oembed["width"]}" height="{oembed["height"]}"' in oembed["html"]
    thumbnail, _ = fetch(served(oembed["thumbnail_url"], site_url))
    poster = site_dir(published_site) / SAMPLE_SLUG / "poster.jpg"
    assert thumbnail == poster.read_bytes()
    with Image.open(poster) as image:
        assert (oembed["thumbnail_width"], oembed["thumbnail_height"]) == image.size
    page = parse_page(site_dir(published_site) / SAMPLE_SLUG / "index.html")
    (ld,) = [json.loads(block) for block in page.json_ld]
    assert ld["embedUrl"] == src
    links = [a for t, a in page.tags if t == "link" and a.get("rel") == "alternate" and "oembed" in a.get("type", "")]
    assert [a["type"] for a in links] == ["application/json+oembed"]  # that type names the discovery link only


@pytest.mark.slow
def test_feed_items_have_square_artwork_and_the_channel_its_owner(published_site: Path) -> None:
    site = site_dir(published_site)
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not parsed.bozo and parsed.feed.publisher_detail.email == SETTINGS.owner_email
    channel = ET.fromstring((site / "feed.xml").read_bytes()).find("channel")
    locked = channel.find("{https://podcastindex.org/namespace/1.0}locked")
    assert locked.text == "no" and locked.get("owner") == SETTINGS.owner_email
    assert len(parsed.entries) == 2
    for entry in parsed.entries:
        art = site / entry.image.href.removeprefix(BASE)
        with Image.open(art) as image:
            assert image.format == "JPEG" and image.width == image.height and 1400 <= image.width <= 3000


def test_files_shared_with_other_sites_match_the_docs_server_patterns() -> None:
    """The nginx, Apache and Caddy snippets in docs/publishing.md send CORS on exactly the files
    `livecast serve` sends it on: transcripts, captions, chapters and oEmbed, no other public file."""
    doc = PUBLISHING_DOC.read_text(encoding="utf-8")
    nginx = re.search(r"^location ~ (\S+) \{$", doc, re.MULTILINE).group(1)
    apache = re.search(r'^<FilesMatch "(\S+)">$', doc, re.MULTILINE).group(1)
    caddy = re.search(r"^@shared path_regexp (\S+)$", doc, re.MULTILINE).group(1)
    public = [o.name("nl") for o in outputs.session_outputs() if o.visibility == "public"]
    shared = {o.name("nl") for o in outputs.CROSS_ORIGIN}
    assert len(shared) >= 10 and shared < set(public)
    for name in public:
        path = f"{SAMPLE_SLUG}/{name}"
        expected = name in shared
        assert outputs.cross_origin(path) == expected, name
        assert bool(re.search(nginx, "/" + path)) == expected, ("nginx", name)
        assert bool(re.search(caddy, "/" + path)) == expected, ("caddy", name)
        assert bool(re.search(apache, Path(name).name)) == expected, ("apache", name)


def test_publish_warns_once_when_feeds_and_embeds_have_no_public_address(tmp_path: Path) -> None:
    (tmp_path / "leeg.toml").write_text("[publish]\nsite_title = 'Replays'\n", encoding="utf-8")
    args = ["publish", "--output", str(tmp_path / "out"), "--config", str(tmp_path / "leeg.toml")]
    result = CliRunner().invoke(app, args)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith("warning: [publish] base_url is not set: the feeds' enclosures")
    assert "podcast apps cannot fetch the audio" in warnings[0]
    assert warnings[1].startswith("warning: [publish] owner_email is not set") and "itunes:email" in warnings[1]
    (tmp_path / "adres.toml").write_text(
        "[publish]\nbase_url = 'https://example.org/'\nowner_email = 'redactie@example.org'\n", encoding="utf-8"
    )
    args[-1] = str(tmp_path / "adres.toml")
    assert "warning:" not in CliRunner().invoke(app, args).stderr
