"""Conditional and compressed GETs for phones on poor networks.

Every successful JSON GET under /api/v1 gets a strong ETag naming its exact bytes, and a
Cache-Control: public with a max-age for the public, private for a signed-in caller. A
matching If-None-Match answers 304 with no body. A `fields=` selection (app.core.fields) is
applied first, so its ETag is its own. Bodies of at least GZIP_MIN_BYTES are gzip-compressed
for clients that accept it; small ones are sent as they are, since compressing them costs
more than it saves; a compressed representation has its own ETag (suffix "-gzip").

Where the route set a version tag for If-Match (`"report-7-v3"`), the ETag keeps it as a
prefix and adds the body's hash (`"report-7-v3-<hash>"`): the object's version does not cover
everything its answer shows (its items, the caller's allowed actions), so a version alone
would answer 304 for a changed answer. If-Match accepts the tag with or without the hash
(app.core.http.check_if_match).
"""

import gzip
import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.fields import SCOPE_KEY, select_fields

VARY = "Accept-Language, Authorization, Accept-Encoding"
GZIP_MIN_BYTES = 1400  # about one TCP segment


def accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2), as If-None-Match requires."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


class ConditionalGetMiddleware:
    def __init__(self, app: ASGIApp, *, max_age: int, prefix: str = "/api/v1/") -> None:
        self.app = app
        self.max_age = max_age
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        signed_in = "authorization" in request_headers
        if_none_match = request_headers.get("if-none-match")
        wants_gzip = accepts_gzip(request_headers.get("accept-encoding"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                cacheable = message["status"] == 200 and headers.get("content-type", "").startswith(
                    "application/json"
                )
                if not cacheable:
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if (selection := scope.get(SCOPE_KEY)) is not None:
                body = select_fields(body, selection)
            await self._finish(start, body, signed_in, if_none_match, wants_gzip, send)

        await self.app(scope, receive, capture)

    async def _finish(
        self,
        start: Message,
        body: bytes,
        signed_in: bool,
        if_none_match: str | None,
        wants_gzip: bool,
        send: Send,
    ) -> None:
        headers = MutableHeaders(raw=list(start["headers"]))
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        version_tag = headers.get("etag")
        etag = f'{version_tag[:-1]}-{digest[:16]}"' if version_tag else f'"{digest}"'
        if wants_gzip and len(body) >= GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=5, mtime=0)
            etag = etag[:-1] + '-gzip"'
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        headers["ETag"] = etag
        if "cache-control" not in headers:
            headers["Cache-Control"] = (
                "private, no-cache" if signed_in else f"public, max-age={self.max_age}"
            )
        headers["Vary"] = VARY
        if if_none_match and etag_matches(if_none_match, etag):
            del headers["content-length"]
            del headers["content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
