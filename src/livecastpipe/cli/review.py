"""`livecast review`: editors approve, reject or edit a session's generated texts, or list what awaits them."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import subprocess
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from livecastpipe import workspace
from livecastpipe.cli.support import (
    ConfigOption,
    OutputOption,
    command_settings,
    console,
    err_console,
)
from livecastpipe.editor.editor_files import StaleVersion
from livecastpipe.editor.review import (
    ReviewError,
    ReviewItem,
    SessionReview,
    approve,
    approved_speaker_names,
    decide_on,
    find_reviews,
    item_version,
    read_review,
    reject,
)
from livecastpipe.models import SpeakerInfo
from livecastpipe.names import editor_speaker_names
from livecastpipe.package import outputs
from livecastpipe.timefmt import clock, minutes_and_seconds

EDIT_HEADER = (
    "# Bewerk de tekst hieronder en sla het bestand op. Regels die met # beginnen tellen niet mee.\n"
    "# Een leeg bestand breekt de bewerking af.\n"
)
CHOICES = {"a": "approve", "r": "reject", "e": "edit", "s": "skip", "q": "quit"}


def _session_folder(session: str, output_dir: Path) -> Path:
    """A session given as its private folder or as its slug."""
    private = workspace.session_private_dir(output_dir, session)
    for folder in (Path(session), private):
        if (folder / outputs.REVIEW.name()).is_file():
            return folder
    raise ReviewError(f"{session}: no review.json there or in {private} (run the pipeline first)")


def _edit_in_editor(text: str) -> str | None:
    """Open text in $EDITOR (or $VISUAL, else nano); the saved text without comment lines, None when emptied."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "nano"
    with tempfile.TemporaryDirectory(prefix="livecast-review-") as folder:
        path = Path(folder) / "tekst.txt"
        path.write_text(EDIT_HEADER + text + "\n", encoding="utf-8")
        completed = subprocess.run([*shlex.split(editor), str(path)], check=False)
        if completed.returncode != 0:
            raise ReviewError(f"editor '{editor}' exited with status {completed.returncode}; nothing changed")
        lines = path.read_text(encoding="utf-8").splitlines()
    edited = "\n".join(line for line in lines if not line.startswith("#")).strip()
    return edited or None


def _show(item: ReviewItem, position: str, names: dict[str, str], page: Path) -> None:
    """One item with its source sentences; each time links to that moment on the session's page."""
    state = item.state + (" [bold red](stale: the transcript or generated text changed since)[/]" if item.stale else "")
    console.rule(escape(f"{position} {item.label} — {item.key}"))
    console.print(f"state: {state}")
    if item.decision is not None:
        d = item.decision
        console.print(escape(f"decided by {d.reviewer} at {d.at}"))
        if d.text and d.text != item.generated_text:
            console.print(f"[bold]approved text:[/] {escape(d.text)}")
    console.print(f"[bold]generated:[/] {escape(item.generated_text or '(empty)')}")
    if item.sources:
        console.print("[bold]source sentences[/] (click a time to hear it on the session page):")
        for source in item.sources:
            who = names.get(source.speaker or "", source.speaker or "(speaker unknown)")
            moment = f"{page.resolve().as_uri()}#t={minutes_and_seconds(source.start, padded=True)}"
            console.print(
                f"  [link={moment}]\\[{clock(source.start)}–{clock(source.end)}][/link] "
                f"{escape(who)}: {escape(source.text)}"
            )


def _speaker_names(review: SessionReview) -> dict[str, str]:
    """What editors call each speaker of the review: the approved name, else the proposed one."""
    proposed = [
        SpeakerInfo(item.key.split("/")[1], item.generated_text) for item in review.items if item.kind == "speaker_name"
    ]
    return editor_speaker_names(proposed, approved_speaker_names(review, (s.id for s in proposed)))


