"""The floor: what any answer that reads the database can reach on this machine.

    python -m bench.floor [--seconds 10]

The ceiling (bench/ceiling.py) answers from memory; every answer of the service that is not
a cache hit reads PostgreSQL at least once. This bare ASGI app (no framework, no middleware)
answers the same small JSON body in four ways, each path its own case:

- ``/ceiling``: from memory, as bench/ceiling.py does;
- ``/asyncpg``: after one read (``SELECT version FROM data_version``) on a pooled asyncpg
  connection, autocommit: one round trip;
- ``/asyncpg-tx``: the same read inside BEGIN ... COMMIT, as the service's one transaction
  per request does: three round trips;
- ``/sqlalchemy``: the same read through the service's own engine and session factory
  (app.core.db: pre-ping, BEGIN, the read, COMMIT; the session as the routes get it):
  the database layer every route pays, without routing, middleware or serialization.

Served like the service and the ceiling (uvicorn, 2 workers, the same pool size per
worker, DXPLAN_DB_POOL_SIZE + DXPLAN_DB_MAX_OVERFLOW), each case driven by wrk
(2 threads, 32 connections) after a warm-up, on the database of BENCH_DATABASE_URL (a
migrated one; `make bench` leaves none behind, `python -m bench.run --keep-db` does). Prints
req/s, × ceiling, p50/p99 and server CPU ms per request. `make bench` runs it too, on its
own database after the ceiling, and prints the floor next to the goals it bounds.
"""

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.loadgen import Load, Result
    from bench.servers import Server

BODY = json.dumps({"version": 0, "status": "ok"}).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
QUERY = "SELECT version FROM data_version"

_state: dict[str, Any] = {}


async def _startup() -> None:
    import asyncpg

    from app.core.config import Settings, get_settings
    from app.core.db import make_engine, make_sessionmaker

    settings: Settings = get_settings()
    assert settings.database_url is not None
    size = settings.db_pool_size + settings.db_max_overflow
    url = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    _state["pool"] = await asyncpg.create_pool(url, min_size=1, max_size=size)
    engine = make_engine(settings)
    _state["engine"] = engine
    _state["sessionmaker"] = make_sessionmaker(engine)


async def _shutdown() -> None:
    await _state["pool"].close()
    await _state["engine"].dispose()


async def _read(path: str) -> None:
    if path == "/asyncpg":
        async with _state["pool"].acquire() as conn:
            await conn.fetchval(QUERY)
    elif path == "/asyncpg-tx":
        async with _state["pool"].acquire() as conn, conn.transaction():
            await conn.fetchval(QUERY)
    elif path == "/sqlalchemy":
        from sqlalchemy import text

        from app.core.db import session_scope

        async for session in session_scope(_state["sessionmaker"]):
            (await session.execute(text(QUERY))).scalar()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await _startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await _read(scope["path"])
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


CASES = ("/ceiling", "/asyncpg", "/asyncpg-tx", "/sqlalchemy")


def floor_server(url: str, work: "Path") -> "Server":
    """This app on uvicorn with two workers, like the service and the ceiling."""
    from bench.servers import asgi_server

    env = {"DATABASE_URL": url, "APP_ENV": "production", "DXPLAN_JWT_SECRET": "x" * 48}
    return asgi_server("floor", "bench.floor:app", env, work, ready_path="/ceiling")


Measured = tuple[str, "Result", float]  # case, wrk's result, server CPU seconds


def measure_all(server: "Server", load: "Load", warmup: float = 2.0) -> list[Measured]:
    """Each case after a warm-up, the server idle in between (bench.run.settle)."""
    from bench import loadgen
    from bench.loadgen import Load, Request
    from bench.run import settle

    rows: list[Measured] = []
    for path in CASES:
        requests = [Request("GET", path)]
        loadgen.run(server.base_url, requests, Load(load.threads, load.connections, warmup))
        settle(server)
        before = server.cpu_seconds()
        result = loadgen.run(server.base_url, requests, load)
        rows.append((path, result, server.cpu_seconds() - before))
        print(f"bench: floor {path} {result.rate:,.0f} req/s", flush=True)
    return rows


def table(rows: list[Measured]) -> list[str]:
    lines = [
        "| case | req/s | × ceiling | p50 ms | p99 ms | server CPU ms/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ceiling = rows[0][1].rate or 1.0
    for path, result, cpu in rows:
        per = cpu * 1000 / result.requests if result.requests else 0.0
        lines.append(
            f"| `{path}` | {result.rate:,.0f} | {result.rate / ceiling:.3f} | "
            f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {per:.3f} |"
        )
    return lines


def ratio(rows: list[Measured], path: str = "/asyncpg") -> float:
    """The share of the floor's own ceiling that ``path`` reached."""
    rates = {p: r.rate for p, r, _ in rows}
    return rates.get(path, 0.0) / (rates.get("/ceiling") or 1.0)


def main() -> None:
    from bench import loadgen
    from bench.loadgen import Load
    from bench.servers import workdir

    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise SystemExit("bench: set BENCH_DATABASE_URL to a migrated database")
    loadgen.require_wrk()
    server = floor_server(url, workdir()).start()
    load = Load(seconds=args.seconds)
    try:
        rows = measure_all(server, load)
    finally:
        server.stop()
    one = os.getloadavg()[0]
    print(
        f"\nload average {one:.2f}; wrk -t{load.threads} -c{load.connections} -d{load.seconds:g}s"
    )
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
