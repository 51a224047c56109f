"""Clean after faults: leftovers of dead runs are removed (never a live run's), and Prefect's temporary
server dies with the process that started it, even after `kill -9`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.models import Recording
from livecastpipe.package import store
from livecastpipe.package.publish import publish_session

from .conftest import SAMPLE, run_ffmpeg
from .kill_harness import alive
from .publish_fixtures import SETTINGS, hostile_package

HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+b")
fcntl.flock(handle, fcntl.LOCK_SH)
print("held", flush=True)
time.sleep(60)
"""


def _leftovers(output: Path) -> list[Path]:
    cache = workspace.default_cache_dir(output)
    made = [
        workspace.private_dir(output) / ".sessie.publish-a1b2",
        workspace.private_dir(output) / ".pagefind-c3d4",
        cache / "abc" / ".media-0123456789abcdef-e5f6",
        workspace.session_site_dir(output, "sessie") / ".index.html.x7y8.tmp",
    ]
    for path in made:
        if path.suffix == ".tmp":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("half")
        else:
            (path / "deel").mkdir(parents=True)
    return made


def _first_publishes(output: Path) -> tuple[Path, Path]:
    """Two first publishes killed between the private and the public swap: one before it, one after."""
    half_made = workspace.session_private_dir(output, "nieuw")
    swapped = workspace.session_private_dir(output, "net-gepubliceerd")
    for folder in (half_made, swapped):
        folder.mkdir(parents=True)
        (folder / "review.json").write_text("{}")
        (folder / workspace.UNPUBLISHED_MARK).touch()
    (workspace.session_site_dir(output, swapped.name) / "session.json").parent.mkdir(parents=True)
    (workspace.session_site_dir(output, swapped.name) / "session.json").write_text("{}")
    return half_made, swapped


def test_leftovers_of_dead_runs_go_never_a_live_runs(tmp_path: Path) -> None:
    output = tmp_path / "output"
    made = _leftovers(output)
    half_made, swapped = _first_publishes(output)
    kept = [
        workspace.session_private_dir(output, "sessie") / "review.json",
        workspace.session_site_dir(output, "sessie") / "index.html",
        workspace.default_cache_dir(output) / "abc" / "media-0123456789abcdef" / "audio.m4a",
        swapped / "review.json",
    ]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("blijft")
    assert store.session_slugs(output) == ["net-gepubliceerd", "sessie"]  # a half-made one is no session
    lock = workspace.private_dir(output) / workspace.LOCK_FILE
    live = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "held"
        with workspace.run_lock(output, workspace.default_cache_dir(output)) as removed:
            assert removed == []  # another run lives: its staging folders may be in use
        assert all(p.exists() for p in made) and half_made.is_dir()
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
    with workspace.run_lock(output, workspace.default_cache_dir(output)) as removed:
        assert sorted(removed) == sorted([*made, half_made])
    assert not any(p.exists() for p in made) and not half_made.exists()
    assert all(p.read_text() == "blijft" for p in kept)
    assert not workspace.is_unpublished(swapped)  # published: it only loses its mark


@pytest.mark.slow
def test_the_temporary_prefect_server_dies_with_its_parent_after_kill_9(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from livecastpipe.flows.server import TemporaryServer\n"
            "import time\n"
            "server = TemporaryServer()\n"
            "print(server.process.pid, flush=True)\n"
            "server.wait_until_ready()\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")},
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "ready"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.1)
    assert not alive(child), "Prefect's temporary server outlived the run that started it"


def _unshare_available() -> bool:
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_available(), reason="needs `unshare -rm` (a private mount namespace) for tmpfs")
@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_read_only_and_full_output_folders_end_in_one_clear_line(fault: str, tmp_path: Path) -> None:
    """A real small tmpfs, mounted read-only or filled up, in a private mount namespace: every command
    that writes says which path and what is wrong, in one line, exit status 1, no traceback."""
    out = tmp_path / "out"
    out.mkdir()
    setup = (
        "import sys; from pathlib import Path; from livecastpipe import workspace; "
        "from livecastpipe.models import SpeakerInfo; from livecastpipe.stages.speakers import speakers_yaml; "
        "out = Path(sys.argv[1]); folder = workspace.session_private_dir(out, 'sessie'); "
        "folder.mkdir(parents=True); workspace.site_dir(out).mkdir(); "
        "(folder / 'speakers.yaml').write_text(speakers_yaml("
        "{'SPEAKER_01': SpeakerInfo('SPEAKER_01', 'Piet', 'speaker')}))"
    )
    break_it = f"mount -o remount,ro {out}" if fault == "read-only" else f"cat /dev/zero > {out}/vol 2>/dev/null; true"
    commands = {
        "speakers": "speakers sessie --rename SPEAKER_01=Pieter",
        "publish": "publish",
        "review": "review --list",
    }
    script = [f"mount -t tmpfs -o size=256k tmpfs {out}", f'{sys.executable} -c "{setup}" {out}', break_it]
    for name, arguments in commands.items():
        script.append(f"echo '== {name}'; {sys.executable} -m livecastpipe {arguments} --output {out}; echo \"rc=$?\"")
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300"},
    )
    sections = dict(part.split("\n", 1) for part in (result.stdout + result.stderr).split("== ")[1:])
    print(result.stdout, result.stderr)
    expected = "Read-only file system" if fault == "read-only" else "No space left on device"
    assert "Traceback" not in result.stderr
    for name in ("speakers", "publish"):
        assert "rc=1" in sections[name], (name, result.stdout, result.stderr)
    assert "rc=0" in sections["review"]  # reading still works
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # beside `review --list`'s
    # note on stderr; each line names the file, after the part of the site not rebuilt (publish's catalogue)
    named = re.compile(rf"error: (catalogue not rebuilt: )?{re.escape(str(out))}")
    assert errors and all(named.match(line) for line in errors), result.stderr
    assert expected in result.stderr


