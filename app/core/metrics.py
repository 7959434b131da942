"""Request metrics for /metrics: what prometheus-fastapi-instrumentator's middleware records,
at a fraction of its cost.

The same five series, names, labels and buckets as the instrumentator's default set, so
dashboards and alerts keep working:
- ``http_requests_total`` (method, status as ``2xx``/``4xx``/..., handler),
- ``http_request_duration_seconds`` (method, handler; buckets 0.1, 0.5, 1 s),
- ``http_request_duration_highr_seconds`` (no labels; 21 buckets from 10 ms to 60 s),
- ``http_request_size_bytes`` and ``http_response_size_bytes`` (handler; the declared
  Content-Length, 0 without one).

``handler`` is the route's path template (``/api/v1/tasks/{code}``), ``none`` when no route
answered (404); the health probes and /metrics itself are not recorded. The instrumentator
finds the template before the request by matching the path against every route again (a
second routing per request, about a tenth of a millisecond per request on this machine, and
more for routes late in the table); here it is read after the request from what the router
matched (``scope["route"]``, kept by FastAPI). The endpoint /metrics stays the
instrumentator's (``Instrumentator().expose``), with its multi-process support.
"""

import time
from typing import Any

from prometheus_client import Counter, Histogram, Summary
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXCLUDED = frozenset({"/metrics", "/healthz", "/readyz"})
UNTEMPLATED = "none"

REQUESTS = Counter(
    "http_requests_total",
    "Total number of requests by method, status and handler.",
    ("method", "status", "handler"),
)
REQUEST_SIZE = Summary(
    "http_request_size_bytes",
    "Content length of incoming requests by handler. Only value of header is respected. "
    "Otherwise ignored. No percentile calculated. ",
    ("handler",),
)
RESPONSE_SIZE = Summary(
    "http_response_size_bytes",
    "Content length of outgoing responses by handler. Only value of header is respected. "
    "Otherwise ignored. No percentile calculated. ",
    ("handler",),
)
LATENCY_HIGHR = Histogram(
    "http_request_duration_highr_seconds",
    "Latency with many buckets but no API specific labels. Made for more accurate "
    "percentile calculations. ",
    buckets=(
        0.01,
        0.025,
        0.05,
        0.075,
        0.1,
        0.25,
        0.5,
        0.75,
        1,
        1.5,
        2,
        2.5,
        3,
        3.5,
        4,
        4.5,
        5,
        7.5,
        10,
        30,
        60,
        float("inf"),
    ),
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Latency with only few buckets by handler. Made to be only used if aggregation by "
    "handler is important. ",
    ("method", "handler"),
    buckets=(0.1, 0.5, 1, float("inf")),
)


def _content_length(headers: Any) -> int:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def handler_of(scope: Scope) -> str:
    """The template of the route that answered, else the mount it went to, else none."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    application = scope.get("app")
    for candidate in getattr(application, "routes", ()):
        if isinstance(candidate, Mount) and scope["path"].startswith(candidate.path + "/"):
            return candidate.path
    return UNTEMPLATED


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXCLUDED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_size = 0

        async def recording_send(message: Message) -> None:
            nonlocal status, response_size
            if message["type"] == "http.response.start":
                status = message["status"]
                response_size = _content_length(message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            duration = max(time.perf_counter() - started, 0.0)
            handler = handler_of(scope)
            if handler not in EXCLUDED:
                method = scope["method"]
                REQUESTS.labels(method, f"{str(status)[0]}xx", handler).inc()
                REQUEST_SIZE.labels(handler).observe(_content_length(scope["headers"]))
                RESPONSE_SIZE.labels(handler).observe(response_size)
                LATENCY_HIGHR.observe(duration)
                LATENCY.labels(method, handler).observe(duration)
