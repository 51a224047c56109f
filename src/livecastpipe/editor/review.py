"""Editorial review: every generated text a viewer would read is a draft until an editor approves it.

Review items are the session summary, each chapter's summary and title, the keywords and each speaker's
name. Their state (`draft` → `approved` / `rejected`), the editor's text, who decided when, and the
generated text each decision replaced live in `review.json` in the session's output folder. A rerun
merges newly generated text into that file without touching decisions; a decision made on text or a
transcript that has since changed is marked stale. Publishing reads `publishable_text`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from livecastpipe import workspace
from livecastpipe.editor.editor_files import StaleVersion, editor_lock, locked_update, version_of
from livecastpipe.editor.editor_text import CHAPTER_TITLE, REVIEW_TEXT, TextRefused, checked_text
from livecastpipe.models import SpeakerInfo, from_json, to_json
from livecastpipe.names import check_speaker_name, given_speaker_names, public_speaker_names
from livecastpipe.package import outputs
from livecastpipe.stages.summaries import (
    SessionSummary,
    SummarySentence,
    TranscriptSentence,
    sentences_hash,
)
from livecastpipe.storage import atomic_write_text
from livecastpipe.timefmt import clock

UNREVIEWED_LABEL = "Automatisch gegenereerd, nog niet gecontroleerd"
"""Shown with every draft text published because `publish_unreviewed` is on."""

CAPTIONS_UNREVIEWED_LABEL = "Automatisch ondertiteld, nog niet gecontroleerd"
"""Shown on the page, and in the caption tracks' labels, until an editor approved the captions."""

SESSION_SUMMARY_KEY = "session/summary"
KEYWORDS_KEY = "session/keywords"
CAPTIONS_KEY = "session/captions"
"""Approved when an editor has checked the captions (and the transcript they are made of)."""

ItemKind = Literal["session_summary", "keywords", "captions", "chapter_summary", "chapter_title", "speaker_name"]
State = Literal["draft", "approved", "rejected"]


def chapter_summary_key(number: int) -> str:
    """Review key of the summary of chapter `number` (counted from 1)."""
    return f"chapter/{number:02d}/summary"


def chapter_title_key(number: int) -> str:
    """Review key of the title of chapter `number` (counted from 1)."""
    return f"chapter/{number:02d}/title"


SPEAKER_NAME_PREFIX = "speaker/"


def speaker_name_key(speaker_id: str) -> str:
    """Review key of the name of a speaker (`SPEAKER_00`, …)."""
    return f"{SPEAKER_NAME_PREFIX}{speaker_id}/name"


class ReviewError(ValueError):
    """A review file cannot be read, or a review action is not possible."""


@dataclass(frozen=True)
class SourceRef:
    """A transcript sentence a generated text came from, so the editor can check it in the recording."""

    start: float
    end: float
    speaker: str | None
    text: str


@dataclass(frozen=True)
class Decision:
    """An editor's verdict on one item: the text approved (or none when rejected) and what it replaced."""

    state: Literal["approved", "rejected"]
    reviewer: str
    at: str
    text: str | None
    replaced_text: str
    """The generated text the editor saw when deciding."""
    source_hash: str
    """Hash of the transcript text the item was made from, when the editor decided."""


@dataclass(frozen=True)
class ReviewItem:
    """One reviewable text: what was generated from what, and the editor's current decision and past ones."""

    key: str
    kind: ItemKind
    label: str
    generated_text: str
    source_hash: str
    sources: tuple[SourceRef, ...] = ()
    decision: Decision | None = None
    history: tuple[Decision, ...] = ()
    current: bool = True
    """False when the latest run no longer generates this item; kept so no decision is ever lost."""

    @property
    def state(self) -> State:
        return self.decision.state if self.decision else "draft"

    @property
    def stale(self) -> bool:
        """A decision made on a generated text or a transcript that has changed since."""
        return self.decision is not None and (
            self.decision.replaced_text != self.generated_text or self.decision.source_hash != self.source_hash
        )

    @property
    def awaits_review(self) -> bool:
        return self.current and (self.decision is None or self.stale)


