"""HEAD, OPTIONS and Allow for every route, once for the whole app (RFC 9110 §9.3.2, §9.3.7,
§10.2.1, §15.5.6).

FastAPI registers one route per path and method and answers HEAD with 405; Starlette
answers a method a path lacks with the `Allow` of the first route of that path only (`GET`
where the path takes GET and POST). This layer makes the routes one resource per path:

- `HEAD` is answered as the `GET` of the same URL (every header of it, `Content-Length`,
  `ETag` and `Cache-Control` included) without the body; a 304 for If-None-Match alike.
- `OPTIONS` answers 204 with `Allow` listing every method of the path (`HEAD` wherever
  `GET` is, and `OPTIONS`); a path that no route serves stays 404.
- A 405 carries that same `Allow`.

The methods are read from the app's routes when asked, so a route added later is covered.
HEAD and OPTIONS are not listed in the OpenAPI document: they follow from this rule for every
path, and listing them would double the contract (README: conventions).
"""

from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Mount, compile_path
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.body_limit import route_path

_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this path, in a stable order; [] when none does."""
    path = route_path(scope)
    found: set[str] = set()
    # Route contexts, not the routes: included routers are kept nested, under a prefix.
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles) and route.matches(scope)[0] is not Match.NONE:
                found |= {"GET", "HEAD"}
            continue
        if context.path is None or not context.methods:
            continue
        if compile_path(context.path)[0].match(path):
            found |= set(context.methods)
    if not found:
        return []
    if "GET" in found:
        found.add("HEAD")
    found.add("OPTIONS")
    return sorted(found, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))


class MethodsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def _allow(self, scope: Scope) -> list[str]:
        application = scope.get("app")
        routes = getattr(getattr(application, "router", None), "routes", [])
        return allowed_methods(routes, scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS" and (allow := self._allow(scope)):
            headers = [(b"allow", ", ".join(allow).encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        head = method == "HEAD"
        inner = {**scope, "method": "GET"} if head else scope

        async def respond(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                headers["Allow"] = ", ".join(self._allow(scope))
                message = {**message, "headers": headers.raw}
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a HEAD answer has no body: only its end is passed on
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app(inner, receive, respond)
