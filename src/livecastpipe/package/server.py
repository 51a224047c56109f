"""A local preview server for the public site of an output folder: HTTP Range requests (browsers need them
to seek in media), no folder listings, nothing outside the site, security headers."""

from __future__ import annotations

import http.server
import io
import ipaddress
import os
import posixpath
import socket
import sys
import urllib.parse
from functools import partial
from pathlib import Path
from typing import Any

from livecastpipe import workspace
from livecastpipe.package import outputs
from livecastpipe.package.store import read_manifest
from livecastpipe.settings import PublishSettings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors {frame_ancestors}"
)
"""The pages' own policy (their meta tag), plus who may embed them, which only a header can say."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")


def host_allowed(header: str | None, served_host: str, port: int | None) -> bool:
    """Whether a request's Host header names this server: 127.0.0.1, localhost, [::1] or the address it
    listens on, with its port (`port` None: any). Listening on every address (0.0.0.0), also any IP
    address and this machine's name. A page of another site whose name was pointed at this machine (DNS
    rebinding) sends its own name, which is refused."""
    if not header:
        return False
    try:
        parts = urllib.parse.urlsplit("//" + header)
        hostname, given_port = parts.hostname, parts.port
    except ValueError:
        return False
    if hostname is None or (port is not None and (given_port or 80) != port):
        return False
    served = served_host.strip("[]").lower()
    if hostname in LOCAL_NAMES or hostname == served:
        return True
    if served not in WILDCARD_ADDRESSES:
        return False
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return hostname == socket.gethostname().lower()
    return True


def registry_media_types() -> dict[str, str]:
    """File extension → media type, from the output registry (the types publishing writes)."""
    types: dict[str, str] = {}
    for entry in outputs.OUTPUTS:
        suffix = Path(entry.pattern).suffix
        if entry.visibility == "public" and suffix and entry.media_type != "application/octet-stream":
            # `application/json+chapters` names the format; it is served as the JSON it is
            types.setdefault(suffix, entry.media_type.removesuffix("+chapters"))
    return types


class SiteRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the site with HTTP Range support; 404 for folders without a page, hidden names and
    anything (a symbolic link included) that leads outside the site."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".pf_meta": "application/octet-stream",
        **registry_media_types(),
    }
    frame_ancestors = "'self'"
    preview_settings: PublishSettings | None = None
    """Settings without a public address: the files that need one are rendered for this server's."""

    def _preview_body(self) -> bytes | None:
        """The feed, oEmbed, sitemap or robots.txt asked for, rendered with this server's address as the
        site's `base_url`; None for any other file (served as published)."""
        assert self.preview_settings is not None
        base_url = f"http://{self.headers.get('Host')}/"
        rendered = rendered_with_address(Path(self.directory), self.site_path(), self.preview_settings, base_url)
        return rendered.encode("utf-8") if rendered is not None else None

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        """The media type the output registry gives the file (`chapters.json`: application/json+chapters),
        else the one its extension suggests."""
        try:
            relative = Path(path).resolve().relative_to(Path(self.directory).resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):
            return super().guess_type(path)
        return outputs.media_type(relative) or super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if os.environ.get("LIVECAST_SERVE_LOG"):
            super().log_message(format, *args)

    def translate_path(self, path: str) -> str:
        """The file a URL path names, or "" when it leaves the site (dot names, links out of it) or runs
        into a loop of links."""
        parts = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0], errors="strict").split("/")
        if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts if p):
            return ""
        root = Path(self.directory).resolve()
        try:
            target = (root / posixpath.normpath("/" + "/".join(parts)).lstrip("/")).resolve()
        except (OSError, RuntimeError):  # a loop of symbolic links (RuntimeError before Python 3.13)
            return ""
        if target != root and not target.is_relative_to(root):
            return ""
        return str(target) + ("/" if path.split("?", 1)[0].endswith("/") else "")

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """Folders are never listed."""
        self.send_error(404, "File not found")
        return None

    def site_path(self) -> str:
        """The requested path inside the site, percent-decoded, without query or fragment (`slug/chapters.json`)."""
        return urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0]).lstrip("/")

    def send_head(self) -> Any:
        address = self.server.server_address
        assert isinstance(address, tuple)  # an IP socket's (host, port, …)
        if not host_allowed(self.headers.get("Host"), str(address[0]), int(address[1])):
            self.send_error(421, "Misdirected Request", "This server answers to the address livecast serve printed.")
            return None
        try:
            translated = self.translate_path(self.path)
        except UnicodeDecodeError:
            translated = ""
        if not translated:
            self.send_error(404, "File not found")
            return None
        if self.preview_settings is not None and (body := self._preview_body()) is not None:
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(translated))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        range_header = self.headers.get("Range")
        path = Path(translated)
        if not range_header or not path.is_file() or not range_header.startswith("bytes="):
            return super().send_head()
        size = path.stat().st_size
        first, _, last = range_header[len("bytes=") :].split(",")[0].partition("-")
        try:
            if first:
                start, end = int(first), int(last) if last else size - 1
            else:
                start, end = max(0, size - int(last)), size - 1
        except ValueError:
            return super().send_head()
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        end = min(end, size - 1)
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining: int | None = end - start + 1
        return handle

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        embedded = self.path.split("?", 1)[0].split("#", 1)[0].endswith("/" + outputs.EMBED_PAGE.name())
        frame_ancestors = "*" if embedded else self.frame_ancestors  # other websites may frame the player
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(frame_ancestors=frame_ancestors))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if outputs.cross_origin(self.site_path()):  # transcripts, chapters, oEmbed: other sites' scripts read them
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def copyfile(self, source: Any, outputfile: Any) -> None:
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        while remaining > 0:
            chunk = source.read(min(1 << 16, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)
        self._remaining = None


class SiteServer(http.server.ThreadingHTTPServer):
    """The preview server: a viewer who leaves or seeks while a file streams resets the connection, which
    is no error to report; any other failure of a request is one line, not a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        print(f"livecast serve: a request from {client_address[0]} failed: {error!r}", file=sys.stderr)


def rendered_with_address(site: Path, path: str, settings: PublishSettings, base_url: str) -> str | None:
    """The site file at `path` that needs a public address (a feed, a session's `oembed.json`, `sitemap.xml`,
    `robots.txt`) rendered under `base_url` from the published manifests; None for any other path."""
    from livecastpipe.package.catalogue import catalogue_entries, render_feed, site_feeds
    from livecastpipe.package.discovery import render_robots, render_sitemap
    from livecastpipe.package.render import oembed_json
    from livecastpipe.stages.media import image_size

    settings = settings.model_copy(update={"base_url": base_url})
    slug, _, name = path.partition("/")
    if name == outputs.OEMBED.name() and (site / path).is_file():
        entry = read_manifest(site / slug).catalogue
        if not entry:  # a package from before manifests had a catalogue entry: served as published
            return None
        poster = site / slug / entry["poster"]
        return oembed_json(entry["slug"], entry["title"], entry["poster"], image_size(poster), settings)
    if path == outputs.ROBOTS.name():
        return render_robots(base_url)
    entries = catalogue_entries(site.parent)
    if path == outputs.SITEMAP.name():
        return render_sitemap(entries, base_url)
    feed = next((f for f in site_feeds(entries, settings) if f.path == path), None)
    return render_feed(feed, settings) if feed is not None else None


def preview_server(
    output_dir: Path,
    port: int = 8000,
    host: str = "127.0.0.1",
    frame_ancestors: str = "'self'",
    preview_settings: PublishSettings | None = None,
) -> SiteServer:
    """An HTTP server for the public site of an output folder (port 0 picks a free one); call serve_forever().

    `frame_ancestors` is the CSP source list of the sites that may embed the pages (`'self'`, `'none'`,
    or origins). With `preview_settings` (a site published without `base_url`), the feeds, oEmbed, sitemap
    and robots.txt are rendered with this server's address as the public one, so that a podcast app or an
    embed can be tried against the preview.
    """
    handler_class = type(
        "SiteHandler",
        (SiteRequestHandler,),
        {"frame_ancestors": frame_ancestors, "preview_settings": preview_settings},
    )
    handler = partial(handler_class, directory=str(workspace.site_dir(output_dir)))
    return SiteServer((host, port), handler)