@dataclass(frozen=True)
class SessionReview:
    """The content of a session's `review.json`."""

    slug: str
    title: str
    items: tuple[ReviewItem, ...]
    updated_at: str = ""
    format: int = 1

    def item(self, key: str) -> ReviewItem:
        """The item with this key; ReviewError naming the known keys when there is none."""
        for item in self.items:
            if item.key == key:
                return item
        known = ", ".join(i.key for i in self.items)
        raise ReviewError(f"{self.slug}: no review item '{key}' (items: {known})")

    @property
    def awaiting(self) -> list[ReviewItem]:
        return [i for i in self.items if i.awaits_review]


@dataclass(frozen=True)
class Publishable:
    """Text a package may show, and the label it must carry when no editor approved it."""

    text: str
    reviewed: bool
    label: str | None = None
    stale: bool = False
    """Approved by an editor on an older transcript or generated text; still the editor's words."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _refs(sentences: Sequence[SummarySentence] | Sequence[TranscriptSentence]) -> tuple[SourceRef, ...]:
    return tuple(SourceRef(start=s.start, end=s.end, speaker=s.speaker, text=s.text) for s in sentences)


def _text_hash(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


def review_items(
    summary: SessionSummary,
    sentences: Sequence[TranscriptSentence],
    speakers: Sequence[SpeakerInfo] = (),
) -> list[ReviewItem]:
    """Fresh draft items for every non-empty text generated for a session (decisions come from `merge_review`)."""
    items = [
        ReviewItem(
            key=SESSION_SUMMARY_KEY,
            kind="session_summary",
            label="Samenvatting van de sessie",
            generated_text=summary.text,
            source_hash=summary.source_hash,
            sources=_refs(summary.sentences),
        ),
        ReviewItem(
            key=KEYWORDS_KEY,
            kind="keywords",
            label="Trefwoorden",
            generated_text=", ".join(summary.keywords),
            source_hash=summary.source_hash,
        ),
    ]
    for number, chapter in enumerate(summary.chapters, 1):
        where = f"Hoofdstuk {number} ({clock(chapter.start)}–{clock(chapter.end)})"
        items.append(
            ReviewItem(
                key=chapter_title_key(number),
                kind="chapter_title",
                label=f"{where}: titel",
                generated_text=chapter.proposed_title or chapter.title,
                source_hash=chapter.source_hash,
                sources=_refs(chapter.sentences),
            )
        )
        items.append(
            ReviewItem(
                key=chapter_summary_key(number),
                kind="chapter_summary",
                label=f"{where}: samenvatting",
                generated_text=chapter.text,
                source_hash=chapter.source_hash,
                sources=_refs(chapter.sentences),
            )
        )
    for speaker in speakers:
        said = [s for s in sentences if s.speaker == speaker.id]
        item = ReviewItem(
            key=speaker_name_key(speaker.id),
            kind="speaker_name",
            label=f"Naam van spreker {speaker.id} ({speaker.role})",
            generated_text=speaker.name or speaker.id,
            source_hash=sentences_hash(said),
            sources=_refs(said[:3]),
        )
        if speaker.confirmed and speaker.name:
            item = replace(item, decision=_decision(item, "approved", "speakers.yaml", speaker.name))
        items.append(item)
    items.append(  # last: the editor checks the captions against the recording once the texts are done
        ReviewItem(
            key=CAPTIONS_KEY,
            kind="captions",
            label="Ondertiteling en transcript (nagekeken tegen de opname)",
            generated_text=f"Automatische ondertiteling, {len(sentences)} zinnen" if sentences else "",
            source_hash=sentences_hash(sentences),
        )
    )
    return [i for i in items if i.generated_text.strip()]


def merge_review(previous: SessionReview | None, fresh: Sequence[ReviewItem], slug: str, title: str) -> SessionReview:
    """Fresh generated items carrying over every earlier decision; items no longer generated are kept."""
    earlier = {i.key: i for i in previous.items} if previous else {}
    merged: list[ReviewItem] = []
    for item in fresh:
        old = earlier.pop(item.key, None)
        if old is not None and (old.decision or old.history):
            item = replace(item, decision=old.decision, history=old.history)
        merged.append(item)
    merged.extend(replace(old, current=False) for old in earlier.values() if old.decision or old.history)
    return SessionReview(slug=slug, title=title, items=tuple(merged), updated_at=_now())


def _decision(item: ReviewItem, state: Literal["approved", "rejected"], reviewer: str, text: str | None) -> Decision:
    return Decision(
        state=state,
        reviewer=reviewer,
        at=_now(),
        text=text,
        replaced_text=item.generated_text,
        source_hash=item.source_hash,
    )


def _decide(
    review: SessionReview, key: str, reviewer: str, state: Literal["approved", "rejected"], text: str | None
) -> SessionReview:
    if not reviewer.strip():
        raise ReviewError("a decision needs the reviewer's name")
    item = review.item(key)
    if not item.current:
        raise ReviewError(f"{review.slug}: '{key}' is no longer generated; nothing to decide")
    history = item.history + ((item.decision,) if item.decision else ())
    decided = replace(item, decision=_decision(item, state, reviewer.strip(), text), history=history)
    items = tuple(decided if i.key == key else i for i in review.items)
    return replace(review, items=items, updated_at=_now())


def approve(review: SessionReview, key: str, reviewer: str, text: str | None = None) -> SessionReview:
    """Approve an item: the editor's text when given (an edit, checked as `editor_text` says: a chapter
    title one line of at most 200 characters, another text at most 5 000), else the text shown now."""
    item = review.item(key)
    if text is not None and text.strip() and not key.startswith(SPEAKER_NAME_PREFIX):
        field, what = (CHAPTER_TITLE, "de titel") if item.kind == "chapter_title" else (REVIEW_TEXT, "de tekst")
        try:
            text = checked_text(text, field, what, "keur de tekst van de machine goed, of wijs hem af")
        except TextRefused as exc:
            raise ReviewError(str(exc)) from exc
    if text is None:
        text = item.decision.text if item.decision and item.decision.text and not item.stale else item.generated_text
    text = text.strip()
    if not text:
        raise ReviewError(f"{review.slug}: '{key}' cannot be approved with an empty text; reject it instead")
    if key.startswith(SPEAKER_NAME_PREFIX):
        try:
            text = check_speaker_name(text)
        except ValueError as exc:
            raise ReviewError(f"{review.slug}: '{key}': {exc}") from exc
    return _decide(review, key, reviewer, "approved", text)


def approve_speaker_names(review: SessionReview, names: Mapping[str, str], reviewer: str) -> SessionReview:
    """The review with these speaker names (id → name) approved, where it asks about them: a name given
    in `speakers.yaml` is the editor's latest decision, and an older approval must not hide it."""
    for speaker_id, name in names.items():
        key = speaker_name_key(speaker_id)
        if any(i.key == key and i.current for i in review.items):
            review = approve(review, key, reviewer, name)
    return review


