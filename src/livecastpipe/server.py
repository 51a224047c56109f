"""A local preview server for the output folder, with the HTTP Range requests browsers need to seek in media."""

from __future__ import annotations

import http.server
import os
from functools import partial
from pathlib import Path
from typing import Any

from . import outputs


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HTTP Range support, which browsers need to seek in audio and video."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".vtt": "text/vtt",
        ".srt": "application/x-subrip",
        ".m4a": "audio/mp4",
    }

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        """The media type the output registry gives the file (`chapters.json`: application/json+chapters),
        else the one its extension suggests."""
        try:
            relative = Path(path).resolve().relative_to(Path(self.directory).resolve()).as_posix()
        except ValueError:
            return super().guess_type(path)
        return outputs.media_type(relative) or super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if os.environ.get("LIVECAST_SERVE_LOG"):
            super().log_message(format, *args)

    def send_head(self) -> Any:
        range_header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
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
        if self.path.split("?", 1)[0].split("#", 1)[0].endswith("/" + outputs.EMBED_PAGE.name()):
            self.send_header("Content-Security-Policy", "frame-ancestors *")  # other websites may frame the player
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
