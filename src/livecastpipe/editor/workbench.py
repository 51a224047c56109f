"""The editor's workbench (`livecast edit`): a local web application in which an editor corrects a
session's transcript, speakers, chapters and generated texts, approves the captions and publishes.

Starlette with server-rendered templates (`templates/workbench/`) and a little plain JavaScript
(`static/workbench.js`). Every request needs the token printed at start (query `token`, header
`X-Livecast-Token`, or the cookie the first page sets); a state-changing request must also come from the
workbench itself (the token header, or an Origin/Referer of this host). Only the public files of a
session's site folder are served (for the player and the preview); the JSON API is in docs/editing.md.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import math
import mimetypes
import re
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from jinja2 import Environment
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from livecastpipe import workspace
from livecastpipe.editor import edits as ed
from livecastpipe.editor.editor_files import StaleVersion, editor_lock, version_of
from livecastpipe.editor.editor_text import (
    CHAPTER_TITLE,
    REVIEW_TEXT,
    SPEAKER_NAME,
    TextField,
    TextRefused,
    checked_text,
)
from livecastpipe.editor.edits import EditConflict, EditedSegment, EditError, SessionEdits
from livecastpipe.editor.review import (
    CAPTIONS_KEY,
    ReviewError,
    ReviewItem,
    SessionReview,
    approve,
    approve_speaker_names,
    captions_reviewed,
    change_review,
    chapter_title_key,
    decide_on,
    item_version,
    read_review,
    reject,
    reopen,
    session_speaker_names,
)
from livecastpipe.models import Chapter, Diarization, SpeakerInfo, Transcript, from_json, from_jsonable
from livecastpipe.package import outputs
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.escaping import plain_text
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.publish import ROLE_LABELS, jinja_environment, published_sessions, render_preview, republish
from livecastpipe.package.server import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, host_allowed
from livecastpipe.settings import Settings
from livecastpipe.stages.speakers import ROLES, change_speakers_file, read_speakers_yaml, rename_speaker
from livecastpipe.stages.voices import SpeakerFileError, VoiceLibrary, update_voice_library
from livecastpipe.storage import DISK_FULL, UNWRITABLE, error_line
from livecastpipe.timefmt import clock, clock_tenths

TOKEN_HEADER = "X-Livecast-Token"
TOKEN_QUERY = "token"
COOKIE_PREFIX = "livecast_workbench_"
"""Followed by the port: cookies are not told apart by port, two workbenches on one machine are."""
MAX_BODY_BYTES = 4 * 1024 * 1024
"""A request body larger than this is refused (413) before it is read whole."""
MAX_JSON_DEPTH = 8
"""How deep a request's JSON may nest (every request is one flat object; 100 000 deep is refused, 400)."""
MAX_JSON_INT_DIGITS = 15
"""The most digits of a whole number in a request (versions and word numbers have a few)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
LOG = logging.getLogger(__name__)
REVIEWED_KINDS = ("session_summary", "keywords", "chapter_summary")
"""The generated texts the review panel shows (chapter titles, speaker names and the captions have their
own places in the workbench)."""
FLAG_REASONS = {
    "low-confidence": "onzeker herkend",
    "not-in-dictionary": "niet in het woordenboek",
    "corrected": "automatisch verbeterd",
}
"""`Word.flags` → why the workbench highlights the word."""
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Shortcut:
    """A key of the workbench: listed in its help panel, which the page's script reads its keys from."""

    action: str
    code: str
    """`KeyboardEvent.code`: the key's place, whatever the layout or the Alt/Option key make of it."""
    keys: str
    label: str
    alt: bool = True
    shift: bool = False


SHORTCUTS = (
    Shortcut("play", "Escape", "Esc", "Afspelen of pauzeren (hervat 1,5 seconde voor het pauzepunt)", alt=False),
    Shortcut("play", "KeyK", "Alt+K", "Afspelen of pauzeren"),
    Shortcut("back", "KeyJ", "Alt+J", "5 seconden terug"),
    Shortcut("forward", "KeyL", "Alt+L", "5 seconden vooruit"),
    Shortcut("slower", "ArrowDown", "Alt+↓", "Langzamer afspelen"),
    Shortcut("faster", "ArrowUp", "Alt+↑", "Sneller afspelen"),
    Shortcut("replay", "KeyR", "Alt+R", "Het segment opnieuw afspelen"),
    Shortcut("next-flag", "KeyN", "Alt+N", "Volgende woord om na te kijken (selecteert het)"),
    Shortcut("previous-flag", "KeyN", "Alt+Shift+N", "Vorige woord om na te kijken", shift=True),
    Shortcut("split", "KeyS", "Alt+S", "Segment splitsen bij de cursor"),
    Shortcut("merge-previous", "KeyM", "Alt+M", "Samenvoegen met het vorige segment"),
    Shortcut("merge-next", "KeyM", "Alt+Shift+M", "Samenvoegen met het volgende segment", shift=True),
    Shortcut("inaudible", "KeyO", "Alt+O", "De selectie (of het hele segment) als [onverstaanbaar] markeren"),
    Shortcut("revert", "KeyB", "Alt+B", "Terug naar de tekst van de machine"),
    Shortcut("speaker", "KeyP", "Alt+P", "Spreker wijzigen, vanaf het woord bij de cursor"),
    Shortcut("undo", "KeyZ", "Alt+Z", "Laatste wijziging ongedaan maken"),
    Shortcut("redo", "KeyZ", "Alt+Shift+Z", "Ongedaan gemaakte wijziging opnieuw doen", shift=True),
    Shortcut("find", "KeyV", "Alt+V", "Zoeken en vervangen"),
    Shortcut("current", "KeyG", "Alt+G", "Terug naar het woord dat nu klinkt (en weer meescrollen)"),
    Shortcut("help", "KeyH", "Alt+H", "Deze lijst met sneltoetsen"),
)
"""Every key works while typing in a segment (Enter saves the segment, Tab goes to the next control)."""


class ApiError(Exception):
    """A request the workbench refuses: the HTTP status and one clear line, plus fields for the JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class PublishBusy(ApiError):
    """Another run, or another publish, is working in the output folder."""

    def __init__(self, message: str) -> None:
        super().__init__(409, message)


def cookie_name(port: int | None) -> str:
    """The token cookie's name for a workbench on this port."""
    return f"{COOKIE_PREFIX}{port or 80}"


