"""A recording is its content: the same recording under a new title or file name updates its one session,
at its address, with its editors' work; two recordings with one title stay apart."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.editor.edits.edits_file import read_edits, update_edits
from livecastpipe.editor.edits.operations import set_text
from livecastpipe.editor.review import SESSION_SUMMARY_KEY, approve, read_review, write_review
from livecastpipe.package import store
from livecastpipe.settings import PublishSettings, Settings
from livecastpipe.stages.ingest import ingest
from livecastpipe.stages.media import make_title_card_of, prepare_media, prepare_media_ahead
from livecastpipe.storage import sha256_file

from .conftest import SAMPLE, run_ffmpeg

OLD_TITLE = "Oude titel van de lezing"
NEW_TITLE = "Nieuwe titel van de lezing"
CORRECTION = "Deze zin schreef de redactie zelf"
SUMMARY = "Een samenvatting die de redactie goedkeurde."


def _clip(target: Path, start: float = 0.0) -> None:
    """Eight seconds of the sample, copied without re-encoding (from `start`: another recording)."""
    run_ffmpeg("-ss", str(start), "-i", str(SAMPLE), "-t", "8", "-c", "copy", str(target))


def _publish_and_edit(media: Path, settings: Settings) -> str:
    """Publish the recordings in `media` (one), then correct its first segment and approve its summary as
    an editor would; returns its session's folder name."""
    from livecastpipe.flows.pipeline import process_folder

    (first,) = process_folder([str(media)], settings)
    assert first.status == "done" and first.slug is not None, first.error
    private = workspace.session_private_dir(settings.output_dir, first.slug)
    update_edits(
        private,
        lambda e: set_text(e, e.segments[0].id, CORRECTION, base_version=e.version, editor="Redactie"),
    )
    write_review(private, approve(read_review(private), SESSION_SUMMARY_KEY, "Redactie", SUMMARY))
    return first.slug


def _caption_words(vtt: str) -> str:
    """The captions' text in order, cue after cue, without times or voice tags."""
    return " ".join(re.sub(r"<[^>]+>", "", line) for line in vtt.splitlines()[1:] if line and "-->" not in line)


def _assert_one_session_with_editors_work(output: Path, slug: str, title: str, source: Path) -> None:
    """The site holds one session, at `slug`, titled `title` on its page, in the catalogue and the feed,
    made from `source`, its correction in the captions and its approved summary on the page."""
    site = workspace.site_dir(output)
    assert store.session_slugs(output) == [slug]
    manifest = json.loads((site / slug / "session.json").read_text())
    assert manifest["recording"]["file"] == source.name and manifest["catalogue"]["title"] == title
    page = (site / slug / "index.html").read_text()
    assert f'data-title="{title}"' in page and SUMMARY in page
    assert CORRECTION in _caption_words((site / slug / "captions.nl.vtt").read_text())
    catalogue = (site / "index.html").read_text()
    assert catalogue.count('<h3 id="sessie-') == 1 and f'<a href="{slug}/index.html">{title}</a>' in catalogue
    feed = (site / "feed.xml").read_text()
    assert feed.count("<item>") == 1 and f"<title>{title}</title>" in feed
    private = workspace.session_private_dir(output, slug)
    assert json.loads((private / "package.json").read_text())["recording"]["source"] == str(source)
    stored = read_edits(private)
    assert stored is not None and stored.segments[0].text == CORRECTION
    decision = read_review(private).item(SESSION_SUMMARY_KEY).decision
    assert decision is not None and decision.text == SUMMARY


