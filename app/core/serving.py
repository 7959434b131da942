"""How `dxplan serve` runs uvicorn: connection timeouts, a concurrency limit, shutdown.

uvicorn closes a keep-alive connection only if no byte at all arrives within its keep-alive
timeout, and never times out a request head: a client that sends a byte every few seconds,
or connects and sends nothing, holds its socket (and a slot towards the concurrency limit)
for ever. ``HeadTimeoutProtocol`` closes a connection whose request head (request line and
headers) is not complete within ``DXPLAN_HTTP_HEADER_TIMEOUT_SECONDS`` of the connection or
of the previous response. Bodies are bounded by app.core.body_limit: in size, and in time
(408 once no byte has come for ``DXPLAN_HTTP_BODY_TIMEOUT_SECONDS`` while the app waits).
"""

import asyncio
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.config import Settings, get_settings
from app.core.errors import ServerBusyError, send_problem
from app.core.logging import AccessLogger

BUSY_RETRY_AFTER_SECONDS = 1


async def server_busy(scope: Scope, receive: Receive, send: Send) -> None:
    """uvicorn's answer past `limit_concurrency`, as problem details with Retry-After
    instead of its plain-text "Service Unavailable", so clients handle it like any 503."""
    await send_problem(scope, send, ServerBusyError(BUSY_RETRY_AFTER_SECONDS))


# uvicorn looks this name up in its protocol module for every request over the limit.
setattr(httptools_impl, "service_unavailable", server_busy)  # noqa: B010


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request head.

    Invariant: while the connection waits for a head, ``head_deadline`` is the loop time
    by which it must be complete (from ``connection_made`` and from each completed
    response; None from a complete head until its response is complete), and one timer is
    armed for that deadline or earlier. A timer that fires early (the connection answered
    requests meanwhile) is armed again for the deadline, so a busy connection costs one
    timer per ``DXPLAN_HTTP_HEADER_TIMEOUT_SECONDS``, not one per request. When the deadline
    has passed with no request being answered, the connection is closed without an answer,
    as an idle keep-alive connection is.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_logger = AccessLogger(self.access_logger)  # type: ignore[assignment]
        self.head_timeout = get_settings().http_header_timeout_seconds
        self.head_deadline: float | None = None
        self.head_timer: asyncio.TimerHandle | None = None

    def _await_head(self) -> None:
        self.head_deadline = deadline = self.loop.time() + self.head_timeout
        if self.head_timer is None and not self.transport.is_closing():
            self.head_timer = self.loop.call_at(deadline, self._head_timer_fired)

    def _head_timer_fired(self) -> None:
        self.head_timer = None
        deadline = self.head_deadline
        if deadline is None or self.transport.is_closing():
            return  # a head is complete; its response sets the next deadline
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a (pipelined) request is being answered; its response re-arms
        if self.loop.time() < deadline:
            self.head_timer = self.loop.call_at(deadline, self._head_timer_fired)
        else:
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_headers_complete(self) -> None:
        self.head_deadline = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().connection_lost(exc)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keyword arguments from the settings.

    On SIGTERM or SIGINT uvicorn stops accepting, closes idle connections and lets requests
    in flight finish for at most ``DXPLAN_SHUTDOWN_GRACE_SECONDS`` before cancelling them.
    """
    return {
        "http": HeadTimeoutProtocol,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "limit_concurrency": settings.http_limit_concurrency or None,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
