"""What stands between a request and the workbench: the Host header, the token, the same-origin check of a
state-changing request, the body size limit and the security headers (`Guard`); the checks of a request's
JSON and its fields; and the refusals (`ApiError`) as the JSON or the one-line page the editor sees."""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from livecastpipe.editor.editor_text import TextField, TextRefused, checked_text
from livecastpipe.package.server import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, host_allowed
from livecastpipe.storage import DISK_FULL, UNWRITABLE, error_line

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
LOG = logging.getLogger("livecastpipe.editor.workbench")
"""The workbench's log (one for the package): a failed request's traceback goes there, not to the editor."""
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiError(Exception):
    """A request the workbench refuses: the HTTP status and one clear line, plus fields for the JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def cookie_name(port: int | None) -> str:
    """The token cookie's name for a workbench on this port."""
    return f"{COOKIE_PREFIX}{port or 80}"


# --- the guard ------------------------------------------------------------------------------------


def error_response(status: int, message: str, api: bool, **extra: Any) -> Response:
    """A refusal as the editor sees it: JSON {"error", …} for the API (`api`), else a one-line Dutch page."""
    if api:
        return JSONResponse({"error": message, **extra}, status_code=status)
    page = (
        f"<!doctype html><html lang=nl><meta charset=utf-8><title>livecast edit</title><p>{_html_escape(message)}</p>"
    )
    return HTMLResponse(page, status_code=status)


def _html_escape(text: str) -> str:
    """Text fit for the one-line error page."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _origin(url: str | None) -> str | None:
    """The origin (scheme://host:port) of a Referer, or None when it has none."""
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
            await self.secured(error_response(500, line, api))(scope, receive, send)

    def refusal(self, request: Request, api: bool) -> Response | None:
        """The response refusing this request, or None when it may go on."""
        if not host_allowed(request.headers.get("host"), self.host, self.port):
            return error_response(
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
            return error_response(
                403,
                "deze werkbank vraagt om zijn token: open het adres dat `livecast edit` toonde "
                f"(…?token=…), of stuur de header {TOKEN_HEADER}",
                api,
            )
        if request.method in UNSAFE_METHODS and not same_origin(request):
            return error_response(
                403, "geweigerd: een wijziging moet van de eigen pagina's van de werkbank komen (same origin)", api
            )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return error_response(413, f"de aanvraag is groter dan {MAX_BODY_BYTES // (1024 * 1024)} MiB", api)
        return None

    def set_cookie(self, response: Response, request: Request) -> None:
        """Set the token cookie (this port's, HttpOnly, SameSite strict) on a response."""
        response.set_cookie(
            cookie_name(request.url.port), self.token, httponly=True, samesite="strict", path="/", secure=False
        )

    def secured(self, response: Response) -> Response:
        """The response with the headers every response of the workbench carries (`SECURED`)."""
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


# --- a request's JSON -----------------------------------------------------------------------------


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (see `request_json`); ApiError 400 for anything else, 413 for a body over
    the limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"de aanvraag is groter dan {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    return request_json(body)


def _refuse_constant(name: str) -> NoReturn:
    """ApiError 400 for NaN, Infinity or -Infinity in a request (not JSON, though Python's parser reads them)."""
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


def text_field(data: Mapping[str, Any], key: str) -> str:
    """The text field `key` of a request; ApiError 400 when it is missing or not text."""
    value = data.get(key)
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' moet tekst zijn")
    return value


def version_field(data: Mapping[str, Any], field: str = "version") -> str | None:
    """The version of a review item or speaker a change was based on (as the session JSON gives it, in
    `field`), or None when the request names none (the change then applies to the item as it is)."""
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"'{field}' moet de versie zijn die de sessie gaf (een tekst)")
    return value


def optional_text_field(data: Mapping[str, Any], key: str) -> str | None:
    """The text field `key` of a request, or None when it is not given."""
    return None if data.get(key) is None else text_field(data, key)


def typed_text_field(data: Mapping[str, Any], key: str, field: TextField, what: str, when_empty: str) -> str | None:
    """The text field `key` as `editor_text.checked_text` keeps it, or None when not given; ApiError 400
    when it is refused (nothing is changed before every field of a request is checked)."""
    value = optional_text_field(data, key)
    if value is None:
        return None
    try:
        return checked_text(value, field, what, when_empty)
    except TextRefused as exc:
        raise ApiError(400, str(exc)) from exc


def flag_field(data: Mapping[str, Any], key: str, default: bool) -> bool:
    """The yes/no field `key` of a request; ApiError 400 unless it is JSON's true or false (`"false"` is text)."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"'{key}' moet true of false zijn (zonder aanhalingstekens)")
    return value


def whole_field(data: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    """The whole-number field `key` of a request (a word number), 0 or more, or `default` when not given."""
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
