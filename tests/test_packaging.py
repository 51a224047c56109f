"""What the installed distribution exposes: `livecastpipe` alone at top level, the flows inside it; and the
standard build (`python -m build`: the sdist, then the wheel from it) installs a `livecast` that runs."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import SAMPLE, SAMPLE_SIDECAR

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_only_livecastpipe_with_its_flows(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("livecastpipe-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"livecastpipe"}
    for module in ("pipeline", "speakers", "editorial", "caching", "server", "runners", "progress"):
        assert f"livecastpipe/flows/{module}.py" in names
    assert len(names) == len(set(names))  # the flows once, though the tree links them into the package too


def fresh_environment(folder: Path) -> Path:
    """A new virtual environment that sees this one's installed packages behind its own (none of them
    downloaded again), with nothing of this checkout on its path; its `bin` folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(fresh_site) / "project-packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return folder / "bin"


@pytest.mark.slow
def test_livecast_built_from_the_sdist_publishes_a_session(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], check=True)
    (sdist,) = dist.glob("livecastpipe-*.tar.gz")
    (wheel,) = dist.glob("livecastpipe-*.whl")
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert "livecastpipe-0.1.0/flows/pipeline.py" in members
    assert "livecastpipe/flows/pipeline.py" in zipfile.ZipFile(wheel).namelist()
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    bin_dir = fresh_environment(tmp_path / "venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
    )
    media = tmp_path / "media"
    media.mkdir()
    for path in (SAMPLE, SAMPLE_SIDECAR):
        (media / path.name).write_bytes(path.read_bytes())
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PYTHONSAFEPATH": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(bin_dir / "livecast"), "run", str(media), "--output", str(tmp_path / "out"), "--json", "--no-diarize"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    assert record["status"] == "done"
    site_folder = Path(record["output_dir"])
    assert site_folder.parent == tmp_path / "out" / "site"
    assert "buurtcoöperatie" in (site_folder / "transcript.txt").read_text(encoding="utf-8").lower()
    assert (site_folder / "index.html").is_file() and (site_folder / "captions.nl.vtt").is_file()
    installed = subprocess.run(
        [str(bin_dir / "python"), "-c", "import livecastpipe.flows.pipeline as p; print(p.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert installed.startswith(str(tmp_path / "venv"))  # the wheel's flows ran, not this checkout's
