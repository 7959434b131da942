"""A cache of public answers, valid while the data version in PostgreSQL stays the same.

Public data changes rarely and is read by every citizen's phone, so the finished answer of
an anonymous GET (body, compressed or not, with its ETag) is kept in the process and served
again as long as `data_version` has not moved. Deferred triggers bump that version when a
transaction that changed any table behind a public answer commits (migration 0008).

The version is read before the answer is built and the answer stored under it. Reads after
the version read see the same data or newer, so an entry can only be fresher than its
version, never staler: a commit in between bumps the version and the entry is not used.
The cost of a hit is one primary-key read of one row.

Keys: path, query string, language, gzip or not, and today's date in Việt Nam (derived
statuses depend on it). Only 200 answers whose Cache-Control is public are stored; the sync
feed (which depends on running transactions, not on data) is never cached, nor is anything
asked with a token. With dependency overrides in place (tests fixing the clock) the cache is
bypassed. Every process has its own cache; the version they check is shared. When the
version cannot be read (the database is down), the answer is built uncached.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.caching import accepts_gzip, etag_matches
from app.core.i18n import negotiate
from app.core.outage import STATE_KEY as OUTAGE_STATE_KEY
from app.core.outage import is_database_unavailable

MAX_BODY = 1024 * 1024
REQUESTS = Counter(
    "dxplan_public_cache_requests",
    "Anonymous GETs looked up in the cache of public answers, by result.",
    ["result"],
)
_VERSION = text("SELECT version FROM data_version")


@dataclass
class Entry:
    version: int
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str


class PublicCacheMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_entries: int,
        prefix: str = "/api/v1/",
        exclude: tuple[str, ...] = ("/api/v1/sync",),
    ) -> None:
        self.app = app
        self.max_entries = max_entries
        self.prefix = prefix
        self.exclude = exclude
        self.entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()

    def _bypass(self, scope: Scope) -> bool:
        if (
            self.max_entries == 0
            or scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith(self.prefix)
            or scope["path"].startswith(self.exclude)
        ):
            return True
        application = scope.get("app")
        return bool(getattr(application, "dependency_overrides", None)) or any(
            name == b"authorization" for name, _ in scope["headers"]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._bypass(scope):
            await self.app(scope, receive, send)
            return
        from app.deps import get_today  # deps imports the app's services; import late

        headers = Headers(scope=scope)
        key = (
            scope["method"],
            scope["path"],
            scope["query_string"],
            negotiate(headers.get("accept-language")),
            accepts_gzip(headers.get("accept-encoding")),
            await get_today(),
        )
        try:
            async with scope["app"].state.engine.connect() as connection:
                version = int((await connection.execute(_VERSION)).scalar_one())
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            # No version to check against: answer uncached. Routes that need the database
            # answer 503 at once (the mark spares them a second wait); the others answer.
            REQUESTS.labels("unavailable").inc()
            scope.setdefault("state", {})[OUTAGE_STATE_KEY] = exc
            await self.app(scope, receive, send)
            return
        entry = self.entries.get(key)
        if entry is not None and entry.version == version:
            self.entries.move_to_end(key)
            REQUESTS.labels("hit").inc()
            await self._replay(entry, headers.get("if-none-match"), send)
            return
        REQUESTS.labels("miss").inc()
        # The inner layers must build the whole answer (no 304) so that it can be stored.
        inner_scope = {
            **scope,
            "headers": [(n, v) for n, v in scope["headers"] if n != b"if-none-match"],
        }
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            response_headers = Headers(raw=start["headers"])
            made = Entry(
                version=version,
                status=start["status"],
                headers=list(start["headers"]),
                body=b"".join(chunks),
                etag=response_headers.get("etag", ""),
            )
            if (
                made.status == 200
                and response_headers.get("cache-control", "").startswith("public")
                and len(made.body) <= MAX_BODY
            ):
                self.entries[key] = made
                self.entries.move_to_end(key)
                while len(self.entries) > self.max_entries:
                    self.entries.popitem(last=False)
            await self._replay(made, headers.get("if-none-match"), send)

        await self.app(inner_scope, receive, capture)

    async def _replay(self, entry: Entry, if_none_match: str | None, send: Send) -> None:
        if (
            entry.status == 200
            and entry.etag
            and if_none_match
            and etag_matches(if_none_match, entry.etag)
        ):
            kept = [
                (n, v) for n, v in entry.headers if n not in (b"content-length", b"content-type")
            ]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            # A copy: outer layers may add headers to the list they are given.
            {"type": "http.response.start", "status": entry.status, "headers": list(entry.headers)}
        )
        await send({"type": "http.response.body", "body": entry.body})
