"""The error media making, packaging and the catalogue share: a package cannot be published."""

from __future__ import annotations

from pathlib import Path


class PublishError(ValueError):
    """A package cannot be published; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
