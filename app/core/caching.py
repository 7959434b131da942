"""Conditional and compressed GETs for phones on poor networks, whatever the media type.

Every successful GET (HEAD is answered as a GET by app.core.methods) of the API, of the
contract (/openapi.json) and of the docs (/docs, /redoc and their assets) gets a strong
ETag naming its exact bytes and a Cache-Control; a matching If-None-Match answers 304 with
no body. JSON, CSV, the docs' HTML, scripts and styles alike: the representation is
buffered, hashed and, for clients that accept it, gzip-compressed when it is at least
GZIP_MIN_BYTES of a compressible type (small bodies cost more to compress than they save;
XLSX, PNG and the like are compressed already). A compressed representation has its own
ETag (suffix "-gzip") and decompresses to exactly the identity one.

Who may keep an answer:
- the API (`prefix`): public with a max-age for the public, `private, no-cache` for a
  caller with a token; it varies by language, token and encoding;
- `private` paths (the sync feed, which depends on transactions in flight, not on data):
  `private, no-cache` for everyone, so no shared cache delays the feed;
- `shared` paths (the contract and the docs): the same for every caller, public with a
  max-age, varying by encoding only.
Answers that say `no-store` (evidence downloads, the reviewers' exports) are passed through
untouched, never buffered; so are paths none of these name (/metrics, the health probes).

A `fields=` selection (app.core.fields) is applied to JSON first, so its ETag is its own.
Where the route set a version tag for If-Match (`"report-7-v3"`), the ETag keeps it as a
prefix and adds the body's hash (`"report-7-v3-<hash>"`): the object's version does not cover
everything its answer shows (its items, the caller's allowed actions), so a version alone
would answer 304 for a changed answer. If-Match accepts the tag with or without the hash
(app.core.http.check_if_match). Other validators of the inner answer (StaticFiles' own ETag)
give way to the hash, and the request's own conditions are evaluated here only.
"""

import gzip
import hashlib
import re
from collections import OrderedDict

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.fields import SCOPE_KEY, select_fields

VARY = "Accept-Language, Authorization, Accept-Encoding"
SHARED_VARY = "Accept-Encoding"
GZIP_MIN_BYTES = 1400  # about one TCP segment
# Media types worth compressing: text of any kind; not images, archives or workbooks.
_COMPRESSIBLE = re.compile(
    r"^(text/|application/(json|problem\+json|[a-z.+-]*\+json|javascript|xml)|image/svg\+xml)"
)
_VERSION_TAG = re.compile(r'"[a-z_]+-\d+-v\d+"')
# Judged here, not by the inner layers (StaticFiles would answer its own 304 or 206): Range
# is ignored (RFC 9110 §14.2 allows it), since the answer may be re-encoded below.
_CONDITIONS = (b"if-none-match", b"if-modified-since", b"range", b"if-range")
# Compressed bodies kept by their identity hash (the docs' scripts take 60 ms to compress).
GZIP_MEMO_BYTES = 8 * 1024 * 1024
GZIP_MEMO_MIN = 64 * 1024


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


def compressible(content_type: str) -> bool:
    return bool(_COMPRESSIBLE.match(content_type.lower()))


def _named(path: str, patterns: tuple[str, ...]) -> bool:
    """Patterns ending in "/" name a prefix, the others one path exactly."""
    return any(path.startswith(p) if p.endswith("/") else path == p for p in patterns)


class ConditionalGetMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_age: int,
        prefix: str = "/api/v1/",
        private: tuple[str, ...] = (),
        shared: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_age = max_age
        self.prefix = prefix
        self.private = private
        self.shared = shared
        self._gzipped: OrderedDict[str, bytes] = OrderedDict()
        self._gzipped_bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        shared = scope["type"] == "http" and _named(path, self.shared)
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not (shared or path.startswith(self.prefix))
        ):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        if shared:
            cache_control, vary = f"public, max-age={self.max_age}", SHARED_VARY
        elif _named(path, self.private) or "authorization" in request_headers:
            cache_control, vary = "private, no-cache", VARY
        else:
            cache_control, vary = f"public, max-age={self.max_age}", VARY
        if_none_match = request_headers.get("if-none-match")
        wants_gzip = accepts_gzip(request_headers.get("accept-encoding"))
        # The inner layers build the whole answer; the request's conditions are judged here.
        # The routes write into `inner` (the `fields=` selection): _finish reads it there.
        inner = {**scope, "headers": [(n, v) for n, v in scope["headers"] if n not in _CONDITIONS]}
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                if message["status"] != 200 or "no-store" in headers.get("cache-control", ""):
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
            await self._finish(
                start, b"".join(chunks), inner, cache_control, vary, if_none_match, wants_gzip, send
            )

        await self.app(inner, receive, capture)

    async def _finish(
        self,
        start: Message,
        body: bytes,
        scope: Scope,
        cache_control: str,
        vary: str,
        if_none_match: str | None,
        wants_gzip: bool,
        send: Send,
    ) -> None:
        headers = MutableHeaders(raw=list(start["headers"]))
        content_type = headers.get("content-type", "")
        selection = scope.get(SCOPE_KEY)
        if selection is not None and content_type.startswith("application/json"):
            body = select_fields(body, selection)
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        version_tag = headers.get("etag")
        if version_tag and _VERSION_TAG.fullmatch(version_tag):
            etag = f'{version_tag[:-1]}-{digest[:16]}"'
        else:
            etag = f'"{digest}"'
        if wants_gzip and len(body) >= GZIP_MIN_BYTES and compressible(content_type):
            body = self._gzip(body, digest)
            etag = etag[:-1] + '-gzip"'
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        headers["ETag"] = etag
        if "accept-ranges" in headers:
            del headers["accept-ranges"]
        if "cache-control" not in headers:
            headers["Cache-Control"] = cache_control
        headers["Vary"] = vary
        if if_none_match and etag_matches(if_none_match, etag):
            del headers["content-length"]
            del headers["content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})

    def _gzip(self, body: bytes, digest: str) -> bytes:
        """gzip with mtime 0, so equal bodies compress to equal bytes (and one ETag)."""
        if len(body) < GZIP_MEMO_MIN:
            return gzip.compress(body, compresslevel=5, mtime=0)
        if (kept := self._gzipped.get(digest)) is not None:
            self._gzipped.move_to_end(digest)
            return kept
        compressed = gzip.compress(body, compresslevel=5, mtime=0)
        self._gzipped[digest] = compressed
        self._gzipped_bytes += len(compressed)
        while self._gzipped_bytes > GZIP_MEMO_BYTES and len(self._gzipped) > 1:
            _, dropped = self._gzipped.popitem(last=False)
            self._gzipped_bytes -= len(dropped)
        return compressed