def reject(review: SessionReview, key: str, reviewer: str) -> SessionReview:
    """Reject an item: it is never published."""
    return _decide(review, key, reviewer, "rejected", None)


def reopen(review: SessionReview, key: str) -> SessionReview:
    """Put an item back in draft; the withdrawn decision stays in its history."""
    item = review.item(key)
    if item.decision is None:
        raise ReviewError(f"{review.slug}: '{key}' is already a draft")
    reopened = replace(item, decision=None, history=item.history + (item.decision,))
    return replace(review, items=tuple(reopened if i.key == key else i for i in review.items), updated_at=_now())


def publishable_text(review: SessionReview | None, key: str, publish_unreviewed: bool = False) -> Publishable | None:
    """What a package may show for an item: approved text, a labelled draft (if allowed), or None (withheld).

    Rejected items, items no longer generated and unknown keys are withheld; so are drafts unless
    `publish_unreviewed` is on, in which case they carry `UNREVIEWED_LABEL`.
    """
    if review is None:
        return None
    try:
        item = review.item(key)
    except ReviewError:
        return None
    if not item.current or item.state == "rejected":
        return None
    if item.decision is not None and item.decision.text:
        return Publishable(text=item.decision.text, reviewed=True, stale=item.stale)
    if publish_unreviewed and item.generated_text.strip():
        return Publishable(text=item.generated_text, reviewed=False, label=UNREVIEWED_LABEL)
    return None


