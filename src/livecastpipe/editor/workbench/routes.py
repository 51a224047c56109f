"""The workbench's Starlette application: its pages, the public files of a session, its script and style,
and the JSON API (docs/editing.md), each route a method of `WorkbenchRoutes` over one `Workbench`."""

from __future__ import annotations

import mimetypes
import urllib.parse
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from livecastpipe import workspace
from livecastpipe.editor.editor_text import CHAPTER_TITLE, REVIEW_TEXT, SPEAKER_NAME
from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.model import SessionEdits
from livecastpipe.editor.workbench import captions
from livecastpipe.editor.workbench.guard import (
    TOKEN_QUERY,
    ApiError,
    Guard,
    error_response,
    flag_field,
    json_body,
    optional_text_field,
    storage_refusal,
    text_field,
    typed_text_field,
    version_field,
    whole_field,
)
from livecastpipe.editor.workbench.service import Workbench
from livecastpipe.editor.workbench.views import site_file
from livecastpipe.package import outputs
from livecastpipe.stages.translate import translated_cues

STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
"""The media types of the workbench's own script and style (`static/workbench.{js,css}`)."""

Handler = Callable[[Request], Awaitable[Response]]
Operation = Callable[[SessionEdits], SessionEdits]
"""One change to a session's edits, as `Workbench.change` applies it under the edits' lock."""
MakeOperation = Callable[[Request, dict[str, Any], str], Operation]
"""The change a request asks for (its JSON checked, before anything is changed), given the session's slug."""


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


