"""A cache of public answers, valid while the data version in PostgreSQL stays the same.

Public data changes rarely and is read by every citizen's phone, so the finished answer of
an anonymous GET (body, compressed or not, with its ETag) is kept in the process and served
again as long as `data_version` has not moved. Deferred triggers bump that version when a
transaction that changed something a public answer shows commits (migrations 0008, 0019: a
comment or an edit of an unapproved report bumps nothing).

Where the version comes from: what this process's listener last heard
(app.core.data_version, LISTEN/NOTIFY), when it may be trusted; otherwise (listener not
connected, or a commit through this process since the last read) one primary-key read of
the version per lookup. The version is taken before the answer is built and the answer
stored under it. Reads after that see the same data or newer, so an entry can only be
fresher than its version, never staler: a commit in between moves the version and the entry
is not used once the move is known (at the latest within the listener's bound, README
"Cache of public answers").

Two doors to one store (`PublicCache`): a hit whose version is known without asking is
answered by the app itself before any middleware (`serve_hit`, called by app.main's App):
the client address resolved for the access log, then what the stored answer needs (its ETag
and a 304 for If-None-Match, Vary, Cache-Control, an X-Request-ID of its own; HEAD without
the body). Everything else (the version to read, a miss, an outage) goes through
`PublicCacheMiddleware`, the outermost layer but the client-address one; a miss goes through
the whole stack. Requests with a body are never looked up.

Keys: path, query string, language, gzip or not, and today's date in Việt Nam (derived
statuses depend on it). Only 200 answers whose Cache-Control is public are stored; the sync
feed (which depends on running transactions, not on data) is never cached, nor is anything
asked with a token. With dependency overrides in place (tests fixing the clock) the cache is
bypassed. Every process has its own cache; the version they check is shared. When the
version cannot be read (the database is down), the answer is built uncached.
"""

import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from prometheus_client import Counter
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.caching import accepts_gzip, etag_matches
from app.core.data_version import VersionWatcher
from app.core.i18n import negotiate
from app.core.logging import request_id_for, request_id_var
from app.core.outage import STATE_KEY as OUTAGE_STATE_KEY
from app.core.outage import is_database_unavailable
from app.schemas.common import VIETNAM

MAX_BODY = 1024 * 1024
REQUESTS = Counter(
    "dxplan_public_cache_requests",
    "Anonymous GETs looked up in the cache of public answers, by result.",
    ["result"],
)
HITS = REQUESTS.labels("hit")
MISSES = REQUESTS.labels("miss")
UNAVAILABLE = REQUESTS.labels("unavailable")
_VERSION = text("SELECT version FROM data_version")
# Not kept with an answer: its own per request.
_REQUEST_ID = b"x-request-id"
_NOT_MODIFIED_DROPS = (b"content-length", b"content-type")


@dataclass
class Entry:
    version: int
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str
    not_modified: list[tuple[bytes, bytes]]  # the headers of a 304 for it


@dataclass
class Lookup:
    key: tuple[Any, ...]
    if_none_match: str | None
    request_id: bytes  # as the caller sent it
    head: bool


def _entry(version: int, start: Message, body: bytes) -> Entry:
    headers = [(n, v) for n, v in start["headers"] if n != _REQUEST_ID]
    etag = next((v.decode("latin-1") for n, v in headers if n == b"etag"), "")
    return Entry(
        version=version,
        status=start["status"],
        headers=headers,
        body=body,
        etag=etag,
        not_modified=[(n, v) for n, v in headers if n not in _NOT_MODIFIED_DROPS],
    )


# Header values repeat: each is judged once (bounded, for clients that vary them).
_language = lru_cache(maxsize=256)(negotiate)
_gzip = lru_cache(maxsize=256)(accepts_gzip)


_DAY = 86400.0
_today_until = 0.0  # time.time() at which the day below ends
_today_date = date.min


def _today() -> date:
    """Today in Việt Nam, as app.deps.get_today (whose overrides bypass the cache): made
    once a day, not once a request (VIETNAM is a fixed offset, no daylight saving)."""
    global _today_until, _today_date
    now = time.time()
    if now >= _today_until:
        current = datetime.fromtimestamp(now, VIETNAM)
        midnight = current.replace(hour=0, minute=0, second=0, microsecond=0)
        _today_until = midnight.timestamp() + _DAY
        _today_date = current.date()
    return _today_date


def _new_request_id(incoming: bytes) -> bytes:
    """The caller's X-Request-ID when well-formed, else a fresh one (not a secret: a cheaper
    generator than the request-id layer's)."""
    if incoming:
        return request_id_for(incoming).encode()
    return b"%016x" % random.getrandbits(64)


