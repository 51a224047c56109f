"""Plan a run over many recordings: which sessions may run at the same time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .ingest import IngestError, read_metadata, session_slug


def output_name_groups(sources: Sequence[str]) -> list[list[str]]:
    """Group recordings by the output folder name their title gives them, keeping their order.

    Groups may run at the same time; the recordings of one group run one after another, so a later
    recording with the same title still sees the earlier one's folder and gets its hash appended.
    """
    groups: dict[str, list[str]] = {}
    for source in sources:
        try:
            metadata = read_metadata(Path(source))
            key = session_slug(metadata.title or Path(source).stem, "", {})
        except IngestError:
            key = f"unreadable metadata: {source}"  # fails alone, with its own error, in ingest
        groups.setdefault(key, []).append(source)
    return list(groups.values())