def captions_reviewed(review: SessionReview | None) -> bool:
    """Whether an editor approved the captions of the current transcript (an approval made on an
    earlier transcript no longer counts)."""
    if review is None:
        return False
    try:
        item = review.item(CAPTIONS_KEY)
    except ReviewError:
        return False
    return item.current and item.state == "approved" and not item.stale


def publishable_items(review: SessionReview | None, publish_unreviewed: bool = False) -> dict[str, Publishable]:
    """Every item a package may show, by key (see `publishable_text`)."""
    if review is None:
        return {}
    found = {i.key: publishable_text(review, i.key, publish_unreviewed) for i in review.items}
    return {key: value for key, value in found.items() if value is not None}


# --- the file -------------------------------------------------------------------------------------


def review_path(session_folder: Path) -> Path:
    """Where a session's review file lives."""
    return session_folder / outputs.REVIEW.name()


def read_review(session_folder: Path) -> SessionReview | None:
    """The session's review, or None when it has none yet; ReviewError naming the file when it is unreadable."""
    path = review_path(session_folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ReviewError(f"{path}: cannot read review file: {exc.strerror or exc}") from exc
    try:
        return from_json(SessionReview, text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReviewError(f"{path}: not a valid review file ({where}: {first['msg']})") from exc


def write_review(session_folder: Path, review: SessionReview) -> None:
    """Write the session's review file atomically; only under its lock (`change_review`, `decide_on`), so
    no other writer's decision is overwritten."""
    atomic_write_text(review_path(session_folder), to_json(review))


def change_review(
    session_folder: Path, change: Callable[[SessionReview | None], SessionReview | None]
) -> SessionReview | None:
    """Read the session's review, apply `change` and write the result, under the session's editor lock
    (`editor_files.locked_update`): a decision another writer made meanwhile is in what `change` gets."""

    def write(_: Path, review: SessionReview | None) -> None:
        if review is not None:
            write_review(session_folder, review)

    return locked_update(review_path(session_folder), lambda _: read_review(session_folder), change, write)


def item_version(item: ReviewItem) -> str:
    """The version of one review item (its generated text, decision and history): what an editor's
    decision on it was based on."""
    return version_of(item)


def _as_now(item: ReviewItem) -> str:
    """What an item is now, for the message refusing a decision made on an older version of it."""
    if item.decision is not None:
        return f"now {item.state} by {item.decision.reviewer} at {item.decision.at}"
    if item.history:
        return f"reopened: a draft again (last decided by {item.history[-1].reviewer})"
    return "its generated text changed"


def decide_on(
    session_folder: Path, key: str, based_on: str | None, decide: Callable[[SessionReview], SessionReview]
) -> SessionReview:
    """Apply an editor's decision on item `key` to the stored review, under the session's editor lock,
    when the item is still the version the editor saw (`based_on`, an `item_version`; None: as it is
    now). Decisions on other items made meanwhile are kept; when this item changed, StaleVersion says
    how, and nothing is written."""

    def change(review: SessionReview | None) -> SessionReview:
        if review is None:
            raise ReviewError(f"{review_path(session_folder)}: missing")
        item = review.item(key)
        current = item_version(item)
        if based_on is not None and current != based_on:
            raise StaleVersion(
                f"{review.slug}: '{key}' changed since you read it ({_as_now(item)}): "
                "look at the item again and decide on it as it is now",
                current,
            )
        return decide(review)

    decided = change_review(session_folder, change)
    assert decided is not None  # `change` returns a review or raises
    return decided


def update_review(
    session_folder: Path,
    slug: str,
    title: str,
    summary: SessionSummary,
    sentences: Sequence[TranscriptSentence],
    speakers: Sequence[SpeakerInfo] = (),
    create: bool = True,
) -> SessionReview:
    """Merge freshly generated texts into the session's review file, keeping every editor decision: read,
    merged and written under the session's editor lock, so a decision made meanwhile is merged too.

    With `create` off, a session without a review file gets its review returned, not written: the
    pipeline has publishing write it with the package, so a session never published leaves no file.
    An unreadable review file is never overwritten: ReviewError names it.
    """
    fresh = review_items(summary, sentences, speakers)
    if not create and not review_path(session_folder).is_file():  # a session not published yet: no lock left
        return merge_review(None, fresh, slug, title)
    with editor_lock(review_path(session_folder)):  # decisions made up to the write are merged, none lost
        previous = read_review(session_folder)
        merged = merge_review(previous, fresh, slug, title)
        if previous is not None and _same_content(previous, merged):
            return previous
        if previous is not None or create:
            write_review(session_folder, merged)
        return merged


def _same_content(a: SessionReview, b: SessionReview) -> bool:
    return replace(a, updated_at="") == replace(b, updated_at="")


def find_reviews(output_dir: Path) -> list[tuple[Path, SessionReview | ReviewError]]:
    """Every session's private folder with a review file, and its review (or why it is unreadable); a
    folder a first publish left half-made (`workspace.is_unpublished`) is not a session yet."""
    found: list[tuple[Path, SessionReview | ReviewError]] = []
    sessions = workspace.session_private_dir(output_dir, "_").parent
    for path in sorted(sessions.glob(f"*/{outputs.REVIEW.name()}")):
        if workspace.is_unpublished(path.parent):
            continue
        try:
            review = read_review(path.parent)
        except ReviewError as exc:
            found.append((path.parent, exc))
            continue
        if review is not None:
            found.append((path.parent, review))
    return found


def approved_speaker_names(review: SessionReview | None, speaker_ids: Iterable[str]) -> dict[str, str]:
    """Speaker names an editor approved in the review (the ids without one are left out)."""
    names: dict[str, str] = {}
    for speaker_id in speaker_ids:
        shown = publishable_text(review, speaker_name_key(speaker_id))
        if shown and shown.reviewed:
            names[speaker_id] = shown.text
    return names


@dataclass(frozen=True)
class SpeakerNames:
    """A session's speaker names as `session_speaker_names` makes them: what its page, captions, chapters
    and workbench show."""

    given: dict[str, str]
    """Speaker id → the name an editor gave (`given_speaker_names`), for the speakers that have one."""
    public: dict[str, str]
    """Speaker id → the name viewers see (`public_speaker_names`): the given name, else "Spreker N"."""


def session_speaker_names(
    review: SessionReview | None, speakers: Iterable[SpeakerInfo], also: Iterable[str] = ()
) -> SpeakerNames:
    """Approved (for `speakers` and a transcript's further ids `also`) → given → public, the one chain for the
    flows, the page and the workbench; not in names.py, whose importer ingest would fingerprint the review."""
    speakers = list(speakers)
    ids = [s.id for s in speakers]
    ids += sorted(set(also) - set(ids))
    approved = approved_speaker_names(review, ids)
    return SpeakerNames(
        given=given_speaker_names(speakers, approved), public=public_speaker_names(speakers, approved, ids)
    )
