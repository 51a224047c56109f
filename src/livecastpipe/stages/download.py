"""Recordings from where they are: a media URL or an HLS playlist (`.m3u8`), named on the command line or by
a sidecar's `source_url:`, downloaded with yt-dlp into the cache, then ingested like a file.

Downloads are resumable (a `.part` file continues where it stopped) and checksummed (`download.json`
records the file's SHA-256, so a rerun reuses the download it verifies instead of fetching it again).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livecastpipe.models import Recording, SessionMetadata, is_url
from livecastpipe.package import outputs
from livecastpipe.stages.ingest import IngestError, ffmpeg_binary, ingest, ingest_file, listed_url, read_metadata
from livecastpipe.storage import atomic_write_text, sha256_file

DOWNLOADS_FOLDER = "downloads"
DOWNLOAD_RETRIES = 3
"""How often yt-dlp itself retries a dropped connection or a fragment (resuming the `.part`) before the
download fails as transient, for the ingest task to retry after its delay."""
SOCKET_TIMEOUT_S = 30.0
GAVE_UP_RETRYING = "[download] Got error:"

if TYPE_CHECKING:
    import yt_dlp
"""How yt-dlp's downloaders report a dropped connection or fragment they stopped retrying."""
RETRIED_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Server answers that may pass; any other 4xx or 5xx fails the same way every time."""


class DownloadError(IngestError):
    """A recording that could not be downloaded: one line naming the URL and the problem. `transient` when
    the network failed or the server was busy (a retry may succeed), not when it refused (404, not media)."""

    def __init__(self, url: str, problem: str, transient: bool) -> None:
        super().__init__(url, problem)
        self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its URL and flag (Prefect keeps a failed task's exception)."""
        return (type(self), (self.path, self.problem, self.transient))


@dataclass(frozen=True)
class Download:
    """A recording downloaded into the cache: where, and its content's SHA-256."""

    url: str
    path: Path
    sha256: str


def download_folder(url: str, cache_dir: Path) -> Path:
    """The cache folder of one URL's download (by the URL's hash: its `.part` files are found again)."""
    return cache_dir / DOWNLOADS_FOLDER / hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it wraps (yt-dlp keeps them in `exc_info` and `cause`)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        cause = getattr(current, "cause", None)
        pending += [exc_info[1] if isinstance(exc_info, tuple) else None, current.__cause__, current.__context__]
        pending.append(cause if isinstance(cause, BaseException) else None)