@pytest.mark.slow
def test_a_new_title_updates_the_one_session_at_its_address(prefect_harness, tmp_path: Path) -> None:
    from livecastpipe.flows.pipeline import process_folder

    media = tmp_path / "media"
    media.mkdir()
    talk = media / "lezing.mp4"
    _clip(talk)
    sidecar = media / "lezing.yaml"
    sidecar.write_text(f"title: {OLD_TITLE}\n")
    settings = Settings(output_dir=tmp_path / "out")
    slug = _publish_and_edit(media, settings)
    assert slug == "oude-titel-van-de-lezing"

    sidecar.write_text(f"title: {NEW_TITLE}\n")
    (again,) = process_folder([str(media)], settings)

    assert again.status == "done" and again.slug == slug, again.error
    assert any(f"'{NEW_TITLE}'" in w and f"'{OLD_TITLE}'" in w and slug in w for w in again.warnings)
    _assert_one_session_with_editors_work(settings.output_dir, slug, NEW_TITLE, talk)
    site = workspace.site_dir(settings.output_dir)
    assert not any(OLD_TITLE in (site / name).read_text() for name in ("index.html", "feed.xml", f"{slug}/index.html"))

    # An output folder an earlier version left: it published the new title as a second, unedited session.
    copy = "nieuwe-titel-van-de-lezing"
    shutil.copytree(site / slug, site / copy)
    shutil.copytree(workspace.session_private_dir(settings.output_dir, slug), private := site.parent / "copy")
    (private / "edits.json").unlink()
    private.rename(workspace.session_private_dir(settings.output_dir, copy))
    (last,) = process_folder([str(media)], settings)
    assert last.status == "done" and last.slug in (slug, copy), last.error
    other = ({slug, copy} - {last.slug}).pop()
    assert any(f"also published as session '{other}'" in w for w in last.warnings)  # the archivist keeps one
    assert store.session_slugs(settings.output_dir) == sorted([slug, copy])  # no third


@pytest.mark.slow
def test_a_renamed_file_updates_the_one_session_and_a_copy_in_the_same_run_is_refused(
    prefect_harness, tmp_path: Path
) -> None:
    """Without a title the file name names the session: renamed, the session shows the new name at its
    old address. Two copies of one recording in one run make one session; the other copy fails, naming it."""
    from livecastpipe.flows.pipeline import process_folder

    media = tmp_path / "media"
    media.mkdir()
    _clip(media / "lezing.mp4")
    settings = Settings(output_dir=tmp_path / "out")
    slug = _publish_and_edit(media, settings)
    assert slug == "lezing"

    renamed = media / "verslag-van-de-dag.mp4"
    (media / "lezing.mp4").rename(renamed)
    (again,) = process_folder([str(media)], settings)

    assert again.status == "done" and again.slug == slug, again.error
    assert any("'verslag-van-de-dag'" in w for w in again.warnings)
    _assert_one_session_with_editors_work(settings.output_dir, slug, "verslag-van-de-dag", renamed)

    copy = media / "wwww-kopie.mp4"  # after the renamed file in the folder's order
    copy.write_bytes(renamed.read_bytes())
    done, refused = process_folder([str(media)], settings)
    assert done.status == "done" and done.source == str(renamed), done.error
    assert refused.status == "failed" and refused.error is not None and "\n" not in refused.error
    assert refused.error.startswith(f"{copy}: ") and str(renamed) in refused.error and slug in refused.error
    _assert_one_session_with_editors_work(settings.output_dir, slug, "verslag-van-de-dag", renamed)


@pytest.mark.slow
def test_two_recordings_with_one_title_stay_apart(prefect_harness, tmp_path: Path) -> None:
    """Another recording under the title a session now has is refused as a replacement of that session
    (as under the title it had), which keeps its recording and editors' work."""
    from livecastpipe.flows.pipeline import process_folder

    first, second = tmp_path / "dag1", tmp_path / "dag2"
    first.mkdir()
    second.mkdir()
    talk = first / "lezing.mp4"
    _clip(talk)
    (first / "lezing.yaml").write_text(f"title: {OLD_TITLE}\n")
    settings = Settings(output_dir=tmp_path / "out")
    slug = _publish_and_edit(first, settings)
    (first / "lezing.yaml").write_text(f"title: {NEW_TITLE}\n")
    (renamed,) = process_folder([str(first)], settings)
    assert renamed.status == "done" and renamed.slug == slug, renamed.error

    other = second / "andere-lezing.mp4"
    _clip(other, start=20)
    for title in (NEW_TITLE, OLD_TITLE):
        (second / "andere-lezing.yaml").write_text(f"title: {title}\n")
        (refused,) = process_folder([str(second)], settings)
        assert refused.status == "failed" and refused.error is not None, title
        assert refused.error.startswith(f"{other}: ") and str(talk) in refused.error and "--replace" in refused.error
        assert not (settings.resolved_cache_dir / sha256_file(other)[:32]).exists(), "the refused one's audio stayed"
        _assert_one_session_with_editors_work(settings.output_dir, slug, NEW_TITLE, talk)


