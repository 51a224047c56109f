"""What media making, packaging and the catalogue share about a session package: its manifest's name, and the error."""

from __future__ import annotations

from pathlib import Path

MANIFEST = "session.json"
"""Every published package's manifest: its files with SHA-256, provenance, media record and catalogue entry."""


class PublishError(ValueError):
    """A package cannot be published; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
