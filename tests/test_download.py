"""Recordings from where they are: an HLS rendition and a media file served from this machine over HTTP,
downloaded with yt-dlp, resumed after a dropped connection, checksummed and named by their URL."""

from __future__ import annotations

import json
import mimetypes
import pickle
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from livecastpipe.package.publish import public_recording
from livecastpipe.stages.download import (
    DownloadError,
    download,
    download_folder,
    ingest_source,
)
from livecastpipe.stages.ingest import IngestError, find_recordings
from livecastpipe.storage import sha256_file

from .conftest import SAMPLE, livecast, run_ffmpeg


@dataclass
class MediaServer:
    """A folder served on 127.0.0.1 with byte ranges, counting the bytes of each file it sent in answer to
    a range request; a file in `cut_whole` has each answer without a range cut off halfway (the connection
    closes mid-body), so only a download that continues from its part gets all of it."""

    root: Path
    url: str = ""
    bytes_sent: Counter[str] = field(default_factory=Counter)
    range_bytes_sent: Counter[str] = field(default_factory=Counter)
    ranges: list[tuple[str, str | None]] = field(default_factory=list)
    cut_whole: set[str] = field(default_factory=set)


def _handler(served: MediaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads the counts."""

        def do_GET(self) -> None:
            name = unquote(urlsplit(self.path).path).lstrip("/")
            path = served.root / name
            if not path.is_file():
                self.send_error(404, "File not found")
                return
            data = path.read_bytes()
            asked = self.headers.get("Range")
            served.ranges.append((name, asked))
            start = int(match[1]) if asked and (match := re.fullmatch(r"bytes=(\d+)-\d*", asked)) else 0
            body = data[start:]
            self.send_response(206 if asked else 200)
            self.send_header("Content-Type", mimetypes.guess_type(name)[0] or "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if asked:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if name in served.cut_whole and not asked:
                body = body[: len(body) // 2]
                self.close_connection = True
            self.wfile.write(body)
            served.bytes_sent[name] += len(body)
            if asked:
                served.range_bytes_sent[name] += len(body)

    return Handler


@pytest.fixture()
def media_server(tmp_path: Path) -> Iterator[MediaServer]:
    """An HTTP server in a thread serving `tmp_path/served`."""
    served = MediaServer(tmp_path / "served")
    served.root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def _hls_rendition(folder: Path, seconds: float = 8.0) -> Path:
    """An audio-only HLS rendition of part of the sample: a playlist and 2-second AAC segments."""
    folder.mkdir(parents=True)
    run_ffmpeg(
        *("-ss", "2", "-t", str(seconds), "-i", str(SAMPLE), "-vn", "-c:a", "aac", "-b:a", "64k"),
        *("-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"),
        *("-hls_segment_filename", str(folder / "deel%d.ts"), str(folder / "index.m3u8")),
    )
    return folder / "index.m3u8"


def _clip(path: Path, seconds: float = 8.0) -> Path:
    """A WAV clip of the sample's speech."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg("-ss", "2", "-t", str(seconds), "-i", str(SAMPLE), "-vn", str(path))
    return path


def test_an_hls_playlist_is_ingested_under_its_url_and_a_rerun_reuses_the_download(
    media_server: MediaServer, tmp_path: Path
) -> None:
    playlist = _hls_rendition(media_server.root / "live")
    url = f"{media_server.url}/live/index.m3u8"
    cache = tmp_path / "cache"

    recording = ingest_source(url, cache)

    assert recording.source == url
    assert recording.media.audio.codec == "aac" and 7.5 < recording.media.duration < 8.5
    assert recording.slug == "live" and recording.file_name == "live.m3u8"  # not every stream's "index"
    segments = sorted(p.name for p in playlist.parent.glob("*.ts"))
    assert len(segments) >= 4 and all(media_server.bytes_sent[f"live/{s}"] > 0 for s in segments)
    record = json.loads((download_folder(url, cache) / "download.json").read_text())
    assert record["sha256"] == recording.sha256 == sha256_file(recording.media_file)
    # The public manifest names the recording by its URL and nothing of this machine.
    public = public_recording(recording)
    assert public["source"] == url and public["file"] == "live.m3u8"
    assert str(tmp_path) not in json.dumps(public)

    sent = sum(media_server.bytes_sent.values())
    again = ingest_source(url, cache)
    assert sum(media_server.bytes_sent.values()) == sent  # the checked download in the cache, not fetched again
    assert (again.sha256, again.slug, again.media) == (recording.sha256, recording.slug, recording.media)


def test_a_direct_media_url_is_ingested_and_published_without_its_password_or_query(
    media_server: MediaServer, tmp_path: Path
) -> None:
    clip = _clip(media_server.root / "zaal 2" / "opening.wav")
    url = f"{media_server.url}/zaal%202/opening.wav?token=geheim"

    recording = ingest_source(url, tmp_path / "cache")

    assert recording.sha256 == sha256_file(clip)  # the very bytes served
    assert recording.title == "opening" and 7.9 < recording.media.duration < 8.1
    public = public_recording(recording)
    assert public["source"] == f"{media_server.url}/zaal%202/opening.wav"
    assert "geheim" not in json.dumps(public)

    with recording.media_file.open("r+b") as damaged:  # the cached download no longer has its SHA-256
        damaged.seek(-1000, 2)
        damaged.write(bytes(1000))
    again = ingest_source(url, tmp_path / "cache")
    assert again.sha256 == recording.sha256 and media_server.bytes_sent["zaal 2/opening.wav"] >= 2 * clip.stat().st_size


def test_a_missing_url_fails_in_one_line_naming_it_and_leaves_nothing(
    media_server: MediaServer, tmp_path: Path
) -> None:
    url = f"{media_server.url}/bestaat-niet.mp4"
    with pytest.raises(DownloadError) as missing:
        ingest_source(url, tmp_path / "cache")
    assert str(missing.value) == f"{url}: cannot be downloaded: the server answered HTTP 404 File not found"
    assert not missing.value.transient  # a 404 is not retried
    assert not download_folder(url, tmp_path / "cache").exists()

    (media_server.root / "geen-media.mp4").write_text("<html>geen video</html>")
    with pytest.raises(IngestError) as not_media:
        ingest_source(f"{media_server.url}/geen-media.mp4", tmp_path / "cache")
    assert str(not_media.value).startswith(f"{media_server.url}/geen-media.mp4: ")
    assert "\n" not in str(not_media.value) and str(tmp_path) not in str(not_media.value)


def test_a_page_with_one_video_gives_it_and_a_page_with_several_is_refused(
    media_server: MediaServer, tmp_path: Path
) -> None:
    clip = _clip(media_server.root / "media" / "keynote.wav")
    _clip(media_server.root / "media" / "paneel.wav", seconds=4)
    (media_server.root / "keynote.html").write_text('<html><body><video src="media/keynote.wav"></video></body></html>')
    (media_server.root / "dag.html").write_text(
        '<html><body><video src="media/keynote.wav"></video><video src="media/paneel.wav"></video></body></html>'
    )

    assert download(f"{media_server.url}/keynote.html", tmp_path / "cache").sha256 == sha256_file(clip)
    with pytest.raises(DownloadError) as several:
        download(f"{media_server.url}/dag.html", tmp_path / "cache")
    assert str(several.value) == (
        f"{media_server.url}/dag.html: a playlist of 2 recordings, not one: give the URL of each recording instead"
    )
    assert (
        not several.value.transient and not download_folder(f"{media_server.url}/dag.html", tmp_path / "cache").exists()
    )


def test_a_live_stream_is_refused_not_downloaded_forever(media_server: MediaServer, tmp_path: Path) -> None:
    playlist = _hls_rendition(media_server.root / "live")
    playlist.write_text(playlist.read_text().replace("#EXT-X-ENDLIST\n", ""))  # still being streamed
    url = f"{media_server.url}/live/index.m3u8"

    with pytest.raises(DownloadError) as live:
        download(url, tmp_path / "cache")

    assert str(live.value) == f"{url}: a live stream: process its recording once the stream has ended"
    assert not any(name.endswith(".ts") for name in media_server.bytes_sent)


def test_a_dropped_download_continues_from_its_part_on_rerun(media_server: MediaServer, tmp_path: Path) -> None:
    clip = _clip(media_server.root / "sessie.wav", seconds=20)
    size = clip.stat().st_size
    url = f"{media_server.url}/sessie.wav"
    media_server.cut_whole.add("sessie.wav")

    with pytest.raises(DownloadError) as dropped:
        download(url, tmp_path / "cache", retries=0)  # no retry of its own: the run fails, then reruns
    assert dropped.value.transient and str(dropped.value).startswith(f"{url}: download failed")
    part = next(download_folder(url, tmp_path / "cache").glob("*.part")).stat().st_size
    assert 0 < part <= size // 2

    fetched = download(url, tmp_path / "cache", retries=0)

    assert fetched.sha256 == sha256_file(clip)
    assert media_server.ranges[-1] == ("sessie.wav", f"bytes={part}-")
    assert media_server.range_bytes_sent["sessie.wav"] == size - part  # continued from the part, not from 0


def test_a_sidecar_names_a_recording_by_url(media_server: MediaServer, tmp_path: Path) -> None:
    _clip(media_server.root / "keynote.wav")
    media = tmp_path / "media"
    _clip(media / "lokaal.wav")
    (media / "keynote.yaml").write_text(
        f"title: De stad als coöperatie\nsource_url: {media_server.url}/keynote.wav\nglossary: [coöperatie]\n"
    )
    (media / "sessions.yaml").write_text(f"paneel.mp4:\n  source_url: {media_server.url}/bestaat-niet.mp4\n")

    found = find_recordings([media])

    assert found == [media / "keynote", media / "lokaal.wav", media / "paneel.mp4"]
    recording = ingest_source(str(media / "keynote"), tmp_path / "cache")
    assert recording.source == f"{media_server.url}/keynote.wav"
    assert (recording.title, recording.slug) == ("De stad als coöperatie", "de-stad-als-cooperatie")
    assert recording.metadata.glossary == ("coöperatie",)
    assert find_recordings([media / "keynote.yaml"]) == [media / "keynote"]
    with pytest.raises(DownloadError, match=r"bestaat-niet\.mp4: cannot be downloaded: .*404"):
        ingest_source(str(media / "paneel.mp4"), tmp_path / "cache")

    (media / "keynote.yaml").write_text("source_url: ftp://example.org/keynote.wav\n")
    with pytest.raises(IngestError, match=r"keynote\.yaml: invalid metadata: source_url: .*http:// or https://"):
        ingest_source(str(media / "keynote"), tmp_path / "cache")


@pytest.mark.slow
def test_livecast_run_takes_folders_and_urls_and_a_failed_download_stays_alone(
    media_server: MediaServer, tmp_path: Path
) -> None:
    _hls_rendition(media_server.root / "zaal1")
    media = tmp_path / "media"
    media.mkdir()
    (media / "opening.yaml").write_text(f"title: Opening\nsource_url: {media_server.url}/zaal1/index.m3u8\n")
    missing = f"{media_server.url}/zaal2/index.m3u8"
    out = tmp_path / "out"
    done = livecast(
        "run",
        str(media),
        missing,
        "--output",
        str(out),
        "--json",
        "--no-diarize",
        "--output-format",
        "vtt",
        cwd=tmp_path,
    )

    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {missing}: cannot be downloaded: the server answered HTTP 404 File not found"]
    records = {r["source"]: r for r in json.loads(done.stdout)}
    assert records[str(media / "opening")]["status"] == "done" and records[missing]["status"] == "failed"
    manifest = json.loads((out / "site" / "opening" / "session.json").read_text())
    assert manifest["recording"]["source"] == f"{media_server.url}/zaal1/index.m3u8"
    assert manifest["recording"]["file"] == "opening"
    for published in (out / "site").rglob("*"):
        if published.suffix in (".json", ".html", ".xml", ".vtt", ".txt"):
            assert str(tmp_path) not in published.read_text(), published  # no local path, the cache's neither


def test_the_ingest_task_retries_a_dropped_download_but_not_a_404(media_server: MediaServer, tmp_path: Path) -> None:
    from prefect.states import Failed

    from livecastpipe.flows.pipeline import _not_bad_input

    url = f"{media_server.url}/bestaat-niet.wav"
    with pytest.raises(DownloadError) as missing:
        download(url, tmp_path / "cache")
    refused = f"http://127.0.0.1:{_free_port()}/sessie.wav"
    with pytest.raises(DownloadError) as unreachable:
        download(refused, tmp_path / "cache", retries=0)
    assert str(unreachable.value).startswith(f"{refused}: download failed: ") and "Connection refused" in str(
        unreachable.value
    )
    assert not _not_bad_input(None, None, Failed(data=missing.value))
    assert _not_bad_input(None, None, Failed(data=unreachable.value))
    import distributed.utils  # noqa: F401  # as on every Dask worker: errors pickled with their causes (tblib)

    assert pickle.loads(pickle.dumps(unreachable.value)).transient  # as a Dask worker sends it back
    assert pickle.loads(pickle.dumps(missing.value)).transient is False


def _free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
