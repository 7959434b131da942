"""Database outages answer 503 with Retry-After, in bounded time, logged once per outage.

What counts as "the database is unavailable" (503 `database_unavailable`, never a 500):
- any failure to open a connection: refused, unreachable, unknown host, no answer within
  `db_connect_timeout_seconds`, the server starting up or shutting down, too many
  connections, a login refused. `make_engine` turns these into DatabaseUnavailableError
  where the connection is made (`translate_connect_errors`), so that a bare OSError or
  TimeoutError from elsewhere (file storage, a webhook receiver) is never mistaken for one;
- no pooled connection free within `db_pool_timeout_seconds` (sqlalchemy.exc.TimeoutError);
- a database that stops answering without closing anything (a frozen host, a partition):
  a pooled connection is pinged before use and dropped when the ping has no answer within
  `db_ping_timeout_seconds`, then a new one is opened (connect timeout); a statement with no
  answer within `db_command_timeout_seconds` (asyncpg's client-side timeout) gives up, its
  connection is dropped and the error is a DatabaseUnavailableError (`bound_statements`).
  The command timeout is far above any legitimate statement (the slowest, a period export
  or the seed, take milliseconds; lock waits are bounded by the requests holding them);
- a connection lost during a statement: SQLAlchemy marks the error `connection_invalidated`,
  or the server or driver reports SQLSTATE class 08 (connection exception), 57P01-57P05
  (administrator or crash shutdown, cannot connect now, database dropped, idle session
  timeout) or 53300 (too many connections).
Everything else (constraint violations, bad SQL, a server-side statement timeout, 57014)
stays a 500. So does a login that may not switch to the runtime role (42501 when connecting):
a configuration error no retry mends, DatabaseConfigurationError, whose message names the
fix; the service refuses to start with it (`check_at_startup`, `dxplan serve` exits 1).

Where it is caught: exception handlers inside the app (routes, dependencies, the session's
commit) render the 503, so the request metrics see it; `DatabaseOutageMiddleware` catches
what a middleware raises outside them. The public cache falls back to an uncached answer and
marks the request so that its route does not wait for the database a second time.

Logging: one WARNING without traceback when an outage starts (the first 503 after a
success), one INFO when a connection is next checked out of the pool (the database answers
again, or a connection is free again); no traceback per request. An attempt begun before the
recovery may fail just after it (a connect in flight, a ping that raced the shutdown): a
failure within the settle time after a recovery (the longest such an attempt can take) is the
same outage window, without a second WARNING. Every such 503 counts in
`dxplan_database_unavailable_responses_total`. Recovery needs no restart: pooled
connections are pinged before use (pool_pre_ping) and dead ones replaced.

A write whose commit fails because the connection was lost answers 503 too: its outcome is
unknown, as with any lost answer; routes that take an Idempotency-Key make the retry safe.
"""

import asyncio
import logging
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_
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


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc`` or the first error it wraps that is a ``kind``."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None or isinstance(current, kind):
            return current
        current = _wrapped(current)
    return None


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


class DatabaseConfigurationError(RuntimeError):
    """The database answers but refuses this service's configuration: the login may not
    switch to the runtime role, or may not connect at all (42501). No retry mends it, so it
    is no outage: the service refuses to start with it, and a request that meets it later (a
    grant revoked while serving) is a 500 with this message in the log."""


def _privilege_problem(exc: BaseException, cparams: dict[str, Any]) -> str:
    user = cparams.get("user") or "?"
    role = cparams.get("server_settings", {}).get("role")
    if role and "set role" in str(exc):
        return (
            f'the database login "{user}" may not switch to the runtime role "{role}" '
            f"({exc}). Fix: make the login a member of it (as a superuser or an admin of "
            f'the role: GRANT "{role}" TO "{user}"), or log in as the runtime role itself: '
            f"DATABASE_URL as {role}, the owner in DXPLAN_MIGRATION_DATABASE_URL "
            '(README "Database roles")'
        )
    return f'the database refuses the login "{user}": {exc}'


