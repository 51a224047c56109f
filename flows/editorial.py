"""Prefect steps of the editorial stages: summaries (cached), the review file, and waiting for an editor.

Called from `process_session`; the logic lives in `livecastpipe.stages.summaries` and `livecastpipe.editor.review`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from prefect import get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Running, State
from prefect.utilities.annotations import quote
from pydantic import Field

from livecastpipe import workspace
from livecastpipe.editor.editor_files import StaleVersion
from livecastpipe.editor.review import (
    SESSION_SUMMARY_KEY,
    ReviewError,
    SessionReview,
    approve,
    approved_speaker_names,
    decide_on,
    item_version,
    read_review,
    reject,
    review_path,
    update_review,
)
from livecastpipe.flows.caching import stage_cache_key
from livecastpipe.flows.runners import stage_options
from livecastpipe.models import Chapter, Recording, SpeakerInfo, Transcript, to_json
from livecastpipe.names import editor_speaker_names
from livecastpipe.package import outputs
from livecastpipe.settings import ReviewSettings, Settings, SummariesSettings
from livecastpipe.stages.summaries import (
    SessionSummary,
    extractive_summary,
    generative_summary,
    split_sentences,
    with_fallback_warning,
)
from livecastpipe.timefmt import clock


def _summary_inputs(parameters: dict[str, Any]) -> tuple[Any, ...]:
    panel = [s.name for s in parameters["recording"].metadata.speakers]
    return (parameters["transcript"], parameters["chapters"], parameters["speaker_names"], panel)


@task(
    name="summaries",
    task_run_name="summaries/{recording.slug}",
    cache_key_fn=stage_cache_key("summaries", _summary_inputs),
    persist_result=True,
)
def summaries_task(
    recording: Recording,
    transcript: Transcript,
    chapters: list[Chapter],
    speaker_names: dict[str, str],
    settings: SummariesSettings,
) -> SessionSummary:
    """The extractive summaries, keywords and their source sentences (embedded model, offline)."""
    panel = [s.name for s in recording.metadata.speakers]
    return extractive_summary(transcript, chapters, settings, speaker_names, other_names=panel)


@task(
    name="generative-summary",
    task_run_name="generative-summary/{recording.slug}",
    cache_key_fn=stage_cache_key("generative-summary", lambda p: (p["summary"], p["title"], p["speaker_names"])),
    persist_result=True,
)
def generative_summary_task(
    recording: Recording,
    summary: SessionSummary,
    title: str,
    speaker_names: dict[str, str],
    settings: SummariesSettings,
) -> SessionSummary:
    """Abstract, chapter titles and keywords from the chat endpoint; fails (and so is not cached) on error."""
    return generative_summary(summary, settings, title, speaker_names)


@task(name="review-file")
def review_task(
    recording: Recording,
    transcript: Transcript,
    summary: SessionSummary,
    speakers: list[SpeakerInfo],
    output_dir: str,
    create: bool,
) -> SessionReview:
    """Merge the generated texts into the session's `review.json`, keeping every editor decision. A session
    without one gets it from publishing (`EditorialResult.files`), so a run that dies leaves none, unless
    `create` (the run is about to wait for an editor, who reviews that file)."""
    folder = workspace.session_private_dir(Path(output_dir), recording.slug)
    return update_review(
        folder, recording.slug, recording.title, summary, split_sentences(transcript), speakers, create=create
    )


class EditorApproval(RunInput):
    """The form an editor fills in, in the Prefect UI, to approve a session's summary."""

    summary: str = Field(description="De samenvatting; pas de tekst aan waar nodig.")
    decision: Literal["goedkeuren", "afwijzen", "concept laten"] = Field(
        default="concept laten", description="Goedkeuren publiceert de tekst hierboven."
    )
    reviewer: str = Field(default="", description="Uw naam, bewaard bij het besluit.")


def _approval_description(review: SessionReview, speaker_names: dict[str, str]) -> str:
    item = review.item(SESSION_SUMMARY_KEY)
    lines = [f"## Samenvatting van *{review.title}* controleren", "", "Bronzinnen uit het transcript:", ""]
    for source in item.sources:
        who = speaker_names.get(source.speaker or "", source.speaker or "spreker onbekend")
        lines.append(f"- **{clock(source.start)}–{clock(source.end)}** {who}: {source.text}")
    return "\n".join(lines)


