"""No route's dependency runs in FastAPI's thread pool (app.core.dependencies)."""

from typing import Any

from fastapi.dependencies.models import (
    Dependant,
    _is_async_gen_callable,
    _is_coroutine_callable,
)
from fastapi.routing import APIRoute, iter_route_contexts

# The metrics endpoint is prometheus_fastapi_instrumentator's own (a plain `def`).
LIBRARY_ENDPOINTS = {"/metrics"}


def _threaded(dependant: Dependant) -> list[str]:
    """The dependencies FastAPI would call in its thread pool: neither coroutine functions
    nor async generators (a class used as `Depends()` is one of them)."""
    found = []
    for sub in dependant.dependencies:
        call = sub.call
        if call is not None and not (_is_coroutine_callable(call) or _is_async_gen_callable(call)):
            found.append(getattr(call, "__qualname__", repr(call)))
        found += _threaded(sub)
    return found


def test_no_dependency_or_endpoint_runs_in_the_thread_pool(app: Any) -> None:
    threaded: dict[str, list[str]] = {}
    routes = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path in LIBRARY_ENDPOINTS:
            continue
        routes += 1
        names = _threaded(context.dependant)
        if not _is_coroutine_callable(context.dependant.call):
            names.append(f"endpoint {route.endpoint.__qualname__}")
        if names:
            threaded[f"{sorted(route.methods)} {context.path}"] = sorted(set(names))
    assert routes > 90
    assert threaded == {}
