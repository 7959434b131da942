"""The data version every process knows without asking: pushed with LISTEN/NOTIFY.

The cache of public answers (app.core.public_cache) is valid while the data version stands.
Every committed bump sends `NOTIFY dxplan_data_version, '<version>'` (migration 0019), so
each process holds one dedicated connection that LISTENs, and answers a cache hit from what
it last heard, with no database round trip.

Freshness (README "Cache of public answers"):
- the listener reads the version once LISTEN is in place, then again every
  `notify_check_seconds` (a heartbeat that also proves the connection alive). The version
  heard is trusted only while the last check that answered began less than twice that ago,
  so a commit is reflected in every hit at the latest 2 × `notify_check_seconds` after it
  (normally as soon as its notification arrives: milliseconds);
- a commit made through this process's own engine is reflected in its very next request:
  after it, the next lookup reads the version from the database (read your own writes), on
  the listener's connection while it is trusted (so hits never wait for a pooled connection
  behind writes), and one read serves every lookup waiting for it;
- while the listener is not connected (never yet, lost, a check failed or took too long),
  nothing is trusted: every lookup reads the version from the database, as before this
  module, and a database outage answers as before (uncached, 503). The listener reconnects
  with backoff (0.1 s doubling to 5 s) and is trusted again once it has read the version.

The listener connects as the runtime role to `notify_database_url` (else DATABASE_URL): a
direct connection, not through a transaction-pooling PgBouncer, which cannot carry LISTEN.
"""

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings

CHANNEL = "dxplan_data_version"
_VERSION = text("SELECT version FROM data_version")
_LISTENER_VERSION = "SELECT version FROM data_version"
FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 5.0
logger = logging.getLogger("app.data_version")


def listener_dsn(settings: Settings) -> str | None:
    """The URL the listener connects to, as asyncpg takes it (no SQLAlchemy driver name)."""
    url = settings.notify_database_url or settings.database_url
    if url is None:
        return None
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class VersionWatcher:
    """The data version as last heard by this process's listener, and whether to trust it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.check_seconds = settings.notify_check_seconds
        self.trust_seconds = 2 * settings.notify_check_seconds
        self.version: int | None = None
        # Monotonic start of the last check that answered; -inf while not connected.
        self.confirmed_at = -math.inf
        # Commits through this process's engine, and how many of them a version read (begun
        # after they completed) has covered.
        self.commits = 0
        self.covered = 0
        self.connection: Any = None  # the listening asyncpg connection, while there is one
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lost_logged = False
        # Version reads shared by concurrent lookups: the one waiting to start, the reader.
        self._next: asyncio.Future[int] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._using = asyncio.Lock()  # one statement at a time on the listener's connection
        # Waits before reconnecting: the first, doubling up to the last (reset once connected).
        self.first_retry_seconds = FIRST_RETRY_SECONDS
        self.max_retry_seconds = MAX_RETRY_SECONDS
        self._retry_seconds = FIRST_RETRY_SECONDS

    # What the cache asks, on every lookup.

    def known(self) -> int | None:
        """The version to use without asking the database, or None: ask it."""
        if (
            self.version is None
            or self.commits != self.covered
            or time.monotonic() - self.confirmed_at > self.trust_seconds
        ):
            return None
        return self.version

    @property
    def listening(self) -> bool:
        """Whether the listener is connected and its last check is recent enough."""
        return (
            self.version is not None and time.monotonic() - self.confirmed_at <= self.trust_seconds
        )

    def read(self, commits_before: int, version: int) -> None:
        """A version read from the database by a lookup that began once ``commits_before``
        local commits had completed."""
        self.covered = max(self.covered, commits_before)
        if self.version is not None:
            self.version = max(self.version, version)

    async def read_version(self, engine: AsyncEngine) -> int:
        """The version, read by a read that begins after this call. Concurrent callers share
        one: the callers that arrive while a read is running wait for the next one, which
        starts when it ends (at most one read at a time per process, so the lookups after a
        local commit or during a listener outage do not each take a pooled connection)."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            # Marked retrieved: its waiters may all have gone (cancelled requests).
            self._next.add_done_callback(lambda f: f.cancelled() or f.exception())
            if self._reader is None:
                self._reader = asyncio.create_task(self._read_versions(engine))
        return await asyncio.shield(self._next)

    async def _read_versions(self, engine: AsyncEngine) -> None:
        try:
            while (waiting := self._next) is not None:
                self._next = None
                commits = self.commits
                try:
                    version = await self._read_on_listener()
                    if version is None:
                        async with engine.connect() as connection:
                            version = int((await connection.execute(_VERSION)).scalar_one())
                except Exception as exc:
                    waiting.set_exception(exc)
                    continue
                except BaseException:
                    waiting.cancel()
                    raise
                self.read(commits, version)
                waiting.set_result(version)
        finally:
            self._reader = None

    async def _read_on_listener(self) -> int | None:
        """The version read on the listener's own connection, while it is trusted (no pooled
        connection: a hit must not wait behind writes for one); None otherwise."""
        connection = self.connection
        if connection is None or connection.is_closed() or not self.listening:
            return None
        try:
            async with self._using:
                version = await connection.fetchval(_LISTENER_VERSION, timeout=self.check_seconds)
        except Exception:  # the listener's own check notices a lost connection
            return None
        return int(version)

    # Local commits.

    def watch_commits(self, engine: AsyncEngine) -> None:
        """Count every commit of this engine once the database has confirmed it."""
        dialect = engine.sync_engine.dialect
        commit = dialect.do_commit

        def do_commit(dbapi_connection: Any) -> None:
            commit(dbapi_connection)
            self.commits += 1

        setattr(dialect, "do_commit", do_commit)  # noqa: B010 (the instance's, not the class's)

    # The listener.

    def start(self) -> None:
        if listener_dsn(self.settings) is None or self._task is not None:
            return
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="data-version-listener")

    async def stop(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._forget()

    def _forget(self) -> None:
        self.version = None
        self.confirmed_at = -math.inf
        connection, self.connection = self.connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            version = int(payload)
        except ValueError:
            return
        self.version = version if self.version is None else max(self.version, version)

    async def _run(self) -> None:
        self._retry_seconds = self.first_retry_seconds
        while not self._stop.is_set():
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: fall back to reading, and retry
                if not self._lost_logged:
                    self._lost_logged = True
                    logger.warning(
                        "data version listener not connected, reading the version per "
                        "request until it is: %s: %s",
                        type(exc).__name__,
                        str(exc)[:200] or "no answer in time",
                    )
            finally:
                self._forget()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._retry_seconds)
            self._retry_seconds = min(self._retry_seconds * 2, self.max_retry_seconds)

    async def _listen(self) -> None:
        settings = self.settings
        connection = await asyncpg.connect(
            listener_dsn(settings),
            timeout=settings.db_connect_timeout_seconds,
            server_settings={
                "role": settings.db_runtime_role,
                "application_name": "dxplan data-version listener",
            },
        )
        self.connection = connection
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        await connection.add_listener(CHANNEL, self._notified)
        while not lost.is_set() and not self._stop.is_set():
            began = time.monotonic()
            async with self._using:
                version = await connection.fetchval(_LISTENER_VERSION, timeout=self.check_seconds)
            self._notified(connection, 0, CHANNEL, str(version))
            self.confirmed_at = began
            self._retry_seconds = self.first_retry_seconds
            if self._lost_logged:
                self._lost_logged = False
                logger.info("data version listener connected again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.check_seconds)
        if lost.is_set():
            raise ConnectionError("the listening connection was closed")
