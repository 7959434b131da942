"""A database outage answers 503 problem details with Retry-After on every route, quickly;
it is logged once, not a traceback per request; the service recovers without a restart.

Each test builds its own app whose DATABASE_URL points at a loopback address that refuses,
that accepts and never answers, or at a small proxy in front of the real server that the
test switches off and on. Every GET of the app's own OpenAPI document is walked, so a new
route is covered as soon as it exists.
"""

import asyncio
import gc
import logging
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from asyncpg.connect_utils import TLSUpgradeProto  # type: ignore[import-untyped]
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.config import async_url
from app.core.db import make_engine
from app.core.errors import DatabaseUnavailableError
from app.core.outage import OutageMonitor, is_database_unavailable
from app.core.security import issue_access_token
from app.deps import SessionDep
from app.main import create_app
from tests import db

PROBLEM = "application/problem+json"
CODE = "database_unavailable"
RETRY_AFTER = 7
CONNECT_TIMEOUT = 0.5
POOL_TIMEOUT = 0.5
PING_TIMEOUT = 0.3
COMMAND_TIMEOUT = 1.0
# Room over a timeout for a loaded machine: an answer within it is bounded, not hung (without
# the timeouts these requests wait forever on the silent server).
SLACK = 5.0
# GET operations of the contract that need no database: they answer as usual meanwhile.
DATABASE_FREE = {"/healthz", "/api/v1/meta/enums"}
# Routes outside the contract that need no database either.
UNDOCUMENTED = ("/openapi.json", "/docs", "/redoc", "/metrics")
# Operations with a body, beyond the GETs: sign-in, a public JSON POST, staff writes.
WRITES = (
    "auth-token",
    "auth-refresh",
    "reports-create",
    "periods-create",
    "reports-comments-create",
    "me-notifications-read-all",
)


def _settings(url: str, **changes: Any) -> Any:
    return db.settings_for(url).model_copy(
        update={
            "db_connect_timeout_seconds": CONNECT_TIMEOUT,
            "db_pool_timeout_seconds": POOL_TIMEOUT,
            "db_retry_after_seconds": RETRY_AFTER,
            **changes,
        }
    )


@asynccontextmanager
async def _client(
    settings: Any, caplog: pytest.LogCaptureFixture, application: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    application = application or create_app(settings)
    # create_app installs the app's own log handler in place of pytest's: put caplog back.
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="app.outage")
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _token(settings: Any) -> str:
    token, _ = issue_access_token(
        user_id=1,
        session_id=uuid4(),
        role="admin",
        agency="STTTT",
        key=db.TEST_JWT_SECRET,
        settings=settings,
        now=datetime.now(UTC),
    )
    return token


def _value(schema: dict[str, Any]) -> Any:
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("type") == "integer":
        return max(1, schema.get("minimum", 1))
    return "A.I.1"


