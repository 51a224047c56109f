"""The podcast feeds as directories and apps read them: feedparser without errors, the iTunes channel
fields, and the Podcasting 2.0 tags with the fields the namespace requires."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from PIL import Image

from livecastpipe.package.catalogue import podcast_guid
from livecastpipe.workspace import site_dir

from .publish_fixtures import SETTINGS
from .test_publish import SAMPLE_SLUG

PODCAST = "https://podcastindex.org/namespace/1.0"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
NS = {"podcast": PODCAST, "itunes": ITUNES}
REQUIRED_ATTRIBUTES = {"transcript": {"url", "type"}, "chapters": {"url", "type"}, "person": set()}
"""The Podcasting 2.0 namespace's required attributes of the tags the feeds use (1.0 spec)."""
ROLES = {"host", "co-host", "guest", "moderator"}  # a selection of the namespace's "Podcaster" group roles


def test_podcast_guid_follows_the_namespace_example() -> None:
    # The specification's example: mp3s.nashownotes.com/pc20rss.xml → 917393e3-…
    assert podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml/") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"


def feeds_of(site: Path) -> list[Path]:
    return [site / "feed.xml", site / "feed-video.xml", *sorted((site / "feeds").glob("*.xml"))]


@pytest.mark.slow
def test_every_feed_parses_and_has_what_directories_ask_for(published_site: Path) -> None:
    feeds = feeds_of(site_dir(published_site))
    assert [p.name for p in feeds[2:]] == ["middagprogramma.xml", "voorbeeld-video.xml", "voorbeeld.xml"]
    guids = set()
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"
        channel = parsed.feed
        assert channel.image.href.endswith("/cover.jpg") and channel.language == "nl"
        assert channel.tags[0].term == SETTINGS.podcast_category
        assert channel.publisher_detail.email == "redactie@example.org"  # itunes:owner
        root = ET.fromstring(path.read_bytes()).find("channel")
        guid = root.findtext("podcast:guid", namespaces=NS)
        feed_url = SETTINGS.base_url + str(path.relative_to(site_dir(published_site)))
        assert uuid.UUID(guid).version == 5 and guid == podcast_guid(feed_url)
        guids.add(guid)
        assert root.find("atom:link", {"atom": "http://www.w3.org/2005/Atom"}).get("href") == feed_url
        for element in root.iter():
            tag = element.tag.removeprefix("{" + PODCAST + "}")
            if tag in REQUIRED_ATTRIBUTES:
                assert REQUIRED_ATTRIBUTES[tag] <= set(element.attrib), (path.name, tag, element.attrib)
            if tag == "person":
                assert element.text and element.get("role") in ROLES
        for entry in parsed.entries:
            (enclosure,) = entry.enclosures
            assert (
                enclosure.type == ("video/mp4" if "video" in path.name else "audio/mp4") and int(enclosure.length) > 0
            )
    assert len(guids) == len(feeds)  # every feed its own identity
    with Image.open(site_dir(published_site) / "cover.jpg") as cover:
        assert cover.size == (1400, 1400) and cover.format == "JPEG"


@pytest.mark.slow
def test_items_carry_people_with_roles_transcripts_and_chapters(published_site: Path) -> None:
    channel = ET.fromstring((site_dir(published_site) / "feed.xml").read_bytes()).find("channel")
    sample = next(i for i in channel.findall("item") if SAMPLE_SLUG in i.findtext("link"))
    people = [(p.text, p.get("role")) for p in sample.findall("podcast:person", NS)]
    assert people == [("Anne de Vries", "host"), ("Pieter Bakker", "guest")]  # moderator host, speaker guest
    transcripts = {t.get("type"): t for t in sample.findall("podcast:transcript", NS)}
    assert {"text/vtt", "application/x-subrip"} <= set(transcripts)
    assert transcripts["text/vtt"].get("rel") == "captions" and transcripts["text/vtt"].get("language") == "nl"
    assert sample.find("podcast:chapters", NS).get("type") == "application/json+chapters"
    video = ET.fromstring((site_dir(published_site) / "feed-video.xml").read_bytes()).find("channel")
    assert [i.findtext("title")[:6] for i in video.findall("item")] == ["Coöper"]  # the audio-only one is left out
    assert video.findtext("podcast:medium", namespaces=NS) == "video"
