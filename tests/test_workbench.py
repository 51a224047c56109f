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
import webvtt
from starlette.testclient import TestClient
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.editor.edits.edits_file import read_edits
from livecastpipe.editor.review import CAPTIONS_KEY
from livecastpipe.editor.workbench.guard import TOKEN_HEADER, cookie_name
from livecastpipe.editor.workbench.routes import workbench_app
from livecastpipe.editor.workbench.service import Workbench
from livecastpipe.models import Transcript, from_json, to_json
from livecastpipe.package import outputs
from livecastpipe.settings import Settings
from livecastpipe.stages.cue_times import key_seconds

from .publish_fixtures import SETTINGS
from .workbench_fixtures import LINES, SLUG

TOKEN = "test-token-0123456789"
ADDRESS = "http://127.0.0.1:8642"
"""Where the test client says it sends its requests (the Host header the workbench checks)."""


def workbench_client(output: Path, host: str = "127.0.0.1", **kwargs: object) -> TestClient:
    """A test client of the workbench of `output` listening on `host` at port 8642."""
    settings = Settings(output_dir=output, publish=SETTINGS)
    app = workbench_app(Workbench(settings, TOKEN, "Redactie"), host, 8642)
    return TestClient(app, **{"base_url": ADDRESS, **kwargs})  # type: ignore[arg-type]


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
    assert browser.cookies.get(cookie_name(8642)) == TOKEN
    page = browser.get(f"/sessions/{SLUG}/")
    assert page.status_code == 200 and "Welkom bij de" in page.text
    assert browser.get(f"/sessions/{SLUG}/audio.m4a").status_code == 200


def test_changes_need_the_same_origin(output: Path) -> None:
    browser = workbench_client(output, cookies={cookie_name(8642): TOKEN})
    body = {"version": 0, "text": "Welkom bij de buurtcoöperatie van Amsterdam-Noord"}
    path = f"/api/sessions/{SLUG}/segments/s1"
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/x"}):
        refused = browser.post(path, json=body, headers=headers)
        assert refused.status_code == 403, headers
        assert "same origin" in refused.json()["error"]
    assert read_edits(workspace.session_private_dir(output, SLUG)) is None, "a refused change was written"
    assert browser.post(path, json=body, headers={"Origin": ADDRESS}).status_code == 200


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


def test_a_chapter_change_with_a_bad_title_version_moves_nothing(client: TestClient) -> None:
    """A request to move a chapter and retitle it, whose title version is not one the session gave, is
    refused whole: the chapter keeps its start (every field is checked before anything changes)."""
    refused = client.post(
        f"/api/sessions/{SLUG}/chapters/2", json={"version": 0, "start": 9.0, "title": "De leden", "title_version": 7}
    )
    assert refused.status_code == 400 and "title_version" in refused.json()["error"]
    shown = session(client)
    assert shown["version"] == 0 and shown["chapters"][1]["start"] == 8.5


