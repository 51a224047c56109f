"""Publishing without a browser: the package on disk, its media, metadata, manifest, atomic swap,
editors' files, the catalogue, the feed, the CLI and the flow's publish stage."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.models import Chapter, Segment, Transcript, Word
from livecastpipe.package import store
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.publish import publish_session
from livecastpipe.package.store import SessionPackage, load_session_package
from livecastpipe.stages.ingest import ingest
from livecastpipe.stages.media import prepare_media_ahead
from livecastpipe.storage import sha256_file

from .conftest import SAMPLE, run_ffmpeg
from .publish_fixtures import APPROVED_SUMMARY, HOSTILE_SCRIPT, SETTINGS, SampleFlowRun, hostile_package

SAMPLE_SLUG = "cooperatieven-maken-de-stad-voorbeeldsessie"


class _Collector(HTMLParser):
    """Collects start tags with their attributes, and the JSON-LD blocks, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.json_ld: list[str] = []
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_ld = tag == "script" and dict(attrs).get("type") == "application/ld+json"

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld.append(data)
            self._in_ld = False


def parse_page(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


@pytest.mark.slow
def test_package_holds_page_media_tracks_downloads_and_a_manifest(published_site: Path) -> None:
    folder = workspace.session_site_dir(published_site, SAMPLE_SLUG)
    private = workspace.session_private_dir(published_site, SAMPLE_SLUG)
    for name in (
        "index.html",
        "video.mp4",
        "audio.m4a",
        "poster.jpg",
        "captions.nl.vtt",
        "subtitles.nl.vtt",
        "chapters.vtt",
        "subtitles.nl.srt",
        "transcript.txt",
        "transcript.json",
        "chapters.json",
        "session.json",
        "assets/player.js",
        "assets/player.css",
    ):
        assert (folder / name).is_file(), name
    for name in ("package.json", "review.json", "subtitle-report.json"):  # private: never in the site
        assert (private / name).is_file() and not (folder / name).exists(), name
    manifest = json.loads((folder / "session.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "session.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        assert entry["sha256"] == sha256_file(folder / path), path
        assert entry["bytes"] == (folder / path).stat().st_size
    assert manifest["editor_files"]["review.json"] == sha256_file(private / "review.json")
    provenance = manifest["provenance"]
    assert provenance["transcribe"]["model"] and provenance["transcribe"]["versions"]["faster-whisper"]
    assert provenance["publish"]["versions"]["ffmpeg"]
    assert not list(published_site.rglob(".*publish-*")), "a temporary folder was left behind"


@pytest.mark.slow
def test_web_copy_reuses_h264_aac_without_re_encoding_and_starts_fast(published_site: Path) -> None:
    folder = workspace.session_site_dir(published_site, SAMPLE_SLUG)
    manifest = json.loads((folder / "session.json").read_text())
    assert manifest["media"]["video_reencoded"] is False
    with av.open(str(folder / "video.mp4")) as web, av.open(str(SAMPLE)) as original:
        assert [s.codec_context.name for s in web.streams] == ["h264", "aac"]
        web_packets = [bytes(p) for p in web.demux(web.streams.video[0]) if p.size][:20]
        original_packets = [bytes(p) for p in original.demux(original.streams.video[0]) if p.size][:20]
        assert web_packets == original_packets, "the video stream was re-encoded"
    head = (folder / "video.mp4").read_bytes()
    assert head.index(b"moov") < head.index(b"mdat"), "not +faststart: the index is after the media"
    with av.open(str(folder / "audio.m4a")) as audio:
        assert not audio.streams.video and audio.streams.audio[0].codec_context.name == "aac"
    assert (folder / "poster.jpg").read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.slow
def test_page_metadata_json_ld_opengraph_and_csp(published_site: Path) -> None:
    page = parse_page(workspace.session_site_dir(published_site, SAMPLE_SLUG) / "index.html")
    (html_tag,) = [attrs for tag, attrs in page.tags if tag == "html"]
    assert html_tag["lang"] == "nl"
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "unsafe-inline" not in script_src and "'self'" in script_src
    assert all(a.get("src") for t, a in page.tags if t == "script" and a.get("type") != "application/ld+json")
    og = {a["property"]: a["content"] for t, a in page.tags if t == "meta" and a.get("property", "").startswith("og:")}
    assert og["og:title"].startswith("Coöperatieven maken de stad")
    assert og["og:image"] == f"https://replays.example.org/cooperatieven/{SAMPLE_SLUG}/poster.jpg"
    (ld,) = [json.loads(block) for block in page.json_ld]
    assert ld["@type"] == "VideoObject" and ld["inLanguage"] == "nl"
    with av.open(str(SAMPLE)) as source:
        seconds = source.duration / av.time_base
    duration = re.fullmatch(r"PT1M(\d+)S", ld["duration"])
    assert duration and abs(60 + int(duration[1]) - seconds) <= 0.5  # the recording's length, to the second
    assert ld["uploadDate"] == "2026-03-14T12:00:00+01:00"
    assert ld["description"] == APPROVED_SUMMARY
    assert [(c["@type"], c["startOffset"]) for c in ld["hasPart"]][0] == ("Clip", 0)
    assert len(ld["hasPart"]) == 2
    # the clip's link is exact (to the millisecond), its startOffset the whole second schema.org readers expect
    assert int(float(ld["hasPart"][1]["url"].split("#t=")[1])) == ld["hasPart"][1]["startOffset"]
    assert "Anne de Vries" in ld["transcript"]
    tracks = [a for t, a in page.tags if t == "track"]
    assert [(a["kind"], a["src"]) for a in tracks] == [
        ("captions", "captions.nl.vtt"),
        ("subtitles", "subtitles.nl.vtt"),
        ("chapters", "chapters.vtt"),
    ]
    assert "default" in tracks[0]


@pytest.mark.slow
def test_only_editor_approved_texts_and_names_are_shown(published_site: Path) -> None:
    html = (workspace.session_site_dir(published_site, SAMPLE_SLUG) / "index.html").read_text()
    assert "Leden beslissen samen." in html  # the editor's approved wording
    assert "Trefwoorden" not in html  # generated keywords nobody approved are withheld
    assert "Pieter Bakker" in html  # approved in review.json
    hostile = next(p for p in workspace.site_dir(published_site).iterdir() if p.name.startswith("wonen"))
    assert "Spreker 2" in (hostile / "index.html").read_text()  # no name proposed or approved


@pytest.mark.slow
def test_hostile_text_is_escaped_everywhere(published_site: Path) -> None:
    folder = next(p for p in workspace.site_dir(published_site).iterdir() if p.name.startswith("wonen"))
    html = (folder / "index.html").read_text()
    assert "<script>document.title" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=" in html
    ld = json.loads(parse_page(folder / "index.html").json_ld[0])
    assert HOSTILE_SCRIPT in ld["name"] and ld["@type"] == "AudioObject"
    catalogue = (workspace.site_dir(published_site) / "index.html").read_text()
    assert "<script>document.title" not in catalogue and "<img src=x" not in catalogue
    ET.fromstring((workspace.site_dir(published_site) / "feed.xml").read_bytes())  # still well-formed XML


@pytest.mark.slow
def test_audio_only_recording_gets_a_title_card_and_an_audio_copy(published_site: Path) -> None:
    folder = next(p for p in workspace.site_dir(published_site).iterdir() if p.name.startswith("wonen"))
    assert not (folder / "video.mp4").exists()
    with av.open(str(folder / "poster.jpg")) as poster:
        assert (poster.streams.video[0].width, poster.streams.video[0].height) == (1280, 720)
    with av.open(str(folder / "audio.m4a")) as audio:
        assert audio.streams.audio[0].codec_context.name == "aac"  # the MP3 was re-encoded
    sources = [a["src"] for t, a in parse_page(folder / "index.html").tags if t == "source"]
    assert sources == ["audio.m4a"]


@pytest.mark.slow
def test_catalogue_groups_by_programme_and_the_feed_has_enclosures_transcripts_chapters(published_site: Path) -> None:
    html = (workspace.site_dir(published_site) / "index.html").read_text()
    headings = re.findall(r"<h2 id=\"programma-\d+\">([^<]+)</h2>", html)
    assert headings == ["Voorbeeld", "Middagprogramma"]  # by the date of their first session
    assert f'href="{SAMPLE_SLUG}/index.html"' in html
    assert (workspace.site_dir(published_site) / "pagefind" / "pagefind.js").is_file()
    ns = {"podcast": "https://podcastindex.org/namespace/1.0"}
    channel = ET.fromstring((workspace.site_dir(published_site) / "feed.xml").read_bytes()).find("channel")
    items = channel.findall("item")
    assert [i.findtext("title")[:6] for i in items] == ["Wonen ", "Coöper"]  # newest first
    sample_item = items[1]
    enclosure = sample_item.find("enclosure")
    assert enclosure.get("url") == f"https://replays.example.org/cooperatieven/{SAMPLE_SLUG}/audio.m4a"
    assert (
        int(enclosure.get("length"))
        == (workspace.session_site_dir(published_site, SAMPLE_SLUG) / "audio.m4a").stat().st_size
    )
    transcripts = sample_item.findall("podcast:transcript", ns)
    assert {t.get("type") for t in transcripts} == {"text/vtt", "application/x-subrip", "application/json"}
    chapters_url = sample_item.find("podcast:chapters", ns).get("url")
    chapters = json.loads(
        (workspace.session_site_dir(published_site, SAMPLE_SLUG) / chapters_url.rsplit("/", 1)[1]).read_text()
    )
    assert chapters["version"] == "1.2.0" and chapters["chapters"][0]["startTime"] == 0


@pytest.mark.slow
def test_republish_keeps_editor_files_and_reuses_media(tmp_path: Path, sample_session, hostile_audio_recording) -> None:
    output = tmp_path / "output"
    package = hostile_package(hostile_audio_recording)
    folder = publish_session(package, output, SETTINGS)
    private = workspace.session_private_dir(output, folder.name)
    review = '{"not": "touched"}'
    edited_speakers = (
        "# edited by an editor\nspeakers:\n  SPEAKER_01: {name: Wim Jansen, role: speaker, confirmed: true}\n"
    )
    (private / "speakers.yaml").write_text(edited_speakers)
    audio_inode = (folder / "audio.m4a").stat().st_ino
    with pytest.raises(PublishError, match="review.json"):  # an unreadable review file stops publishing
        (private / "review.json").write_text(review)
        publish_session(package, output, SETTINGS)
    assert (private / "review.json").read_text() == review and (folder / "index.html").is_file()
    (private / "review.json").unlink()
    publish_session(load_session_package(output, folder.name), output, SETTINGS)
    assert (private / "speakers.yaml").read_text() == edited_speakers
    assert "Wim Jansen" in (folder / "index.html").read_text()  # the editor's confirmed name is shown
    assert (folder / "audio.m4a").stat().st_ino == audio_inode, "media were made again instead of reused"
    assert not [p for p in output.rglob(".*") if p.is_dir()], "temporary folders left behind"


@pytest.mark.slow
def test_media_made_ahead_are_published_not_made_again(tmp_path: Path, hostile_audio_recording) -> None:
    """Media made while transcription runs go into the package as they are; once published, a rerun
    makes none."""
    output = tmp_path / "output"
    prepared = prepare_media_ahead(hostile_audio_recording, output, SETTINGS)
    assert prepared is not None and (prepared / "audio.m4a").is_file()
    assert prepare_media_ahead(hostile_audio_recording, output, SETTINGS) == prepared  # made once
    audio_inode = (prepared / "audio.m4a").stat().st_ino

    folder = publish_session(hostile_package(hostile_audio_recording), output, SETTINGS, prepared_media=prepared)

    assert (folder / "audio.m4a").stat().st_ino == audio_inode, "the audio copy was made again"
    with av.open(str(folder / "audio.m4a")) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration / 1_000_000 == pytest.approx(20.0, abs=0.5)
    assert (folder / "poster.jpg").is_file()
    assert prepare_media_ahead(hostile_audio_recording, output, SETTINGS) is None  # the package's are reused
    other = replace(hostile_audio_recording, sha256="1" * 64)  # another recording never takes these media
    assert publish_session(hostile_package(other), tmp_path / "other", SETTINGS, prepared_media=prepared)
    assert (workspace.session_site_dir(tmp_path / "other", folder.name) / "audio.m4a").stat().st_ino != audio_inode


@pytest.mark.slow
def test_failed_publish_leaves_the_old_package_untouched(tmp_path: Path, hostile_audio_recording) -> None:
    output = tmp_path / "output"
    package = hostile_package(hostile_audio_recording)
    folder = publish_session(package, output, SETTINGS)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    broken_source = tmp_path / "broken.mp3"
    broken_source.write_bytes(b"ID3" + b"\x00" * 2000)
    changed = SessionPackage(
        recording=replace(package.recording, source=str(broken_source), sha256="0" * 64),
        transcript=package.transcript,
    )
    with pytest.raises(PublishError, match="broken.mp3"):
        publish_session(changed, output, SETTINGS)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert store.session_slugs(output) == [folder.name]


@pytest.mark.slow
def test_a_non_web_recording_is_re_encoded_to_h264_aac(tmp_path: Path) -> None:
    source = tmp_path / "oud-formaat.avi"
    run_ffmpeg("-i", str(SAMPLE), "-t", "4", "-c:v", "mpeg4", "-c:a", "libmp3lame", str(source))
    recording = ingest(source, tmp_path / "cache")
    transcript = Transcript(
        "nl", 1.0, 4.0, (Segment(0.0, 3.0, "Kort fragment.", (Word(0.0, 3.0, "Kort fragment.", 0.9),)),), "handmade"
    )
    folder = publish_session(
        SessionPackage(recording, transcript, chapters=(Chapter(0, 4, "Alles"),)), tmp_path / "out", SETTINGS
    )
    with av.open(str(folder / "video.mp4")) as web:
        assert [s.codec_context.name for s in web.streams] == ["h264", "aac"]
    assert json.loads((folder / "session.json").read_text())["media"]["video_reencoded"] is True


@pytest.mark.parametrize("name", ["../index.html", "index.html", "session.json", ".hidden"])
def test_stage_files_cannot_escape_or_replace_the_package(name: str, tmp_path: Path, hostile_audio_recording) -> None:
    package = replace(hostile_package(hostile_audio_recording), stage_files={name: "x"})
    with pytest.raises(PublishError, match="not allowed"):
        publish_session(package, tmp_path / "output", SETTINGS)
    assert not (tmp_path / "index.html").exists()
    assert [p for p in (tmp_path / "output").rglob("*") if not p.is_dir()] == []  # no half-made folder
    assert store.session_slugs(tmp_path / "output") == []


def test_cli_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"livecast {version('livecastpipe')}\n"


@pytest.mark.slow
def test_cli_publish_rerenders_from_stored_data_and_reports_unknown_sessions(
    published_site: Path, tmp_path: Path
) -> None:
    output = tmp_path / "output"
    shutil.copytree(published_site, output)
    (workspace.session_site_dir(output, SAMPLE_SLUG) / "index.html").write_text("stale")
    result = CliRunner().invoke(app, ["publish", SAMPLE_SLUG, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Leden beslissen samen." in (workspace.session_site_dir(output, SAMPLE_SLUG) / "index.html").read_text()
    result = CliRunner().invoke(app, ["publish", "bestaat-niet", "--output", str(output)])
    assert result.exit_code == 1
    assert "bestaat-niet: not a published session" in result.output


@pytest.mark.slow
def test_flow_publishes_the_package_and_catalogue_and_a_rerun_keeps_editor_decisions(
    sample_flow_run: SampleFlowRun, flow_output_copy: Path
) -> None:
    from livecastpipe.editor.edits.edits_file import update_edits
    from livecastpipe.editor.edits.model import SessionEdits
    from livecastpipe.editor.edits.operations import set_text
    from livecastpipe.editor.review import (
        SESSION_SUMMARY_KEY,
        approve,
        read_review,
        write_review,
    )
    from livecastpipe.flows.pipeline import process_folder
    from livecastpipe.settings import Settings

    settings = Settings(output_dir=flow_output_copy)  # the flow's first run, copied: this test edits it
    slug = sample_flow_run.result.slug
    assert slug is not None
    folder = workspace.session_site_dir(flow_output_copy, slug)
    assert (folder / "index.html").is_file() and (folder / "captions.nl.vtt").is_file()
    site = workspace.site_dir(flow_output_copy)
    assert (site / "index.html").is_file() and (site / "pagefind" / "pagefind.js").is_file()
    assert "Samenvatting" not in (folder / "index.html").read_text()  # nothing approved yet

    private = workspace.session_private_dir(flow_output_copy, slug)
    review = approve(read_review(private), SESSION_SUMMARY_KEY, "Redactie", "Een gesprek over buurtcoöperaties.")
    write_review(private, review)
    edited_review = (private / "review.json").read_bytes()

    def correct_first_word(edits: SessionEdits) -> SessionEdits:
        text = " ".join(["Zwaluwstaart", *edits.segment("s1").text.split()[1:]])
        return set_text(edits, "s1", text, base_version=0, editor="Redactie")

    corrected = update_edits(private, correct_first_word)
    edited_transcript = (private / "edits.json").read_bytes()
    (result,) = process_folder([str(sample_flow_run.source)], settings)
    assert result.status == "done" and Path(str(result.output_dir)).resolve() == folder.resolve(), result.error
    assert "Een gesprek over buurtcoöperaties." in (folder / "index.html").read_text()
    assert read_review(private).item(SESSION_SUMMARY_KEY).decision.text == "Een gesprek over buurtcoöperaties."
    assert (private / "review.json").read_bytes() == edited_review
    assert (private / "edits.json").read_bytes() == edited_transcript and not corrected.stale
    assert "Zwaluwstaart" in (folder / "captions.nl.vtt").read_text()  # the rerun published the edit


@pytest.mark.slow
def test_drafts_are_published_only_when_allowed_and_then_labelled(sample_session, tmp_path: Path) -> None:
    from livecastpipe.editor.review import UNREVIEWED_LABEL, update_review
    from livecastpipe.settings import SummariesSettings
    from livecastpipe.stages.summaries import extractive_summary, split_sentences

    from .publish_fixtures import sample_package

    package = sample_package(sample_session)
    output = tmp_path / "output"
    folder = workspace.session_site_dir(output, package.recording.slug)
    summary = extractive_summary(package.transcript, package.chapters, SummariesSettings())
    update_review(
        workspace.session_private_dir(output, package.recording.slug),
        package.recording.slug,
        package.recording.title,
        summary,
        split_sentences(package.transcript),
        package.speakers,
    )
    publish_session(package, output, SETTINGS)
    assert UNREVIEWED_LABEL not in (folder / "index.html").read_text()
    assert summary.text not in (folder / "index.html").read_text()
    publish_session(package, output, SETTINGS, publish_unreviewed=True)
    html = (folder / "index.html").read_text()
    assert UNREVIEWED_LABEL in html and "Trefwoorden" in html


def test_soft_hyphens_break_long_dutch_words_and_keep_the_text_escaped() -> None:
    from livecastpipe.package.render import soft_hyphens

    text = "Gemeenteraadsvergadering over <b>woningbouw</b> & de stad"
    marked = str(soft_hyphens(text))
    assert "gemeen\u00adte\u00adraads" in marked.lower()
    assert "&lt;b&gt;woningbouw&lt;/b&gt; &amp; de stad" in marked  # short words untouched, HTML escaped
    assert marked.replace("\u00ad", "") == "Gemeenteraadsvergadering over &lt;b&gt;woningbouw&lt;/b&gt; &amp; de stad"


def test_track_labels_name_sounds_only_when_a_cue_describes_one_and_say_unchecked() -> None:
    from livecastpipe.package.render import caption_track_labels

    plain = "WEBVTT\n\n00:00.000 --> 00:02.000\n<v Anne>Welkom allemaal.\n"
    sounds = plain + "\n00:02.000 --> 00:03.000\n[applaus]\n"
    assert caption_track_labels(plain, reviewed=True, language="nl") == ("Nederlands, met sprekers", "Nederlands")
    assert caption_track_labels(sounds, reviewed=True, language="nl")[0] == "Nederlands, met sprekers en geluiden"
    assert caption_track_labels(plain, reviewed=True, language="en") == ("Engels, met sprekers", "Engels")
    assert caption_track_labels(plain, reviewed=True, language="xx")[1] == "xx"  # a code without a name: the code
    inaudible = plain + "\n00:02.000 --> 00:03.000\n[onverstaanbaar]\n"  # marked by an editor: not a sound
    assert caption_track_labels(inaudible, reviewed=True, language="nl")[0] == "Nederlands, met sprekers"
    unchecked = caption_track_labels(plain, reviewed=False, language="nl")
    assert all("niet gecontroleerd" in label for label in unchecked)


@pytest.mark.slow
def test_captions_say_they_are_unchecked_until_an_editor_approves_them(sample_session, tmp_path: Path) -> None:
    from livecastpipe.editor.review import CAPTIONS_KEY, CAPTIONS_UNREVIEWED_LABEL, approve, read_review, write_review

    from .publish_fixtures import review_as_editor, sample_package

    package = sample_package(sample_session)
    output = tmp_path / "output"
    folder = workspace.session_site_dir(output, package.recording.slug)
    private = workspace.session_private_dir(output, package.recording.slug)
    review_as_editor(package, private)  # summary and a name approved, the captions not

    def tracks() -> dict[str, str]:
        tags = parse_page(folder / "index.html").tags
        return {a["id"] or "": a["label"] or "" for t, a in tags if t == "track" and a.get("id")}

    publish_session(package, output, SETTINGS)
    assert CAPTIONS_UNREVIEWED_LABEL in (folder / "index.html").read_text()
    assert all("niet gecontroleerd" in label for label in tracks().values())
    assert not any("geluiden" in label for label in tracks().values())  # no cue describes a sound
    assert json.loads((folder / "session.json").read_text())["captions"] == {"reviewed": False}

    write_review(private, approve(read_review(private), CAPTIONS_KEY, "Redactie"))
    publish_session(package, output, SETTINGS)
    assert CAPTIONS_UNREVIEWED_LABEL not in (folder / "index.html").read_text()
    assert tracks() == {"track-captions": "Nederlands, met sprekers", "track-subtitles": "Nederlands"}
    assert json.loads((folder / "session.json").read_text())["captions"] == {"reviewed": True}