def other_run_alive(output_dir: Path) -> bool:
    """Whether a run or publish in another process holds the output folder's run lock now."""
    lock = workspace.private_dir(output_dir) / workspace.LOCK_FILE
    if not lock.is_file():
        return False
    with open(lock, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def site_file(output_dir: Path, slug: str, relative: str) -> Path | None:
    """The public file of a session a URL path names, or None when the path leaves the session's site
    folder (dot names, `..`, links out of it), runs into a loop of links or names no file."""
    parts = relative.split("/")
    if any(not p or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    try:
        root = workspace.session_site_dir(output_dir, slug).resolve()
        target = root.joinpath(*parts).resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links (RuntimeError before Python 3.13)
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def template_environment() -> Environment:
    """Jinja2 over the workbench's templates; everything autoescaped."""
    env = jinja_environment("templates/workbench")
    env.filters["clock"] = clock
    env.filters["words_html"] = words_html
    env.filters["clock_tenths"] = clock_tenths
    env.globals["machine_text"] = machine_text
    return env


def words_html(segment: EditedSegment) -> Markup:
    """A segment's words for its editable text: each a span with its times, the ones to check marked with
    why (none once the editor saved the segment). Built here, not in the template: a two-hour session has
    some 15 000 words, and the page must open quickly."""
    parts = []
    for word in segment.words:
        reasons = "" if segment.checked else flag_reasons(word.flags)
        times = f'data-start="{word.start}" data-end="{word.end}"'
        text = escape(plain_text(word.text))
        if reasons:
            parts.append(f'<mark class="w flag" {times} title="Nakijken: {escape(reasons)}">{text}</mark>')
        else:
            parts.append(f'<span class="w" {times}>{text}</span>')
    return Markup(" ".join(parts))


def flag_reasons(flags: Iterable[str]) -> str:
    """Why a word is highlighted for checking, in Dutch; "" for a word to leave alone (an edited one)."""
    if "edited" in flags:
        return ""
    return ", ".join(FLAG_REASONS[f] for f in flags if f in FLAG_REASONS)


# --- the session's data as the workbench shows it -------------------------------------------------


@dataclass(frozen=True)
class SpeakerView:
    """A speaker as the workbench shows it: its label, the name given (if any), the proposal and role."""

    id: str
    label: str
    name: str | None
    proposed: str | None
    proposed_source: str
    role: str
    added: bool
    version: str
    """The version of the speaker's entry (`editor_files.version_of`) a change of name or role is based on."""


@dataclass(frozen=True)
class ChapterView:
    """A chapter: its title (approved, else generated), start, and the state of its title's review."""

    number: int
    start: float
    end: float
    title: str
    state: str
    key: str | None
    title_version: str | None = None
    """The version of its title's review item, which a change of the title is based on."""


@dataclass(frozen=True)
class SessionView:
    """Everything the workbench page and the session JSON show of one session."""

    slug: str
    title: str
    edits: SessionEdits
    machine: Transcript
    speakers: tuple[SpeakerView, ...]
    chapters: tuple[ChapterView, ...]
    review: SessionReview | None
    media: dict[str, Any]
    language: str

    @property
    def captions_reviewed(self) -> bool:
        return captions_reviewed(self.review)

    @property
    def review_items(self) -> list[ReviewItem]:
        return [i for i in (self.review.items if self.review else ()) if i.current and i.kind in REVIEWED_KINDS]

    @property
    def flagged(self) -> int:
        return len(ed.flagged_words(self.edits))


def machine_texts(machine: Transcript) -> ed.HeardWords:
    """The machine's words, indexed by time for `machine_text`."""
    return ed.heard_words(machine)


def machine_text(segment: EditedSegment, texts: ed.HeardWords) -> str:
    """The machine's text of an edited segment's time (by time, so after a rerun it is the rerun's words
    there, what taking the machine's text back gives)."""
    return " ".join(w.text.strip() for w in texts.claimed(segment)).strip()


def segment_json(segment: EditedSegment, texts: ed.HeardWords) -> dict[str, Any]:
    """One segment for the API: ids, times, speaker, text, words (with their flags) and edit state."""
    return {
        "id": segment.id,
        "start": segment.start,
        "end": segment.end,
        "speaker": segment.speaker,
        "text": segment.text,
        "words": [
            {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability, "flags": list(w.flags)}
            for w in segment.words
        ],
        "edited": segment.edited,
        "stale": segment.stale,
        "inaudible": segment.inaudible,
        "machine_text": machine_text(segment, texts),
    }


def review_item_json(item: ReviewItem) -> dict[str, Any]:
    """A review item for the API: what was generated, the decision, and the sentences it came from."""
    return {
        "key": item.key,
        "kind": item.kind,
        "label": item.label,
        "generated_text": item.generated_text,
        "state": item.state,
        "stale": item.stale,
        "text": item.decision.text if item.decision and item.decision.text else item.generated_text,
        "decided_by": item.decision.reviewer if item.decision else None,
        "version": item_version(item),
        "sources": [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text} for s in item.sources],
    }


# --- the workbench --------------------------------------------------------------------------------


class Workbench:
    """One output folder's sessions, and every action of the workbench on them (what the routes call)."""

    def __init__(self, settings: Settings, token: str, editor: str) -> None:
        self.settings = settings
        self.output_dir = settings.output_dir
        self.token = token
        self.editor = editor
        self.templates = template_environment()
        self._publish_lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[Any, Any]] = {}

    # reading ----------------------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """The published sessions of the output folder: slug, title, date, and whether anything was edited."""
        found = []
        for folder in published_sessions(self.output_dir):
            try:
                manifest = json.loads((folder / outputs.MANIFEST.name()).read_text(encoding="utf-8"))
                entry = manifest.get("catalogue", {})
            except (OSError, ValueError):
                entry = {}
            private = workspace.session_private_dir(self.output_dir, folder.name)
            found.append(
                {
                    "slug": folder.name,
                    "title": entry.get("title") or folder.name,
                    "date": entry.get("date"),
                    "duration": entry.get("duration"),
                    "edited": (private / outputs.EDITS.name()).is_file(),
                    "captions_reviewed": bool(manifest.get("captions", {}).get("reviewed")) if entry else False,
                }
            )
        return found

    def require_session(self, slug: str) -> None:
        """ApiError 404 unless `slug` is a published session of this output folder."""
        if (
            "/" in slug
            or slug.startswith(".")
            or not (workspace.session_site_dir(self.output_dir, slug) / outputs.MANIFEST.name()).is_file()
        ):
            raise ApiError(
                404, f"sessie '{slug}' is niet gepubliceerd in {self.output_dir}: kies een sessie uit de lijst"
            )

    def private_dir(self, slug: str) -> Path:
        return workspace.session_private_dir(self.output_dir, slug)

    def _cached(self, kind: str, slug: str, paths: Iterable[Path], load: Callable[[], Any]) -> Any:
        """`load()`, reused while the files it reads are unchanged (the machine transcript of a two-hour
        session takes a while to parse)."""
        stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in paths)
        hit = self._cache.get((kind, slug))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = load()
        self._cache[(kind, slug)] = (stamp, value)
        return value

    def machine(self, slug: str) -> Transcript:
        """The pipeline's transcript of the session (what edits are made from and reverted to)."""
        paths = (
            workspace.session_dir_for(self.output_dir, slug, outputs.MACHINE_TRANSCRIPT)
            / outputs.MACHINE_TRANSCRIPT.name(),
            workspace.session_dir_for(self.output_dir, slug, outputs.TRANSCRIPT_JSON) / outputs.TRANSCRIPT_JSON.name(),
        )
        transcript: Transcript = self._cached(
            "machine", slug, paths, lambda: ed.machine_transcript(self.output_dir, slug)
        )
        return transcript

    def package_data(self, slug: str) -> dict[str, Any]:
        """The stored stage data of the session (speakers, chapters, recording) without the transcript."""
        path = workspace.session_dir_for(self.output_dir, slug, outputs.PACKAGE_DATA) / outputs.PACKAGE_DATA.name()

        def load() -> dict[str, Any]:
            try:
                data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:  # a package published before package.json was kept
                return {}
            return data

        data: dict[str, Any] = self._cached("package", slug, (path,), load)
        return data

    def current_edits(self, slug: str) -> SessionEdits:
        """The session's edits brought up to the machine transcript (as `edits.current_edits`, with the
        machine transcript parsed once), or version 0 when nobody edited it yet."""
        machine = self.machine(slug)
        try:
            stored = ed.read_edits(self.private_dir(slug))
        except EditError as exc:
            raise ApiError(500, f"de correcties van sessie '{slug}' kunnen niet worden gelezen ({exc})") from exc
        return ed.start_edits(slug, machine) if stored is None else ed.reconcile(stored, machine)

    def read_review(self, slug: str) -> SessionReview | None:
        try:
            return read_review(self.private_dir(slug))
        except ReviewError as exc:
            raise ApiError(500, str(exc)) from exc

    def speaker_infos(self, slug: str) -> dict[str, SpeakerInfo]:
        """The session's speakers as the speakers stage proposed them, with the editor's `speakers.yaml` on top."""
        stored = [from_jsonable(SpeakerInfo, s) for s in self.package_data(slug).get("speakers", [])]
        try:
            edited = read_speakers_yaml(self.private_dir(slug) / outputs.SPEAKERS.name())
        except SpeakerFileError as exc:
            raise ApiError(500, str(exc)) from exc
        return {**{s.id: s for s in stored}, **edited}

    def view(self, slug: str, edits: SessionEdits | None = None) -> SessionView:
        """Everything shown of a session: edits (the stored ones unless given), speakers, chapters, review, media."""
        self.require_session(slug)
        data = self.package_data(slug)
        machine = self.machine(slug)
        edits = edits if edits is not None else self.current_edits(slug)
        review = self.read_review(slug)
        infos = self.speaker_infos(slug)
        ids = edits.speakers
        names = session_speaker_names(review, infos.values(), ids)
        speakers = tuple(
            SpeakerView(
                id=sid,
                label=names.public[sid],
                name=names.given.get(sid),
                proposed=infos[sid].name if sid in infos and not infos[sid].confirmed and infos[sid].name else None,
                proposed_source=infos[sid].name_source if sid in infos else "none",
                role=infos[sid].role if sid in infos else "speaker",
                added=sid in edits.added_speakers,
                version=version_of(infos.get(sid, SpeakerInfo(sid))),
            )
            for sid in ids
        )
        recording = data.get("recording", {})
        manifest = json.loads(
            (workspace.session_site_dir(self.output_dir, slug) / outputs.MANIFEST.name()).read_text(encoding="utf-8")
        )
        return SessionView(
            slug=slug,
            title=recording.get("metadata", {}).get("title") or manifest.get("catalogue", {}).get("title") or slug,
            edits=edits,
            machine=machine,
            speakers=speakers,
            chapters=self._chapters(slug, edits, review),
            review=review,
            media=manifest.get("media", {}),
            language=machine.language or outputs.DEFAULT_LANGUAGE,
        )

    def known_names(self, slug: str, view: SessionView) -> list[str]:
        """Names to propose for a speaker: the panel of the session's metadata, the voices an editor named
        in the voice library, and the speakers stage's proposals."""
        metadata = self.package_data(slug).get("recording", {}).get("metadata", {})
        panel = [p.get("name", "") for p in metadata.get("speakers", [])]
        try:
            library = VoiceLibrary.load(workspace.site_file(self.output_dir, outputs.VOICE_LIBRARY))
            voices = [v.name for v in library.voices if v.name and v.confirmed]
        except SpeakerFileError:
            voices = []
        return sorted({n for n in [*panel, *voices, *(s.proposed for s in view.speakers)] if n})

    def chapters(self, slug: str) -> list[Chapter]:
        """The session's chapters as the chapters stage made them."""
        return [from_jsonable(Chapter, c) for c in self.package_data(slug).get("chapters", [])]

    def _chapters(self, slug: str, edits: SessionEdits, review: SessionReview | None) -> tuple[ChapterView, ...]:
        chapters = self.chapters(slug)
        views = []
        for number, chapter in enumerate(chapters, start=1):
            key = chapter_title_key(number)
            item = next((i for i in (review.items if review else ()) if i.key == key and i.current), None)
            title = item.decision.text if item and item.decision and item.decision.text else chapter.title
            views.append(
                ChapterView(
                    number=number,
                    start=edits.chapter_starts.get(str(number), chapter.start),
                    end=chapter.end,
                    title=title,
                    state=item.state if item else "none",
                    key=key if item else None,
                    title_version=item_version(item) if item else None,
                )
            )
        return tuple(views)

    def session_json(self, slug: str) -> dict[str, Any]:
        """GET /api/sessions/{slug}: the whole session as the workbench edits it."""
        view = self.view(slug)
        texts = machine_texts(view.machine)
        return {
            "slug": slug,
            "title": view.title,
            "version": view.edits.version,
            "language": view.language,
            "segments": [segment_json(s, texts) for s in view.edits.segments],
            "speakers": [speaker_json(s) for s in view.speakers],
            "chapters": [chapter_json(c) for c in view.chapters],
            "review": [review_item_json(i) for i in view.review_items],
            "captions_reviewed": view.captions_reviewed,
            "stale": [s.id for s in view.edits.stale],
            "flagged": [{"segment": sid, "word": index} for sid, index in ed.flagged_words(view.edits)],
            "history": [
                {"version": c.version, "editor": c.editor, "at": c.at, "action": c.action} for c in view.edits.history
            ],
        }

    def render_page(self, slug: str) -> str:
        """The workbench page of a session."""
        view = self.view(slug)
        captions = outputs.CAPTIONS_VTT.name(view.language)
        return self.templates.get_template("session.html.j2").render(
            view=view,
            known_names=self.known_names(slug, view),
            captions=captions if site_file(self.output_dir, slug, captions) else None,
            texts=machine_texts(view.machine),
            roles=[(r, ROLE_LABELS.get(r, r)) for r in ROLES],
            token=self.token,
            editor=self.editor,
            captions_key=CAPTIONS_KEY,
            shortcuts=SHORTCUTS,
            item_version=item_version,
        )

    def render_sessions(self) -> str:
        return self.templates.get_template("index.html.j2").render(sessions=self.sessions(), token=self.token)

    def segment_html(self, view: SessionView, segment: EditedSegment, texts: ed.HeardWords) -> str:
        """One segment of the page, as the template renders it (the client swaps it in after a change)."""
        macro = self.templates.get_template("_segment.html.j2").module.segment_item  # type: ignore[attr-defined]
        return str(macro(segment, view.speakers, texts))

    # changing the edits ---------------------------------------------------------------------------

    def change(
        self,
        slug: str,
        operation: Callable[[SessionEdits], SessionEdits],
        base_version: Any,
        segment_id: str | None = None,
        with_html: bool = False,
    ) -> dict[str, Any]:
        """Apply one edit operation to the stored edits (under their lock); what changed, for the client.

        A change based on another version than the stored one is refused (409, with the latest text of
        the segment); an unknown segment is 404; bad input 400. Nothing is written unless it succeeds.
        """
        self.require_session(slug)
        version = _version(base_version)
        machine = self.machine(slug)
        before: list[SessionEdits] = []

        def checked(current: SessionEdits) -> SessionEdits:
            before.append(current)
            if version != current.version:
                raise EditConflict(
                    f"nu versie {current.version}; uw wijziging ging uit van versie {version}",
                    current,
                )
            if segment_id is not None and all(s.id != segment_id for s in current.segments):
                raise ApiError(
                    404, f"segment '{segment_id}' bestaat niet (meer) in sessie '{slug}': laad de pagina opnieuw"
                )
            return operation(current)

        try:
            after = ed.update_edits(self.private_dir(slug), checked)
        except EditConflict as exc:
            latest = exc.current
            texts = machine_texts(machine)
            found = next((s for s in latest.segments if s.id == segment_id), None)
            segment = segment_json(found, texts) if found else None
            if segment is not None and found is not None and with_html:
                segment["html"] = self.segment_html(self.view(slug, latest), found, texts)
            raise ApiError(409, str(exc), version=latest.version, segment=segment) from exc
        except EditError as exc:
            raise ApiError(400, str(exc)) from exc
        return self.changes(slug, before[-1], after, with_html)

    def changes(self, slug: str, before: SessionEdits, after: SessionEdits, with_html: bool) -> dict[str, Any]:
        """What a change did: the new version, the segments changed or made, those removed, the new order."""
        view = self.view(slug, after)
        texts = machine_texts(view.machine)
        old = {s.id: s for s in before.segments}
        order = [s.id for s in after.segments]
        kept = set(order)
        changed = [s for s in after.segments if old.get(s.id) != s]
        segments = []
        for segment in changed:
            entry = segment_json(segment, texts)
            if with_html:
                entry["html"] = self.segment_html(view, segment, texts)
            segments.append(entry)
        result: dict[str, Any] = {
            "version": after.version,
            "segments": segments,
            "removed": [sid for sid in old if sid not in kept],
            "speakers": [speaker_json(s) for s in view.speakers],
            "chapters": [chapter_json(c) for c in view.chapters],
            "flagged": view.flagged,
            "stale": len(after.stale),
            "redo": bool(after.redo),
        }
        if result["removed"] or any(s.id not in old for s in changed):
            result["order"] = order
        return result

    def replace_preview(
        self, slug: str, find: str, replacement: str, whole_word: bool, case_sensitive: bool
    ) -> dict[str, Any]:
        """What find and replace would change, changing nothing: each segment's text before and after."""
        self.require_session(slug)
        current = self.current_edits(slug)
        try:
            found = ed.replace_preview(current, find, replacement, whole_word=whole_word, case_sensitive=case_sensitive)
        except EditError as exc:
            raise ApiError(400, str(exc)) from exc
        starts = {s.id: s.start for s in current.segments}
        return {
            "version": current.version,
            "matches": [
                {"segment": sid, "start": starts.get(sid, 0.0), "before": before, "after": after}
                for sid, before, after in found
            ],
        }

    # speakers, chapters, review --------------------------------------------------------------------

    def set_speaker_details(
        self, slug: str, speaker_id: str, name: str | None, role: str | None, based_on: str | None
    ) -> dict[str, Any]:
        """Name a speaker and/or set their role: `speakers.yaml` (confirmed), the review's name item, and
        the voice library (so later sessions recognise the voice), as `livecast speakers` does; under the
        session's editor lock, refused (409) when the speaker changed since `based_on` (its version)."""
        view = self.view(slug)
        if speaker_id not in {s.id for s in view.speakers}:
            raise ApiError(404, f"spreker '{speaker_id}' komt niet voor in sessie '{slug}'")
        if role is not None and role not in ROLES:
            raise ApiError(400, f"rol '{role}' bestaat niet: kies uit {', '.join(ROLES)}")
        folder = self.private_dir(slug)
        proposed = [from_jsonable(SpeakerInfo, s) for s in self.package_data(slug).get("speakers", [])]

        def change(stored: dict[str, SpeakerInfo]) -> dict[str, SpeakerInfo]:
            speakers = {**{s.id: s for s in proposed}, **stored}
            current = version_of(speakers.get(speaker_id, SpeakerInfo(speaker_id)))
            if based_on is not None and current != based_on:
                raise StaleVersion(
                    f"spreker '{speaker_id}' is intussen gewijzigd (nu versie {current}; uw wijziging ging uit van "
                    f"versie {based_on}): laad de pagina opnieuw om de nieuwste naam en rol te zien",
                    current,
                )
            speakers.setdefault(speaker_id, SpeakerInfo(speaker_id))
            try:
                return rename_speaker(speakers, speaker_id, name=name or None, role=role)
            except ValueError as exc:
                raise ApiError(400, str(exc)) from exc

        path = folder / outputs.SPEAKERS.name()
        with editor_lock(path):  # the name and its approval in the review in one step
            try:
                speakers = change_speakers_file(path, change)
            except SpeakerFileError as exc:
                raise ApiError(500, str(exc)) from exc
            except StaleVersion as exc:
                raise ApiError(
                    409,
                    str(exc),
                    version=exc.current_version,
                    speakers=[speaker_json(s) for s in self.view(slug).speakers],
                ) from exc
            given = {speaker_id: speakers[speaker_id].name or name} if name else {}
            try:
                change_review(folder, lambda review: review and approve_speaker_names(review, given, self.editor))
            except ReviewError as exc:
                raise ApiError(500, str(exc)) from exc
        diarization = folder / outputs.DIARIZATION.name()
        if diarization.is_file():
            centroids = from_json(Diarization, diarization.read_text(encoding="utf-8")).centroids
            try:
                update_voice_library(
                    workspace.site_file(self.output_dir, outputs.VOICE_LIBRARY),
                    slug,
                    speakers,
                    centroids,
                    self.settings.speakers.library_threshold,
                )
            except SpeakerFileError as exc:
                raise ApiError(500, str(exc)) from exc
        return {"speakers": [speaker_json(s) for s in self.view(slug).speakers]}

    def decide(self, slug: str, key: str, decision: str, text: str | None, based_on: str | None) -> dict[str, Any]:
        """Approve (with the editor's text, if given), reject or reopen a review item, under the session's
        editor lock; refused (409, with the item as it is now) when it changed since `based_on` (its version)."""
        self.require_session(slug)
        if decision == "approve":
            decide = partial(approve, key=key, reviewer=self.editor, text=text)
        elif decision == "reject":
            decide = partial(reject, key=key, reviewer=self.editor)
        elif decision == "reopen":
            decide = partial(reopen, key=key)
        else:
            raise ApiError(400, f"beslissing '{decision}' bestaat niet: kies approve, reject of reopen")
        if self.read_review(slug) is None:
            raise ApiError(
                404, f"sessie '{slug}' heeft nog niets om na te kijken: verwerk eerst de opname (livecast run)"
            )
        try:
            review = decide_on(self.private_dir(slug), key, based_on, decide)
        except StaleVersion as exc:
            latest = self.read_review(slug)
            item = review_item_json(latest.item(key)) if latest is not None else None
            raise ApiError(
                409,
                f"'{key}' is intussen gewijzigd (nu versie {exc.current_version}; uw beslissing ging uit van versie "
                f"{based_on}): bekijk de tekst opnieuw en beslis dan",
                version=exc.current_version,
                item=item,
            ) from exc
        except ReviewError as exc:
            unknown = all(i.key != key for i in (self.read_review(slug) or SessionReview(slug, "", ())).items)
            raise ApiError(404 if unknown else 400, str(exc)) from exc
        return {"item": review_item_json(review.item(key)), "captions_reviewed": captions_reviewed(review)}

    # publishing -----------------------------------------------------------------------------------

    def publish(self, slug: str) -> dict[str, Any]:
        """Re-render the session from the edited data (no model), then the catalogue, under the run lock;
        PublishBusy when another run or publish is working in the output folder."""
        self.require_session(slug)
        if not self._publish_lock.acquire(blocking=False):
            raise PublishBusy("deze werkbank is al aan het publiceren: wacht tot dat klaar is")
        try:
            if other_run_alive(self.output_dir):
                raise PublishBusy(
                    f"een andere livecast-verwerking of -publicatie is bezig in {self.output_dir}: publiceer opnieuw als die klaar is"
                )
            publish = self.settings.publish
            unreviewed = self.settings.review.publish_unreviewed
            with workspace.run_lock(self.output_dir, self.settings.resolved_cache_dir):
                try:
                    folder = republish(self.output_dir, slug, publish, unreviewed)
                    publish_catalogue(self.output_dir, publish)
                except PublishError as exc:
                    raise ApiError(500, error_line(exc)) from exc
        finally:
            self._publish_lock.release()
        manifest = json.loads((folder / outputs.MANIFEST.name()).read_text(encoding="utf-8"))
        return {
            "published": slug,
            "at": manifest.get("published"),
            "captions_reviewed": bool(manifest.get("captions", {}).get("reviewed")),
            "page": f"/sessions/{slug}/{outputs.SESSION_PAGE.name()}",
        }

    def preview(self, slug: str) -> str:
        """The session page exactly as publishing would make it from the current edits; its links are
        relative (no `base_url`), so the player plays the published media this server serves beside it."""
        self.require_session(slug)
        local = self.settings.publish.model_copy(update={"base_url": None})
        try:
            return render_preview(self.output_dir, slug, local, self.settings.review.publish_unreviewed)
        except PublishError as exc:
            raise ApiError(500, error_line(exc)) from exc


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(
            400,
            "'version' (de versie waarop de wijziging is gebaseerd, een geheel getal) ontbreekt: laad de pagina opnieuw",
        )
    return value


