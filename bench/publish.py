"""Publishing cost on the committed sample: package size per file, time to publish (media made,
then reused), time to remux versus re-encode the video, and the catalogue with its search index.

    python bench/publish.py [bench/results/publish]

Writes `<out>.json` and `<out>.md`. Times are wall clock on a shared machine: noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.publish import publish_session
from livecastpipe.package.store import SessionPackage
from livecastpipe.settings import PublishSettings, TranscribeSettings
from livecastpipe.stages.ingest import ffmpeg_binary, ingest
from livecastpipe.stages.transcribe import transcribe_file

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "media" / "cooperatieven-sample.mp4"


def timed(action):  # noqa: ANN001, ANN201 (a tiny helper)
    start = time.perf_counter()
    result = action()
    return result, round(time.perf_counter() - start, 3)


def main(out: Path) -> None:
    settings = PublishSettings()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recording = ingest(SAMPLE, work / "cache")
        transcript = transcribe_file(Path(recording.audio_path), TranscribeSettings())
        package = SessionPackage(recording, transcript)
        output = work / "output"
        folder, first = timed(lambda: publish_session(package, output, settings))
        _, again = timed(lambda: publish_session(package, output, settings))
        _, catalogue = timed(lambda: publish_catalogue(output, settings))
        sizes = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
        index_bytes = sum(p.stat().st_size for p in (output / "pagefind").rglob("*") if p.is_file())

        legacy = work / "legacy.avi"
        subprocess.run(
            [
                ffmpeg_binary(),
                "-v",
                "error",
                "-y",
                "-i",
                str(SAMPLE),
                "-c:v",
                "mpeg4",
                "-c:a",
                "libmp3lame",
                str(legacy),
            ],
            check=True,
        )
        legacy_recording = ingest(legacy, work / "cache")
        _, reencode = timed(
            lambda: publish_session(SessionPackage(legacy_recording, transcript), work / "legacy-out", settings)
        )
    figures = {
        "recording_seconds": round(recording.media.duration, 1),
        "package_bytes": sum(sizes.values()),
        "files": sizes,
        "search_index_bytes": index_bytes,
        "publish_first_s": first,
        "publish_again_media_reused_s": again,
        "publish_reencode_from_mpeg4_s": reencode,
        "catalogue_with_pagefind_s": catalogue,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        "# Publishing the sample session",
        "",
        f"Recording: {figures['recording_seconds']} s. Wall-clock times on a shared 2-core machine (noisy).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| package size | {figures['package_bytes']:,} bytes |",
        f"| catalogue search index (Pagefind) | {index_bytes:,} bytes |",
        f"| first publish (video remuxed, audio copied) | {first} s |",
        f"| publish again (media reused) | {again} s |",
        f"| publish of an MPEG-4 Part 2/MP3 AVI (re-encoded to H.264/AAC) | {reencode} s |",
        f"| catalogue + Pagefind index + feed | {catalogue} s |",
        "",
        "| file | bytes |",
        "|---|---|",
        *[f"| {name} | {size:,} |" for name, size in sizes.items()],
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "bench" / "results" / "publish")
