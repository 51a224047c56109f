"""The conference catalogue (`output/site/index.html`), its Pagefind search index and the podcast feed.

Built from the manifests of the published session packages, so it can be rebuilt at any time
without the models; every file is replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from . import outputs, workspace
from .package_format import PublishError
from .processes import dies_with_parent
from .publish import absolute, published_sessions, swap_in, template_environment, write_static_assets
from .settings import PublishSettings
from .storage import atomic_write_text
from .timefmt import rfc822_date

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
            manifest = json.loads((folder / outputs.MANIFEST.name()).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PublishError(folder / outputs.MANIFEST.name(), f"cannot read manifest: {exc}") from exc
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


def render_catalogue(entries: Sequence[dict[str, Any]], settings: PublishSettings) -> str:
    """The catalogue page: search, then the sessions grouped by programme."""
    return (
        template_environment()
        .get_template("catalogue.html.j2")
        .render(
            groups=group_by_programme(entries),
            count=len(entries),
            site=outputs.site_file_names(),
            excerpt=excerpt,
            site_title=settings.site_title,
            site_description=settings.site_description,
        )
    )


def render_feed(entries: Sequence[dict[str, Any]], settings: PublishSettings) -> str:
    """Podcast RSS 2.0 with enclosures and Podcasting 2.0 transcript and chapters tags, newest first."""
    items = sorted(entries, key=_by_date, reverse=True)
    return (
        template_environment()
        .get_template("feed.xml.j2")
        .render(
            items=items,
            url=partial(absolute, settings.base_url),
            rfc822=rfc822_date,
            excerpt=excerpt,
            site_title=settings.site_title,
            site_description=settings.site_description,
            site_url=absolute(settings.base_url, outputs.CATALOGUE_PAGE.name()),
            session_file=outputs.session_file,
            built=email.utils.format_datetime(dt.datetime.now(dt.timezone.utc)),
        )
    )


def build_search_index(output_dir: Path) -> Path:
    """Index every session page with Pagefind into `output/site/pagefind/`, swapped in atomically."""
    site = workspace.site_dir(output_dir)
    workspace.staging_dir(output_dir).mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".pagefind-", dir=workspace.staging_dir(output_dir)))
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pagefind",
                "--site",
                str(site.resolve()),
                "--glob",
                f"[!.]*/{outputs.SESSION_PAGE.name()}",
                "--output-path",
                str(staged.resolve()),
            ],
            capture_output=True,
            text=True,
            preexec_fn=dies_with_parent(),
        )
        if result.returncode != 0:
            lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
            raise PublishError(output_dir, f"pagefind failed: {lines[-1] if lines else result.returncode}")
        staged.chmod(0o755)
        swap_in(staged, site / outputs.SEARCH_INDEX.name())
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return site / outputs.SEARCH_INDEX.name()


def publish_catalogue(output_dir: Path, settings: PublishSettings) -> Path:
    """Rebuild the catalogue page, its search index and the podcast feed from the published packages."""
    site = workspace.site_dir(output_dir)
    site.mkdir(parents=True, exist_ok=True)
    entries = catalogue_entries(output_dir)
    write_static_assets(site, (outputs.CATALOGUE_CSS, outputs.CATALOGUE_JS))
    if entries:
        build_search_index(output_dir)
    atomic_write_text(workspace.site_file(output_dir, outputs.FEED), render_feed(entries, settings))
    atomic_write_text(workspace.site_file(output_dir, outputs.CATALOGUE_PAGE), render_catalogue(entries, settings))
    return workspace.site_file(output_dir, outputs.CATALOGUE_PAGE)
