"""The digest of a POST's body for Idempotency-Key, taken as the body streams to the app.

A repeat must carry "the same body" as the first request. The body is digested while the
app reads it, so nothing is buffered that the app would not buffer itself: an evidence
upload is still streamed to disk. A multipart body is digested by its parts (each part's
headers and bytes), not byte for byte: clients draw a fresh random boundary for every
request, and a retry of the same upload must match. Any other body is digested as sent.

The digest is plain SHA-256 and never stored as such: app.core.idempotency keys it (HMAC)
with the method, path and query before keeping it.
"""

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

SCOPE_KEY = "dxplan.idempotency.body"
HEADER = b"idempotency-key"


class BodyDigest:
    def __init__(self, content_type: bytes) -> None:
        self._sha = hashlib.sha256()
        self.complete = False
        self._parser: MultipartParser | None = None
        media, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if media == b"multipart/form-data" and boundary:
            self._sha.update(b"multipart\x00")
            self._parser = MultipartParser(boundary, self._callbacks())
        else:
            self._sha.update(b"raw\x00")

    def _callbacks(self) -> "MultipartCallbacks":
        sha = self._sha

        def marker(tag: bytes) -> Callable[[], None]:
            return lambda: sha.update(b"\x00" + tag + b"\x00")

        def data(tag: bytes) -> Callable[[bytes, int, int], None]:
            def feed(chunk: bytes, start: int, end: int) -> None:
                piece = chunk[start:end]
                sha.update(piece.lower() if tag == b"field" else piece)

            return feed

        callbacks: dict[str, Callable[..., None]] = {
            "on_part_begin": marker(b"part"),
            "on_header_field": data(b"field"),
            "on_header_value": data(b"value"),
            "on_header_end": marker(b"header"),
            "on_headers_finished": marker(b"body"),
            "on_part_data": data(b"data"),
            "on_part_end": marker(b"end"),
        }
        return cast("MultipartCallbacks", callbacks)

    def feed(self, chunk: bytes, more: bool) -> None:
        if self.complete:
            return
        if self._parser is not None:
            try:
                self._parser.write(chunk)
                if not more:
                    self._parser.finalize()
            except Exception:  # not valid multipart: digest the rest as bytes, consistently
                self._parser = None
                self._sha.update(b"\x00invalid\x00" + chunk)
        else:
            self._sha.update(chunk)
        self.complete = not more

    async def finish(self, request: Request) -> bytes:
        """The digest of the whole body, reading what the app left unread (and dropping it:
        this is called only when the app will not read it)."""
        if not self.complete:
            try:
                async for _ in request.stream():
                    pass
            except RuntimeError:  # consumed by the app without reaching its end
                self.complete = True
        return self._sha.digest()


def body_digest(scope: Scope) -> BodyDigest | None:
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, BodyDigest) else None


class IdempotencyBodyMiddleware:
    """Puts a BodyDigest in the scope of every POST that carries an Idempotency-Key and
    feeds it each body chunk the app receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if HEADER not in headers:
            await self.app(scope, receive, send)
            return
        digest = BodyDigest(headers.get(b"content-type", b""))
        scope[SCOPE_KEY] = digest

        async def digesting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                digest.feed(message.get("body", b""), message.get("more_body", False))
            return message

        await self.app(scope, digesting_receive, send)