def speaker_json(speaker: SpeakerView) -> dict[str, Any]:
    return {
        "id": speaker.id,
        "label": speaker.label,
        "name": speaker.name,
        "proposed": speaker.proposed,
        "proposed_source": speaker.proposed_source,
        "role": speaker.role,
        "added": speaker.added,
        "version": speaker.version,
    }


def chapter_json(chapter: ChapterView) -> dict[str, Any]:
    return {
        "number": chapter.number,
        "start": chapter.start,
        "end": chapter.end,
        "title": chapter.title,
        "state": chapter.state,
        "title_version": chapter.title_version,
    }


# --- HTTP -----------------------------------------------------------------------------------------


def _error(status: int, message: str, api: bool, **extra: Any) -> Response:
    if api:
        return JSONResponse({"error": message, **extra}, status_code=status)
    page = (
        f"<!doctype html><html lang=nl><meta charset=utf-8><title>livecast edit</title><p>{_html_escape(message)}</p>"
    )
    return HTMLResponse(page, status_code=status)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from the workbench itself: it carries the token header
    (which a page of another site cannot send without a preflight this server never answers), or its
    Origin (else Referer) is this server's."""
    if request.headers.get(TOKEN_HEADER):
        return True
    if request.headers.get("sec-fetch-site") not in (None, "same-origin"):
        return False
    origin = request.headers.get("origin")
    origin = origin if origin and origin != "null" else _origin(request.headers.get("referer"))
    return origin is not None and origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


