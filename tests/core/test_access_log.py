"""The JSON log as `dxplan serve` writes it: one access line per request (a cache hit's
too) with its request id and status, lines written in batches but at once from WARNING,
and the request-head deadline of a kept-alive connection counted from its last answer."""

import asyncio
import io
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from app.core import serving
from app.core.logging import FLUSH_SECONDS, AccessLogger, configure_logging, request_id_var
from tests.core.test_serving import WAIT, port_of, served, until

URL = "/api/v1/meta/enums"
ACCESS = '%s - "%s %s HTTP/%s" %d'


@contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """The logging of `dxplan serve` (JSON, INFO, our handler alone) into a string."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    configure_logging("INFO", json_logs=True)
    out = io.StringIO()
    handler = root.handlers[0]
    handler.setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        handler.flush()
        root.handlers[:] = saved
        root.setLevel(level)


def records(out: io.StringIO) -> list[dict[str, Any]]:
    logging.getLogger().handlers[0].flush()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _hits() -> float:
    value = REGISTRY.get_sample_value("dxplan_public_cache_requests_total", {"result": "hit"})
    return value or 0.0


async def test_the_access_line_of_a_cache_hit_carries_its_request_id_and_status(
    app: Any,
) -> None:
    with json_logs() as out:
        async with served(app, access_log=True) as server:
            url = f"http://127.0.0.1:{port_of(server)}"
            async with httpx.AsyncClient(base_url=url, timeout=WAIT) as client:
                assert (await client.get(URL)).status_code == 200  # stored if it was not
                before = _hits()
                given = await client.get(URL, headers={"X-Request-ID": "hit-1.a"})
                made = await client.get(URL, headers={"If-None-Match": "*"})
                assert _hits() == before + 2
        lines = [r for r in records(out) if r["logger"] == "uvicorn.access"]
    assert given.headers["x-request-id"] == "hit-1.a"
    assert made.status_code == 304
    for answer in (given, made):
        request_id = answer.headers["x-request-id"]
        line = next(r for r in lines if r["request_id"] == request_id)
        assert set(line) == {"time", "level", "logger", "message", "request_id"}, line
        assert line["level"] == "INFO"
        assert line["message"].startswith("127.0.0.1:"), line
        assert line["message"].endswith(f'"GET {URL} HTTP/1.1" {answer.status_code}'), line
        time.strptime(line["time"].split(",")[0], "%Y-%m-%d %H:%M:%S")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_an_access_line_is_the_same_with_or_without_the_shortcut() -> None:
    """The access logger makes the line itself while only our handler listens; with
    another handler (a test's, an operator's) the record goes through logging, the same."""
    access = AccessLogger(logging.getLogger("uvicorn.access"))
    args = ("10.0.0.7:5100", "GET", "/api/v1/tasks?q=Vi%E1%BB%87t", "1.1", 200)
    token = request_id_var.set("r-1")
    try:
        with json_logs() as out:
            assert access._direct() is not None
            access.info(ACCESS, *args)
            other = _Collect()
            logging.getLogger().addHandler(other)
            try:
                assert access._direct() is None
                access.info(ACCESS, *args)
            finally:
                logging.getLogger().removeHandler(other)
            lines = records(out)
    finally:
        request_id_var.reset(token)
    assert len(lines) == 2
    assert [r.getMessage() for r in other.records] == [ACCESS % args]
    for line in lines:
        del line["time"]
    assert (
        lines[0]
        == lines[1]
        == {
            "level": "INFO",
            "logger": "uvicorn.access",
            "message": '10.0.0.7:5100 - "GET /api/v1/tasks?q=Vi%E1%BB%87t HTTP/1.1" 200',
            "request_id": "r-1",
        }
    )


def test_lines_carry_extra_fields_and_the_traceback() -> None:
    log = logging.getLogger("app.test_access_log")
    with json_logs() as out:
        log.warning("with extras", extra={"count": 3, "thing": object()})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        lines = records(out)
    assert lines[0]["message"] == "with extras"
    assert lines[0]["count"] == 3 and lines[0]["thing"].startswith("<object object")
    assert lines[0]["request_id"] is None
    assert lines[1]["level"] == "ERROR"
    assert "ValueError: boom" in lines[1]["exc_info"]


async def test_lines_are_written_in_batches_and_at_once_from_warning() -> None:
    log = logging.getLogger("app.test_access_log")
    with json_logs() as out:
        log.info("first")
        assert out.getvalue() == ""  # waits for the batch
        await until(lambda: "first" in out.getvalue(), "the batch written")
        log.info("second")
        log.warning("third")  # writes what waits, in order, at once
        assert [json.loads(line)["message"] for line in out.getvalue().splitlines()] == [
            "first",
            "second",
            "third",
        ]
    assert FLUSH_SECONDS < 1


HEAD_TIMEOUT = 3.0


async def test_the_head_deadline_of_a_kept_alive_connection_counts_from_its_last_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Requests each 0.6 of the header timeout after the previous answer are all answered
    (together past the timeout since the connection opened); then silence closes the
    connection. A busy connection keeps the one timer it was given."""
    settings = serving.get_settings().model_copy(
        update={"http_header_timeout_seconds": HEAD_TIMEOUT}
    )
    monkeypatch.setattr(serving, "get_settings", lambda: settings)

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    async with served(ok) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
        try:
            opened = time.monotonic()
            timers: list[object] = []  # kept alive: distinct objects, distinct ids
            for index in range(3):
                if index:
                    await asyncio.sleep(0.6 * HEAD_TIMEOUT)
                writer.write(request)
                answer = await asyncio.wait_for(reader.readuntil(b"ok"), WAIT)
                assert answer.startswith(b"HTTP/1.1 200 OK"), answer
                for _ in range(5):  # quick ones: no new timer
                    writer.write(request)
                    await asyncio.wait_for(reader.readuntil(b"ok"), WAIT)
                (protocol,) = server.server_state.connections
                timers.append(protocol.head_timer)  # type: ignore[attr-defined]
            answered = time.monotonic()
            assert answered - opened > HEAD_TIMEOUT
            assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed, no answer
            assert time.monotonic() - answered >= 0.8 * HEAD_TIMEOUT
        finally:
            writer.close()
    assert len({id(timer) for timer in timers}) <= 2, (
        "a timer per request"
    )  # re-armed once at most, at the deadline
