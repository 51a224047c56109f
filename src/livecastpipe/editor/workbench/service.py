"""The workbench's actions on a session: its edits changed (under their lock, refused when based on an
older version), speakers named, chapters moved and retitled, generated texts decided on, and publishing."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from livecastpipe import workspace
from livecastpipe.editor.editor_files import StaleVersion, editor_lock, version_of
from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.edits_file import update_edits
from livecastpipe.editor.edits.model import EditConflict, EditError, SessionEdits
from livecastpipe.editor.review import (
    ReviewError,
    SessionReview,
    approve,
    approve_speaker_names,
    captions_reviewed,
    change_review,
    chapter_title_key,
    decide_on,
    reject,
    reopen,
)
from livecastpipe.editor.workbench.guard import ApiError
from livecastpipe.editor.workbench.views import (
    SessionViews,
    chapter_json,
    machine_texts,
    review_item_json,
    segment_json,
    speaker_json,
)
from livecastpipe.models import Diarization, SpeakerInfo, from_json
from livecastpipe.package import outputs
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.editorial import render_preview
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.publish import republish
from livecastpipe.package.store import read_manifest
from livecastpipe.settings import Settings
from livecastpipe.stages.speakers import ROLES, change_speakers_file, rename_speaker
from livecastpipe.stages.voices import SpeakerFileError, update_voice_library
from livecastpipe.storage import error_line


class PublishBusy(ApiError):
    """Another run, or another publish, is working in the output folder."""

    def __init__(self, message: str) -> None:
        super().__init__(409, message)


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


class Workbench(SessionViews):
    """One output folder's sessions, and every action of the workbench on them (what the routes call): the
    reading of `SessionViews`, and the changes to the edits, speakers, chapters and review, and publishing."""

    def __init__(self, settings: Settings, token: str, editor: str) -> None:
        super().__init__(settings, token, editor)
        self._publish_lock = threading.Lock()

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
            after = update_edits(self.private_dir(slug), checked)
        except EditConflict as exc:
            latest = exc.current
            texts = machine_texts(machine)
            found = next((s for s in latest.segments if s.id == segment_id), None)
            segment = segment_json(found, texts, machine.language) if found else None
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
            entry = segment_json(segment, texts, view.language)
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
        proposed = data.speakers if (data := self.package_data(slug)) else ()

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

    def change_chapter(
        self,
        slug: str,
        number: int,
        title: str | None,
        start: float | None,
        base_version: Any,
        title_based_on: str | None,
    ) -> dict[str, Any]:
        """Move chapter `number`'s start (an edit, based on the edits' `base_version`) and/or approve its
        title as the editor typed it (based on its review item's version); the chapters as they are then."""
        view = self.view(slug)
        chapters = self.chapters(slug)
        if not 1 <= number <= len(view.chapters):
            raise ApiError(
                404, f"hoofdstuk {number} bestaat niet in sessie '{slug}' (die heeft er {len(view.chapters)})"
            )
        result: dict[str, Any] = {}
        if start is not None:
            moved = float(start)
            result = self.change(
                slug,
                lambda e: ed.set_chapter_start(
                    e, number, moved, base_version=e.version, editor=self.editor, chapters=chapters
                ),
                base_version,
            )
        if title is not None:
            if view.chapters[number - 1].key is None:
                raise ApiError(404, f"hoofdstuk {number} van sessie '{slug}' heeft geen titel om na te kijken")
            result |= self.decide(slug, chapter_title_key(number), "approve", title, title_based_on)
        result["chapters"] = [chapter_json(c) for c in self.view(slug).chapters]
        return result

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
        try:
            manifest = read_manifest(folder)
        except PublishError as exc:
            raise ApiError(500, error_line(exc)) from exc
        return {
            "published": slug,
            "at": manifest.published,
            "captions_reviewed": manifest.captions.reviewed,
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
    """The version of the edits a change was based on, as the request gave it; ApiError 400 otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(
            400,
            "'version' (de versie waarop de wijziging is gebaseerd, een geheel getal) ontbreekt: laad de pagina opnieuw",
        )
    return value