def _page(handler: Handler) -> Handler:
    """A page: its response, or a refusal (ApiError, a file system error) as a one-line page."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except OSError as exc:
            refusal = storage_refusal(exc)
            return error_response(refusal.status, str(refusal), api=False)
        except ApiError as exc:
            return error_response(exc.status, str(exc), api=False)

    return endpoint


class WorkbenchRoutes:
    """The routes of one workbench: pages and files, then the JSON API; each parses and checks its request
    and leaves the work to the `Workbench` in a worker thread (files are read and written there)."""

    def __init__(self, bench: Workbench) -> None:
        self.bench = bench

    def routes(self) -> list[Route]:
        """Every route of the workbench, with the methods it answers."""
        segment_path = "/api/sessions/{slug}/segments/{segment}"
        post = ["POST"]
        return [
            Route("/", _page(self.sessions_page)),
            Route("/sessions/{slug}", _page(self.session_redirect)),
            Route("/sessions/{slug}/", _page(self.session_page)),
            Route("/sessions/{slug}/preview", _page(self.preview_page)),
            Route("/sessions/{slug}/{path:path}", _page(self.session_file)),
            Route("/static/{name}", self.static_file),
            Route("/api/sessions", _api(self.api_sessions)),
            Route("/api/sessions/{slug}", _api(self.api_session)),
            Route(segment_path, self.edit_endpoint(self.segment_change), methods=post),
            Route(segment_path + "/split", self.edit_endpoint(self.split), methods=post),
            Route(segment_path + "/merge", self.edit_endpoint(self.merge), methods=post),
            Route(segment_path + "/inaudible", self.edit_endpoint(self.inaudible), methods=post),
            Route(segment_path + "/revert", self.edit_endpoint(self.revert), methods=post),
            Route(segment_path + "/resolve", self.edit_endpoint(self.resolve), methods=post),
            Route("/api/sessions/{slug}/replace", _api(self.replace), methods=post),
            Route("/api/sessions/{slug}/speakers", self.edit_endpoint(self.add_speaker, False), methods=post),
            Route("/api/sessions/{slug}/speakers/merge", self.edit_endpoint(self.merge_speakers, False), methods=post),
            Route("/api/sessions/{slug}/speakers/{speaker}", _api(self.speaker_details), methods=["PUT"]),
            Route("/api/sessions/{slug}/chapters/{number}", _api(self.chapter), methods=post),
            Route("/api/sessions/{slug}/review/{key:path}", _api(self.review_decision), methods=post),
            Route(
                "/api/sessions/{slug}/translation/{cue}", self.edit_endpoint(self.translated_cue, False), methods=post
            ),
            Route("/api/sessions/{slug}/cues", _api(self.cues)),
            Route("/api/sessions/{slug}/cues/check", _api(self.check_cues), methods=post),
            Route("/api/sessions/{slug}/cues/{cue}", _api(self.move_cue), methods=post),
            Route("/api/sessions/{slug}/captions.vtt", self.preview_track),
            Route("/api/sessions/{slug}/levels", _api(self.levels)),
            Route("/api/sessions/{slug}/undo", self.edit_endpoint(self.undo, False), methods=post),
            Route("/api/sessions/{slug}/redo", self.edit_endpoint(self.redo, False), methods=post),
            Route("/api/sessions/{slug}/publish", _api(self.publish), methods=post),
        ]

    # pages and files ------------------------------------------------------------------------------

    async def sessions_page(self, request: Request) -> Response:
        """GET /: the list of the output folder's sessions."""
        return HTMLResponse(await run_in_threadpool(self.bench.render_sessions))

    async def session_page(self, request: Request) -> Response:
        """GET /sessions/{slug}/: the workbench page of a session."""
        return HTMLResponse(await run_in_threadpool(self.bench.render_page, request.path_params["slug"]))

    async def session_redirect(self, request: Request) -> Response:
        """GET /sessions/{slug}: to the page's address with its slash (its relative links need it)."""
        return RedirectResponse(f"/sessions/{urllib.parse.quote(request.path_params['slug'])}/", status_code=307)

    async def preview_page(self, request: Request) -> Response:
        """GET /sessions/{slug}/preview: the session page as publishing would make it now."""
        return HTMLResponse(await run_in_threadpool(self.bench.preview, request.path_params["slug"]))

    async def session_file(self, request: Request) -> Response:
        """GET /sessions/{slug}/{path}: a public file of the session's site folder (media, captions), nothing
        outside it."""
        slug = request.path_params["slug"]
        await run_in_threadpool(self.bench.require_session, slug)
        path = site_file(self.bench.output_dir, slug, request.path_params["path"])
        if path is None:
            raise ApiError(404, f"{request.url.path}: geen bestand van deze sessie")
        relative = path.relative_to(workspace.session_site_dir(self.bench.output_dir, slug).resolve()).as_posix()
        media_type = outputs.media_type(relative) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type.removesuffix("+chapters").removesuffix("+oembed"))

    async def static_file(self, request: Request) -> Response:
        """GET /static/{name}: the workbench's script or style."""
        name = request.path_params["name"]
        if name not in (
            "workbench.js",
            "workbench-drafts.js",
            "workbench-list.js",
            "workbench-review.js",
            "workbench-cues.js",
            "workbench.css",
        ):
            return error_response(404, f"{request.url.path}: niet gevonden", api=False)
        text = resources.files("livecastpipe").joinpath("static", name).read_text(encoding="utf-8")
        return Response(text, media_type=STATIC_TYPES[Path(name).suffix] + "; charset=utf-8")

    # reading --------------------------------------------------------------------------------------

    async def api_sessions(self, request: Request) -> Any:
        """GET /api/sessions: the output folder's sessions."""
        return {"sessions": await run_in_threadpool(self.bench.sessions)}

    async def api_session(self, request: Request) -> Any:
        """GET /api/sessions/{slug}: the whole session as the workbench edits it."""
        return await run_in_threadpool(self.bench.session_json, request.path_params["slug"])

    # changing the edits ---------------------------------------------------------------------------

    def edit_endpoint(self, make: MakeOperation, per_segment: bool = True) -> Handler:
        """A JSON endpoint applying the change `make` reads from the request, based on its `version`
        (`per_segment`: the segment of the path must still exist); `?html=1` adds each segment's HTML."""

        async def handler(request: Request) -> Any:
            slug = request.path_params["slug"]
            data = await json_body(request)
            operation = make(request, data, slug)
            segment_id = request.path_params.get("segment") if per_segment else None
            with_html = request.query_params.get("html") == "1"
            return await run_in_threadpool(
                self.bench.change, slug, operation, data.get("version"), segment_id, with_html
            )

        return _api(handler)

    def segment_change(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """A segment's new text and/or speaker (the speaker from word `from_word` on)."""
        segment, editor = request.path_params["segment"], self.bench.editor
        text = optional_text_field(data, "text")
        speaker = optional_text_field(data, "speaker")
        from_word = whole_field(data, "from_word", 0) or 0
        if text is None and speaker is None:
            raise ApiError(400, "geef 'text' of 'speaker' (of allebei)")

        def operation(current: SessionEdits) -> SessionEdits:
            if text is not None:
                current = ed.set_text(current, segment, text, base_version=current.version, editor=editor)
            if speaker is not None:
                current = ed.set_speaker(
                    current, segment, speaker, from_word=from_word, base_version=current.version, editor=editor
                )
            return current

        return operation

    def split(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """A segment split before word `word`."""
        segment, word, editor = request.path_params["segment"], whole_field(data, "word"), self.bench.editor
        if word is None:
            raise ApiError(400, "'word' (het woordnummer waar het segment gesplitst wordt) ontbreekt")
        return lambda e: ed.split_segment(e, segment, word, base_version=e.version, editor=editor)

    def merge(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """A segment merged with the previous or the next one (`direction`)."""
        segment, direction, editor = request.path_params["segment"], data.get("direction"), self.bench.editor
        if direction not in ("previous", "next"):
            raise ApiError(400, "'direction' moet 'previous' (het vorige segment) of 'next' (het volgende) zijn")
        return lambda e: ed.merge_segments(e, segment, direction, base_version=e.version, editor=editor)

    def inaudible(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """Words `from_word` to `to_word` of a segment (all of it by default) marked inaudible."""
        segment, editor = request.path_params["segment"], self.bench.editor
        first, last = whole_field(data, "from_word", 0) or 0, whole_field(data, "to_word")
        return lambda e: ed.mark_inaudible(
            e, segment, from_word=first, to_word=last, base_version=e.version, editor=editor
        )

    def revert(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """A segment back to the machine's words of its time."""
        segment, editor = request.path_params["segment"], self.bench.editor
        machine = self.bench.machine(slug)
        return lambda e: ed.revert_segment(e, segment, machine, base_version=e.version, editor=editor)

    def resolve(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """A stale segment settled: the edit kept (`keep`), or the machine's text taken."""
        segment, keep, editor = request.path_params["segment"], data.get("keep"), self.bench.editor
        if not isinstance(keep, bool):
            raise ApiError(400, "'keep' moet true (uw tekst houden) of false (de tekst van de machine nemen) zijn")
        machine = self.bench.machine(slug)
        return lambda e: ed.resolve_stale(e, segment, keep, machine, base_version=e.version, editor=editor)

    def merge_speakers(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """Everything speaker `source` says given to `target`."""
        source, target, editor = text_field(data, "source"), text_field(data, "target"), self.bench.editor
        return lambda e: ed.merge_speakers(e, source, target, base_version=e.version, editor=editor)

    def add_speaker(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """A new speaker segments can be given to."""
        editor = self.bench.editor
        return lambda e: ed.add_speaker(e, base_version=e.version, editor=editor)[0]

    def translated_cue(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """An English (machine-translated) cue's corrected text; the cue named by its start (`00:01:02.340`)."""
        editor, cue, text = self.bench.editor, request.path_params["cue"], text_field(data, "text")
        published = workspace.session_site_dir(self.bench.output_dir, slug) / outputs.TRANSLATED_SUBTITLES_VTT.name()
        try:
            starts = [start for start, _, _ in translated_cues({published.name: published.read_text(encoding="utf-8")})]
        except FileNotFoundError as exc:
            raise ApiError(404, f"sessie '{slug}' heeft geen Engelse ondertitels (--translate en)") from exc
        return lambda e: ed.set_translated_cue(e, cue, text, base_version=e.version, editor=editor, cue_starts=starts)

    def undo(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """The last change not undone yet taken back (after a rerun: the rerun's words of its time)."""
        editor, machine = self.bench.editor, self.bench.machine(slug)
        return lambda e: ed.undo(e, base_version=e.version, editor=editor, machine=machine)

    def redo(self, request: Request, data: dict[str, Any], slug: str) -> Operation:
        """The change undone last made again."""
        editor = self.bench.editor
        return lambda e: ed.redo(e, base_version=e.version, editor=editor)

    async def replace(self, request: Request) -> Any:
        """POST …/replace: find and replace in every segment, as one change; with `preview`, what it would
        change, changing nothing."""
        slug, editor = request.path_params["slug"], self.bench.editor
        data = await json_body(request)
        find, replacement = text_field(data, "find"), text_field(data, "replace")
        whole, case = flag_field(data, "whole_word", True), flag_field(data, "case_sensitive", False)
        if flag_field(data, "preview", False):
            return await run_in_threadpool(self.bench.replace_preview, slug, find, replacement, whole, case)

        def operation(e: SessionEdits) -> SessionEdits:
            return ed.replace_all(
                e, find, replacement, whole_word=whole, case_sensitive=case, base_version=e.version, editor=editor
            )

        with_html = request.query_params.get("html") == "1"
        return await run_in_threadpool(self.bench.change, slug, operation, data.get("version"), None, with_html)

    # cues ----------------------------------------------------------------------------------------

    async def cues(self, request: Request) -> Any:
        """GET …/cues: the captions' cues as publishing would make them now, with their warnings."""
        return await run_in_threadpool(captions.session_cues, self.bench, request.path_params["slug"])

    async def move_cue(self, request: Request) -> Any:
        """POST …/cues/{cue}: a cue's new `start` and `end` (seconds), based on the edits' `version`."""
        data = await json_body(request)
        slug, cue = request.path_params["slug"], request.path_params["cue"]
        start, end = data.get("start"), data.get("end")
        return await run_in_threadpool(captions.move_cue, self.bench, slug, cue, start, end, data.get("version"))

    async def check_cues(self, request: Request) -> Any:
        """POST …/cues/check: the warnings of a text being typed or a cue being moved, nothing saved."""
        data = await json_body(request)
        if "segment" in data:
            text_field(data, "text")
        return await run_in_threadpool(captions.check_cues, self.bench, request.path_params["slug"], data)

    async def preview_track(self, request: Request) -> Response:
        """GET …/captions.vtt: the captions made from the current edits (the workbench's preview track)."""
        try:
            text = await run_in_threadpool(captions.preview_vtt, self.bench, request.path_params["slug"])
        except ApiError as exc:
            return error_response(exc.status, str(exc), api=True)
        return Response(text, media_type="text/vtt; charset=utf-8", headers={"Cache-Control": "no-store"})

    async def levels(self, request: Request) -> Any:
        """GET …/levels: the level strip of the session's audio (a peak per 50 ms)."""
        return await run_in_threadpool(captions.audio_levels, self.bench, request.path_params["slug"])

    # speakers, chapters, review, publishing -------------------------------------------------------

    async def speaker_details(self, request: Request) -> Any:
        """PUT …/speakers/{speaker}: a speaker's name and/or role."""
        data = await json_body(request)
        name, role = optional_text_field(data, "name"), optional_text_field(data, "role")
        if name is not None and name.strip():
            name = typed_text_field(data, "name", SPEAKER_NAME, "de naam van de spreker", "geef een naam")
        if name is None and role is None:
            raise ApiError(400, "geef 'name' of 'role' (of allebei)")
        slug, speaker = request.path_params["slug"], request.path_params["speaker"]
        return await run_in_threadpool(self.bench.set_speaker_details, slug, speaker, name, role, version_field(data))

    async def chapter(self, request: Request) -> Any:
        """POST …/chapters/{number}: a chapter's start and/or title."""
        slug = request.path_params["slug"]
        data = await json_body(request)
        try:
            number = int(request.path_params["number"])
        except ValueError as exc:
            raise ApiError(404, f"hoofdstuk '{request.path_params['number']}' bestaat niet in sessie '{slug}'") from exc
        title = typed_text_field(data, "title", CHAPTER_TITLE, "de titel", "typ een titel")
        start = data.get("start")
        if title is None and start is None:
            raise ApiError(400, "geef 'title' of 'start' (of allebei)")
        if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float)) or start < 0):
            raise ApiError(400, "'start' moet een tijd in seconden zijn, 0 of meer")
        title_based_on = version_field(data, "title_version") if title is not None else None
        return await run_in_threadpool(
            self.bench.change_chapter, slug, number, title, start, data.get("version"), title_based_on
        )

    async def review_decision(self, request: Request) -> Any:
        """POST …/review/{key}: a generated text approved (as typed), rejected or reopened."""
        data = await json_body(request)
        decision = text_field(data, "decision")
        key = request.path_params["key"]
        field = CHAPTER_TITLE if key.endswith("/title") else REVIEW_TEXT
        text = typed_text_field(data, "text", field, "de tekst", "keur de tekst van de machine goed, of wijs hem af")
        return await run_in_threadpool(
            self.bench.decide, request.path_params["slug"], key, decision, text, version_field(data)
        )

    async def publish(self, request: Request) -> Any:
        """POST …/publish: the session published from its edits, then the catalogue."""
        return await run_in_threadpool(self.bench.publish, request.path_params["slug"])


async def _not_found(request: Request, exc: Exception) -> Response:
    """404 for an address no route has (JSON under /api/, else a page)."""
    return error_response(404, f"{request.url.path}: niet gevonden", api=request.url.path.startswith("/api/"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    """405 for a method a route does not answer."""
    return error_response(405, f"{request.method} {request.url.path}: methode niet toegestaan", api=True)


def workbench_app(workbench: Workbench, host: str = "127.0.0.1", port: int | None = None) -> Starlette:
    """The Starlette application of a workbench, served with uvicorn on `host` at `port` (None: whatever
    port; both for the Host header check, `host_allowed`)."""
    routes = WorkbenchRoutes(workbench).routes()
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed})
    app.add_middleware(Guard, token=workbench.token, host=host, port=port)
    return app


def workbench_url(host: str, port: int, token: str, slug: str | None = None) -> str:
    """The address `livecast edit` prints and opens: the session's page (or the list), with the token."""
    shown = f"[{host}]" if ":" in host else host
    path = f"/sessions/{urllib.parse.quote(slug)}/" if slug else "/"
    return f"http://{shown}:{port}{path}?{TOKEN_QUERY}={token}"
