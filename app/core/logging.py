"""JSON logs and a request id on every request and response.

One JSON object per line on stderr: ``time``, ``level``, ``logger``, ``message``,
``request_id`` (of the request being answered, else null), then whatever a call passed in
``extra`` and, with an exception, ``exc_info`` (its traceback). uvicorn's access log is one
such line per request (``logger`` "uvicorn.access"), so it is kept cheap: the line is built
with orjson, a second's timestamp text is made once, lines are written in batches (at
most ``FLUSH_SECONDS`` late, at once from WARNING up and at exit), and uvicorn's access
logger makes its line without a LogRecord while nothing else listens (``AccessLogger``).
"""

import asyncio
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from typing import Any, TextIO

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

FLUSH_SECONDS = 0.2  # the most a line waits in the buffer
FLUSH_LINES = 256  # a fuller buffer is written at once


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        return True


class JsonLineFormatter(OrjsonFormatter):
    """A record as one JSON object (python-json-logger's orjson formatter): time (local,
    ``2026-11-30 15:07:05,287``), level, logger, message, request_id, the extra fields,
    exc_info and stack_info. A second's timestamp text is made once."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return self.time_text(record.created)

    def time_text(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        return f"{self._second_text},{int((created - second) * 1000):03d}"

    def info_line(self, logger: str, message: str) -> str:
        """What ``format`` makes of an INFO record of ``logger`` made now, without extras."""
        fields = {
            "time": self.time_text(time.time()),
            "level": "INFO",
            "logger": logger,
            "message": message,
            "request_id": request_id_var.get(),
        }
        return orjson.dumps(fields).decode()


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches: within ``FLUSH_SECONDS`` (a timer
    on the running event loop), when ``FLUSH_LINES`` are waiting, at once for a record of
    WARNING or above, at exit (logging.shutdown) and at once outside an event loop (CLI
    commands, threads)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self.lines: list[str] = []
        self.flush_loop: asyncio.AbstractEventLoop | None = None  # where a flush is due

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.add(self.format(record), record.levelno)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def add(self, line: str, levelno: int) -> None:
        """Queue a formatted line (the handler's lock held)."""
        self.lines.append(line)
        if levelno >= logging.WARNING or len(self.lines) >= FLUSH_LINES:
            self._write()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write()
            return
        if self.flush_loop is not loop:
            # A flush due on another loop (one that stopped) does not count.
            self.flush_loop = loop
            loop.call_later(FLUSH_SECONDS, self._flush_due, loop)

    def _flush_due(self, loop: asyncio.AbstractEventLoop) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self.flush_loop is loop:
                self.flush_loop = None
                self._write()

    def _write(self) -> None:
        """Write the waiting lines (the handler's lock held)."""
        if self.lines:
            text = "\n".join(self.lines) + "\n"
            self.lines.clear()
            self.stream.write(text)
        self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self.stream is not None:
                self._write()


class AccessLogger:
    """Stands in for the "uvicorn.access" logger in uvicorn's protocol (app.core.serving):
    while that logger's INFO records would go only to the handler of ``configure_logging``
    (JSON, no other filter or handler, as `dxplan serve` runs), the line is made without a
    LogRecord and queued directly: the same line, about a third of the work. Otherwise
    (another handler, e.g. a test's, plain-text logs, a level above INFO) the record goes
    through logging as usual."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def hasHandlers(self) -> bool:  # noqa: N802
        return self.logger.hasHandlers()

    def _direct(self) -> "BufferedStreamHandler | None":
        logger = self.logger
        if logger.handlers or logger.filters or logger.disabled or not logger.propagate:
            return None
        parent = logger.parent
        while parent is not None and parent.parent is not None:  # loggers between it and root
            if parent.handlers or parent.filters or not parent.propagate:
                return None
            parent = parent.parent
        if parent is None or len(parent.handlers) != 1 or parent.filters:
            return None
        handler = parent.handlers[0]
        if (
            type(handler) is not BufferedStreamHandler
            or type(handler.formatter) is not JsonLineFormatter
            or handler.level > logging.INFO
            or len(handler.filters) != 1
            or type(handler.filters[0]) is not _RequestIdFilter
        ):
            return None
        return handler

    def info(self, msg: str, *args: Any) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = self._direct()
        if handler is None:
            logger.info(msg, *args)
            return
        formatter: JsonLineFormatter = handler.formatter  # type: ignore[assignment]
        try:
            with handler.lock:  # type: ignore[union-attr]
                handler.add(formatter.info_line(logger.name, msg % args), logging.INFO)
        except Exception:
            logger.info(msg, *args)  # whatever went wrong, logging reports it

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    handler = BufferedStreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if json_logs:
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in root.handlers:
        old.flush()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def request_id_for(incoming: bytes) -> str:
    """The caller's X-Request-ID when well-formed, else a fresh one."""
    text = incoming.decode("latin-1")
    return text if _VALID_ID.match(text) else secrets.token_hex(8)


class RequestIdMiddleware:
    """Take a well-formed X-Request-ID from the caller or make one; echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(dict(scope["headers"]).get(b"x-request-id", b""))
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
