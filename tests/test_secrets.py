"""Secrets never published: an API key in `livecast.toml` reaches the endpoint and no file, dump or log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from livecastpipe.settings import SettingsError, load_settings
from livecastpipe.stages.summaries import endpoint_config

from .chat_fixtures import completion

KEY = "sk-geplant-7f3a9c2e51d04b88"


def _config(tmp_path: Path, url: str = "http://127.0.0.1:9/v1", extra: str = "") -> Path:
    path = tmp_path / "livecast.toml"
    path.write_text(
        f'output_dir = "{tmp_path / "out"}"\n{extra}\n[summaries]\nbackend = "generative"\n'
        f'generative_url = "{url}"\ngenerative_model = "test-model"\ngenerative_api_key = "{KEY}"\n',
        encoding="utf-8",
    )
    return path


def test_the_key_is_used_but_never_shown(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path), environ={})
    assert endpoint_config(settings.summaries)[2] == KEY
    for dump in (
        repr(settings),
        str(settings),
        json.dumps(settings.model_dump(mode="json")),
        settings.model_dump_json(),
        str(settings.model_dump()),
    ):
        assert KEY not in dump
    with pytest.raises(SettingsError) as error:  # an invalid file names the problem, not the key
        load_settings(_config(tmp_path, extra="max_concurrent_sessions = 0"), environ={})
    assert KEY not in str(error.value) and "max_concurrent_sessions" in str(error.value)


@pytest.mark.slow
def test_a_planted_key_is_in_no_produced_file(
    prefect_harness, short_sample_copy: Path, tmp_path: Path, chat_server, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole flow on the sample's first seconds with the key in `livecast.toml`: the endpoint gets it, and no file of
    the site or the private workspace (cache included) holds it, nor any log line."""
    from livecastpipe.flows.pipeline import process_folder

    server = chat_server(lambda body: completion('{"samenvatting": "Kort.", "hoofdstuktitels": [], "trefwoorden": []}'))
    settings = load_settings(_config(tmp_path, server.url), environ={})
    caplog.set_level(logging.DEBUG)
    (result,) = process_folder([str(short_sample_copy)], settings)
    assert result.status == "done", result.error
    assert server.requests and server.requests[0][1]["Authorization"] == f"Bearer {KEY}"
    produced = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(produced) > 20
    leaking = [str(p) for p in produced if KEY.encode() in p.read_bytes()]
    print(f"files searched for the planted key: {len(produced)}, holding it: {len(leaking)}")
    assert leaking == []
    assert KEY not in caplog.text
    public = [p for p in produced if p.is_relative_to(tmp_path / "out" / "site")]
    naming = [
        str(p) for p in public if server.url.encode() in p.read_bytes() or str(tmp_path).encode() in p.read_bytes()
    ]
    assert public and naming == []  # nor does a public file name the endpoint or a folder of this machine