def _review_session(folder: Path, page: Path, reviewer: str, show_all: bool) -> int:
    """Ask about each item in turn; each answer is a decision on the item as shown (`decide_on`): kept
    beside decisions the workbench made meanwhile on other items, refused when this item changed. Returns
    the number of answers refused."""
    review = read_review(folder)
    if review is None:
        raise ReviewError(f"{folder / 'review.json'}: missing")
    keys = [i.key for i in review.items if i.current and (show_all or i.awaits_review)]
    if not keys:
        console.print(f"{review.title}: nothing awaits review (use --all to see every item)")
        return 0
    refused = 0
    for number, key in enumerate(keys, 1):
        review = read_review(folder) or review
        item = review.item(key)
        shown = item_version(item)
        _show(item, f"[{number}/{len(keys)}]", _speaker_names(review), page)
        answer = typer.prompt("[a]pprove, [r]eject, [e]dit, [s]kip, [q]uit", default="s").strip().lower()[:1]
        action = CHOICES.get(answer, "skip")
        if action == "quit":
            break
        if action == "approve":
            decide = partial(approve, key=key, reviewer=reviewer)
        elif action == "reject":
            decide = partial(reject, key=key, reviewer=reviewer)
        elif action == "edit":
            current = item.decision.text if item.decision and item.decision.text else item.generated_text
            edited = _edit_in_editor(current)
            if edited is None:
                console.print("edit cancelled (empty text); item unchanged")
                continue
            decide = partial(approve, key=key, reviewer=reviewer, text=edited)
        else:
            continue
        try:
            review = decide_on(folder, key, shown, decide)
        except StaleVersion as exc:
            err_console.print(f"[red]not saved:[/] {escape(str(exc))}")
            refused += 1
            continue
        console.print(f"→ {review.item(key).state}")
    return refused


def _list_awaiting(output_dir: Path, as_json: bool = False) -> int:
    """The review state of every session: a table on stderr, or JSON on stdout; the number of unreadable files."""
    found = find_reviews(output_dir)
    if not found:
        if as_json:
            print("[]")
        err_console.print(f"no sessions with a review file under {output_dir}")
        return 0
    table = Table(title=f"review status under {output_dir}")
    table.add_column("session", no_wrap=True, min_width=max(len(folder.name) for folder, _ in found))
    for column in ("draft", "stale", "approved", "rejected"):
        table.add_column(column)
    table.add_column("awaiting review", overflow="fold")
    rows = []
    broken = 0
    for folder, review in found:
        if isinstance(review, ReviewError):
            err_console.print(f"[red]error:[/] {review}")
            broken += 1
            continue
        current = [i for i in review.items if i.current]
        count = {state: sum(1 for i in current if i.state == state) for state in ("draft", "approved", "rejected")}
        stale = sum(1 for i in current if i.stale)
        awaiting = [i.key for i in review.awaiting]
        rows.append({"session": folder.name, **count, "stale": stale, "awaiting_review": awaiting})
        table.add_row(
            folder.name,
            str(count["draft"]),
            str(stale),
            str(count["approved"]),
            str(count["rejected"]),
            ", ".join(awaiting) or "–",
        )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        err_console.print(table)
    return broken


def review_command(
    session: Annotated[
        Optional[str], typer.Argument(help="Session slug (folder under the output folder) or its folder.")
    ] = None,
    list_awaiting: Annotated[bool, typer.Option("--list", help="Show what awaits review across all sessions.")] = False,
    output: OutputOption = None,
    config: ConfigOption = None,
    reviewer: Annotated[
        Optional[str],
        typer.Option(help="Your name, recorded with each decision (default: $LIVECAST_REVIEWER or login)."),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also show items already decided.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --list: the review state as JSON on stdout.")] = False,
) -> None:
    """Review a session's summaries, chapter titles, keywords and speaker names, or list what awaits review."""
    settings = command_settings(output, config)
    if list_awaiting:
        raise typer.Exit(1 if _list_awaiting(settings.output_dir, as_json) else 0)
    if session is None:
        err_console.print("[red]error:[/] name a SESSION to review, or use --list")
        raise typer.Exit(2)
    name = reviewer or os.environ.get("LIVECAST_REVIEWER") or getpass.getuser()
    try:
        folder = _session_folder(session, settings.output_dir)
        page = workspace.session_site_dir(settings.output_dir, folder.name) / outputs.SESSION_PAGE.name()
        refused = _review_session(folder, page, name, show_all)
    except ReviewError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    if refused:
        err_console.print(f"[red]{refused} answer(s) not saved[/]: the items changed meanwhile (see above)")
        raise typer.Exit(1)