def test_an_unwritable_output_folder_is_one_line_and_a_traceback_only_with_v() -> None:
    unwritable = "/proc/livecast-output"  # /proc takes no new folders, not even from root
    for command in (["publish"], ["speakers", "sessie"], ["serve"]):
        quiet = subprocess.run(
            [sys.executable, "-m", "livecastpipe", *command, "--output", unwritable], capture_output=True, text=True
        )
        assert quiet.returncode == 1, (command, quiet.stderr)
        lines = quiet.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {unwritable}"), (command, quiet.stderr)
    loud = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "-v", "publish", "--output", unwritable], capture_output=True, text=True
    )
    assert (
        loud.returncode == 1
        and "Traceback" in loud.stderr
        and loud.stderr.strip().splitlines()[-1].startswith("error: ")
    )


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_available(), reason="needs `unshare -rm` (a private mount namespace) for tmpfs")
def test_a_disk_filling_up_after_the_sessions_published_fails_the_run_in_one_line(
    prefect_harness, tmp_path: Path
) -> None:
    """The issue's run that said "done": the output folder a real small tmpfs, filled up by another writer
    the moment the catalogue's search index is being built (the session is published by then). The run
    exits 1 with one line naming the part of the site not rebuilt and the problem, and says no "done"."""
    from prefect.settings import PREFECT_API_URL

    media = tmp_path / "media"
    media.mkdir()
    run_ffmpeg("-i", str(SAMPLE), "-t", "8", "-vn", "-c:a", "aac", "-b:a", "48k", str(media / "lezing.m4a"))
    out = tmp_path / "out"
    out.mkdir()
    config = tmp_path / "livecast.toml"  # the cache (decoded audio, stage results) on the real disk
    config.write_text(f'cache_dir = "{tmp_path / "cache"}"\n[stages]\nretry_delay_s = 0\n', encoding="utf-8")
    fill = f"until ls -d {out}/private/.pagefind-* >/dev/null 2>&1; do sleep 0.01; done; cat /dev/zero > {out}/vol"
    run = f"{sys.executable} -m livecastpipe run {media} --output {out} --config {config} --no-diarize --quiet --json"
    script = [
        f"mount -t tmpfs -o size=8m tmpfs {out}",
        f"( {fill} ) 2>/dev/null & filler=$!",
        f'{run}; echo "rc=$?"',
        "kill $filler 2>/dev/null; wait",
        f"test -e {out}/site/index.html && echo 'catalogue made'; true",
    ]
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "COLUMNS": "300"},
    )
    print(result.stdout, result.stderr)
    printed, after = result.stdout.rsplit("rc=", 1)
    (session,) = json.loads(printed)
    assert session["status"] == "done", session["error"]  # the session was published: only the site failed
    assert after.startswith("1\n") and "catalogue made" not in after
    (line,) = result.stderr.strip().splitlines()
    assert re.fullmatch(r"error: (catalogue|search index|podcast feeds|sitemap) not rebuilt: .+", line), line
    assert "No space left on device" in line or "pagefind failed" in line, line
    assert "done" not in result.stderr


def test_publish_names_the_part_of_the_site_it_could_not_rebuild(
    tmp_path: Path,
    hostile_audio_recording: Recording,
) -> None:
    """`livecast publish` with the podcast feed's name taken by a folder: the session is re-rendered, then
    one line names the feeds and the file, and the exit status is 1."""
    output = tmp_path / "output"
    publish_session(hostile_package(hostile_audio_recording), output, SETTINGS)
    (workspace.site_dir(output) / "feed.xml").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "publish", "--output", str(output)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line == f"error: podcast feeds not rebuilt: {workspace.site_dir(output) / 'feed.xml'}: Is a directory"
    assert "published" in result.stdout


def test_an_unreachable_prefect_api_is_one_line(tmp_path: Path) -> None:
    """`PREFECT_API_URL` naming a port nothing listens on: one line saying so and what to do, status 1, no
    traceback, and no recording touched."""
    recording = tmp_path / "lezing.wav"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(recording))
    api = "http://127.0.0.1:9/api"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "run", str(recording), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "300"},
    )
    print(f"unreachable API reported after {time.monotonic() - started:.1f} s")
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: Prefect API at {api} unreachable: "), line
    assert line.endswith("; unset PREFECT_API_URL to use the temporary local server"), line
    assert not (tmp_path / "out" / "site").exists()
