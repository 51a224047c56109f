"""The declared install is CPU-only: no CUDA build of PyTorch, no nvidia-* or triton wheels (gigabytes a
machine without a GPU does not need). Offline: the declared requirements and the installed metadata."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CUDA_PACKAGES = ("nvidia-", "triton")
"""What PyPI's CUDA build of torch pulls in (the CUDA toolkit, cuDNN, NCCL, Triton)."""


def _declared_requirements() -> list[Requirement]:
    """The project's dependencies and its test extra, as `make setup` installs them (`.[test]`)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]]


def test_declared_torch_is_the_cpu_build_never_pypis_cuda_build() -> None:
    """PyPI's torch of that version (no local label) is the CUDA build: the pin must refuse it and take
    only the `+cpu` wheel of PyTorch's CPU index (or fail to resolve, never download CUDA)."""
    (torch,) = [r for r in _declared_requirements() if r.name == "torch"]
    pinned = Version(next(iter(torch.specifier)).version)
    assert not torch.specifier.contains(Version(pinned.public)), f"{torch}: admits PyPI's CUDA build"
    assert torch.specifier.contains(Version(f"{pinned.public}+cpu"))


def test_installed_environment_has_no_cuda_packages() -> None:
    """Everything the declared install pulled in, followed through the installed packages' own
    requirements: the CPU build of torch, and nothing from CUDA."""
    environment = default_environment() | {"extra": ""}
    pending = list(_declared_requirements())
    seen: dict[str, str] = {}
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate(environment)):
            continue
        seen[name] = metadata.version(name)
        for extra in requirement.extras or {""}:
            for line in metadata.requires(name) or []:
                dependency = Requirement(line)
                if not dependency.marker or dependency.marker.evaluate(environment | {"extra": extra}):
                    pending.append(Requirement(str(dependency).split(";")[0]))
    cuda = sorted(n for n in seen if n.startswith(CUDA_PACKAGES))
    assert not cuda, f"CUDA packages installed: {cuda}"
    assert Version(seen["torch"]).local == "cpu"
    assert len(seen) > 100  # the walk went through the dependency tree, not just the top