def test_chapters_and_review(client: TestClient) -> None:
    moved = client.post(f"/api/sessions/{SLUG}/chapters/2", json={"version": 0, "start": 8.0, "title": "De leden"})
    assert moved.status_code == 200, moved.text
    assert {k: v for k, v in moved.json()["chapters"][1].items() if k != "title_version"} == {
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


def test_a_decision_or_a_name_based_on_an_older_version_is_refused(client: TestClient) -> None:
    shown = session(client)
    keywords = next(i for i in shown["review"] if i["key"] == "session/keywords")
    url = f"/api/sessions/{SLUG}/review/session/keywords"
    first = client.post(url, json={"decision": "approve", "text": "wonen, werken", "version": keywords["version"]})
    assert first.status_code == 200, first.text
    now = first.json()["item"]["version"]
    assert now != keywords["version"]
    late = client.post(url, json={"decision": "reject", "version": keywords["version"]})
    assert late.status_code == 409
    body = late.json()
    assert body["version"] == now and body["item"]["state"] == "approved" and body["item"]["text"] == "wonen, werken"
    assert (
        f"is intussen gewijzigd (nu versie {now}; uw beslissing ging uit van versie {keywords['version']})"
        in (body["error"])
    )
    assert next(i for i in session(client)["review"] if i["key"] == "session/keywords")["state"] == "approved"

    pieter = next(s for s in shown["speakers"] if s["id"] == "SPEAKER_01")
    speaker_url = f"/api/sessions/{SLUG}/speakers/SPEAKER_01"
    named = client.put(speaker_url, json={"name": "Pieter Bakker", "version": pieter["version"]})
    assert named.status_code == 200, named.text
    renamed = client.put(speaker_url, json={"name": "Piet Bakker", "version": pieter["version"]})
    assert renamed.status_code == 409
    assert "spreker 'SPEAKER_01' is intussen gewijzigd" in renamed.json()["error"]
    assert next(s for s in renamed.json()["speakers"] if s["id"] == "SPEAKER_01")["name"] == "Pieter Bakker"
    assert next(s for s in session(client)["speakers"] if s["id"] == "SPEAKER_01")["name"] == "Pieter Bakker"


def test_a_chapter_title_based_on_an_older_version_is_refused(client: TestClient) -> None:
    """Two editors retitle chapter 1 from the same page: the second is told, the first title is kept."""
    shown = next(c for c in session(client)["chapters"] if c["number"] == 1)
    assert shown["title_version"]
    url = f"/api/sessions/{SLUG}/chapters/1"
    first = client.post(url, json={"title": "Welkom en opening", "title_version": shown["title_version"]})
    assert first.status_code == 200, first.text
    late = client.post(url, json={"title": "Het begin", "title_version": shown["title_version"]})
    assert late.status_code == 409
    assert "is intussen gewijzigd" in late.json()["error"]
    assert next(c for c in session(client)["chapters"] if c["number"] == 1)["title"] == "Welkom en opening"


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


# --- the edges: hostile input, a full or read-only disk, other host names, loops of links ----------

DEEP = b"[" * 100_000 + b"]" * 100_000
HOSTILE_REQUESTS = {
    "JSON nested 100 000 deep": ("segments/s1", b'{"version": 0, "text": ' + DEEP + b"}"),
    "a chapter start of 1e308": ("chapters/2", b'{"version": 0, "start": 1e308}'),
    "a lone surrogate in a text": ("segments/s1", b'{"version": 0, "text": "Welkom \\ud800"}'),
    "a lone surrogate in a decision": ("review/session/summary", b'{"decision": "\\udfff"}'),
    "a 1 MB chapter title": ("chapters/1", json.dumps({"title": "Titel " * 200_000}).encode()),
    "a 1 MB review text": (
        "review/session/summary",
        json.dumps({"decision": "approve", "text": "Zin. " * 200_000}).encode(),
    ),
    "BEL, ESC and NUL in a chapter title": ("chapters/1", json.dumps({"title": "Bel\x07 Esc\x1b Nul\x00"}).encode()),
    "U+202E in a segment": ("segments/s1", json.dumps({"version": 0, "text": "Welkom \u202ebij"}).encode()),
    "U+2066 in a segment": ("segments/s1", json.dumps({"version": 0, "text": "Welkom \u2066bij\u2069"}).encode()),
    "U+200B in a segment": ("segments/s1", json.dumps({"version": 0, "text": "Welkom\u200bbij"}).encode()),
    "U+FEFF in a find and replace": (
        "replace",
        json.dumps({"version": 0, "find": "cooperatie", "replace": "\ufeffcoöperatie", "preview": False}).encode(),
    ),
    "U+202E in a review text": (
        "review/session/keywords",
        json.dumps({"decision": "approve", "text": "\u202ewonen"}).encode(),
    ),
    '"preview": "false"': (
        "replace",
        json.dumps({"version": 0, "find": "cooperatie", "replace": "coöperatie", "preview": "false"}).encode(),
    ),
    "a 16-digit version": ("segments/s1", b'{"version": 1000000000000000, "text": "Welkom"}'),
}


def editors_files(output: Path) -> dict[str, bytes | None]:
    """The bytes of the session's editor files (None: not there)."""
    private = workspace.session_private_dir(output, SLUG)
    names = (outputs.EDITS.name(), outputs.REVIEW.name(), outputs.SPEAKERS.name())
    return {name: (private / name).read_bytes() if (private / name).is_file() else None for name in names}


@pytest.mark.parametrize("case", list(HOSTILE_REQUESTS))
def test_hostile_input_is_a_json_400_and_changes_nothing(output: Path, case: str) -> None:
    client = workbench_client(output, headers={TOKEN_HEADER: TOKEN}, raise_server_exceptions=False)
    before = editors_files(output)
    path, body = HOSTILE_REQUESTS[case]
    refused = client.post(f"/api/sessions/{SLUG}/{path}", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400, refused.text[:300]
    message = refused.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    assert editors_files(output) == before
    assert session(client)["version"] == 0


def test_the_limits_and_the_booleans_leave_ordinary_input_alone(client: TestClient) -> None:
    title = client.post(f"/api/sessions/{SLUG}/chapters/1", json={"title": "Coo\u0308peratie " + "x" * 180})
    assert title.status_code == 200, title.text
    assert title.json()["chapters"][0]["title"].startswith("Coöperatie x")  # NFC: one character
    body = {"version": 0, "find": "cooperatie", "replace": "coöperatie", "preview": True, "whole_word": False}
    assert [m["segment"] for m in client.post(f"/api/sessions/{SLUG}/replace", json=body).json()["matches"]] == [
        "s1",
        "s4",
    ]


def test_a_request_for_another_host_name_is_refused(output: Path) -> None:
    """A page of another site whose name now points at 127.0.0.1 (DNS rebinding) sends its own name."""
    for address in ("http://rebind.example:8642", "http://127.0.0.1.nip.io:8642", "http://127.0.0.1:9999"):
        stranger = workbench_client(output, base_url=address, headers={TOKEN_HEADER: TOKEN})
        refused = stranger.post(f"/api/sessions/{SLUG}/segments/s1", json={"version": 0, "text": "Overgenomen"})
        assert refused.status_code == 421, address
        assert "luistert niet naar de naam" in refused.json()["error"]
        assert stranger.get(f"/sessions/{SLUG}/").status_code == 421
    assert editors_files(output)[outputs.EDITS.name()] is None
    for address in ("http://localhost:8642", "http://[::1]:8642"):
        assert workbench_client(output, base_url=address, headers={TOKEN_HEADER: TOKEN}).get("/api/sessions").is_success
    everywhere = {"host": "0.0.0.0", "headers": {TOKEN_HEADER: TOKEN}}
    assert workbench_client(output, base_url="http://192.168.1.20:8642", **everywhere).get("/api/sessions").is_success
    assert (
        workbench_client(output, base_url="http://rebind.example:8642", **everywhere).get("/api/sessions").status_code
        == 421
    )


def test_a_loop_of_links_in_the_site_is_not_found(client: TestClient, output: Path) -> None:
    site = workspace.session_site_dir(output, SLUG)
    (site / "lus").symlink_to("lus")
    (site / "heen").symlink_to("terug")
    (site / "terug").symlink_to("heen")
    for path in ("lus", "heen", "heen/index.html", "lus/lus/audio.m4a"):
        response = client.get(f"/sessions/{SLUG}/{path}")
        assert response.status_code == 404, path
    (workspace.site_dir(output) / "kringloop").symlink_to("kringloop")
    assert client.get("/api/sessions/kringloop").status_code == 404
    assert client.get("/sessions/kringloop/index.html").status_code == 404
    assert [s["slug"] for s in client.get("/api/sessions").json()["sessions"]] == [SLUG]


@pytest.mark.parametrize(
    ("entry", "says"), [(outputs.PACKAGE_DATA, "stored session data"), (outputs.MANIFEST, "manifest")]
)
def test_a_broken_package_or_manifest_is_one_json_line_naming_the_file(
    output: Path, entry: outputs.OutputFile, says: str
) -> None:
    broken = workspace.session_dir_for(output, SLUG, entry) / entry.name()
    broken.write_text("{half a file", encoding="utf-8")
    client = workbench_client(output, headers={TOKEN_HEADER: TOKEN}, raise_server_exceptions=False)
    failed = client.get(f"/api/sessions/{SLUG}")
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/json"
    assert failed.json()["error"].startswith(f"{broken}: ") and says in failed.json()["error"]


def test_an_unexpected_failure_is_one_json_line_and_the_traceback_goes_to_the_log(
    output: Path, caplog: pytest.LogCaptureFixture
) -> None:
    machine = workspace.session_private_dir(output, SLUG) / outputs.MACHINE_TRANSCRIPT.name()
    machine.write_text("{half a file", encoding="utf-8")
    client = workbench_client(output, headers={TOKEN_HEADER: TOKEN}, raise_server_exceptions=False)
    failed = client.get(f"/api/sessions/{SLUG}")
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/json"
    message = failed.json()["error"]
    assert message.startswith("onverwachte fout (") and "\n" not in message
    assert "frame-ancestors 'none'" in failed.headers["content-security-policy"]
    logged = [r for r in caplog.records if r.name == "livecastpipe.editor.workbench" and r.exc_info]
    assert logged and f"GET /api/sessions/{SLUG} failed" in logged[0].getMessage()


def _unshare_available() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-rm", "true"]).returncode == 0


WRITE_ON_A_BROKEN_DISK = """
import json, sys
from pathlib import Path
from starlette.testclient import TestClient
from livecastpipe.settings import Settings
from livecastpipe.editor.workbench.routes import workbench_app
from livecastpipe.editor.workbench.service import Workbench
from tests.publish_fixtures import SETTINGS
output, token, slug = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
app = workbench_app(Workbench(Settings(output_dir=output, publish=SETTINGS), token, "Redactie"))
client = TestClient(app, base_url="http://127.0.0.1", headers={"X-Livecast-Token": token}, raise_server_exceptions=False)
requests = {
    "text": ("POST", f"/api/sessions/{slug}/segments/s1", {"version": 0, "text": "Welkom op de volle schijf"}),
    "title": ("POST", f"/api/sessions/{slug}/chapters/1", {"title": "Een nieuwe titel"}),
    "name": ("PUT", f"/api/sessions/{slug}/speakers/SPEAKER_01", {"name": "Pieter van Dam"}),
    "publish": ("POST", f"/api/sessions/{slug}/publish", None),
}
for name, (method, path, body) in requests.items():
    response = client.request(method, path, json=body)
    print(json.dumps({"request": name, "status": response.status_code, "type": response.headers.get("content-type"), "body": response.text}))
"""


@pytest.mark.skipif(not _unshare_available(), reason="needs `unshare -rm` (a private mount namespace) for tmpfs")
@pytest.mark.parametrize(
    ("fault", "status", "says"),
    [("full", 507, "de schijf is vol"), ("read-only", 503, "de map kan niet worden geschreven")],
)
def test_a_full_or_read_only_disk_is_a_json_error_saying_so(
    output: Path, tmp_path: Path, fault: str, status: int, says: str
) -> None:
    """The session on a real small tmpfs in a private mount namespace, filled up or mounted read-only."""
    disk = tmp_path / "disk"
    disk.mkdir()
    copy = disk / "output"
    break_it = (
        f"mount -o remount,ro {disk}" if fault == "read-only" else f"cat /dev/zero > {disk}/vol 2>/dev/null || true"
    )
    script = [
        f"mount -t tmpfs -o size=64m tmpfs {disk}",
        f"cp -a {output} {copy}",
        break_it,
        f"cd {Path(__file__).parents[1]} && {sys.executable} -c '{WRITE_ON_A_BROKEN_DISK}' {copy} {TOKEN} {SLUG}",
        f"cd {copy} && sha256sum $(find . -name edits.json -o -name review.json -o -name speakers.yaml | sort)",
    ]
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-ec", "\n".join(script)], capture_output=True, text=True, timeout=300
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [a["request"] for a in answers] == ["text", "title", "name", "publish"], result.stdout
    for answer in answers:
        assert answer["status"] == status and answer["type"] == "application/json", answer
        error = json.loads(answer["body"])["error"]
        assert error.startswith(says) and "\n" not in error and str(copy) in error, answer
    before = subprocess.run(
        f"cd {output} && sha256sum $(find . -name edits.json -o -name review.json -o -name speakers.yaml | sort)",
        shell=True,
        capture_output=True,
        text=True,
    ).stdout
    after = result.stdout[result.stdout.index("\n", result.stdout.rindex('"request"')) + 1 :]
    assert after == before, "a refused write changed an editor's file"


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


def cues_of(client: TestClient) -> dict:
    response = client.get(f"/api/sessions/{SLUG}/cues")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_cue_moved_through_the_api_is_in_the_preview_track_and_published(client: TestClient, output: Path) -> None:
    """The editor moves the second cue's start 100 ms later: the preview track and, after publishing, the
    published captions start it there; bad input is a 400 with a JSON error, a stale version a 409."""
    listed = cues_of(client)
    assert listed["profile"] == {"max_cps": 17.0, "max_line_chars": 42, "min_gap": 0.08}
    cue = listed["cues"][1]
    moves = f"/api/sessions/{SLUG}/cues/{cue['key']}"
    for bad in ({"start": "later", "end": cue["end"]}, {"start": cue["end"], "end": cue["start"]}):
        refused = client.post(moves, json={**bad, "version": 0})
        assert refused.status_code == 400 and refused.json()["error"], refused.text
    unknown = client.post(f"/api/sessions/{SLUG}/cues/00:00:03.333", json={"start": 3, "end": 4, "version": 0})
    assert unknown.status_code == 400 and "geen regel" in unknown.json()["error"]
    start = round(cue["start"] + 0.1, 3)
    answer = client.post(moves, json={"start": start, "end": cue["end"], "version": 0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 1 and answer.json()["captions"]["cues"][1]["moved"]
    stale = client.post(moves, json={"start": start + 0.1, "end": cue["end"], "version": 0})
    assert stale.status_code == 409 and stale.json()["version"] == 1
    track = client.get(f"/api/sessions/{SLUG}/captions.vtt")
    assert track.headers["content-type"].startswith("text/vtt")
    assert key_seconds(list(webvtt.from_string(track.text))[1].start) == pytest.approx(start, abs=0.0011)
    assert client.post(f"/api/sessions/{SLUG}/publish").status_code == 200
    published = (workspace.session_site_dir(output, SLUG) / "captions.nl.vtt").read_text(encoding="utf-8")
    assert key_seconds(list(webvtt.from_string(published))[1].start) == pytest.approx(start, abs=0.0011)
    stored = read_edits(workspace.session_private_dir(output, SLUG))
    assert stored is not None and stored.cue_times == {cue["key"]: (start, cue["end"])}


def test_typing_a_long_text_warns_that_its_cues_go_too_fast_to_read(client: TestClient, output: Path) -> None:
    long_text = " ".join(["buurtcooperatievergadering"] * 4)
    found = client.post(f"/api/sessions/{SLUG}/cues/check", json={"segment": "s1", "text": long_text})
    assert found.status_code == 200, found.text
    assert any(w.startswith("te snel om te lezen") for c in found.json()["cues"] for w in c["warnings"])
    plain = client.post(f"/api/sessions/{SLUG}/cues/check", json={"segment": "s1", "text": LINES[0][2]})
    assert all(c["warnings"] == [] for c in plain.json()["cues"])
    assert client.post(f"/api/sessions/{SLUG}/cues/check", json={"segment": "s1", "text": ""}).status_code == 400
    assert read_edits(workspace.session_private_dir(output, SLUG)) is None, "a check saved something"


def test_the_level_strip_has_a_peak_per_50_ms_of_the_audio(client: TestClient) -> None:
    levels = client.get(f"/api/sessions/{SLUG}/levels").json()
    assert levels["step"] == 0.05
    assert len(levels["peaks"]) == pytest.approx(20.0 / 0.05, abs=3)  # the 20-second recording
    assert max(levels["peaks"]) > 0 and all(0 <= p <= 255 for p in levels["peaks"])