def _resume_after_timeout() -> None:
    """Put the paused flow run back to running, so the rest of the session completes and publishes."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(context.flow_run.id, Running(), force=True)


def wait_for_editor(
    folder: Path, review: SessionReview, speaker_names: dict[str, str], settings: ReviewSettings
) -> SessionReview:
    """Pause the flow run until an editor approves, edits or rejects the session summary in the Prefect UI.

    A summary that needs no review does not pause; after `wait_timeout_s` it stays draft.
    """
    logger = get_run_logger()
    item = next((i for i in review.items if i.key == SESSION_SUMMARY_KEY), None)
    if item is None or not item.awaits_review:
        return review
    logger.warning(
        "%s: waiting up to %d s for an editor to review the summary in the Prefect UI",
        review.slug,
        settings.wait_timeout_s,
    )
    form = EditorApproval.with_initial_data(
        description=_approval_description(review, speaker_names), summary=item.generated_text
    )
    try:
        answer = pause_flow_run(
            wait_for_input=form, timeout=settings.wait_timeout_s, poll_interval=settings.wait_poll_s
        )
    except FlowPauseTimeout:
        _resume_after_timeout()
        logger.warning("%s: no editor within %d s; the summary stays draft", review.slug, settings.wait_timeout_s)
        return review
    reviewer = answer.reviewer.strip() or "Prefect UI"
    if answer.decision == "goedkeuren":
        decide = partial(approve, key=SESSION_SUMMARY_KEY, reviewer=reviewer, text=answer.summary)
    elif answer.decision == "afwijzen":
        decide = partial(reject, key=SESSION_SUMMARY_KEY, reviewer=reviewer)
    else:
        return read_review(folder) or review
    try:  # a decision on the summary as the form showed it; one made meanwhile elsewhere is not overwritten
        latest = decide_on(folder, SESSION_SUMMARY_KEY, item_version(item), decide)
    except StaleVersion as exc:
        logger.warning("%s: the Prefect UI's decision was not saved: %s", review.slug, exc)
        return read_review(folder) or review
    logger.info("%s: summary %s by %s", review.slug, latest.item(SESSION_SUMMARY_KEY).state, reviewer)
    return latest


@dataclass(frozen=True)
class EditorialResult:
    """The session's summaries and its review as it stands after this run (editor decisions included)."""

    summary: SessionSummary
    review: SessionReview
    warnings: tuple[str, ...] = ()
    """Fallbacks of the generative backend, and a summary left in draft after waiting for an editor."""
    files: dict[str, str] = field(default_factory=dict)
    """`review.json` for a session that has none yet: publishing writes it with the package."""


def summarize_and_review(
    recording: Recording,
    transcript: Transcript,
    chapters: Sequence[Chapter],
    speakers: Sequence[SpeakerInfo],
    settings: Settings,
    result_storage: str | None = None,
) -> EditorialResult:
    """Summaries (cached; generative when configured, falling back with a warning), then `review.json`.

    With `review.wait_for_editor` on, the flow run then waits for an editor (see `wait_for_editor`).
    """
    logger = get_run_logger()
    folder = workspace.session_private_dir(settings.output_dir, recording.slug)
    try:
        previous = read_review(folder)
    except ReviewError:
        previous = None
    names = editor_speaker_names(speakers, approved_speaker_names(previous, (s.id for s in speakers)))
    summary = summaries_task.with_options(result_storage=result_storage, **stage_options(settings, "summaries"))(  # type: ignore[arg-type]  # None: Prefect's default storage
        recording, quote(transcript), quote(list(chapters)), names, settings.summaries
    )
    if settings.summaries.backend == "generative":
        state: State = generative_summary_task.with_options(
            result_storage=result_storage,  # type: ignore[arg-type]  # None: Prefect's default storage
            **stage_options(settings, "generative-summary"),
        )(recording, summary, recording.title, names, settings.summaries, return_state=True)
        outcome = state.result(raise_on_failure=False)
        summary = outcome if isinstance(outcome, SessionSummary) else with_fallback_warning(summary, outcome)
    for warning in summary.warnings:
        logger.warning("%s: %s", recording.source, warning)
    review = review_task(
        recording, quote(transcript), summary, list(speakers), str(settings.output_dir), settings.review.wait_for_editor
    )
    warnings = list(summary.warnings)
    if settings.review.wait_for_editor:
        review = wait_for_editor(folder, review, names, settings.review)
        if any(i.key == SESSION_SUMMARY_KEY and i.awaits_review for i in review.items):
            warnings.append(f"no editor decision within {settings.review.wait_timeout_s} s; the summary stays draft")
    files = {} if review_path(folder).is_file() else {outputs.REVIEW.name(): to_json(review)}
    return EditorialResult(summary=summary, review=review, warnings=tuple(warnings), files=files)
