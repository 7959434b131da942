"""Request bodies bounded before anything reads them.

This layer sits outside everything that reads a body (the NUL check, form and JSON parsing,
the upload code), directly inside the request-id layer so its answers carry a request id.
Each request gets a limit from the current settings: ``max_body_bytes`` for every route, or,
on a route that takes an evidence upload, ``attachment_max_bytes`` plus room for the
multipart envelope (the upload code then applies the exact file limit itself).

- A declared ``Content-Length`` over the limit is answered 413 at once: the app is not run
  and not a byte of the body is read.
- Otherwise the bytes are counted as the app pulls them. The pull that passes the limit
  sends the 413 (unless the app has already started a response: never a second answer)
  and raises ``BodyTooLargeError`` into the app instead of returning data; nothing is read
  after it. Whatever the app then tries to answer is dropped, and ``BodyTooLargeError`` ends
  here.

- While the body is incomplete, each pull waits at most ``http_body_timeout_seconds`` for
  the client: a client that sent its headers and then stops (no byte for that long) gets a
  408 with ``Connection: close`` the same way (``BodyTimeoutError`` raised into the app), and
  uvicorn closes the connection after it, freeing its slot towards the concurrency limit.
  The deadline is on silence, not on the whole body, so a slow upload that keeps arriving
  is read; and once the body is complete (or the client gone) pulls wait without limit, as
  an app waiting for ``http.disconnect`` must. A body the app never pulls is the server's:
  after the answer, the head timer of app.core.serving closes a connection that sends
  nothing more.

The rest of an unread body is left to the server: uvicorn reads and discards it after the
answer, and the connection then serves the next request. The 413 deliberately does not
close the connection: closing it while the client is still sending makes the kernel reset
it, and clients that read only after sending all (httpx's async client, for one) then lose
the 413 and see a reset. Discarding costs the server little per byte and nothing in the app.
"""

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.errors import AppError, PayloadTooLargeError, RequestTimeoutError, send_problem
from app.core.storage import ENVELOPE_BYTES

MULTIPART = "multipart/form-data"


class BodyAbortedError(Exception):
    """Raised into the app by ``receive`` once this layer has answered for the body."""


class BodyTooLargeError(BodyAbortedError):
    """The body passed its limit; the 413 is sent."""


class BodyTimeoutError(BodyAbortedError):
    """No byte of the body arrived within the body timeout; the 408 is sent."""


@dataclass(frozen=True)
class Limit:
    allowed: int  # bytes of body accepted
    shown: int  # the limit named in the answer


def route_path(scope: Scope) -> str:
    """The path as routes see it (without the mount prefix), as Starlette routes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class UploadRoutes:
    """The routes that take an evidence upload: POST on any of the given path patterns
    (compiled route regexes, e.g. ``APIRoute.path_regex``)."""

    def __init__(self, patterns: Sequence[re.Pattern[str]] = ()) -> None:
        self.patterns = tuple(patterns)

    @classmethod
    def of(cls, routes: Sequence[BaseRoute]) -> "UploadRoutes":
        """The routes whose documented body is multipart/form-data: the evidence uploads."""
        patterns = []
        # Route contexts, not the routes: included routers are kept nested, under a prefix.
        for context in iter_route_contexts(routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or context.path is None:
                continue
            documented = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
            if MULTIPART in documented:
                patterns.append(compile_path(context.path)[0])
        return cls(patterns)

    def match(self, scope: Scope) -> bool:
        if scope.get("method") != "POST":
            return False
        path = route_path(scope)
        return any(pattern.match(path) for pattern in self.patterns)


def current_settings(scope: Scope, default: Settings) -> Settings:
    """The app's settings now (``app.state.settings``, which tests may swap), else default."""
    state = getattr(scope.get("app"), "state", None)
    settings = getattr(state, "settings", None)
    return settings if isinstance(settings, Settings) else default


def declared_length(scope: Scope) -> int | None:
    """The declared Content-Length, or None when absent or not a plain number (the server
    refuses malformed ones itself)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, settings: Settings, uploads: UploadRoutes | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.uploads = uploads or UploadRoutes()

    def limit(self, scope: Scope) -> Limit:
        settings = current_settings(scope, self.settings)
        if self.uploads.match(scope):
            attachment = settings.attachment_max_bytes
            return Limit(allowed=attachment + ENVELOPE_BYTES, shown=attachment)
        return Limit(allowed=settings.max_body_bytes, shown=settings.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit.allowed:
            await send_problem(scope, send, PayloadTooLargeError(limit.shown))
            return
        timeout = current_settings(scope, self.settings).http_body_timeout_seconds

        received = 0
        complete = False  # the whole body (or the disconnect) has been pulled
        started = False  # the app has begun its own answer
        # Set once this layer answers for the body: the answer, if any, is ours.
        tripped: BodyAbortedError | None = None

        async def trip(error: BodyAbortedError, answer: AppError) -> BodyAbortedError:
            nonlocal tripped
            tripped = error
            if not started:
                await send_problem(scope, send, answer)
            return error

        async def limited_receive() -> Message:
            nonlocal received, complete
            if tripped is not None:
                raise type(tripped)()
            if complete:
                return await receive()
            try:
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise await trip(BodyTimeoutError(), RequestTimeoutError(timeout)) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.allowed:
                    raise await trip(BodyTooLargeError(), PayloadTooLargeError(limit.shown))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if tripped is not None and not started:
                return  # our answer went out; drop the app's answer to the failed read
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyAbortedError:
            if tripped is None:
                raise
        except BaseExceptionGroup as group:  # raised inside a task group of the app
            if tripped is None or group.split(BodyAbortedError)[1] is not None:
                raise
