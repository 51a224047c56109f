"""The workbench's HTTP API (`livecast edit`) through Starlette's TestClient: the token and the same-origin
check, conflicts between two tabs, undo, bad input, what is served, and publishing the edits."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from livecastpipe import outputs, workspace
from livecastpipe.cli import app
from livecastpipe.edits import read_edits
from livecastpipe.models import Transcript, from_json, to_json
from livecastpipe.review import CAPTIONS_KEY
from livecastpipe.settings import Settings
from livecastpipe.workbench import TOKEN_HEADER, Workbench, cookie_name, workbench_app

from .publish_fixtures import SETTINGS, hostile_audio_recording  # noqa: F401 (fixtures)
from .workbench_fixtures import LINES, SLUG, edit_site  # noqa: F401 (fixtures)

TOKEN = "test-token-0123456789"


@pytest.fixture()
def output(edit_site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "output"
    shutil.copytree(edit_site, copy, symlinks=True)
    return copy


def workbench_client(output: Path, **kwargs: object) -> TestClient:
    settings = Settings(output_dir=output, publish=SETTINGS)
    return TestClient(workbench_app(Workbench(settings, TOKEN, "Redactie")), **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def client(output: Path) -> TestClient:
    """A client that sends the token header, as scripts do."""
    return workbench_client(output, headers={TOKEN_HEADER: TOKEN})


def session(client: TestClient) -> dict:
    response = client.get(f"/api/sessions/{SLUG}")
    assert response.status_code == 200, response.text
    return response.json()


def segment_text(client: TestClient, segment_id: str) -> str:
    return next(s["text"] for s in session(client)["segments"] if s["id"] == segment_id)


def edit(client: TestClient, segment_id: str, version: int, **fields: object):
    return client.post(f"/api/sessions/{SLUG}/segments/{segment_id}", json={"version": version, **fields})


def test_every_request_needs_the_token(output: Path) -> None:
    anonymous = workbench_client(output)
    for path in ("/", f"/sessions/{SLUG}/", "/api/sessions", f"/sessions/{SLUG}/audio.m4a", "/static/workbench.js"):
        assert anonymous.get(path).status_code == 403, path
        assert anonymous.get(path, headers={TOKEN_HEADER: "wrong"}).status_code == 403, path
    assert anonymous.get("/api/sessions").json()["error"].startswith("deze werkbank vraagt om zijn token")
    assert anonymous.get("/api/sessions", headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert anonymous.get("/api/sessions", params={"token": TOKEN}).status_code == 200


def test_the_first_page_sets_a_cookie_and_drops_the_token_from_the_address(output: Path) -> None:
    browser = workbench_client(output, follow_redirects=False)
    first = browser.get(f"/sessions/{SLUG}/?token={TOKEN}", headers={"Accept": "text/html"})
    assert first.status_code == 303 and first.headers["location"] == f"/sessions/{SLUG}/"
    assert browser.cookies.get(cookie_name(None)) == TOKEN
    page = browser.get(f"/sessions/{SLUG}/")
    assert page.status_code == 200 and "Welkom bij de" in page.text
    assert browser.get(f"/sessions/{SLUG}/audio.m4a").status_code == 200


def test_changes_need_the_same_origin(output: Path) -> None:
    browser = workbench_client(output, cookies={cookie_name(None): TOKEN})
    body = {"version": 0, "text": "Welkom bij de buurtcoöperatie van Amsterdam-Noord"}
    path = f"/api/sessions/{SLUG}/segments/s1"
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/x"}):
        refused = browser.post(path, json=body, headers=headers)
        assert refused.status_code == 403, headers
        assert "same origin" in refused.json()["error"]
    assert read_edits(workspace.session_private_dir(output, SLUG)) is None, "a refused change was written"
    assert browser.post(path, json=body, headers={"Origin": "http://testserver"}).status_code == 200


def test_responses_carry_the_security_headers(client: TestClient) -> None:
    for path in ("/", f"/sessions/{SLUG}/", "/api/sessions", "/static/workbench.css"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_only_the_sessions_public_files_are_served(client: TestClient, output: Path) -> None:
    assert client.get(f"/sessions/{SLUG}/{outputs.CAPTIONS_VTT.name('nl')}").text.startswith("WEBVTT")
    ranged = client.get(f"/sessions/{SLUG}/audio.m4a", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    (workspace.session_site_dir(output, SLUG) / ".hidden").write_text("secret")
    outside = [
        "../../private/sessions/werkbank-proef/review.json",
        "%2e%2e/%2e%2e/private/voices.json",
        ".hidden",
        "..%2f..%2fprivate%2fsessions%2fwerkbank-proef%2freview.json",
        "review.json",
        "assets",
    ]
    for path in outside:
        assert client.get(f"/sessions/{SLUG}/{path}").status_code == 404, path
    assert client.get("/sessions/..%2fprivate/").status_code == 404


def test_a_session_shows_its_segments_words_flags_speakers_and_chapters(client: TestClient) -> None:
    data = session(client)
    assert data["version"] == 0
    assert [s["id"] for s in data["segments"]] == ["s1", "s2", "s3", "s4"]
    first = data["segments"][0]
    assert first["text"] == LINES[0][2] and first["machine_text"] == LINES[0][2] and not first["edited"]
    assert data["flagged"] == [{"segment": "s1", "word": 3}]
    speakers = {s["id"]: s for s in data["speakers"]}
    assert speakers["SPEAKER_00"]["name"] == "Anne de Vries"
    assert speakers["SPEAKER_01"]["name"] is None and speakers["SPEAKER_01"]["proposed"] == "Pieter Bakker"
    page = client.get(f"/sessions/{SLUG}/").text
    assert '<option value="Pieter Bakker"></option>' in page and "Voorstel overnemen: Pieter Bakker" in page
    assert [c["start"] for c in data["chapters"]] == [0.5, 8.5]
    assert {i["kind"] for i in data["review"]} >= {"session_summary", "keywords"}
    assert data["captions_reviewed"] is False
    assert [s["slug"] for s in client.get("/api/sessions").json()["sessions"]] == [SLUG]


def test_a_corrected_word_keeps_the_times_of_the_others(client: TestClient) -> None:
    before = session(client)["segments"][0]["words"]
    changed = edit(client, "s1", 0, text="Welkom bij de buurtcoöperatie van Amsterdam Noord")
    assert changed.status_code == 200, changed.text
    result = changed.json()
    assert result["version"] == 1 and [s["id"] for s in result["segments"]] == ["s1"]
    after = result["segments"][0]["words"]
    assert [w["text"] for w in after][3] == "buurtcoöperatie"
    for i in (0, 1, 2, 4, 5, 6):
        assert (after[i]["start"], after[i]["end"]) == (before[i]["start"], before[i]["end"])
    assert result["segments"][0]["edited"] and result["segments"][0]["machine_text"] == LINES[0][2]


def test_two_tabs_no_lost_update(client: TestClient) -> None:
    assert edit(client, "s2", 0, text="Vandaag praten we over wonen én werken").status_code == 200
    conflict = edit(client, "s2", 0, text="Vandaag praten we over het wonen")
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["version"] == 1 and "nu versie 1; uw wijziging ging uit van versie 0" in body["error"]
    assert body["segment"]["text"] == "Vandaag praten we over wonen én werken"
    assert segment_text(client, "s2") == "Vandaag praten we over wonen én werken"


def test_undo_and_redo(client: TestClient) -> None:
    edit(client, "s3", 0, text="Dank je wel Anne voor de fijne uitnodiging")
    undone = client.post(f"/api/sessions/{SLUG}/undo", json={"version": 1})
    assert undone.status_code == 200 and undone.json()["redo"] is True
    assert segment_text(client, "s3") == LINES[2][2]
    assert client.post(f"/api/sessions/{SLUG}/redo", json={"version": 2}).status_code == 200
    assert segment_text(client, "s3") == "Dank je wel Anne voor de fijne uitnodiging"


def test_unknown_session_segment_and_speaker_are_404(client: TestClient) -> None:
    assert client.get("/api/sessions/bestaat-niet").status_code == 404
    missing = edit(client, "s99", 0, text="tekst")
    assert missing.status_code == 404 and "s99" in missing.json()["error"]
    assert client.put(f"/api/sessions/{SLUG}/speakers/SPEAKER_77", json={"name": "X"}).status_code == 404
    assert client.post(f"/api/sessions/{SLUG}/chapters/9", json={"title": "X"}).status_code == 404


def test_a_refusal_tells_the_editor_in_dutch_which_segment_and_what_to_do(client: TestClient) -> None:
    refused = edit(client, "s4", 0, text="   ")
    assert refused.status_code == 400
    message = refused.json()["error"]
    assert message.startswith("de tekst van het segment op ") and "(s4) is leeg: typ de tekst" in message
    merged = client.post(f"/api/sessions/{SLUG}/segments/s1/merge", json={"version": 0, "direction": "previous"})
    assert merged.status_code == 400
    assert merged.json()["error"] == (
        "het segment op 0:00 (s1) is het eerste segment: er is geen vorig segment om mee samen te voegen"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   "},
        {"text": "woord " * 200_000},
        {"text": 42},
        {"text": "een \x00 nul"},
        {},
    ],
    ids=["empty", "blank", "1 MB", "not text", "control character", "nothing"],
)
def test_bad_input_is_refused_and_nothing_is_lost(client: TestClient, output: Path, body: dict) -> None:
    edit(client, "s4", 0, text="Wij beginnen met de leden van onze coöperatie")
    stored = (workspace.session_private_dir(output, SLUG) / outputs.EDITS.name()).read_bytes()
    refused = edit(client, "s4", 1, **body)
    assert refused.status_code == 400
    assert refused.json()["error"] and "\n" not in refused.json()["error"]
    assert (workspace.session_private_dir(output, SLUG) / outputs.EDITS.name()).read_bytes() == stored
    assert segment_text(client, "s4") == "Wij beginnen met de leden van onze coöperatie"


def test_malformed_requests_are_400(client: TestClient) -> None:
    path = f"/api/sessions/{SLUG}/segments/s1"
    assert client.post(path, content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(path, json=[1, 2]).status_code == 400
    assert client.post(path, json={"text": "zonder versie"}).status_code == 400
    assert client.post(path + "/merge", json={"version": 0, "direction": "sideways"}).status_code == 400


def test_split_merge_inaudible_and_revert(client: TestClient) -> None:
    split = client.post(f"/api/sessions/{SLUG}/segments/s3/split?html=1", json={"version": 0, "word": 4})
    assert split.status_code == 200, split.text
    result = split.json()
    new_id = next(i for i in result["order"] if i not in ("s1", "s2", "s3", "s4"))
    assert result["order"] == ["s1", "s2", "s3", new_id, "s4"]
    assert all('class="segment' in s["html"] for s in result["segments"])
    merged = client.post(f"/api/sessions/{SLUG}/segments/{new_id}/merge", json={"version": 1, "direction": "previous"})
    assert merged.status_code == 200 and new_id in merged.json()["removed"]
    assert segment_text(client, "s3") == LINES[2][2]
    marked = client.post(f"/api/sessions/{SLUG}/segments/s2/inaudible", json={"version": 2, "from_word": 4})
    assert marked.status_code == 200
    assert segment_text(client, "s2") == "Vandaag praten we over [onverstaanbaar]"
    reverted = client.post(f"/api/sessions/{SLUG}/segments/s2/revert", json={"version": 3})
    assert reverted.status_code == 200 and segment_text(client, "s2") == LINES[1][2]


def test_find_and_replace_with_preview(client: TestClient) -> None:
    body = {"find": "cooperatie", "replace": "coöperatie", "version": 0}
    preview = client.post(f"/api/sessions/{SLUG}/replace", json={**body, "preview": True})
    assert preview.status_code == 200
    assert [m["segment"] for m in preview.json()["matches"]] == ["s4"]
    assert preview.json()["matches"][0]["after"] == "Wij beginnen met de leden van de coöperatie"
    assert session(client)["version"] == 0, "a preview changed the session"
    done = client.post(f"/api/sessions/{SLUG}/replace", json={**body, "preview": False})
    assert done.status_code == 200 and segment_text(client, "s4").endswith("de coöperatie")


def test_speakers_moved_added_merged_and_named(client: TestClient, output: Path) -> None:
    moved = edit(client, "s2", 0, speaker="SPEAKER_01", from_word=3)
    assert moved.status_code == 200, moved.text
    tail = next(s for s in moved.json()["segments"] if s["id"] != "s2")
    assert tail["speaker"] == "SPEAKER_01" and tail["text"] == "over wonen en werken"
    added = client.post(f"/api/sessions/{SLUG}/speakers", json={"version": 1})
    assert added.status_code == 200
    new = next(s["id"] for s in added.json()["speakers"] if s["added"])
    named = client.put(f"/api/sessions/{SLUG}/speakers/{new}", json={"name": "Fatima El Amrani", "role": "audience"})
    assert named.status_code == 200
    assert next(s for s in named.json()["speakers"] if s["id"] == new)["label"] == "Fatima El Amrani"
    yaml_text = (workspace.session_private_dir(output, SLUG) / outputs.SPEAKERS.name()).read_text(encoding="utf-8")
    assert "Fatima El Amrani" in yaml_text and "audience" in yaml_text
    assert edit(client, "s3", 2, speaker=new).status_code == 200
    merged = client.post(
        f"/api/sessions/{SLUG}/speakers/merge", json={"version": 3, "source": new, "target": "SPEAKER_01"}
    )
    assert merged.status_code == 200
    assert next(s for s in session(client)["segments"] if s["id"] == "s3")["speaker"] == "SPEAKER_01"
    bad = client.put(f"/api/sessions/{SLUG}/speakers/SPEAKER_01", json={"name": "Naam --> met pijl"})
    assert bad.status_code == 400 and "-->" in bad.json()["error"]


def test_chapters_and_review(client: TestClient) -> None:
    moved = client.post(f"/api/sessions/{SLUG}/chapters/2", json={"version": 0, "start": 8.0, "title": "De leden"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["chapters"][1] == {
        "number": 2,
        "start": 8.0,
        "end": 20.0,
        "title": "De leden",
        "state": "approved",
    }
    before_first = client.post(f"/api/sessions/{SLUG}/chapters/2", json={"version": 1, "start": 0.2})
    assert before_first.status_code == 400
    keywords = client.post(
        f"/api/sessions/{SLUG}/review/session/keywords", json={"decision": "approve", "text": "wonen, werken"}
    )
    assert keywords.status_code == 200 and keywords.json()["item"]["text"] == "wonen, werken"
    assert (
        client.post(f"/api/sessions/{SLUG}/review/session/summary", json={"decision": "reject"}).json()["item"]["state"]
        == "rejected"
    )
    assert (
        client.post(f"/api/sessions/{SLUG}/review/session/summary", json={"decision": "reopen"}).json()["item"]["state"]
        == "draft"
    )
    assert client.post(f"/api/sessions/{SLUG}/review/session/nothing", json={"decision": "approve"}).status_code == 404
    assert client.post(f"/api/sessions/{SLUG}/review/session/keywords", json={"decision": "maybe"}).status_code == 400
    captions = client.post(f"/api/sessions/{SLUG}/review/{CAPTIONS_KEY}", json={"decision": "approve"})
    assert captions.json()["captions_reviewed"] is True


HOSTILE = "<script>alert(1)</script> en --> pijl & <b>vet</b>"


def test_markup_and_cue_arrows_stay_text_in_every_output(client: TestClient, output: Path) -> None:
    assert edit(client, "s3", 0, text=HOSTILE).status_code == 200
    page = client.get(f"/sessions/{SLUG}/").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>vet</b>" not in client.get(f"/sessions/{SLUG}/preview").text
    assert client.post(f"/api/sessions/{SLUG}/publish").status_code == 200
    site = workspace.session_site_dir(output, SLUG)
    for name in (outputs.CAPTIONS_VTT.name("nl"), outputs.SUBTITLES_VTT.name("nl")):
        cues = (site / name).read_text(encoding="utf-8").split("\n\n")[1:]
        text_lines = [line for cue in cues for line in cue.splitlines()[1:]]
        assert not any("-->" in line for line in text_lines), name
        assert "<script>" not in (site / name).read_text(encoding="utf-8"), name
    published = (site / outputs.SESSION_PAGE.name()).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in published and "alert(1)" in published
    transcript = json.loads((site / outputs.TRANSCRIPT_JSON.name()).read_text(encoding="utf-8"))
    assert any("<script>alert(1)</script>" in s["text"] for s in transcript["segments"]), "JSON keeps the text as typed"


def test_publish_round_trip(client: TestClient, output: Path) -> None:
    before = session(client)["segments"][0]["words"]
    assert edit(client, "s1", 0, text="Welkom bij de buurtcoöperatie van Amsterdam Noord").status_code == 200
    assert client.post(f"/api/sessions/{SLUG}/review/{CAPTIONS_KEY}", json={"decision": "approve"}).status_code == 200
    published = client.post(f"/api/sessions/{SLUG}/publish")
    assert published.status_code == 200, published.text
    assert published.json()["captions_reviewed"] is True
    site = workspace.session_site_dir(output, SLUG)
    transcript = json.loads((site / outputs.TRANSCRIPT_JSON.name()).read_text(encoding="utf-8"))
    words = transcript["segments"][0]["words"]
    assert [w["text"] for w in words][3] == "buurtcoöperatie"
    assert [(w["start"], w["end"]) for w in words][4:] == [(w["start"], w["end"]) for w in before][4:]
    assert "buurtcoöperatie" in (site / outputs.CAPTIONS_VTT.name("nl")).read_text(encoding="utf-8")
    assert "buurtcoöperatie" in (site / outputs.SESSION_PAGE.name()).read_text(encoding="utf-8")
    assert session(client)["segments"][0]["text"] == "Welkom bij de buurtcoöperatie van Amsterdam Noord"


def test_publish_waits_for_another_run(client: TestClient, output: Path) -> None:
    lock = workspace.private_dir(output) / workspace.LOCK_FILE
    with open(lock, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # what a live `livecast run` holds
        busy = client.post(f"/api/sessions/{SLUG}/publish")
    assert busy.status_code == 409 and "een andere livecast-verwerking" in busy.json()["error"]


def start_edit(output: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`livecast edit` in a child process; it and the address it printed (with the token)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "livecastpipe", "edit", "--output", str(output), "--no-browser", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"http://\S+", line)
        if found:
            return process, found.group(0)
    process.kill()
    raise AssertionError(f"livecast edit printed no address: {process.communicate()}")


def test_livecast_edit_prints_a_local_address_with_a_token(output: Path) -> None:
    process, url = start_edit(output, SLUG)
    try:
        parts = urllib.parse.urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.path == f"/sessions/{SLUG}/"
        token = urllib.parse.parse_qs(parts.query)["token"][0]
        assert len(token) >= 32
        api = f"http://127.0.0.1:{parts.port}/api/sessions"
        with urllib.request.urlopen(urllib.request.Request(api, headers={TOKEN_HEADER: token})) as response:
            assert json.load(response)["sessions"][0]["slug"] == SLUG
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(api)
        assert refused.value.code == 403
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
    assert "warning" not in errors


def test_livecast_edit_warns_when_listening_beyond_this_machine(output: Path) -> None:
    process, _ = start_edit(output, "--host", "0.0.0.0")
    process.terminate()
    _, errors = process.communicate(timeout=20)
    assert "warning:" in errors and "other machines can reach it" in errors


def test_livecast_edit_refuses_an_unknown_session(output: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["edit", "bestaat-niet", "--output", str(output), "--no-browser"])
    assert result.exit_code == 1 and "bestaat-niet: not a published session" in result.output
    empty = CliRunner().invoke(app, ["edit", "--output", str(tmp_path / "leeg"), "--no-browser"])
    assert empty.exit_code == 1 and "no published sessions" in empty.output


def test_an_edit_a_rerun_changed_under_is_kept_marked_stale_and_resolved(client: TestClient, output: Path) -> None:
    assert edit(client, "s2", 0, text="Vandaag praten we over wonen en over werken").status_code == 200
    path = workspace.session_private_dir(output, SLUG) / outputs.MACHINE_TRANSCRIPT.name()
    machine = from_json(Transcript, path.read_text(encoding="utf-8"))
    rerun = replace(machine.segments[1], text="Vandaag spreken we over wonen en werken")
    rerun = replace(
        rerun,
        words=(replace(rerun.words[0], text="Vandaag"), replace(rerun.words[1], text="spreken"), *rerun.words[2:]),
    )
    path.write_text(to_json(replace(machine, segments=(machine.segments[0], rerun, *machine.segments[2:]))))
    data = session(client)
    assert len(data["stale"]) == 1, "the rerun's change under the edit is not shown"
    stale = next(s for s in data["segments"] if s["id"] == data["stale"][0])
    assert stale["text"] == "Vandaag praten we over wonen en over werken", "the edit was dropped"
    page = client.get(f"/sessions/{SLUG}/").text
    assert "verouderd" in page and "Mijn tekst houden" in page
    resolved = client.post(
        f"/api/sessions/{SLUG}/segments/{stale['id']}/resolve", json={"version": data["version"], "keep": False}
    )
    assert resolved.status_code == 200, resolved.text
    after = session(client)
    assert after["stale"] == [] and "Vandaag spreken we over wonen en werken" in [s["text"] for s in after["segments"]]


def test_after_a_rerun_segmenting_differently_an_edit_shows_the_machine_text_of_its_time(
    client: TestClient, output: Path
) -> None:
    """A rerun with one speaker joins the second and third lines into one segment (the third machine segment
    is now the fourth line): the edited third line is shown once, beside the rerun's words of its own time."""
    correction = "Dank je wel Anne, voor de uitnodiging"
    assert edit(client, "s3", 0, text=correction).status_code == 200
    path = workspace.session_private_dir(output, SLUG) / outputs.MACHINE_TRANSCRIPT.name()
    machine = from_json(Transcript, path.read_text(encoding="utf-8"))
    one = [
        replace(s, speaker="SPEAKER_00", words=tuple(replace(w, speaker="SPEAKER_00") for w in s.words))
        for s in machine.segments
    ]
    joined = replace(one[1], end=one[2].end, text=f"{one[1].text} {one[2].text}", words=one[1].words + one[2].words)
    path.write_text(to_json(replace(machine, segments=(one[0], joined, one[3]))))
    data = session(client)
    edited = [s for s in data["segments"] if s["edited"]]
    assert [s["text"] for s in edited] == [correction] and data["stale"] == []
    assert edited[0]["machine_text"] == LINES[2][2], "the machine text shown is of another stretch"
    assert " ".join(s["text"] for s in data["segments"]).count("uitnodiging") == 1
    assert edited[0]["speaker"] == "SPEAKER_01"
