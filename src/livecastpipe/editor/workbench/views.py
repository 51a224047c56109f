"""The view model of the workbench: a session as its page and its JSON show it (speakers, chapters, the
review, the segments with the machine's text under them), read from the session's files, and rendered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

from livecastpipe import workspace
from livecastpipe.editor.editor_files import version_of
from livecastpipe.editor.edits.edits_file import edits_over_machine, machine_transcript, read_edits
from livecastpipe.editor.edits.layout import HeardWords, heard_words
from livecastpipe.editor.edits.model import EditedSegment, EditError, SessionEdits, flagged_words
from livecastpipe.editor.review import (
    CAPTIONS_KEY,
    ReviewError,
    ReviewItem,
    SessionReview,
    captions_reviewed,
    chapter_title_key,
    item_version,
    read_review,
    session_speaker_names,
)
from livecastpipe.editor.workbench.guard import ApiError
from livecastpipe.models import Chapter, SpeakerInfo, Transcript
from livecastpipe.package import outputs
from livecastpipe.package.escaping import plain_text
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.render import ROLE_LABELS, jinja_environment
from livecastpipe.package.store import (
    PackageData,
    SessionManifest,
    is_published,
    package_data_path,
    published_sessions,
    read_manifest,
    read_package_data,
)
from livecastpipe.settings import Settings
from livecastpipe.stages.speakers import ROLES, read_speakers_yaml
from livecastpipe.stages.terms import word_alternative
from livecastpipe.stages.translate import translated_cues
from livecastpipe.stages.voices import SpeakerFileError, VoiceLibrary
from livecastpipe.storage import error_line
from livecastpipe.timefmt import clock, clock_tenths

REVIEWED_KINDS = ("session_summary", "keywords", "chapter_summary")
"""The generated texts the review panel shows (chapter titles, speaker names and the captions have their
own places in the workbench)."""
FLAG_REASONS = {
    "low-confidence": "onzeker herkend",
    "not-in-dictionary": "niet in het woordenboek",
    "corrected": "automatisch verbeterd",
    "near-flagged": "naast een woord om na te kijken",
}
"""`Word.flags` → why the workbench highlights the word."""


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
    Shortcut("accept-alternative", "KeyA", "Alt+A", "Het voorstel bij het geselecteerde woord overnemen (en opslaan)"),
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


def words_html(segment: EditedSegment, language: str) -> Markup:
    """A segment's words for its editable text: each a span with its times, the ones to check marked with
    why and their likely alternative (`terms.word_alternative`, accepted with Alt+A); none once the editor
    saved the segment. Built here, not in the template: a two-hour session has some 15 000 words, and the
    page must open quickly."""
    parts = []
    for word in segment.words:
        reasons = "" if segment.checked else flag_reasons(word.flags)
        times = f'data-start="{word.start}" data-end="{word.end}"'
        text = escape(plain_text(word.text))
        alternative = word_alternative(word, language) if reasons else None
        if alternative:
            reasons += f"; voorstel: {alternative} (Alt+A)"
            times += f' data-alternative="{escape(plain_text(alternative))}"'
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
        """Whether an editor approved the captions."""
        return captions_reviewed(self.review)

    @property
    def review_items(self) -> list[ReviewItem]:
        """The current generated texts the review panel shows."""
        return [i for i in (self.review.items if self.review else ()) if i.current and i.kind in REVIEWED_KINDS]

    @property
    def flagged(self) -> int:
        """How many words are still flagged for checking."""
        return len(flagged_words(self.edits))


def machine_texts(machine: Transcript) -> HeardWords:
    """The machine's words, indexed by time for `machine_text`."""
    return heard_words(machine)


def machine_text(segment: EditedSegment, texts: HeardWords) -> str:
    """The machine's text of an edited segment's time (by time, so after a rerun it is the rerun's words
    there, what taking the machine's text back gives)."""
    return " ".join(w.text.strip() for w in texts.claimed(segment)).strip()