def _classified(url: str, exc: yt_dlp.utils.DownloadError) -> DownloadError:
    """yt-dlp's error as one line naming the URL: an HTTP status that may pass and a dropped connection
    are transient; any other refusal is not. Its downloaders report what they gave up retrying as
    `Got error: …` without the exception, so the message is read too."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import ContentTooShortError

    causes = list(_causes(exc))
    text = " ".join(str(exc).replace("ERROR: ", "").replace("[generic] ", "").split())
    http = next((c for c in causes if isinstance(c, HTTPError)), None)
    status = http.status if http is not None else None
    if status is None and (found := re.search(r"HTTP Error (\d{3})", text)):
        status = int(found[1])
    if status is not None:
        reason = f" {http.reason}" if http is not None and http.reason else ""
        problem = f"cannot be downloaded: the server answered HTTP {status}{reason}"
        return DownloadError(url, problem, transient=status in RETRIED_HTTP_STATUSES)
    network = next((c for c in causes if isinstance(c, TransportError | ContentTooShortError | OSError)), None)
    if network is not None or GAVE_UP_RETRYING in text:
        detail = " ".join(str(network).split()) if network is not None else text.split(GAVE_UP_RETRYING, 1)[1].strip()
        return DownloadError(url, f"download failed: {detail}", transient=True)
    return DownloadError(url, f"cannot be downloaded: {text}", transient=False)


class _QuietLogger:
    """yt-dlp's messages kept out of the run's output: its errors come back as the exception."""

    def debug(self, message: str) -> None:
        """Progress and debug lines: dropped."""

    def warning(self, message: str) -> None:
        """Warnings: dropped (a failed download raises)."""

    def error(self, message: str) -> None:
        """Errors: dropped here, raised as `yt_dlp.utils.DownloadError`."""


def _options(folder: Path, retries: int) -> dict[str, Any]:
    """yt-dlp's settings: into `folder`, resuming `.part` files, with the project's pinned ffmpeg for HLS."""
    return {
        "paths": {"home": str(folder), "temp": str(folder)},
        "outtmpl": {"default": "recording.%(ext)s"},
        "continuedl": True,
        "nopart": False,
        "overwrites": False,
        "noplaylist": True,
        "extract_flat": "in_playlist",
        "match_filter": _not_live,
        "cachedir": False,
        "retries": retries,
        "fragment_retries": retries,
        "file_access_retries": 0,
        "retry_sleep_functions": {"http": lambda n: 0.5, "fragment": lambda n: 0.5},
        "socket_timeout": SOCKET_TIMEOUT_S,
        "ffmpeg_location": ffmpeg_binary(),
        "logger": _QuietLogger(),
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
    }


def _recorded(folder: Path, url: str) -> Download | None:
    """The completed download of `url` in `folder`, when its file still has the SHA-256 recorded."""
    try:
        record = json.loads((folder / outputs.DOWNLOAD_RECORD.name()).read_text(encoding="utf-8"))
        path = folder / Path(record["file"]).name
        if record["url"] == url and path.is_file() and sha256_file(path) == record["sha256"]:
            return Download(url, path, record["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def download(url: str, cache_dir: Path, retries: int = DOWNLOAD_RETRIES) -> Download:
    """Download a media URL or HLS playlist into the cache, or reuse its verified earlier download; a
    partial download continues. Raises DownloadError naming the URL and the problem."""
    folder = download_folder(url, cache_dir)
    if (done := _recorded(folder, url)) is not None:
        return done
    if (folder / outputs.DOWNLOAD_RECORD.name()).exists():  # a download changed since it was checked: fetched anew
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    import yt_dlp  # here, not at the top: 0.7 s that every `livecast run` of local files would pay at start

    failure: DownloadError | None = None
    try:
        with yt_dlp.YoutubeDL(_options(folder, retries)) as downloader:
            info = downloader.extract_info(url, download=True)
    except yt_dlp.utils.DownloadError as exc:
        failure = _classified(url, exc)
    # Raised outside the handler, so without yt-dlp's error as its context: a Dask worker sends a task's
    # error back pickled with its causes (tblib), and yt-dlp's hold objects that cannot be pickled.
    if failure is not None:
        if failure.transient and any(folder.iterdir()):  # the part downloaded stays, for a rerun to continue
            raise DownloadError(url, f"{failure.problem} (a rerun continues the part downloaded)", True)
        shutil.rmtree(folder, ignore_errors=True)
        raise failure
    try:
        path = _downloaded_file(url, info or {})
    except DownloadError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    sha256 = sha256_file(path)
    record = {"url": url, "file": path.name, "sha256": sha256, "size_bytes": path.stat().st_size}
    atomic_write_text(folder / outputs.DOWNLOAD_RECORD.name(), json.dumps(record, indent=2) + "\n")
    return Download(url, path, sha256)


def _downloaded_file(url: str, info: Mapping[str, Any]) -> Path:
    """The one media file yt-dlp wrote for `url`; a playlist (its entries are not fetched) or a live stream
    (refused by `_not_live`) is an error."""
    if info.get("_type") == "playlist" or "entries" in info:
        count = len(list(info.get("entries") or []))
        problem = f"a playlist of {count} recordings, not one: give the URL of each recording instead"
        raise DownloadError(url, problem, transient=False)
    if info.get("is_live"):
        raise DownloadError(url, "a live stream: process its recording once the stream has ended", transient=False)
    files = [Path(d["filepath"]) for d in info.get("requested_downloads", []) if d.get("filepath")]
    if not files or not files[0].is_file():
        raise DownloadError(url, "cannot be downloaded: no media file came of it", transient=False)
    return files[0]


def _not_live(info: Mapping[str, Any], *, incomplete: bool) -> str | None:
    """yt-dlp's match filter: a live stream is not downloaded (it would never end)."""
    return "a live stream" if info.get("is_live") else None


def forget_download(url: str, cache_dir: Path) -> None:
    """Remove a URL's download from the cache, once ingest has refused the recording it holds."""
    shutil.rmtree(download_folder(url, cache_dir), ignore_errors=True)


def ingest_source(source: str, cache_dir: Path, taken_slugs: Mapping[str, str] | None = None) -> Recording:
    """Ingest one recording named by a path, a URL, or a path a sidecar lists with `source_url:`: a URL is
    downloaded first (or its download reused). Errors name the path or the URL, never the cache."""
    listed: Path | None = None
    if is_url(source):
        url, metadata = source, SessionMetadata()
    else:
        path = Path(source)
        found_url = None if path.exists() else listed_url(path)
        if found_url is None:
            return ingest(path, cache_dir, taken_slugs)
        url, metadata, listed = found_url, read_metadata(path), path
    fetched = download(url, cache_dir)
    try:
        return ingest_file(fetched.path, metadata, cache_dir, taken_slugs, source=url, listed_as=listed)
    except IngestError as exc:  # a refused recording leaves nothing in the cache
        forget_download(url, cache_dir)
        raise IngestError(url, exc.problem) from exc
