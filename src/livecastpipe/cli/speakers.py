"""`livecast speakers SESSION`: list a session's speakers, rename them, set roles and confirm names.

Every change is an editor's confirmation: it is written to the session's `speakers.yaml` (kept by every
rerun) and the speaker's voice is enrolled in the voice library, so later sessions recognise it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from livecastpipe import workspace
from livecastpipe.cli.support import (
    ConfigOption,
    OutputOption,
    command_settings,
    err_console,
    fail,
)
from livecastpipe.editor.review import ReviewError, approve_speaker_names, change_review
from livecastpipe.models import Diarization, SpeakerInfo, from_json
from livecastpipe.package import outputs
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.store import read_manifest
from livecastpipe.stages.diarization.rttm import read_rttm
from livecastpipe.stages.speakers import (
    change_speakers_file,
    read_speakers_yaml,
    rename_speaker,
)
from livecastpipe.stages.voices import SpeakerFileError, update_voice_library
from livecastpipe.timefmt import minutes_and_seconds


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    """`ID=VALUE` option values split in two; a malformed one is a usage error."""
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise fail(f"{option} expects SPEAKER_ID=VALUE, got '{value}'", 2)
        pairs.append((key.strip(), rest.strip()))
    return pairs


def _listed_roles(folder: Path) -> dict[str, str]:
    """Name → role of the panel in the session metadata (kept in the published `session.json`)."""
    try:
        manifest = read_manifest(folder)
        return {p["name"]: p["role"] for p in manifest.recording["metadata"]["speakers"]}
    except (PublishError, KeyError, TypeError):
        return {}


def _speaking_times(folder: Path) -> dict[str, float]:
    path = folder / outputs.SPEAKER_TURNS.name()
    times: dict[str, float] = {}
    if path.is_file():
        for turn in read_rttm(path.read_text(encoding="utf-8")):
            times[turn.speaker] = times.get(turn.speaker, 0.0) + turn.end - turn.start
    return times


def _rows(speakers: dict[str, SpeakerInfo], times: dict[str, float]) -> list[dict[str, object]]:
    """One record per speaker, as `--json` prints them."""
    return [
        {
            "id": speaker_id,
            "name": info.name,
            "role": info.role,
            "speaks_s": round(times.get(speaker_id, 0.0), 2),
            "confidence": info.confidence,
            "source": info.name_source,
            "confirmed": info.confirmed,
        }
        for speaker_id, info in speakers.items()
    ]


def _table(speakers: dict[str, SpeakerInfo], times: dict[str, float], title: str) -> Table:
    table = Table(title=title)
    table.add_column("id", no_wrap=True, min_width=max((len(i) for i in speakers), default=2))  # never cut
    for column in ("name", "role", "speaks", "confidence", "source", "confirmed"):
        table.add_column(column)
    for speaker_id, info in speakers.items():
        seconds = times.get(speaker_id, 0.0)
        table.add_row(
            speaker_id,
            info.name or "–",
            info.role,
            minutes_and_seconds(seconds),
            f"{info.confidence:.2f}",
            info.name_source,
            "yes" if info.confirmed else "no",
        )
    return table


def _apply_to_review(folder: Path, speakers: dict[str, SpeakerInfo], before: dict[str, SpeakerInfo]) -> None:
    """Approve the names given now in the session's review too (under its lock: decisions made meanwhile
    stay), so the latest decision is the one shown."""
    given = {
        sid: info.name for sid, info in speakers.items() if info.confirmed and info.name and (info != before.get(sid))
    }
    try:
        change_review(folder, lambda review: review and approve_speaker_names(review, given, "livecast speakers"))
    except ReviewError as exc:
        raise fail(str(exc)) from exc


def _changed(
    speakers: dict[str, SpeakerInfo],
    renames: list[tuple[str, str]],
    roles: list[tuple[str, str]],
    confirm: list[str],
    listed_roles: dict[str, str],
) -> dict[str, SpeakerInfo]:
    """The speakers with the command's renames, roles and confirmations applied, in that order."""
    for speaker_id, name in renames:
        speakers = rename_speaker(speakers, speaker_id, name=name or None, role=listed_roles.get(name))
    for speaker_id, new_role in roles:
        speakers = rename_speaker(speakers, speaker_id, role=new_role)
    for speaker_id in confirm:
        for target in list(speakers) if speaker_id == "all" else [speaker_id]:
            speakers = rename_speaker(speakers, target)
    return speakers


def speakers_command(
    session: Annotated[str, typer.Argument(help="Session folder name in the output folder, or its path.")],
    rename: Annotated[
        Optional[list[str]],
        typer.Option(
            help="SPEAKER_ID=NAME: name a speaker (confirms it; a panel member's role comes along). Repeatable."
        ),
    ] = None,
    role: Annotated[
        Optional[list[str]],
        typer.Option(help="SPEAKER_ID=ROLE: moderator, speaker or audience (confirms it). Repeatable."),
    ] = None,
    confirm: Annotated[
        Optional[list[str]], typer.Option(help="SPEAKER_ID, or 'all': confirm the proposed name. Repeatable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The speakers as JSON on stdout (no table).")] = False,
    output: OutputOption = None,
    config: ConfigOption = None,
) -> None:
    """List a session's speakers (a table on stderr, or `--json` on stdout); with options, rename, set roles
    or confirm names and remember the voices."""
    settings = command_settings(output, config)
    folder = Path(session) if Path(session).is_dir() else workspace.session_private_dir(settings.output_dir, session)
    path = folder / outputs.SPEAKERS.name()
    if not path.is_file():
        raise fail(f"{path}: no speakers file (run `livecast run` on the recording first)")
    renames, roles = _pairs(rename or [], "--rename"), _pairs(role or [], "--role")
    changed = bool(renames or roles or confirm)
    listed_roles = _listed_roles(workspace.session_site_dir(settings.output_dir, folder.name))
    read_before: list[dict[str, SpeakerInfo]] = []

    def change(stored: dict[str, SpeakerInfo]) -> dict[str, SpeakerInfo]:
        read_before.append(stored)
        return _changed(stored, renames, roles, confirm or [], listed_roles)

    try:  # read, changed and written under the session's editor lock: a name given meanwhile is kept
        speakers = change_speakers_file(path, change) if changed else read_speakers_yaml(path)
    except SpeakerFileError as exc:
        raise fail(str(exc)) from exc
    except (KeyError, ValueError) as exc:
        raise fail(f"{path}: {exc.args[0]}", 2) from exc
    if changed:
        _apply_to_review(folder, speakers, read_before[-1])
        diarization_path = folder / outputs.DIARIZATION.name()
        if diarization_path.is_file():
            diarization = from_json(Diarization, diarization_path.read_text(encoding="utf-8"))
            try:
                update_voice_library(
                    workspace.site_file(settings.output_dir, outputs.VOICE_LIBRARY),
                    folder.name,
                    speakers,
                    diarization.centroids,
                    settings.speakers.library_threshold,
                )
            except SpeakerFileError as exc:
                raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps(_rows(speakers, _speaking_times(folder)), ensure_ascii=False, indent=2))
    else:
        err_console.print(_table(speakers, _speaking_times(folder), f"Speakers of {folder.name}"))
    if changed:
        err_console.print(
            f"Saved {path}. Run `livecast run` on the recording again to use the names in captions and chapters."
        )