def segment_json(segment: EditedSegment, texts: HeardWords, language: str) -> dict[str, Any]:
    """One segment for the API: ids, times, speaker, text, words (with their flags and a flagged word's
    likely `alternative`, `terms.word_alternative`) and edit state."""
    return {
        "id": segment.id,
        "start": segment.start,
        "end": segment.end,
        "speaker": segment.speaker,
        "text": segment.text,
        "words": [
            {
                "start": w.start,
                "end": w.end,
                "text": w.text,
                "probability": w.probability,
                "flags": list(w.flags),
                "alternative": word_alternative(w, language),
            }
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


def speaker_json(speaker: SpeakerView) -> dict[str, Any]:
    """A speaker for the API: label, name given, proposal, role, and the version a change is based on."""
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
    """A chapter for the API: number, times, title, its review state and title version."""
    return {
        "number": chapter.number,
        "start": chapter.start,
        "end": chapter.end,
        "title": chapter.title,
        "state": chapter.state,
        "title_version": chapter.title_version,
    }


# --- the sessions as the workbench shows them -----------------------------------------------------


class SessionViews:
    """One output folder's sessions as the workbench shows them: their files read (parsed once while
    unchanged), the view of a session, its page and its JSON (the reading half of `service.Workbench`)."""

    def __init__(self, settings: Settings, token: str, editor: str) -> None:
        self.settings = settings
        self.output_dir = settings.output_dir
        self.token = token
        self.editor = editor
        self.templates = template_environment()
        self._cache: dict[tuple[str, str], tuple[Any, Any]] = {}

    # reading ----------------------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """The published sessions of the output folder: slug, title, date, and whether anything was edited."""
        found = []
        for folder in published_sessions(self.output_dir):
            try:
                manifest: SessionManifest | None = read_manifest(folder)
            except PublishError:
                manifest = None
            entry = manifest.catalogue if manifest else {}
            private = workspace.session_private_dir(self.output_dir, folder.name)
            found.append(
                {
                    "slug": folder.name,
                    "title": entry.get("title") or folder.name,
                    "date": entry.get("date"),
                    "duration": entry.get("duration"),
                    "edited": (private / outputs.EDITS.name()).is_file(),
                    "captions_reviewed": manifest.captions.reviewed if manifest else False,
                }
            )
        return found

    def require_session(self, slug: str) -> None:
        """ApiError 404 unless `slug` is a published session of this output folder."""
        if "/" in slug or slug.startswith(".") or not is_published(self.output_dir, slug):
            raise ApiError(
                404, f"sessie '{slug}' is niet gepubliceerd in {self.output_dir}: kies een sessie uit de lijst"
            )

    def private_dir(self, slug: str) -> Path:
        """The session's private folder (its editor files and machine transcript)."""
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
        transcript: Transcript = self._cached("machine", slug, paths, lambda: machine_transcript(self.output_dir, slug))
        return transcript

    def package_data(self, slug: str) -> PackageData | None:
        """The stored stage data of the session (speakers, chapters, recording) without the transcript; None
        for a package published before it was kept."""
        path = package_data_path(self.output_dir, slug)
        try:
            data: PackageData | None = self._cached(
                "package", slug, (path,), lambda: read_package_data(self.output_dir, slug)
            )
        except PublishError as exc:
            raise ApiError(500, error_line(exc)) from exc
        return data

    def current_edits(self, slug: str) -> SessionEdits:
        """The session's edits brought up to the machine transcript (as `edits.current_edits`, with the
        machine transcript parsed once), or version 0 when nobody edited it yet."""
        machine = self.machine(slug)
        try:
            stored = read_edits(self.private_dir(slug))
        except EditError as exc:
            raise ApiError(500, f"de correcties van sessie '{slug}' kunnen niet worden gelezen ({exc})") from exc
        return edits_over_machine(slug, machine, stored)

    def read_review(self, slug: str) -> SessionReview | None:
        """The session's review file (None before the pipeline made one); ApiError 500 when unreadable."""
        try:
            return read_review(self.private_dir(slug))
        except ReviewError as exc:
            raise ApiError(500, str(exc)) from exc

    def speaker_infos(self, slug: str) -> dict[str, SpeakerInfo]:
        """The session's speakers as the speakers stage proposed them, with the editor's `speakers.yaml` on top."""
        stored = data.speakers if (data := self.package_data(slug)) else ()
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
        try:
            manifest = read_manifest(workspace.session_site_dir(self.output_dir, slug))
        except PublishError as exc:
            raise ApiError(500, error_line(exc)) from exc
        return SessionView(
            slug=slug,
            title=(data.recording.metadata.title if data else None) or manifest.title or slug,
            edits=edits,
            machine=machine,
            speakers=speakers,
            chapters=self._chapters(slug, edits, review),
            review=review,
            media=manifest.media,
            language=machine.language,
        )

    def known_names(self, slug: str, view: SessionView) -> list[str]:
        """Names to propose for a speaker: the panel of the session's metadata, the voices an editor named
        in the voice library, and the speakers stage's proposals."""
        data = self.package_data(slug)
        panel = [p.name for p in data.recording.metadata.speakers] if data else []
        try:
            library = VoiceLibrary.load(workspace.site_file(self.output_dir, outputs.VOICE_LIBRARY))
            voices = [v.name for v in library.voices if v.name and v.confirmed]
        except SpeakerFileError:
            voices = []
        return sorted({n for n in [*panel, *voices, *(s.proposed for s in view.speakers)] if n})

    def chapters(self, slug: str) -> list[Chapter]:
        """The session's chapters as the chapters stage made them."""
        return list(data.chapters) if (data := self.package_data(slug)) else []

    def _chapters(self, slug: str, edits: SessionEdits, review: SessionReview | None) -> tuple[ChapterView, ...]:
        """The chapters as shown: the editor's starts, the approved title (else the generated one)."""
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
            "segments": [segment_json(s, texts, view.language) for s in view.edits.segments],
            "speakers": [speaker_json(s) for s in view.speakers],
            "chapters": [chapter_json(c) for c in view.chapters],
            "review": [review_item_json(i) for i in view.review_items],
            "captions_reviewed": view.captions_reviewed,
            "translation": self.translation_json(slug, view.edits),
            "stale": [s.id for s in view.edits.stale],
            "flagged": [{"segment": sid, "word": index} for sid, index in flagged_words(view.edits)],
            "history": [
                {"version": c.version, "editor": c.editor, "at": c.at, "action": c.action} for c in view.edits.history
            ],
        }

    def translation_json(self, slug: str, edits: SessionEdits) -> list[dict[str, Any]]:
        """The published English cues (machine translation, with the editor's corrections), each marked
        whether an editor corrected it; none when the session has no English subtitles."""
        name = outputs.TRANSLATED_SUBTITLES_VTT.name()
        path = site_file(self.output_dir, slug, name)
        if path is None:
            return []
        cues = translated_cues({name: path.read_text(encoding="utf-8")})
        return [
            {"start": start, "end": end, "text": text, "corrected": start in edits.translated_cues}
            for start, end, text in cues
        ]

    def render_page(self, slug: str) -> str:
        """The workbench page of a session."""
        view = self.view(slug)
        captions = outputs.CAPTIONS_VTT.name(view.language)
        return self.templates.get_template("session.html.j2").render(
            view=view,
            known_names=self.known_names(slug, view),
            captions=captions if site_file(self.output_dir, slug, captions) else None,
            texts=machine_texts(view.machine),
            translation=self.translation_json(slug, view.edits),
            roles=[(r, ROLE_LABELS.get(r, r)) for r in ROLES],
            token=self.token,
            editor=self.editor,
            captions_key=CAPTIONS_KEY,
            shortcuts=SHORTCUTS,
            item_version=item_version,
        )

    def render_sessions(self) -> str:
        """The page listing the output folder's sessions."""
        return self.templates.get_template("index.html.j2").render(sessions=self.sessions(), token=self.token)

    def segment_html(self, view: SessionView, segment: EditedSegment, texts: HeardWords) -> str:
        """One segment of the page, as the template renders it (the client swaps it in after a change)."""
        macro = self.templates.get_template("_segment.html.j2").module.segment_item  # type: ignore[attr-defined]
        return str(macro(segment, view.speakers, texts, view.language))