class Guard:
    """ASGI middleware: the Host header, the token on every request, the same-origin check on
    state-changing ones, the body size limit, the security headers on every response, and a one-line
    500 (the traceback only in the server's log) for whatever else goes wrong."""

    def __init__(self, app: Any, token: str, host: str, port: int | None) -> None:
        self.app = app
        self.token = token
        self.host = host
        """The address the workbench listens on, and its port (None: any; what `host_allowed` accepts)."""
        self.port = port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        api = request.url.path.startswith("/api/")
        response = self.refusal(request, api)
        if response is None and request.query_params.get(TOKEN_QUERY) and not api and request.method == "GET":
            if "text/html" in request.headers.get("accept", ""):
                # The page again without the token in its address (history, screenshots); the cookie holds it.
                query = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_QUERY]
                target = request.url.path + ("?" + urllib.parse.urlencode(query) if query else "")
                response = RedirectResponse(target, status_code=303)
                self.set_cookie(response, request)
        if response is not None:
            await self.secured(response)(scope, receive, send)
            return

        started = False

        async def send_secured(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _HEADER_NAMES]
                message["headers"] = headers + [(k.encode(), v.encode()) for k, v in SECURED.items()]
            await send(message)

        try:
            await self.app(scope, receive, send_secured)
        except Exception as exc:
            LOG.exception("%s %s failed", request.method, request.url.path)
            if started:
                raise
            said = " ".join(str(exc).split())[:300].encode("utf-8", "replace").decode("utf-8")
            line = f"onverwachte fout ({type(exc).__name__}): {said}"
            await self.secured(_error(500, line, api))(scope, receive, send)

    def refusal(self, request: Request, api: bool) -> Response | None:
        """The response refusing this request, or None when it may go on."""
        if not host_allowed(request.headers.get("host"), self.host, self.port):
            return _error(
                421,
                f"deze werkbank luistert niet naar de naam '{request.headers.get('host', '')[:100]}': "
                "open het adres dat `livecast edit` toonde",
                api,
            )
        given = (
            request.headers.get(TOKEN_HEADER)
            or request.query_params.get(TOKEN_QUERY)
            or request.cookies.get(cookie_name(request.url.port))
        )
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            return _error(
                403,
                "deze werkbank vraagt om zijn token: open het adres dat `livecast edit` toonde "
                f"(…?token=…), of stuur de header {TOKEN_HEADER}",
                api,
            )
        if request.method in UNSAFE_METHODS and not same_origin(request):
            return _error(
                403, "geweigerd: een wijziging moet van de eigen pagina's van de werkbank komen (same origin)", api
            )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(413, f"de aanvraag is groter dan {MAX_BODY_BYTES // (1024 * 1024)} MiB", api)
        return None

    def set_cookie(self, response: Response, request: Request) -> None:
        response.set_cookie(
            cookie_name(request.url.port), self.token, httponly=True, samesite="strict", path="/", secure=False
        )

    def secured(self, response: Response) -> Response:
        for name, value in SECURED.items():
            response.headers[name] = value
        return response