class PublicCache:
    """The stored answers of one process, and the lookups of both doors."""

    def __init__(
        self,
        *,
        max_entries: int,
        versions: VersionWatcher | None = None,
        prefix: str = "/api/v1/",
        exclude: tuple[str, ...] = ("/api/v1/sync",),
    ) -> None:
        self.max_entries = max_entries
        self.versions = versions
        self.prefix = prefix
        self.exclude = exclude
        self.entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()

    def lookup(self, scope: Scope, application: Any) -> Lookup | None:
        """What to look up for this request, or None when it is not looked up at all."""
        if (
            self.max_entries == 0
            or scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith(self.prefix)
            or scope["path"].startswith(self.exclude)
            or getattr(application, "dependency_overrides", None)
        ):
            return None
        # The first of repeated headers, as the layers that build the answer read them
        # (Starlette's Headers.get): a key from the last would store one client's gzip (or
        # language) under another's.
        language = encoding = if_none_match = None
        request_id = b""
        for name, value in scope["headers"]:
            if name == b"accept-language":
                if language is None:
                    language = value.decode("latin-1")
            elif name == b"accept-encoding":
                if encoding is None:
                    encoding = value.decode("latin-1")
            elif name == b"if-none-match":
                if if_none_match is None:
                    if_none_match = value.decode("latin-1")
            elif name == _REQUEST_ID:
                request_id = request_id or value
            elif name in (b"authorization", b"transfer-encoding") or (
                name == b"content-length" and value != b"0"
            ):
                return None  # a token or a body: not looked up
        key = (
            scope["path"],
            scope["query_string"],
            _language(language),
            _gzip(encoding),
            _today(),
        )
        return Lookup(key, if_none_match, request_id, scope["method"] == "HEAD")

    def current(self, key: tuple[Any, ...], version: int) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None or entry.version != version:
            return None
        self.entries.move_to_end(key)
        return entry

    def store(self, key: tuple[Any, ...], entry: Entry) -> None:
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    async def serve_hit(
        self, scope: Scope, send: Send, application: Any, before: Callable[[Scope], None]
    ) -> bool:
        """Answer from memory when the version is known without asking and the stored answer
        is current (``before`` runs first: the client address for the access log); False
        when the request must go through the app."""
        versions = self.versions
        if versions is None or (version := versions.known()) is None:
            return False
        lookup = self.lookup(scope, application)
        if lookup is None or (entry := self.current(lookup.key, version)) is None:
            return False
        before(scope)
        HITS.inc()
        request_id = _new_request_id(lookup.request_id)
        token = request_id_var.set(request_id.decode())  # for the access log line
        try:
            await _replay(entry, lookup, request_id, send)
        finally:
            request_id_var.reset(token)
        return True


class PublicCacheMiddleware:
    """The cache's door inside the app: reads the version when it is not known, answers
    hits, builds and stores misses; answers uncached when the version cannot be read."""

    def __init__(self, app: ASGIApp, *, cache: PublicCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.cache
        lookup = cache.lookup(scope, scope.get("app")) if scope["type"] == "http" else None
        if lookup is None:
            await self.app(scope, receive, send)
            return
        version = cache.versions.known() if cache.versions is not None else None
        if version is None:
            try:
                version = await self._read_version(scope)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                # No version to check against: answer uncached. Routes that need the
                # database answer 503 at once (the mark spares them a second wait); the
                # others answer.
                UNAVAILABLE.inc()
                scope.setdefault("state", {})[OUTAGE_STATE_KEY] = exc
                await self.app(scope, receive, send)
                return
        entry = cache.current(lookup.key, version)
        if entry is not None:
            HITS.inc()
            await _replay(entry, lookup, _new_request_id(lookup.request_id), send)
            return
        MISSES.inc()
        # The inner layers build the whole answer of a GET (no 304, a body for HEAD) so that
        # it can be stored.
        inner_scope = {
            **scope,
            "method": "GET",
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
            made = _entry(version, start, b"".join(chunks))
            if (
                made.status == 200
                and _cache_control(made).startswith("public")
                and len(made.body) <= MAX_BODY
            ):
                cache.store(lookup.key, made)
            # The request id the inner layers gave this request (and logged).
            given = next((v for n, v in start["headers"] if n == _REQUEST_ID), b"")
            await _replay(made, lookup, given, send)

        await self.app(inner_scope, receive, capture)

    async def _read_version(self, scope: Scope) -> int:
        engine = scope["app"].state.engine
        watcher = self.cache.versions
        if watcher is not None:
            return await watcher.read_version(engine)
        async with engine.connect() as connection:
            return int((await connection.execute(_VERSION)).scalar_one())


def _cache_control(entry: Entry) -> str:
    return next((v.decode("latin-1") for n, v in entry.headers if n == b"cache-control"), "")


async def _replay(entry: Entry, lookup: Lookup, request_id: bytes, send: Send) -> None:
    extra = [(_REQUEST_ID, request_id)] if request_id else []
    if_none_match = lookup.if_none_match
    if (
        entry.status == 200
        and entry.etag
        and if_none_match
        and etag_matches(if_none_match, entry.etag)
    ):
        headers = entry.not_modified + extra
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    # A new list: outer layers may add headers to the list they are given.
    headers = entry.headers + extra
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if lookup.head else entry.body})