@pytest.mark.slow
def test_a_chapter_named_after_the_session_follows_its_new_title(prefect_harness, tmp_path: Path) -> None:
    """Without speech the one chapter is named after the session: under a new title, after the new one."""
    from livecastpipe.flows.pipeline import process_folder

    media = tmp_path / "media"
    media.mkdir()
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=4", str(media / "toon.wav"))
    sidecar = media / "toon.yaml"
    settings = Settings(output_dir=tmp_path / "out")
    chapter_titles = []
    for title in (OLD_TITLE, NEW_TITLE):
        sidecar.write_text(f"title: {title}\n")
        (result,) = process_folder([str(media)], settings)
        assert result.status == "done" and result.output_dir is not None, result.error
        chapters = json.loads((Path(result.output_dir) / "chapters.json").read_text())["chapters"]
        chapter_titles.append([chapter["title"] for chapter in chapters])
    assert chapter_titles == [[OLD_TITLE], [NEW_TITLE]]


def test_an_audio_only_sessions_title_card_shows_its_new_title(tmp_path: Path) -> None:
    """The poster of an audio-only recording is a card with its title: a rerun under a new title reuses the
    audio made before, but not the card with the old title."""
    media = tmp_path / "media"
    media.mkdir()
    talk = media / "lezing.mp3"
    run_ffmpeg("-i", str(SAMPLE), "-t", "4", "-vn", "-c:a", "libmp3lame", "-b:a", "64k", str(talk))
    (media / "lezing.yaml").write_text(f"title: {OLD_TITLE}\n")
    settings = PublishSettings()
    before = ingest(talk, tmp_path / "cache")
    made = prepare_media_ahead(before, tmp_path / "out", settings)
    assert made is not None
    (media / "lezing.yaml").write_text(f"title: {NEW_TITLE}\n")
    after = ingest(talk, tmp_path / "cache")
    package = tmp_path / "package"
    package.mkdir()

    files = prepare_media(after, package, tmp_path / "out" / "nothing-published", settings, made)

    assert files.video is None and (package / files.audio).samefile(made / files.audio)  # reused
    first_publish = tmp_path / "first-publish.jpg"
    make_title_card_of(after, first_publish)  # what a first publish under the new title shows
    poster = (package / files.poster).read_bytes()
    assert poster == first_publish.read_bytes() and poster != (made / files.poster).read_bytes()


def test_copies_of_one_recording_run_one_after_another_and_other_recordings_side_by_side(tmp_path: Path) -> None:
    """A run's groups: recordings of one name or one content share a group (run in order, so the later
    one sees the earlier one's session); two recordings of one size but other content do not."""
    from livecastpipe.scheduling import output_name_groups

    for name, start in (("a.wav", 0), ("b.wav", 20)):  # PCM WAVs of one length: the same size
        run_ffmpeg("-ss", str(start), "-i", str(SAMPLE), "-t", "3", "-vn", "-c:a", "pcm_s16le", str(tmp_path / name))
    (tmp_path / "c-kopie.wav").write_bytes((tmp_path / "a.wav").read_bytes())
    (tmp_path / "d.wav").write_bytes((tmp_path / "b.wav").read_bytes()[:-2])  # another size
    (tmp_path / "d.yaml").write_text("title: B\n")  # the same name as b.wav
    sources = [str(tmp_path / name) for name in ("a.wav", "b.wav", "c-kopie.wav", "d.wav")]
    assert (tmp_path / "a.wav").stat().st_size == (tmp_path / "b.wav").stat().st_size

    assert output_name_groups(sources) == [[sources[0], sources[2]], [sources[1], sources[3]]]