def translate_connect_errors(engine: AsyncEngine) -> None:
    """Make every failure to open a connection a DatabaseUnavailableError, or a
    DatabaseConfigurationError when the login lacks a privilege. Registered last on the
    engine: earlier `do_connect` listeners may still adjust the arguments."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(
        dialect: Dialect, record: ConnectionPoolEntry, cargs: list[Any], cparams: dict[str, Any]
    ) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            # The driver's error, or SQLAlchemy's translation of it (the driver's as cause).
            refused = _find(exc, asyncpg.InsufficientPrivilegeError)
            if refused is not None:
                raise DatabaseConfigurationError(_privilege_problem(refused, cparams)) from exc
            if not isinstance(exc, _CONNECT_ERRORS):
                raise
            reason = describe(exc)
            if isinstance(exc, TimeoutError) and not str(exc):
                reason = f"TimeoutError: no answer within {cparams.get('timeout')} s"
            raise DatabaseUnavailableError(reason) from exc


def bound_statements(engine: AsyncEngine, *, ping_seconds: float, command_seconds: float) -> None:
    """Bound what a database that stops answering can hold: the pre-ping, and statements.

    Statements: asyncpg's `command_timeout` (set by `make_engine`) raises a bare TimeoutError
    and cancels the statement on the server in the background. Here that error drops the
    connection (it is inside a statement: a rollback on it would wait again) and becomes a
    DatabaseUnavailableError; the other pooled connections are left to their pings.

    Pings: one round trip, `SELECT 1` in the simple query protocol (no prepared statement,
    so a transaction-pooling PgBouncer may send it to any server connection), under a
    watchdog that aborts the connection past `ping_seconds`. SQLAlchemy's own asyncpg ping
    takes three (BEGIN, a prepared `;`, ROLLBACK: the transaction is there for PgBouncer's
    sake, which the simple protocol does not need), and every request that reads the
    database pays the ping. A failure is translated as the driver adapter translates any
    (its DBAPI errors): an aborted or lost connection is a closed one, which SQLAlchemy
    treats as a disconnect: it drops this connection and every older pooled one and opens a
    new one, within the connect timeout. So a frozen server costs a request the ping and
    connect timeouts, not the command timeout."""
    dialect = engine.sync_engine.dialect

    def do_ping(dbapi_connection: Any) -> bool:
        driver = dbapi_connection.driver_connection
        watchdog = asyncio.get_running_loop().call_later(ping_seconds, driver.terminate)
        try:
            await_(driver.execute("SELECT 1"))
        except Exception as error:
            dbapi_connection._handle_exception(error)  # raises the adapter's DBAPI error
        finally:
            watchdog.cancel()
        return True

    setattr(dialect, "do_ping", do_ping)  # noqa: B010 (the instance's, not the class's)

    @event.listens_for(engine.sync_engine, "handle_error")
    def _statement_timeout(context: ExceptionContext) -> BaseException | None:
        if not isinstance(context.original_exception, TimeoutError):
            return None
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False
        return DatabaseUnavailableError(f"TimeoutError: no answer within {command_seconds:g} s")


async def check_at_startup(engine: AsyncEngine, monitor: "OutageMonitor") -> None:
    """One connection as the service starts. A configuration error (the login may not switch
    to the runtime role) is raised with its message and fix: the start fails. An outage is
    only logged, once, as the start of that outage: the service starts and answers 503 until
    the database answers."""
    try:
        async with engine.connect():
            pass
    except DatabaseConfigurationError:
        raise
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        monitor.unreachable(exc)


_ABANDONED_CONNECT = ("unexpected connection_lost() call",)


def quiet_abandoned_connects(loop: asyncio.AbstractEventLoop) -> None:
    """No traceback for asyncpg's leftover of a connect attempt given up by its timeout.

    With sslmode `prefer` (asyncpg's default) a connection starts with an SSL request read by
    asyncpg's TLSUpgradeProto. When the connect timeout cancels the attempt just as the TCP
    connection completes, asyncio closes the new transport and the protocol records the lost
    connection on its `on_data` future, which nobody awaits any more; when that future is
    collected, asyncio logs "Future exception was never retrieved" with a traceback. The
    attempt itself has already failed with its timeout (the outage is answered 503 and
    logged), so that one leftover goes to DEBUG; every other unhandled error in the loop is
    reported as before. (asyncpg 0.32, asyncpg/connect_utils.py, TLSUpgradeProto.)"""
    previous = loop.get_exception_handler()
    if getattr(previous, "quiets_abandoned_connects", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if (
            context.get("message") == "Future exception was never retrieved"
            and type(exc) is ConnectionError
            and exc.args == _ABANDONED_CONNECT
        ):
            logger.debug("connect attempt abandoned by its timeout: %s", exc)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.quiets_abandoned_connects = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


class OutageMonitor:
    """Whether this process is in an outage; logs its start and end once each.

    ``settle_seconds``: how long after a recovery a failure still belongs to the outage that
    just ended (an attempt begun before the recovery: at most the longest wait it can make)."""

    def __init__(self, settle_seconds: float = 0.0) -> None:
        self.down_since: float | None = None
        self.refused = 0
        self.settle_seconds = settle_seconds
        self._recovered: tuple[float, float] | None = None  # when, and down since when

    def failed(self, exc: BaseException) -> None:
        """A request answered 503."""
        UNAVAILABLE.inc()
        self._down(exc, refused=1)

    def unreachable(self, exc: BaseException) -> None:
        """The database could not be reached, with no request refused (at startup)."""
        self._down(exc, refused=0)

    def _down(self, exc: BaseException, *, refused: int) -> None:
        self.refused += refused
        if self.down_since is not None:
            return
        now = time.monotonic()
        if self._recovered is not None and now - self._recovered[0] < self.settle_seconds:
            self.down_since = self._recovered[1]  # the same window: logged already
            return
        self.down_since = now
        self.refused = refused
        logger.warning(
            "database unavailable, answering 503 until it answers again: %s", describe(exc)
        )

    def answered(self) -> None:
        if self.down_since is None:
            return
        now = time.monotonic()
        elapsed = now - self.down_since
        self._recovered = (now, self.down_since)
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
    settings = app.state.settings
    # The longest an attempt begun before a recovery can take to fail after it.
    settle = max(
        settings.db_pool_timeout_seconds,
        settings.db_ping_timeout_seconds + settings.db_connect_timeout_seconds,
    )
    app.state.outage_monitor = OutageMonitor(settle_seconds=settle)
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
