"""docs/architecture.md stays true: it names every module of the library and the flows, and every file of
the output registry, so a new module or output cannot be added without a line saying what it is."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from livecastpipe.package import outputs

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
LIBRARY = REPO / "src" / "livecastpipe"
FLOWS = REPO / "flows"


def section(title: str) -> str:
    """The text of the doc's `## title` section, up to the next section."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def module_names() -> list[str]:
    """Every module as the doc names it: its path under src/livecastpipe/, the flows' under flows/ (the
    library's `flows` is a link to flows/, listed once)."""
    library = [
        p.relative_to(LIBRARY).as_posix() for p in LIBRARY.rglob("*.py") if "flows" not in p.relative_to(LIBRARY).parts
    ]
    flows = [p.relative_to(REPO).as_posix() for p in FLOWS.rglob("*.py")]
    return sorted(library + flows)


def test_every_module_has_a_line_in_the_module_table() -> None:
    table = section("Modules")
    missing = [name for name in module_names() if f"| `{name}` |" not in table]
    assert not missing, f"docs/architecture.md's module table does not name {missing}"


def test_every_registered_output_file_is_listed_with_its_key() -> None:
    table = section("Where each output file is made")
    decoder = version("imageio-ffmpeg")  # the decoded audio's name carries the pinned decoder's version
    missing = [
        entry.key
        for entry in outputs.OUTPUTS
        if f"| `{entry.pattern.replace(decoder, '{version}')}`" not in table or f"| `{entry.key}` |" not in table
    ]
    assert not missing, f"docs/architecture.md's output table does not list {missing}"


def test_the_checks_see_the_library_and_its_outputs() -> None:
    """The two checks above look at something: the modules of every part and the whole registry."""
    names = module_names()
    for part in ("stages/", "package/", "editor/", "cli/", "flows/"):
        assert any(name.startswith(part) for name in names), part
    assert "models.py" in names and "stages/diarization/engine.py" in names
    assert len(outputs.OUTPUTS) >= 40
