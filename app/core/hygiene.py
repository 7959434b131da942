"""Input hygiene shared by every route: PostgreSQL text cannot hold the NUL character, so
a request that would hand the app one is refused with 422 up front, rather than failing deep
in the database driver as a 500.

The check looks at what the app will see, decoded once as the app decodes it: the path and
the query after percent-decoding, the strings (keys and values) of a JSON body after JSON
decoding, the fields of a form after form decoding. ``%00`` inside JSON text is text, and
``%2500`` in a query is the text ``%00``: neither is refused. Every check is linear in the
input, and bodies are bounded before they get here (app.core.body_limit). Evidence uploads
are left to the upload code, which never stores a name with control characters.
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.body_limit import UploadRoutes
from app.core.errors import problem_response
from app.core.i18n import negotiate, translate

NUL = "\x00"
# Only this escape can put a NUL into a decoded JSON string: a raw NUL byte is not valid JSON
# (control characters must be escaped), and hex digits 0 have no case.
_JSON_NUL_ESCAPE = b"\\u0000"


def _json_strings_have_nul(value: Any) -> bool:
    """Walks the decoded document with a stack (no recursion limit to hit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            for key, inner in item.items():
                if NUL in key:
                    return True
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_has_nul(body: bytes) -> bool:
    """Whether a decoded JSON body holds a NUL in any key or string. Bodies that are not
    JSON pass: the app answers them itself (422 json_invalid)."""
    if _JSON_NUL_ESCAPE not in body:
        return False
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson is stricter than the standard parser the app uses (NaN, lone surrogates):
        # check what the app would decode.
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return False
    return _json_strings_have_nul(document)


def form_has_nul(body: bytes) -> bool:
    """Whether a decoded application/x-www-form-urlencoded field (name or value) holds a
    NUL: ``%00`` decodes to one, a raw NUL byte stays one."""
    return b"\x00" in unquote_to_bytes(body)


def _media_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media_type
    return ""


def raw_has_nul(body: bytes) -> bool:
    return b"\x00" in body


def _body_check(media_type: str) -> Callable[[bytes], bool] | None:
    """The check for a body of this media type, or None when the app sees no text in it."""
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return json_has_nul
    if media_type == "application/x-www-form-urlencoded":
        return form_has_nul
    if media_type.startswith("text/") or media_type == "multipart/form-data":
        # Fields and text reach the app byte for byte.
        return raw_has_nul
    return None


class RejectNulMiddleware:
    def __init__(self, app: ASGIApp, *, uploads: UploadRoutes | None = None) -> None:
        self.app = app
        self.uploads = uploads or UploadRoutes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if NUL in scope["path"]:  # the server has percent-decoded it
            await self._reject(scope, receive, send, "path")
            return
        if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await self._reject(scope, receive, send, "query")
            return
        check = _body_check(_media_type(scope))
        if check is None or self.uploads.match(scope):
            await self.app(scope, receive, send)
            return
        # Bounded by the body limit: read it whole, check, then replay it to the app.
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if check(body):
            await self._reject(scope, receive, send, "body")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, where: str) -> None:
        request = Request(scope, receive)
        lang = negotiate(request.headers.get("accept-language"))
        response = problem_response(
            request,
            status=422,
            code="validation_error",
            detail=translate("validation_error.detail", lang),
            lang=lang,
            errors=[
                {
                    "loc": [where],
                    "field": where,
                    "type": "nul_character",
                    "message": translate("field.nul_character", lang),
                }
            ],
        )
        await response(scope, receive, send)
