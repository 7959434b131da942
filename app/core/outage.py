"""Database outages answer 503 with Retry-After, in bounded time, logged once per outage.

What counts as "the database is unavailable" (503 `database_unavailable`, never a 500):
- any failure to open a connection: refused, unreachable, unknown host, no answer within
  `db_connect_timeout_seconds`, the server starting up or shutting down, too many
  connections, a login refused. `make_engine` turns these into DatabaseUnavailableError
  where the connection is made (`translate_connect_errors`), so that a bare OSError or
  TimeoutError from elsewhere (file storage, a webhook receiver) is never mistaken for one;
- no pooled connection free within `db_pool_timeout_seconds` (sqlalchemy.exc.TimeoutError);
- a connection lost during a statement: SQLAlchemy marks the error `connection_invalidated`,
  or the server or driver reports SQLSTATE class 08 (connection exception), 57P01-57P05
  (administrator or crash shutdown, cannot connect now, database dropped, idle session
  timeout) or 53300 (too many connections).
Everything else (constraint violations, bad SQL, a statement timeout, 57014) stays a 500.

Where it is caught: exception handlers inside the app (routes, dependencies, the session's
commit) render the 503, so the request metrics see it; `DatabaseOutageMiddleware` catches
what a middleware raises outside them. The public cache falls back to an uncached answer and
marks the request so that its route does not wait for the database a second time.

Logging: one WARNING without traceback when an outage starts (the first 503 after a
success), one INFO when a connection is next checked out of the pool (the database answers
again, or a connection is free again); no traceback per request. Every such 503 counts in
`dxplan_database_unavailable_responses_total`. Recovery needs no restart: pooled
connections are pinged before use (pool_pre_ping) and dead ones replaced.

A write whose commit fails because the connection was lost answers 503 too: its outcome is
unknown, as with any lost answer; routes that take an Idempotency-Key make the retry safe.
"""

import logging
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import DatabaseUnavailableError, error_response

logger = logging.getLogger("app.outage")

UNAVAILABLE = Counter(
    "dxplan_database_unavailable_responses",
    "Requests answered 503 because the database could not be reached or gave no connection "
    "in time.",
)
# request.state attribute set when the public cache could not read the data version.
STATE_KEY = "database_unavailable"
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05", "53300"})
# What opening a connection raises when the database is not there or says no.
_CONNECT_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) means the database cannot serve us right now."""
    current: BaseException | None = exc
    for _ in range(10):  # a chain is short; the bound guards against cycles
        if current is None:
            return False
        if isinstance(current, DatabaseUnavailableError | sa_exc.TimeoutError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        current = _wrapped(current)
    return False


def _wrapped(exc: BaseException) -> BaseException | None:
    if isinstance(exc, sa_exc.DBAPIError) and isinstance(exc.orig, BaseException):
        return exc.orig
    return exc.__cause__


def describe(exc: BaseException) -> str:
    """The innermost cause as ``Type: message``, for the log. The driver's message, never
    SQLAlchemy's, which would include the statement and its parameters."""
    root = exc
    for _ in range(10):
        if isinstance(root, DatabaseUnavailableError) and root.reason:
            return root.reason
        inner = _wrapped(root)
        if not isinstance(inner, Exception):  # None, or the CancelledError behind a timeout
            break
        root = inner
    return f"{type(root).__name__}: {str(root) or 'no answer in time'}"[:300]


def translate_connect_errors(engine: AsyncEngine) -> None:
    """Make every failure to open a connection a DatabaseUnavailableError. Registered last
    on the engine: earlier `do_connect` listeners may still adjust the arguments."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(
        dialect: Dialect, record: ConnectionPoolEntry, cargs: list[Any], cparams: dict[str, Any]
    ) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except _CONNECT_ERRORS as exc:
            reason = describe(exc)
            if isinstance(exc, TimeoutError) and not str(exc):
                reason = f"TimeoutError: no answer within {cparams.get('timeout')} s"
            raise DatabaseUnavailableError(reason) from exc


class OutageMonitor:
    """Whether this process is in an outage; logs its start and end once each."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.refused = 0

    def failed(self, exc: BaseException) -> None:
        UNAVAILABLE.inc()
        self.refused += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.refused = 1
            logger.warning(
                "database unavailable, answering 503 until it answers again: %s", describe(exc)
            )

    def answered(self) -> None:
        if self.down_since is None:
            return
        elapsed = time.monotonic() - self.down_since
        self.down_since = None
        logger.info(
            "database available again after %.1f s; %d requests answered 503",
            elapsed,
            self.refused,
        )

    def watch(self, engine: AsyncEngine) -> None:
        """A successful checkout (after the pre-ping) ends an outage."""

        def _checkout(*_: Any) -> None:
            self.answered()

        event.listen(engine.sync_engine, "checkout", _checkout)


class _UnavailableSession(Session):
    """A session that raises the outage it was made with as soon as it needs a connection."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        raise self.info[STATE_KEY]


def unavailable_session(exc: Exception) -> AsyncSession:
    """For a request whose data-version read just failed (the public cache): its route
    answers 503 at once instead of waiting for a connection a second time, and a route that
    never uses its session (401 without a token) answers as usual."""
    return AsyncSession(sync_session_class=_UnavailableSession, info={STATE_KEY: exc})


def unavailable_response(request: Request, exc: BaseException) -> Response:
    monitor: OutageMonitor | None = getattr(request.app.state, "outage_monitor", None)
    if monitor is not None:
        monitor.failed(exc)
    seconds: int = request.app.state.settings.db_retry_after_seconds
    return error_response(request, DatabaseUnavailableError.retry_after(seconds))


async def _database_error(request: Request, exc: Exception) -> Response:
    if not is_database_unavailable(exc):
        raise exc  # an ordinary SQL error: the 500 handler logs it with its traceback
    return unavailable_response(request, exc)


def install_outage_handling(app: FastAPI) -> None:
    """Handlers inside the app, so that a database outage is an ordinary error (Starlette
    sends what only the `Exception` handler matches to ServerErrorMiddleware, which answers
    500 and re-raises: a traceback per request)."""
    app.state.outage_monitor = OutageMonitor()
    for exc_type in (
        DatabaseUnavailableError,
        sa_exc.TimeoutError,
        sa_exc.DBAPIError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ):
        app.add_exception_handler(exc_type, _database_error)


class DatabaseOutageMiddleware:
    """Answers 503 for a database outage that escapes the app's handlers (raised by a
    middleware), instead of a 500 with a traceback. Once an answer has started nothing can
    be changed, and the error goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not is_database_unavailable(exc):
                raise
            response = unavailable_response(Request(scope), exc)
            await response(scope, receive, send)