def _request(path: str, operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A URL and query that pass validation, so that the route gets as far as the database."""
    params = operation.get("parameters", [])
    values = {p["name"]: _value(p.get("schema", {})) for p in params if p["in"] == "path"}
    url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
    query = {
        p["name"]: _value(p.get("schema", {}))
        for p in params
        if p["in"] == "query" and p.get("required")
    }
    return url, query


def _example(media: dict[str, Any]) -> Any:
    """A media type's example, or the first of its named examples."""
    if "example" in media:
        return media["example"]
    return next(iter(media["examples"].values()))["value"]


def _needs_token(operation: dict[str, Any]) -> bool:
    security = operation.get("security", [])
    return bool(security) and {} not in security


async def _timed(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.request(method, url, **kwargs)
    return response, time.monotonic() - started


def _assert_unavailable(response: httpx.Response, elapsed: float, where: object) -> None:
    assert response.status_code == 503, (where, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM, where
    assert response.headers["retry-after"] == str(RETRY_AFTER), where
    body = response.json()
    assert body["code"] == CODE and body["status"] == 503, (where, body)
    assert elapsed < CONNECT_TIMEOUT + SLACK, (where, elapsed)


async def _walk(client: httpx.AsyncClient, token: str, *, concurrently: bool) -> int:
    """Every GET of the contract, anonymously and with a token, and the WRITES: each needs
    the database and answers 503 (a token-only route answers 401 without a token if it
    needs no database for that), or needs none and answers 200. Returns the 503 count."""
    spec = (await client.get("/openapi.json")).json()
    bearer = {"Authorization": f"Bearer {token}"}
    calls: list[tuple[Any, ...]] = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            documented = "503" in operation["responses"]
            # The contract lists 503 exactly where the database is used.
            assert documented == (path not in DATABASE_FREE), (method, path)
            url, query = _request(path, operation)
            if method == "get":
                anonymous = 401 if _needs_token(operation) else None
                calls.append((path, "GET", url, {"params": query}, anonymous))
                calls.append((path, "GET", url, {"params": query, "headers": bearer}, None))
            elif operation["operationId"] in WRITES:
                kwargs: dict[str, Any] = {"params": query, "headers": bearer}
                content = operation.get("requestBody", {}).get("content", {})
                if "application/json" in content:
                    kwargs["json"] = _example(content["application/json"])
                if "application/x-www-form-urlencoded" in content:
                    kwargs["data"] = _example(content["application/x-www-form-urlencoded"])
                calls.append((path, method.upper(), url, kwargs, None))
    assert {c[0] for c in calls if c[1] != "GET"} and len(calls) > 80

    async def call(path: str, method: str, url: str, kwargs: Any, expected: int | None) -> int:
        response, elapsed = await _timed(client, method, url, **kwargs)
        where = (method, url, "token" if "headers" in kwargs else "anonymous")
        if expected is not None and response.status_code != 503:
            # A token-only route without a token: 401, or 503 where it reads something
            # (the plan) before it looks at the token.
            assert response.status_code == expected, (where, response.text)
            return 0
        if path in DATABASE_FREE:
            assert response.status_code == 200, (where, response.text)
            return 0
        _assert_unavailable(response, elapsed, where)
        return 1

    if concurrently:  # a few at a time: timings stay those of the app, not of the loop
        slots = asyncio.Semaphore(16)

        async def limited(*args: Any) -> int:
            async with slots:
                return await call(*args)

        counts = await asyncio.gather(*(limited(*c) for c in calls))
    else:
        counts = [await call(*c) for c in calls]
    for url in UNDOCUMENTED:
        assert (await client.get(url)).status_code == 200, url
    return sum(counts)


def _assert_logged_once(caplog: pytest.LogCaptureFixture, *, recovered: bool) -> None:
    """One WARNING when the outage starts, one INFO when it ends; no traceback, no error."""
    outage = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "app.outage"]
    expected = ["WARNING", "INFO"] if recovered else ["WARNING"]
    assert [level for level, _ in outage] == expected, outage
    assert "database unavailable" in outage[0][1]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def _outage_message(caplog: pytest.LogCaptureFixture) -> str:
    """The outage's WARNING (the data-version listener logs its own loss beside it)."""
    return next(r.getMessage() for r in caplog.records if r.name == "app.outage")


@contextmanager
def _refusing_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """A loopback server that accepts connections and never says a word."""
    accepted: list[asyncio.BaseTransport] = []

    class Silent(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.append(transport)

    server = await asyncio.get_running_loop().create_server(Silent, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for transport in accepted:
            transport.close()
        await server.wait_closed()


def _upstream(database_url: str) -> tuple[str, int]:
    """Where the test database listens: a host and port, or (embedded) a socket folder."""
    url = make_url(database_url)
    socket_folder = url.query.get("host")
    host = socket_folder if isinstance(socket_folder, str) else url.host or "127.0.0.1"
    return host, url.port or 5432


def _url_at(database_url: str, port: int) -> str:
    # The embedded server's URL names its socket folder in the query (?host=...): drop it.
    url = make_url(database_url).set(host="127.0.0.1", port=port).difference_update_query(["host"])
    return url.render_as_string(hide_password=False)


async def test_connection_refused_is_503_on_every_route(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _refusing_port() as port:
        settings = _settings(_url_at(database_url, port), db_pool_size=50, db_max_overflow=50)
        async with _client(settings, caplog) as client:
            assert await _walk(client, _token(settings), concurrently=False) > 80
            ready, elapsed = await _timed(client, "GET", "/readyz")
            _assert_unavailable(ready, elapsed, "/readyz")
            english = await client.get("/api/v1/tasks", headers={"Accept-Language": "en"})
            assert english.json()["detail"] == (
                f"The database cannot be reached for now; please retry in {RETRY_AFTER} seconds."
            )
            assert "ConnectionRefusedError" in _outage_message(caplog)
    _assert_logged_once(caplog, recovered=False)


async def test_a_database_that_never_answers_is_503_within_the_connect_timeout(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with _silent_server() as port:
        settings = _settings(_url_at(database_url, port), db_pool_size=50, db_max_overflow=50)
        async with _client(settings, caplog) as client:
            started = time.monotonic()
            assert await _walk(client, _token(settings), concurrently=True) > 80
            # Sixteen at a time: about one connect timeout per round, not per request.
            assert time.monotonic() - started < 20 * CONNECT_TIMEOUT + SLACK  # one each: 40 s
            ready, elapsed = await _timed(client, "GET", "/readyz")
            _assert_unavailable(ready, elapsed, "/readyz")
    _assert_logged_once(caplog, recovered=False)
    assert "no answer within 0.5 s" in _outage_message(caplog)


async def test_no_free_pooled_connection_is_503_within_the_pool_timeout(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(database_url, db_pool_size=1, db_max_overflow=0)
    async with _client(settings, caplog) as client:
        assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
        engine = client._transport.app.state.engine  # type: ignore[attr-defined]
        held = await engine.connect()
        try:
            await held.execute(text("SELECT 1"))  # the only connection, checked out
            for url, headers in (
                ("/api/v1/tasks", {}),  # through the public cache
                ("/api/v1/me", {"Authorization": f"Bearer {_token(settings)}"}),
            ):
                response, elapsed = await _timed(client, "GET", url, headers=headers)
                _assert_unavailable(response, elapsed, url)
                assert elapsed < POOL_TIMEOUT + SLACK
            ready, elapsed = await _timed(client, "GET", "/readyz")
            _assert_unavailable(ready, elapsed, "/readyz")
        finally:
            await held.close()
        assert (await client.get("/api/v1/tasks")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
    _assert_logged_once(caplog, recovered=True)
    assert "QueuePool limit" in _outage_message(caplog)


class _Proxy:
    """A loopback TCP proxy to the real server that can be cut (every link dropped, new
    connections closed at once, as when PostgreSQL stops) and restored, or frozen: every
    byte held in both directions and new connections accepted but never forwarded, nothing
    closed (a crashed or frozen host, a partition: no reset ever comes) and thawed."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.forwarding = True
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.transports: set[asyncio.WriteTransport] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *_: object) -> None:
        self.server.close()
        self.cut()
        self.thaw()  # held links see the cut and end
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5)
        await self.server.wait_closed()

    def cut(self) -> None:
        self.forwarding = False
        for transport in list(self.transports):
            transport.abort()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._link(reader, writer))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        if not self.forwarding:
            writer.transport.abort()
            return
        try:
            host, port = self.target
            if host.startswith("/"):  # the embedded server: its Unix socket
                up_reader, up_writer = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.transport.abort()
            return
        self.transports |= {writer.transport, up_writer.transport}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with suppress(OSError):
                while data := await source.read(65536):
                    await self.flowing.wait()
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.transports -= {writer.transport, up_writer.transport}


async def test_service_recovers_without_restart(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = _Proxy(*_upstream(database_url))
    async with proxy as port:
        settings = _settings(_url_at(database_url, port))
        token_headers = {"Authorization": f"Bearer {_token(settings)}"}
        async with _client(settings, caplog) as client:
            assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            proxy.cut()  # the server stops: pooled connections die, new ones are refused
            for _ in range(3):
                for url, headers in (
                    ("/api/v1/tasks/A.I.1", {}),
                    ("/api/v1/sections", {}),
                    ("/api/v1/me", token_headers),
                ):
                    response, elapsed = await _timed(client, "GET", url, headers=headers)
                    _assert_unavailable(response, elapsed, url)
                ready, elapsed = await _timed(client, "GET", "/readyz")
                _assert_unavailable(ready, elapsed, "/readyz")
            proxy.forwarding = True  # the server is back; the app is not restarted
            first = await client.get("/api/v1/tasks/A.I.1")
            assert first.status_code == 200, first.text
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/api/v1/sections")).status_code == 200
    _assert_logged_once(caplog, recovered=True)


async def test_a_database_that_stops_answering_is_503_in_bounded_time(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No reset ever comes (a frozen host, a partition): pooled connections stay open and
    silent, new ones are accepted and never answered. A pooled connection that does not
    answer its ping within the ping timeout is dropped and a new one tried (connect
    timeout): 503 within about both, /readyz too, and recovery when the server answers.

    A statement slower than the ping timeout is no outage: the command timeout bounds
    statements. Before the ping and command timeouts, GET /me gave no answer at all."""
    proxy = _Proxy(*_upstream(database_url))
    async with proxy as port:
        settings = _settings(
            _url_at(database_url, port),
            db_ping_timeout_seconds=PING_TIMEOUT,
            db_command_timeout_seconds=COMMAND_TIMEOUT,
        )
        application = create_app(settings)

        @application.get("/test-only/slower-than-a-ping")
        async def slower_than_a_ping(session: SessionDep) -> None:
            await session.execute(text("SELECT pg_sleep(:s)"), {"s": PING_TIMEOUT * 2})

        token_headers = {"Authorization": f"Bearer {_token(settings)}"}
        async with _client(settings, caplog, application) as client:
            assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
            assert (await client.get("/test-only/slower-than-a-ping")).status_code == 200
            proxy.freeze()
            for _ in range(2):
                for url, headers in (
                    ("/api/v1/me", token_headers),
                    ("/api/v1/tasks/A.I.1", {}),
                    ("/api/v1/sections", {}),
                    ("/readyz", {}),
                ):
                    async with asyncio.timeout(15):  # today's bound or none at all
                        response, elapsed = await _timed(client, "GET", url, headers=headers)
                    _assert_unavailable(response, elapsed, url)
                    assert elapsed < PING_TIMEOUT + CONNECT_TIMEOUT + SLACK, (url, elapsed)
            proxy.thaw()
            assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
    _assert_logged_once(caplog, recovered=True)


async def test_a_statement_without_answer_is_503_after_the_command_timeout(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The database stops answering in the middle of a request: its next statement gives
    up after the command timeout, the request answers 503 and the connection is dropped
    (not returned to the pool half-way through a statement)."""
    proxy = _Proxy(*_upstream(database_url))
    async with proxy as port:
        settings = _settings(
            _url_at(database_url, port),
            db_ping_timeout_seconds=PING_TIMEOUT,
            db_command_timeout_seconds=COMMAND_TIMEOUT,
            db_pool_size=1,
            db_max_overflow=0,
        )
        application = create_app(settings)

        @application.get("/test-only/frozen-midway")
        async def frozen_midway(session: SessionDep) -> None:
            await session.execute(text("SELECT 1"))
            proxy.freeze()
            await session.execute(text("SELECT 2"))

        async with _client(settings, caplog, application) as client:
            assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
            async with asyncio.timeout(15):
                response, elapsed = await _timed(client, "GET", "/test-only/frozen-midway")
            _assert_unavailable(response, elapsed, "frozen midway")
            assert COMMAND_TIMEOUT <= elapsed < COMMAND_TIMEOUT + SLACK, elapsed
            proxy.thaw()
            # The only pooled connection was dropped, not left inside its statement.
            async with asyncio.timeout(15):
                assert (await client.get("/api/v1/sections")).status_code == 200
    _assert_logged_once(caplog, recovered=True)
    assert f"no answer within {COMMAND_TIMEOUT:g} s" in _outage_message(caplog)


async def test_cached_answers_stop_within_the_listener_bound_when_the_database_freezes(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A hit needs no database (the version is pushed, app.core.data_version). When the
    database stops answering, a cached public answer is served as it was until the
    listener's check is overdue (twice notify_check_seconds after the last one answered);
    from then on the lookup reads the version and answers 503, never stale for longer."""
    check = 0.25
    proxy = _Proxy(*_upstream(database_url))
    async with proxy as port:
        settings = _settings(
            _url_at(database_url, port),
            db_ping_timeout_seconds=PING_TIMEOUT,
            db_command_timeout_seconds=COMMAND_TIMEOUT,
            notify_check_seconds=check,
        )
        async with _client(settings, caplog) as client:
            watcher = client._transport.app.state.data_version  # type: ignore[attr-defined]
            url = "/api/v1/tasks/A.I.1"
            cached = await client.get(url)
            assert cached.status_code == 200
            async with asyncio.timeout(15):
                while watcher.known() is None:  # listening, and the miss's commit read past
                    assert (await client.get(url)).status_code == 200
                    await asyncio.sleep(0.02)
            proxy.freeze()
            frozen = time.monotonic()
            async with asyncio.timeout(15):
                while (response := await client.get(url)).status_code == 200:
                    assert response.content == cached.content
                    await asyncio.sleep(0.02)
            elapsed = time.monotonic() - frozen
            _assert_unavailable(response, 0.0, url)
            assert elapsed < 2 * check + PING_TIMEOUT + CONNECT_TIMEOUT + SLACK, elapsed
            response, elapsed = await _timed(client, "GET", url)
            _assert_unavailable(response, elapsed, url)  # and not stale again
            proxy.thaw()
            async with asyncio.timeout(15):
                recovered = False
                while not recovered:
                    recovered = (await client.get(url)).status_code == 200
                    await asyncio.sleep(0.05)
    _assert_logged_once(caplog, recovered=True)


async def test_a_connect_abandoned_by_its_timeout_leaves_no_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """asyncpg's leftover when a connect timeout cancels an attempt just as the TCP
    connection completes: its SSL-request protocol records the lost connection on a future
    nobody awaits, and asyncio logs "Future exception was never retrieved" with a traceback
    when it is collected (seen under load in the outage tests, about once in twenty
    abandoned connects on a busy loop). Made here as asyncpg makes it; any other error
    nobody retrieved is still logged."""
    async with _client(_settings(database_url), caplog):
        caplog.set_level(logging.DEBUG, logger="app.outage")
        protocol = TLSUpgradeProto(
            asyncio.get_running_loop(), "127.0.0.1", 5432, ssl.create_default_context(), True
        )
        protocol.connection_lost(None)  # what asyncio does to the cancelled attempt's transport
        del protocol
        gc.collect()
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert "connect attempt abandoned" in caplog.records[-1].getMessage()
        other = asyncio.get_running_loop().create_future()
        other.set_exception(ConnectionError("something else"))
        del other
        gc.collect()
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "ConnectionError('something else')" in errors[0], errors


def test_one_warning_per_outage_window(caplog: pytest.LogCaptureFixture) -> None:
    """Under load an outage flaps at its edges: a ping that raced the shutdown succeeds
    just after the first failure, a connect begun before the restart fails just after the
    first success. Failures within the settle time of a recovery are the same outage; one
    after it is a new one (seen in the fault suite: up to five warnings per outage before)."""
    caplog.set_level(logging.INFO, logger="app.outage")
    monitor = OutageMonitor(settle_seconds=0.3)
    error = DatabaseUnavailableError("ConnectionRefusedError: refused")
    monitor.failed(error)  # the outage starts
    monitor.answered()  # a ping that raced the shutdown
    monitor.failed(error)  # the same outage
    monitor.failed(error)
    monitor.answered()  # the database is back
    monitor.failed(error)  # a connect begun before it
    monitor.answered()
    time.sleep(0.4)
    monitor.failed(error)  # a new outage
    levels = [r.levelname for r in caplog.records if r.name == "app.outage"]
    assert levels == ["WARNING", "INFO", "INFO", "INFO", "WARNING"], levels


async def test_ordinary_sql_errors_stay_500(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Only an unreachable database is 503: a failing statement is a bug, a 500 with its
    traceback logged, and no outage is declared."""
    application = create_app(_settings(database_url))

    @application.get("/test-only/division-by-zero")
    async def division_by_zero(session: SessionDep) -> None:
        await session.execute(text("SELECT 1/0"))

    @application.get("/test-only/statement-timeout")
    async def statement_timeout(session: SessionDep) -> None:
        await session.execute(text("SET LOCAL statement_timeout = 10"))
        await session.execute(text("SELECT pg_sleep(1)"))

    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="app.outage")
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for url in ("/test-only/division-by-zero", "/test-only/statement-timeout"):
                response = await client.get(url)
                assert response.status_code == 500, (url, response.text)
                assert response.json()["code"] == "internal_error"
            assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
    assert not [r for r in caplog.records if r.name == "app.outage"]
    assert [r.exc_info is not None for r in caplog.records if r.name == "app.errors"] == [
        True,
        True,
    ]


async def test_a_connection_killed_by_the_server_is_an_outage(database_url: str) -> None:
    """The classification on real errors: the server ending our session (57P01, and the
    connection invalidated) is an outage; a constraint violation is not."""
    engine = make_engine(_settings(database_url), null_pool=True)
    # As the login user itself (the service's connections switch to the runtime role).
    admin = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as victim, admin.connect() as killer:
            pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            with pytest.raises(DBAPIError) as violation:
                await victim.execute(text("SELECT CAST('x' AS integer)"))
            assert not is_database_unavailable(violation.value)
            await victim.rollback()
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await killer.commit()
            with pytest.raises(DBAPIError) as killed:
                await victim.execute(text("SELECT 1"))
            assert is_database_unavailable(killed.value)
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_the_webhook_worker_logs_an_outage_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The delivery loop polls every few seconds: an outage is one warning, not a traceback
    per poll."""
    from app.core.db import make_sessionmaker
    from app.services.webhooks import run_worker

    with _refusing_port() as port:
        settings = _settings(_url_at(database_url, port), webhook_poll_seconds=0.02)
        engine = make_engine(settings)
        stop = asyncio.Event()
        caplog.set_level(logging.INFO)
        worker = asyncio.create_task(run_worker(make_sessionmaker(engine), settings, stop))
        try:
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await asyncio.wait_for(worker, 5)
            await engine.dispose()
    mine = [r for r in caplog.records if r.name == "app.services.webhooks"]
    assert [(r.levelname, r.exc_info is None) for r in mine] == [("WARNING", True)]
    assert "database unavailable" in mine[0].getMessage()
