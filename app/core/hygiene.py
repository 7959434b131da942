"""Input hygiene shared by every route: PostgreSQL text cannot hold the NUL character, so
a request that would hand the app one is refused with 422 up front, rather than failing deep
in the database driver as a 500.

The check looks at what the app will see, decoded once as the app decodes it: the path and
the query after percent-decoding, the strings (keys and values) of a JSON body after JSON
decoding, the fields of a form after form decoding. ``%00`` inside JSON text is text, and
``%2500`` in a query is the text ``%00``: neither is refused. Every check is linear in the
input, and bodies are bounded before they get here (app.core.body_limit). Evidence uploads
are left to the upload code, which never stores a name with control characters.

Bodies whose decoding the check could not follow are refused with 415
`unsupported_media_type` before anything parses them:
- multipart/form-data anywhere but the evidence uploads (the only routes that document
  it): Starlette's form parser decodes field names and values with whatever ``charset=``
  the Content-Type names (``utf-7``, ``unicode_escape``...), in which NUL has many spellings;
- an evidence upload whose Content-Type names a charset other than UTF-8: the upload code
  reads the file name as UTF-8, so any other declared charset would be misread;
- JSON not in UTF-8 (RFC 8259 §8.1; a UTF-8 byte order mark is ignored, as the parser
  does): the parser guesses UTF-16 or UTF-32 from zero bytes, where the ``\u0000`` escape
  no longer appears as such.
Media types are parsed as the framework parses them (python-multipart's
``parse_options_header`` for forms, FastAPI's own test for JSON), so that the check and the
app never disagree on what a body is.
"""

import codecs
import email.message
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from python_multipart.multipart import parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.body_limit import UploadRoutes
from app.core.errors import AppError, UnsupportedMediaTypeError, send_problem
from app.core.i18n import Lang, translate

NUL = "\x00"
# Only this escape can put a NUL into a decoded JSON string: a raw NUL byte is not valid JSON
# (control characters must be escaped), and hex digits 0 have no case.
_JSON_NUL_ESCAPE = b"\\u0000"


class NulCharacterError(AppError):
    """The decoded path, query or body holds a NUL, which PostgreSQL text cannot store
    (app.core.hygiene); `where` is the part of the request."""

    status = 422
    code = "validation_error"
    detail_key = "validation_error.detail"

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def problem_errors(self, lang: Lang) -> list[dict[str, Any]]:
        message = translate("field.nul_character", lang)
        return [
            {"loc": [self.where], "field": self.where, "type": "nul_character", "message": message}
        ]


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


def raw_has_nul(body: bytes) -> bool:
    return b"\x00" in body


def json_not_utf8(body: bytes) -> bool:
    """Whether the standard parser would read this body in another encoding than UTF-8."""
    return json.detect_encoding(body) not in ("utf-8", "utf-8-sig")


def _content_type(scope: Scope) -> str:
    """The first Content-Type, as Starlette's ``request.headers`` gives it to the app."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type: str = value.decode("latin-1")
            return content_type
    return ""


def _is_json(content_type: str) -> bool:
    """FastAPI's own test (fastapi.routing): a body is parsed as JSON exactly then."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _is_utf8(charset: bytes) -> bool:
    try:
        return codecs.lookup(charset.decode("latin-1")).name == "utf-8"
    except LookupError:
        return False


def _body_check(media_type: bytes) -> Callable[[bytes], bool] | None:
    """The check for a (non-JSON) body of this media type, or None when the app sees no
    text in it."""
    if media_type == b"application/x-www-form-urlencoded":
        return form_has_nul
    if media_type.startswith(b"text/"):
        return raw_has_nul  # text reaches the app byte for byte
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
            await send_problem(scope, send, NulCharacterError("path"))
            return
        if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await send_problem(scope, send, NulCharacterError("query"))
            return
        content_type = _content_type(scope)
        media_type, options = parse_options_header(content_type)
        if media_type == b"multipart/form-data":
            refusal = self._multipart_refusal(scope, options)
            if refusal is not None:
                await send_problem(scope, send, refusal)
            else:
                await self.app(scope, receive, send)  # the upload code reads it
            return
        is_json = _is_json(content_type)
        check = json_has_nul if is_json else _body_check(media_type)
        if check is None:
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
        if is_json and json_not_utf8(body):
            await send_problem(scope, send, UnsupportedMediaTypeError("json_encoding"))
            return
        if check(body):
            await send_problem(scope, send, NulCharacterError("body"))
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _multipart_refusal(self, scope: Scope, options: dict[bytes, bytes]) -> AppError | None:
        if not self.uploads.match(scope):
            return UnsupportedMediaTypeError("multipart")
        charset = options.get(b"charset")
        if charset is not None and not _is_utf8(charset):
            return UnsupportedMediaTypeError("upload_charset")
        return None
