"""The public site apart from the private workspace: what goes where, moving an old output folder, and
what `livecast serve` will and will not hand out (traversal, links, listings, headers)."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.package import outputs
from livecastpipe.package.server import preview_server

from .publish_fixtures import APPROVED_SUMMARY

SAMPLE_SLUG = "cooperatieven-maken-de-stad-voorbeeldsessie"
PROBES_OUTSIDE = (
    "/../private/voices.json",
    "/%2e%2e/private/voices.json",
    "/%2E%2E%2Fprivate%2Fvoices.json",
    "/sessie/..%2f..%2fprivate/voices.json",
    "/..%5cprivate%5cvoices.json",
    "//etc/passwd",
    "/passwd-link",
    "/private-link/voices.json",
    "/.sessie.publish-abc123/index.html",
    "/sessie/%00index.html",
)
"""Requests that must all be 404: traversal (plain, encoded, double-encoded slashes), links out of the
site, a staging folder, a NUL byte."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A small output folder (site, private workspace, hostile links) served by `livecast serve`'s server."""
    output = tmp_path / "output"
    site = workspace.site_dir(output)
    (site / "sessie" / "assets").mkdir(parents=True)
    (site / "index.html").write_text("<h1>catalogus</h1>")
    (site / "sessie" / "index.html").write_text("<h1>sessie</h1>")
    (site / "sessie" / "captions.nl.vtt").write_text("WEBVTT\n")
    (site / "sessie" / "subtitles.nl.srt").write_text("1\n")
    (site / "sessie" / "chapters.json").write_text("{}")
    (site / "sessie" / "audio.m4a").write_bytes(bytes(range(256)) * 4)
    (site / "sessie" / "assets" / "player.css").write_text("body{}")
    private = workspace.private_dir(output)
    private.mkdir()
    (private / "voices.json").write_text('{"secret": "stemmen"}')
    (site / "passwd-link").symlink_to("/etc/passwd")
    (site / "private-link").symlink_to(private, target_is_directory=True)
    (site / ".sessie.publish-abc123").mkdir()
    (site / ".sessie.publish-abc123" / "index.html").write_text("half")
    server = preview_server(output, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield output, server.server_address[1]
    server.shutdown()
    server.server_close()


def fetch(
    port: int, path: str, headers: dict[str, str] | None = None, host: str | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One raw GET: the path goes out exactly as given (no client-side normalisation of `..`), with the
    Host header `host` (default: 127.0.0.1 and the port)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_paths_follow_the_registry_visibility(tmp_path: Path) -> None:
    output = tmp_path / "output"
    for entry in outputs.OUTPUTS:
        if entry.scope == "session":
            folder = workspace.session_dir_for(output, "s", entry)
        elif entry.scope == "site":
            folder = workspace.site_file(output, entry).parent
        else:
            continue
        inside_site = folder.is_relative_to(workspace.site_dir(output))
        assert inside_site == (entry.visibility == "public"), entry.key
    assert workspace.default_cache_dir(output).is_relative_to(workspace.private_dir(output))


def test_server_never_leaves_the_site_lists_folders_or_follows_links_out(served: tuple[Path, int]) -> None:
    output, port = served
    assert fetch(port, "/")[0] == 200 and fetch(port, "/sessie/")[0] == 200
    assert fetch(port, "/sessie")[0] == 301  # to the folder's page
    for listing in ("/sessie/assets/", "/sessie/assets"):
        status, _, body = fetch(port, listing)
        assert status in (301, 404) and b"player.css" not in body, listing
    for probe in PROBES_OUTSIDE:
        status, _, body = fetch(port, probe)
        assert status in (400, 404), (probe, status)
        assert b"stemmen" not in body and b"root:" not in body and b"half" not in body, probe


def test_server_answers_only_to_the_names_of_this_machine(served: tuple[Path, int]) -> None:
    """A page of another site whose name now points at 127.0.0.1 (DNS rebinding) sends its own name."""
    _, port = served
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert fetch(port, "/sessie/index.html", host=host)[0] == 200, host
    for host in (f"rebind.example:{port}", f"127.0.0.1.nip.io:{port}", "127.0.0.1:1", ""):
        status, _, body = fetch(port, "/sessie/index.html", host=host)
        assert status == 421 and b"<h1>sessie</h1>" not in body, host


def test_a_loop_of_links_in_the_site_is_not_found(served: tuple[Path, int], capfd: pytest.CaptureFixture[str]) -> None:
    output, port = served
    site = workspace.site_dir(output)
    (site / "lus").symlink_to("lus")
    (site / "sessie" / "heen").symlink_to("terug")
    (site / "sessie" / "terug").symlink_to("heen")
    for path in ("/lus", "/lus/", "/lus/index.html", "/sessie/heen", "/sessie/terug/captions.nl.vtt"):
        assert fetch(port, path)[0] == 404, path
    assert fetch(port, "/sessie/index.html")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_a_viewer_leaving_while_a_file_streams_is_no_traceback(
    served: tuple[Path, int], capfd: pytest.CaptureFixture[str]
) -> None:
    """A viewer who closes the tab or seeks resets the connection while the server still sends the video."""
    output, port = served
    (workspace.site_dir(output) / "sessie" / "video.mp4").write_bytes(os.urandom(16 << 20))
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as viewer:
            viewer.sendall(f"GET /sessie/video.mp4 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            assert viewer.recv(4096).startswith(b"HTTP/1.0 200")
            viewer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not close
    assert fetch(port, "/sessie/index.html")[0] == 200
    time.sleep(0.5)
    assert "Traceback" not in capfd.readouterr().err


def test_server_sends_security_headers_and_registry_media_types(served: tuple[Path, int]) -> None:
    _, port = served
    status, headers, _ = fetch(port, "/sessie/index.html")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert fetch(port, "/nergens")[1]["X-Content-Type-Options"] == "nosniff"  # on errors too
    for path, media_type in (
        ("/sessie/captions.nl.vtt", outputs.CAPTIONS_VTT.media_type),
        ("/sessie/subtitles.nl.srt", outputs.SUBTITLES_SRT.media_type),
        ("/sessie/chapters.json", outputs.CHAPTERS_JSON.media_type),
        ("/sessie/audio.m4a", outputs.AUDIO_COPY.media_type),
    ):
        assert fetch(port, path)[1]["Content-Type"].split(";")[0] == media_type, path
    status, headers, body = fetch(port, "/sessie/audio.m4a", {"Range": "bytes=10-19"})
    assert status == 206 and body == bytes(range(10, 20)) and headers["Content-Range"] == "bytes 10-19/1024"


def test_an_old_layout_folder_is_moved_keeping_editors_work(tmp_path: Path) -> None:
    """A folder of the flat layout: sessions, cache, voices and catalogue side by side, plus debris."""
    output = tmp_path / "output"
    old = output / "sessie"
    (old / "assets").mkdir(parents=True)
    files = {
        "index.html": "pagina",
        "session.json": "{}",
        "captions.nl.vtt": "WEBVTT\n",
        "assets/player.js": "js",
        "review.json": '{"editor": "besluit"}',
        "speakers.yaml": "# door de redactie\n",
        "package.json": "{}",
        "subtitle-report.json": "{}",
        "aantekeningen.txt": "onbekend bestand",
    }
    for name, text in files.items():
        (old / name).write_text(text)
    (output / ".cache" / "abc").mkdir(parents=True)
    (output / ".cache" / "abc" / "audio-16k.wav").write_bytes(b"RIFF")
    (output / "voices.json").write_text('{"voices": []}')
    (output / "index.html").write_text("catalogus")
    (output / "feed.xml").write_text("<rss/>")
    (output / "pagefind").mkdir()
    (output / "pagefind" / "pagefind.js").write_text("zoek")
    (output / ".sessie.publish-x1y2").mkdir()
    (output / ".pagefind-z3").mkdir()

    workspace.migrate_workspace(output)

    site, private = workspace.session_site_dir(output, "sessie"), workspace.session_private_dir(output, "sessie")
    for name in ("index.html", "session.json", "captions.nl.vtt", "assets/player.js"):
        assert (site / name).read_text() == files[name], name
    for name in ("review.json", "speakers.yaml", "package.json", "subtitle-report.json", "aantekeningen.txt"):
        assert (private / name).read_text() == files[name], name  # unknown files stay private
    assert (workspace.default_cache_dir(output) / "abc" / "audio-16k.wav").read_bytes() == b"RIFF"
    assert workspace.site_file(output, outputs.VOICE_LIBRARY).read_text() == '{"voices": []}'
    site_root = workspace.site_dir(output)
    assert (site_root / "index.html").is_file() and (site_root / "pagefind" / "pagefind.js").is_file()
    assert sorted(p.name for p in output.iterdir()) == ["private", "site"]  # old folders and debris gone
    assert not list(site_root.rglob("*.json")) or all(p.name in ("session.json",) for p in site_root.rglob("*.json")), (
        "a private file reached the site"
    )
    assert workspace.migrate_workspace(output) == []  # a second run finds nothing to move


def test_migration_never_overwrites_the_new_layout(tmp_path: Path) -> None:
    output = tmp_path / "output"
    private = workspace.session_private_dir(output, "sessie")
    private.mkdir(parents=True)
    (private / "review.json").write_text("nieuw")
    (output / "sessie").mkdir()
    (output / "sessie" / "review.json").write_text("oud")
    workspace.migrate_workspace(output)
    assert (private / "review.json").read_text() == "nieuw"
    assert (output / "sessie" / "review.json").read_text() == "oud"  # kept, not lost


@pytest.mark.slow
def test_published_site_exposes_only_public_files(published_site: Path, tmp_path: Path) -> None:
    """Every file of a real output folder probed over HTTP: only the site's files are served. Before the
    split, the server served the whole output folder: every file in it."""
    output = tmp_path / "output"
    shutil.copytree(published_site, output, symlinks=True)
    site = workspace.site_dir(output)
    every_file = [p for p in output.rglob("*") if p.is_file()]
    server = preview_server(output, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        served = []
        for path in every_file:
            relative = os.path.relpath(path, site)  # `../private/…` for the workspace
            if fetch(port, "/" + relative.replace(os.sep, "/"))[0] == 200:
                served.append(path)
    finally:
        server.shutdown()
        server.server_close()
    public = [p for p in every_file if p.is_relative_to(site)]
    print(f"files exposed: before {len(every_file)} (whole output folder), after {len(served)} of {len(public)}")
    assert sorted(served) == sorted(public)
    private_names = {o.name() for o in outputs.OUTPUTS if o.visibility == "private" and o.scope != "cache"}
    assert not [p for p in public if p.name in private_names]
    assert len(every_file) > len(public)


@pytest.mark.slow
def test_an_old_layout_output_folder_publishes_with_its_editors_decisions(published_site: Path, tmp_path: Path) -> None:
    """A real output folder put back into the flat layout: `livecast publish` moves it and the page keeps
    the editor's approved summary."""
    output = tmp_path / "output"
    shutil.copytree(published_site, output, symlinks=True)
    for layer in (workspace.site_dir(output), workspace.private_dir(output) / workspace.SESSIONS):
        for item in list(layer.iterdir()):
            if item.name.endswith(".lock"):  # the editors' locks came after the flat layout
                continue
            if item.is_dir() and (output / item.name).exists():
                for path in item.rglob("*"):
                    if path.is_file():
                        (output / item.name / path.relative_to(item)).parent.mkdir(parents=True, exist_ok=True)
                        os.replace(path, output / item.name / path.relative_to(item))
            else:
                os.replace(item, output / item.name)
    shutil.rmtree(workspace.site_dir(output))
    shutil.rmtree(workspace.private_dir(output))
    assert (output / SAMPLE_SLUG / "review.json").is_file()  # the old layout

    result = CliRunner().invoke(app, ["publish", "--output", str(output)])

    assert result.exit_code == 0, result.output
    page = (workspace.session_site_dir(output, SAMPLE_SLUG) / "index.html").read_text()
    assert APPROVED_SUMMARY.split(".")[0] in page
    assert (workspace.session_private_dir(output, SAMPLE_SLUG) / "review.json").is_file()
    assert not (workspace.session_site_dir(output, SAMPLE_SLUG) / "review.json").exists()
    assert sorted(p.name for p in output.iterdir()) == ["private", "site"]