SECURED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(frame_ancestors="'none'"),
    **SECURITY_HEADERS,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""The headers of every response: the pages' policy, framed by nobody, nothing kept in a cache (a page
holds the token)."""
_HEADER_NAMES = {name.lower().encode() for name in SECURED}


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (see `request_json`); ApiError 400 for anything else, 413 for a body over
    the limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"de aanvraag is groter dan {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    return request_json(body)


def _refuse_constant(name: str) -> NoReturn:
    raise ApiError(400, f"de aanvraag bevat {name}: geef een gewoon getal")


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent; ApiError 400 when it is too large for a float (1e400)."""
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, f"het getal {text[:40]} is te groot")
    return value


def _bounded(text: str) -> int:
    """A JSON whole number; ApiError 400 beyond MAX_JSON_INT_DIGITS digits (no version or word count is)."""
    if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise ApiError(400, f"een getal van {len(text.lstrip('-'))} cijfers is te groot")
    return int(text)


def request_json(body: bytes) -> dict[str, Any]:
    """A request body as the JSON object it must be: UTF-8, nested at most MAX_JSON_DEPTH deep, every number
    finite (no NaN, Infinity or 1e400), no lone surrogate (`"\\ud800"`) in a string or a name; ApiError 400
    otherwise. An empty body is an empty object."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_bounded)
    except RecursionError as exc:
        raise ApiError(400, f"de aanvraag is te diep genest (hooguit {MAX_JSON_DEPTH} niveaus)") from exc
    except ValueError as exc:
        raise ApiError(400, f"de aanvraag is geen JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "de aanvraag moet een JSON-object zijn")
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiError(400, f"de aanvraag is te diep genest (hooguit {MAX_JSON_DEPTH} niveaus)")
        if isinstance(value, dict):
            pending.extend((k, depth) for k in value)
            pending.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            pending.extend((v, depth + 1) for v in value)
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise ApiError(400, "de aanvraag bevat een losse surrogaat (\\ud800–\\udfff): dat is geen tekst")
    return data


def _text(data: Mapping[str, Any], key: str) -> str:
    """The text field `key` of a request; ApiError 400 when it is missing or not text."""
    value = data.get(key)
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' moet tekst zijn")
    return value


def _item_version(data: Mapping[str, Any], field: str = "version") -> str | None:
    """The version of a review item or speaker a change was based on (as the session JSON gives it, in
    `field`), or None when the request names none (the change then applies to the item as it is)."""
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"'{field}' moet de versie zijn die de sessie gaf (een tekst)")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    """The text field `key` of a request, or None when it is not given."""
    return None if data.get(key) is None else _text(data, key)


def _editor_text(data: Mapping[str, Any], key: str, field: TextField, what: str, when_empty: str) -> str | None:
    """The text field `key` as `editor_text.checked_text` keeps it, or None when not given; ApiError 400
    when it is refused (nothing is changed before every field of a request is checked)."""
    value = _optional_text(data, key)
    if value is None:
        return None
    try:
        return checked_text(value, field, what, when_empty)
    except TextRefused as exc:
        raise ApiError(400, str(exc)) from exc


def _flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    """The yes/no field `key` of a request; ApiError 400 unless it is JSON's true or false (`"false"` is text)."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"'{key}' moet true of false zijn (zonder aanhalingstekens)")
    return value


