"""One flat table of routes (app.core.routing) and the request metrics read from it
(app.core.metrics)."""

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from app.core.routing import flatten_included_routers
from app.main import create_app


def _series(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        got = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
        if got == wanted:
            return float(value)
    return 0.0


def test_the_app_has_no_included_router_left() -> None:
    """Matching a request is one pass over the app's own routes: no route stands for a
    router whose routes would be walked again on every request."""
    app = create_app()
    assert app.routes
    for route in app.routes:
        assert not callable(getattr(route, "effective_route_contexts", None)), route
    paths = [r.path for r in app.routes if isinstance(r, APIRoute)]
    assert "/api/v1/tasks/{code}" in paths
    assert "/healthz" in paths


def test_flattened_routes_keep_what_the_inclusion_gave_them() -> None:
    inner = APIRouter(tags=["inner"])

    @inner.get("/things/{code}", operation_id="thing", summary="A thing")
    async def thing(code: str) -> dict[str, str]:
        """Its docstring."""
        return {"code": code}

    outer = APIRouter(prefix="/api", responses={418: {"description": "teapot"}})
    outer.include_router(inner, prefix="/v9", tags=["outer"])
    app = FastAPI()
    app.include_router(outer)
    before = app.openapi()
    app.openapi_schema = None
    flatten_included_routers(app)
    (route,) = [r for r in app.routes if isinstance(r, APIRoute)]
    assert route.path == "/api/v9/things/{code}"
    assert route.tags == ["outer", "inner"]
    assert app.openapi() == before


async def test_requests_are_counted_by_handler_and_status(client: httpx.AsyncClient) -> None:
    def count(text: str, handler: str, status: str, method: str = "GET") -> float:
        return _series(text, "http_requests_total", handler=handler, method=method, status=status)

    before = (await client.get("/metrics")).text
    assert (await client.get("/api/v1/tasks/A.I.1")).status_code == 200
    assert (await client.get("/api/v1/tasks/NO.SUCH")).status_code == 404
    assert (await client.get("/api/v1/no-such-path")).status_code == 404
    assert (await client.delete("/api/v1/tasks/A.I.1")).status_code == 405
    assert (await client.get("/healthz")).status_code == 200
    after = (await client.get("/metrics")).text
    task = "/api/v1/tasks/{code}"
    assert count(after, task, "2xx") == count(before, task, "2xx") + 1
    assert count(after, task, "4xx") == count(before, task, "4xx") + 1
    assert count(after, task, "4xx", "DELETE") == count(before, task, "4xx", "DELETE") + 1
    assert count(after, "none", "4xx") == count(before, "none", "4xx") + 1
    assert count(after, "/healthz", "2xx") == 0  # probes are not recorded
    latency = "http_request_duration_seconds_count"
    assert _series(after, latency, handler=task, method="GET") >= 2
