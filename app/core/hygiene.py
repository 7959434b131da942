"""Input hygiene shared by every route: PostgreSQL text cannot hold the NUL character, so
a request carrying one in its path, query or text body is refused with 422 up front, rather
than failing deep in the database driver as a 500."""

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response
from app.core.i18n import negotiate, translate

_TEXT_BODIES = (b"application/json", b"application/x-www-form-urlencoded", b"text/")
# \u0000 preceded by an even number of backslashes (i.e. not itself escaped).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _has_nul(data: bytes) -> bool:
    return b"\x00" in data or b"%00" in data or _JSON_NUL.search(data) is not None


class RejectNulMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if _has_nul(raw_path.lower()):
            await self._reject(scope, receive, send, "path")
            return
        if _has_nul(scope.get("query_string", b"").lower()):
            await self._reject(scope, receive, send, "query")
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if not content_type.startswith(_TEXT_BODIES):
            await self.app(scope, receive, send)
            return
        # Text bodies are small: read them whole, check, then replay them to the app.
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
        if _has_nul(body.lower() if b"urlencoded" in content_type else body):
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
