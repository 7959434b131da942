"""What every request that is not a cache hit costs in the app: CPU per request, in process.

    python -m bench.overhead [--n 300] [--only NAME ...] [--repeat R] [--uvicorn]

The database: BENCH_DATABASE_URL (a database already migrated, seeded and loaded with 1×
history, e.g. by `python -m bench.run --keep-db`, or by hand:
`dxplan migrate && dxplan seed` then `bench.datagen.load(url, 0, 1)`).

Default mode: the app of app.main (production settings, the cache of public answers off,
the webhook worker off) is called directly as an ASGI app on uvloop, one request after the
other, with a minimal scope: no HTTP client, no server, so `time.process_time()` per request
is the app's own CPU (middleware, routing, dependencies, SQLAlchemy, asyncpg, serialization,
gzip) and nothing else; wall time adds the database's answers. Each case is warmed up, then
timed over ``--n`` requests; the table gives CPU and wall ms per request. To see where the
time goes: ``py-spy record --format raw -o out.txt -- python -m bench.overhead --only NAME``
(the samples of the timed requests are those under ``Direct.request``).

``--uvicorn``: the same cases against one real uvicorn worker (`dxplan serve`, 1 worker)
driven by a sequential client in this process; the worker's CPU per request is read with
psutil, so uvicorn's HTTP parsing and the access log are in it.

Machine noise: CPU time of one process is much steadier than wall time on a loaded
machine; compare A/B runs made one after the other, and several times.
"""

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import datagen

API = "/api/v1"


@dataclass
class Case:
    name: str
    method: str
    path: str  # with the query
    token: str | None = None  # a key of the tokens
    body: Callable[[int], bytes] | None = None  # the i-th request's JSON body
    headers: dict[str, str] = field(default_factory=dict)


def cases(ids: dict[str, Any]) -> list[Case]:
    gz = {"accept-encoding": "gzip"}
    comment = ids["comment_report"]
    return [
        Case("healthz (no db)", "GET", "/healthz"),
        Case("public sync (cursor for now)", "GET", f"{API}/sync", headers=gz),
        Case("public document", "GET", f"{API}/documents/1", headers=gz),
        Case("public task", "GET", f"{API}/tasks/A.I.1", headers=gz),
        Case("staff me", "GET", f"{API}/me", token="reviewer", headers=gz),
        Case("staff reports", "GET", f"{API}/reports", token="reviewer", headers=gz),
        Case(
            "staff write comment",
            "POST",
            f"{API}/reports/{comment}/comments",
            token="writer",
            body=lambda i: json.dumps({"body": f"overhead {i}: Đề nghị bổ sung."}).encode(),
        ),
    ]


def settings_env(url: str) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "DXPLAN_JWT_SECRET": "bench-overhead-" + "x" * 40,
        "DXPLAN_PUBLIC_CACHE_ENTRIES": "0",
        "DXPLAN_WEBHOOK_WORKER": "false",
        "DXPLAN_ACCESS_TOKEN_MINUTES": "60",
        "DXPLAN_REFUSE_ENDED_AGENCIES": "false",
        "DXPLAN_LOG_LEVEL": "WARNING",
    }


async def identifiers(url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT r.id, a.code FROM reports r JOIN agencies a ON a.id = r.agency_id"
            " JOIN reporting_periods p ON p.id = r.period_id WHERE p.code = $1"
            " ORDER BY a.sort_order, a.code LIMIT 1",
            datagen.OPEN_PERIOD,
        )
    finally:
        await conn.close()
    assert row is not None, "no open report: load bench.datagen history first"
    return {"comment_report": row[0], "writer": datagen.officer_name(str(row[1]))}


