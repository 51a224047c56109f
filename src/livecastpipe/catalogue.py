"""The conference catalogue (`output/index.html`), its Pagefind search index, the podcast feed, and a
local preview server.

Built from the manifests of the published session packages, so it can be rebuilt at any time
without the models; every file is replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from .publish import (
    MANIFEST,
    PublishError,
    absolute,
    published_sessions,
    swap_in,
    template_environment,
)
from .settings import PublishSettings
from .storage import atomic_write_bytes, atomic_write_text

CATALOGUE_ASSETS = ("player.css", "catalogue.js")
PAGEFIND_DIR = "pagefind"
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
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PublishError(folder / MANIFEST, f"cannot read manifest: {exc}") from exc
        if isinstance(manifest.get("catalogue"), dict):
            entries.append(manifest["catalogue"] | {"sha256": manifest["recording"]["sha256"]})
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


def _rfc822(iso_date: str | None) -> str:
    day = dt.date.fromisoformat(iso_date) if iso_date else dt.date.today()
    moment = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc)
    return email.utils.format_datetime(moment)


def render_catalogue(entries: Sequence[dict[str, Any]], settings: PublishSettings) -> str:
    """The catalogue page: search, then the sessions grouped by programme."""
    return template_environment().get_template("catalogue.html.j2").render(
        groups=group_by_programme(entries),
        count=len(entries),
        excerpt=excerpt,
        site_title=settings.site_title,
        site_description=settings.site_description,
    )


def render_feed(entries: Sequence[dict[str, Any]], settings: PublishSettings) -> str:
    """Podcast RSS 2.0 with enclosures and Podcasting 2.0 transcript and chapters tags, newest first."""
    items = sorted(entries, key=_by_date, reverse=True)
    return template_environment().get_template("feed.xml.j2").render(
        items=items,
        url=partial(absolute, settings.base_url),
        rfc822=_rfc822,
        excerpt=excerpt,
        site_title=settings.site_title,
        site_description=settings.site_description,
        site_url=absolute(settings.base_url, "index.html"),
        built=email.utils.format_datetime(dt.datetime.now(dt.timezone.utc)),
    )


def build_search_index(output_dir: Path) -> Path:
    """Index every session page with Pagefind into `output/pagefind/`, swapped in atomically."""
    staged = Path(tempfile.mkdtemp(prefix=".pagefind-", dir=output_dir))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pagefind", "--site", str(output_dir.resolve()),
             "--glob", "[!.]*/index.html", "--output-path", str(staged.resolve())],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
            raise PublishError(output_dir, f"pagefind failed: {lines[-1] if lines else result.returncode}")
        staged.chmod(0o755)
        swap_in(staged, output_dir / PAGEFIND_DIR)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return output_dir / PAGEFIND_DIR


def publish_catalogue(output_dir: Path, settings: PublishSettings) -> Path:
    """Rebuild the catalogue page, its search index and the podcast feed from the published packages."""
    output_dir.mkdir(parents=True, exist_ok=True)
    entries = catalogue_entries(output_dir)
    static = resources.files("livecastpipe") / "static"
    for name in CATALOGUE_ASSETS:
        atomic_write_bytes(output_dir / "assets" / name, (static / name).read_bytes())
    if entries:
        build_search_index(output_dir)
    atomic_write_text(output_dir / "feed.xml", render_feed(entries, settings))
    atomic_write_text(output_dir / "index.html", render_catalogue(entries, settings))
    return output_dir / "index.html"


# --- local preview --------------------------------------------------------------------------------

class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HTTP Range support, which browsers need to seek in audio and video."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".vtt": "text/vtt",
        ".srt": "application/x-subrip",
        ".m4a": "audio/mp4",
    }

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if os.environ.get("LIVECAST_SERVE_LOG"):
            super().log_message(format, *args)

    def send_head(self) -> Any:
        range_header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not range_header or not path.is_file() or not range_header.startswith("bytes="):
            return super().send_head()
        size = path.stat().st_size
        first, _, last = range_header[len("bytes="):].split(",")[0].partition("-")
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
        self._remaining = end - start + 1
        return handle

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
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


def preview_server(output_dir: Path, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server for the output folder on localhost (port 0 picks a free one); call serve_forever()."""
    handler = partial(RangeRequestHandler, directory=str(output_dir))
    return http.server.ThreadingHTTPServer((host, port), handler)