def _whole(data: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(400, f"'{key}' moet een geheel getal van 0 of meer zijn")
    return value


def storage_refusal(exc: OSError) -> ApiError:
    """A file system error as the workbench answers it, in one Dutch line naming the file: 507 for a full
    disk, 503 for a folder that cannot be written (read-only, permissions), else 500."""
    where = exc.filename or "een bestand van de sessie"
    if exc.errno in DISK_FULL:
        return ApiError(
            507, f"de schijf is vol: {where} kan niet worden geschreven; maak ruimte vrij en probeer opnieuw"
        )
    if exc.errno in UNWRITABLE:
        return ApiError(
            503,
            f"de map kan niet worden geschreven: {where} ({exc.strerror}); controleer de rechten van de map "
            "en of de schijf niet alleen-lezen is gekoppeld, en probeer opnieuw",
        )
    return ApiError(500, error_line(exc))


Handler = Callable[[Request], Awaitable[Response]]


def _api(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
    """A JSON endpoint: its result as JSON, an ApiError as {"error", …} with its status, a file system
    error as `storage_refusal` says."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except OSError as exc:
            refusal = storage_refusal(exc)
            return JSONResponse({"error": str(refusal)}, status_code=refusal.status)
        except ApiError as exc:
            return JSONResponse({"error": str(exc), **exc.extra}, status_code=exc.status)
        return JSONResponse(result)

    return endpoint


def _page(handler: Callable[[Request], Awaitable[Response]]) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except OSError as exc:
            refusal = storage_refusal(exc)
            return _error(refusal.status, str(refusal), api=False)
        except ApiError as exc:
            return _error(exc.status, str(exc), api=False)

    return endpoint


def workbench_app(workbench: Workbench, host: str = "127.0.0.1", port: int | None = None) -> Starlette:
    """The Starlette application of a workbench, served with uvicorn on `host` at `port` (None: whatever
    port; both for the Host header check, `host_allowed`)."""
    bench = workbench

    async def sessions_page(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(bench.render_sessions))

    async def session_page(request: Request) -> Response:
        html = await run_in_threadpool(bench.render_page, request.path_params["slug"])
        return HTMLResponse(html)

    async def session_redirect(request: Request) -> Response:
        return RedirectResponse(f"/sessions/{urllib.parse.quote(request.path_params['slug'])}/", status_code=307)

    async def preview_page(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(bench.preview, request.path_params["slug"]))

    async def session_file(request: Request) -> Response:
        slug = request.path_params["slug"]
        await run_in_threadpool(bench.require_session, slug)
        path = site_file(bench.output_dir, slug, request.path_params["path"])
        if path is None:
            raise ApiError(404, f"{request.url.path}: geen bestand van deze sessie")
        relative = path.relative_to(workspace.session_site_dir(bench.output_dir, slug).resolve()).as_posix()
        media_type = outputs.media_type(relative) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type.removesuffix("+chapters").removesuffix("+oembed"))

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("workbench.js", "workbench.css"):
            return _error(404, f"{request.url.path}: niet gevonden", api=False)
        text = resources.files("livecastpipe").joinpath("static", name).read_text(encoding="utf-8")
        return Response(text, media_type=STATIC_TYPES[Path(name).suffix] + "; charset=utf-8")

    async def api_sessions(request: Request) -> Any:
        return {"sessions": await run_in_threadpool(bench.sessions)}

    async def api_session(request: Request) -> Any:
        return await run_in_threadpool(bench.session_json, request.path_params["slug"])

    def edit_endpoint(
        make: Callable[[Request, dict[str, Any], str], Callable[[SessionEdits], SessionEdits]], per_segment: bool = True
    ) -> Handler:
        async def handler(request: Request) -> Any:
            slug = request.path_params["slug"]
            data = await _json_body(request)
            operation = make(request, data, slug)
            segment_id = request.path_params.get("segment") if per_segment else None
            with_html = request.query_params.get("html") == "1"
            return await run_in_threadpool(bench.change, slug, operation, data.get("version"), segment_id, with_html)

        return _api(handler)

    def segment_change(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        segment = request.path_params["segment"]
        text = _optional_text(data, "text")
        speaker = _optional_text(data, "speaker")
        from_word = _whole(data, "from_word", 0) or 0
        if text is None and speaker is None:
            raise ApiError(400, "geef 'text' of 'speaker' (of allebei)")

        def operation(current: SessionEdits) -> SessionEdits:
            if text is not None:
                current = ed.set_text(current, segment, text, base_version=current.version, editor=bench.editor)
            if speaker is not None:
                current = ed.set_speaker(
                    current, segment, speaker, from_word=from_word, base_version=current.version, editor=bench.editor
                )
            return current

        return operation

    def split(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        segment, word = request.path_params["segment"], _whole(data, "word")
        if word is None:
            raise ApiError(400, "'word' (het woordnummer waar het segment gesplitst wordt) ontbreekt")
        return lambda e: ed.split_segment(e, segment, word, base_version=e.version, editor=bench.editor)

    def merge(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        segment, direction = request.path_params["segment"], data.get("direction")
        if direction not in ("previous", "next"):
            raise ApiError(400, "'direction' moet 'previous' (het vorige segment) of 'next' (het volgende) zijn")
        return lambda e: ed.merge_segments(e, segment, direction, base_version=e.version, editor=bench.editor)

    def inaudible(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        segment = request.path_params["segment"]
        first, last = _whole(data, "from_word", 0) or 0, _whole(data, "to_word")
        return lambda e: ed.mark_inaudible(
            e, segment, from_word=first, to_word=last, base_version=e.version, editor=bench.editor
        )

    def revert(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        segment = request.path_params["segment"]
        machine = bench.machine(slug)
        return lambda e: ed.revert_segment(e, segment, machine, base_version=e.version, editor=bench.editor)

    def resolve(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        segment, keep = request.path_params["segment"], data.get("keep")
        if not isinstance(keep, bool):
            raise ApiError(400, "'keep' moet true (uw tekst houden) of false (de tekst van de machine nemen) zijn")
        machine = bench.machine(slug)
        return lambda e: ed.resolve_stale(e, segment, keep, machine, base_version=e.version, editor=bench.editor)

    def merge_speakers(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        source, target = _text(data, "source"), _text(data, "target")
        return lambda e: ed.merge_speakers(e, source, target, base_version=e.version, editor=bench.editor)

    def add_speaker(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        return lambda e: ed.add_speaker(e, base_version=e.version, editor=bench.editor)[0]

    def undo(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        machine = bench.machine(slug)
        return lambda e: ed.undo(e, base_version=e.version, editor=bench.editor, machine=machine)

    def redo(request: Request, data: dict[str, Any], slug: str) -> Callable[[SessionEdits], SessionEdits]:
        return lambda e: ed.redo(e, base_version=e.version, editor=bench.editor)

    async def replace_endpoint(request: Request) -> Any:
        slug = request.path_params["slug"]
        data = await _json_body(request)
        find, replacement = _text(data, "find"), _text(data, "replace")
        whole, case = _flag(data, "whole_word", True), _flag(data, "case_sensitive", False)
        if _flag(data, "preview", False):
            return await run_in_threadpool(bench.replace_preview, slug, find, replacement, whole, case)

        def operation(e: SessionEdits) -> SessionEdits:
            return ed.replace_all(
                e, find, replacement, whole_word=whole, case_sensitive=case, base_version=e.version, editor=bench.editor
            )

        with_html = request.query_params.get("html") == "1"
        return await run_in_threadpool(bench.change, slug, operation, data.get("version"), None, with_html)

    async def speaker_details(request: Request) -> Any:
        data = await _json_body(request)
        name, role = _optional_text(data, "name"), _optional_text(data, "role")
        if name is not None and name.strip():
            name = _editor_text(data, "name", SPEAKER_NAME, "de naam van de spreker", "geef een naam")
        if name is None and role is None:
            raise ApiError(400, "geef 'name' of 'role' (of allebei)")
        return await run_in_threadpool(
            bench.set_speaker_details,
            request.path_params["slug"],
            request.path_params["speaker"],
            name,
            role,
            _item_version(data),
        )

    async def chapter(request: Request) -> Any:
        slug = request.path_params["slug"]
        data = await _json_body(request)
        try:
            number = int(request.path_params["number"])
        except ValueError as exc:
            raise ApiError(404, f"hoofdstuk '{request.path_params['number']}' bestaat niet in sessie '{slug}'") from exc
        title = _editor_text(data, "title", CHAPTER_TITLE, "de titel", "typ een titel")
        start = data.get("start")
        if title is None and start is None:
            raise ApiError(400, "geef 'title' of 'start' (of allebei)")
        if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float)) or start < 0):
            raise ApiError(400, "'start' moet een tijd in seconden zijn, 0 of meer")

        def apply() -> dict[str, Any]:
            view = bench.view(slug)
            chapters = bench.chapters(slug)
            if not 1 <= number <= len(view.chapters):
                raise ApiError(
                    404, f"hoofdstuk {number} bestaat niet in sessie '{slug}' (die heeft er {len(view.chapters)})"
                )
            result: dict[str, Any] = {}
            if start is not None:
                result = bench.change(
                    slug,
                    lambda e: ed.set_chapter_start(
                        e, number, float(start), base_version=e.version, editor=bench.editor, chapters=chapters
                    ),
                    data.get("version"),
                )
            if title is not None:
                if view.chapters[number - 1].key is None:
                    raise ApiError(404, f"hoofdstuk {number} van sessie '{slug}' heeft geen titel om na te kijken")
                based_on = _item_version(data, "title_version")
                result |= bench.decide(slug, chapter_title_key(number), "approve", title, based_on)
            result["chapters"] = [chapter_json(c) for c in bench.view(slug).chapters]
            return result

        return await run_in_threadpool(apply)

    async def review_decision(request: Request) -> Any:
        data = await _json_body(request)
        decision = _text(data, "decision")
        key = request.path_params["key"]
        field = CHAPTER_TITLE if key.endswith("/title") else REVIEW_TEXT
        text = _editor_text(data, "text", field, "de tekst", "keur de tekst van de machine goed, of wijs hem af")
        return await run_in_threadpool(
            bench.decide, request.path_params["slug"], key, decision, text, _item_version(data)
        )

    async def publish(request: Request) -> Any:
        return await run_in_threadpool(bench.publish, request.path_params["slug"])

    segment_path = "/api/sessions/{slug}/segments/{segment}"
    routes = [
        Route("/", _page(sessions_page)),
        Route("/sessions/{slug}", _page(session_redirect)),
        Route("/sessions/{slug}/", _page(session_page)),
        Route("/sessions/{slug}/preview", _page(preview_page)),
        Route("/sessions/{slug}/{path:path}", _page(session_file)),
        Route("/static/{name}", static_file),
        Route("/api/sessions", _api(api_sessions)),
        Route("/api/sessions/{slug}", _api(api_session)),
        Route(segment_path, edit_endpoint(segment_change), methods=["POST"]),
        Route(segment_path + "/split", edit_endpoint(split), methods=["POST"]),
        Route(segment_path + "/merge", edit_endpoint(merge), methods=["POST"]),
        Route(segment_path + "/inaudible", edit_endpoint(inaudible), methods=["POST"]),
        Route(segment_path + "/revert", edit_endpoint(revert), methods=["POST"]),
        Route(segment_path + "/resolve", edit_endpoint(resolve), methods=["POST"]),
        Route("/api/sessions/{slug}/replace", _api(replace_endpoint), methods=["POST"]),
        Route("/api/sessions/{slug}/speakers", edit_endpoint(add_speaker, per_segment=False), methods=["POST"]),
        Route(
            "/api/sessions/{slug}/speakers/merge", edit_endpoint(merge_speakers, per_segment=False), methods=["POST"]
        ),
        Route("/api/sessions/{slug}/speakers/{speaker}", _api(speaker_details), methods=["PUT"]),
        Route("/api/sessions/{slug}/chapters/{number}", _api(chapter), methods=["POST"]),
        Route("/api/sessions/{slug}/review/{key:path}", _api(review_decision), methods=["POST"]),
        Route("/api/sessions/{slug}/undo", edit_endpoint(undo, per_segment=False), methods=["POST"]),
        Route("/api/sessions/{slug}/redo", edit_endpoint(redo, per_segment=False), methods=["POST"]),
        Route("/api/sessions/{slug}/publish", _api(publish), methods=["POST"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"{request.url.path}: niet gevonden", api=request.url.path.startswith("/api/"))

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} {request.url.path}: methode niet toegestaan", api=True)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.add_middleware(Guard, token=bench.token, host=host, port=port)
    return app


def workbench_url(host: str, port: int, token: str, slug: str | None = None) -> str:
    """The address `livecast edit` prints and opens: the session's page (or the list), with the token."""
    shown = f"[{host}]" if ":" in host else host
    path = f"/sessions/{urllib.parse.quote(slug)}/" if slug else "/"
    return f"http://{shown}:{port}{path}?{TOKEN_QUERY}={token}"