class Direct:
    """Calls the ASGI app with a minimal HTTP scope; collects status and body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] = []  # of the last answer

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        path, _, query = target.partition("?")
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"host", b"127.0.0.1"))
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # a disconnect never comes
            raise AssertionError

        status = 0
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def sign_in(client: Direct, username: str) -> str:
    form = f"grant_type=password&username={username}&password={datagen.PASSWORD}".encode()
    status, body = await client.request(
        "POST", f"{API}/auth/token", {"content-type": "application/x-www-form-urlencoded"}, form
    )
    assert status == 200, (status, body[:300])
    return str(json.loads(body)["access_token"])


@dataclass
class Result:
    name: str
    n: int
    cpu_ms: float
    wall_ms: float
    status: int
    size: int


def _headers(case: Case, tokens: dict[str, str]) -> dict[str, str]:
    headers = dict(case.headers)
    if case.token:
        headers["authorization"] = f"Bearer {tokens[case.token]}"
    if case.body:
        headers["content-type"] = "application/json"
    return headers


async def run_direct(args: argparse.Namespace, url: str) -> list[Result]:
    from app.core.config import Settings
    from app.main import create_app

    app = create_app(Settings())
    results = []
    async with app.router.lifespan_context(app):
        client = Direct(app)
        ids = await identifiers(url)
        tokens = {
            "reviewer": await sign_in(client, datagen.REVIEWER),
            "writer": await sign_in(client, ids["writer"]),
        }
        for case in selected(cases(ids), args.only):
            headers = _headers(case, tokens)
            for i in range(args.warmup):
                body = case.body(-i - 1) if case.body else b""
                await client.request(case.method, case.path, headers, body)
            gc.collect()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            status, answer = 0, b""
            for i in range(args.n):
                body = case.body(i) if case.body else b""
                status, answer = await client.request(case.method, case.path, headers, body)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            results.append(
                Result(
                    case.name,
                    args.n,
                    cpu * 1000 / args.n,
                    wall * 1000 / args.n,
                    status,
                    len(answer),
                )
            )
            print(_row(results[-1]), flush=True)
    return results


def run_uvicorn(args: argparse.Namespace, url: str) -> list[Result]:
    import httpx

    from bench.servers import Server, app_server, tree_cpu_seconds, workdir

    work = workdir()
    server: Server = app_server(url, 0, work, "overhead")
    server.env.update(settings_env(url))
    server.env["DXPLAN_WORKERS"] = "1"
    server.start()
    results = []
    try:
        ids = asyncio.run(identifiers(url))
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            tokens = {}
            for key, user in (("reviewer", datagen.REVIEWER), ("writer", ids["writer"])):
                answer = client.post(
                    f"{API}/auth/token",
                    data={"grant_type": "password", "username": user, "password": datagen.PASSWORD},
                )
                answer.raise_for_status()
                tokens[key] = answer.json()["access_token"]
            assert server.process is not None
            for case in selected(cases(ids), args.only):
                headers = _headers(case, tokens)
                for i in range(args.warmup):
                    content = case.body(-i - 1) if case.body else None
                    client.request(case.method, case.path, headers=headers, content=content)
                cpu0, wall0 = tree_cpu_seconds(server.process.pid), time.perf_counter()
                answer = None
                for i in range(args.n):
                    content = case.body(i) if case.body else None
                    answer = client.request(
                        case.method, case.path, headers=headers, content=content
                    )
                cpu = tree_cpu_seconds(server.process.pid) - cpu0
                wall = time.perf_counter() - wall0
                assert answer is not None
                results.append(
                    Result(
                        case.name,
                        args.n,
                        cpu * 1000 / args.n,
                        wall * 1000 / args.n,
                        answer.status_code,
                        len(answer.content),
                    )
                )
                print(_row(results[-1]), flush=True)
    finally:
        server.stop()
    return results


def selected(all_cases: list[Case], only: list[str] | None) -> list[Case]:
    if not only:
        return all_cases
    return [c for c in all_cases if any(o in c.name for o in only)]


def _row(r: Result) -> str:
    return f"| {r.name} | {r.status} | {r.size} | {r.cpu_ms:.2f} | {r.wall_ms:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--only", nargs="*", help="cases whose name contains one of these")
    parser.add_argument("--uvicorn", action="store_true", help="through a real uvicorn worker")
    parser.add_argument("--repeat", type=int, default=1, help="whole runs; the table: medians")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise SystemExit("bench: set BENCH_DATABASE_URL to a loaded database")
    os.environ.update(settings_env(url))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; n={args.n}", flush=True)
    print("| case | status | bytes | app CPU ms/req | wall ms/req |")
    print("| --- | ---: | ---: | ---: | ---: |")
    runs = []
    for _ in range(args.repeat):
        if args.uvicorn:
            runs.append(run_uvicorn(args, url))
        else:
            import uvloop

            runs.append(uvloop.run(run_direct(args, url)))
    if args.repeat > 1:
        print("medians:")
        for i, first in enumerate(runs[0]):
            cpu = statistics.median(r[i].cpu_ms for r in runs)
            wall = statistics.median(r[i].wall_ms for r in runs)
            print(_row(Result(first.name, first.n, cpu, wall, first.status, first.size)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
