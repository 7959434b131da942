"""`make bench`: the service as deployed, on a fresh database, against its ceiling.

    python -m bench.run [--quick] [--big N] [--seconds S] [--keep-db] [--no-record]

Database: a fresh database on the PostgreSQL of BENCH_DATABASE_URL or DATABASE_URL (a
superuser on this machine; dropped at the end), else a throwaway embedded cluster. Steps,
one server at a time, everything on 127.0.0.1:

1. migrate, load the plan, generate 1× history (bench/datagen.py);
2. the service with its cache of public answers (production settings, 2 uvicorn workers):
   capture every benchmarked answer, then wrk each case (public reads, staff reads, comment
   writes, public reads while officers write ≈20 comments/s);
3. the service with the cache off: the public reads built from the database; then, on a
   fresh server with the cache off, every probe of bench/probes.py single-client (1×);
4. the ceiling (bench/ceiling.py) serving the captured bytes: wrk each case again;
5. generate history up to ``--big``× and probe again with the cache off;
6. print the tables and each goal of issue 13 with its measured ratio; append them to
   bench/RESULTS.md with the date, the machine's load and the git commit.
"""

import argparse
import base64
import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench import datagen, loadgen, probes, report
from bench.floor import floor_server, measure_all
from bench.loadgen import Load, Request
from bench.servers import (
    BIN,
    REPO,
    Database,
    Server,
    app_server,
    backends_cpu_seconds,
    ceiling_server,
    workdir,
)

WRITERS = 8  # officers writing comments, each on their agency's open report
WRITES_PER_SECOND = 20.0  # "while officers write (≈20 writes/s)"
DROPPED_HEADERS = {b"date", b"server", b"connection", b"keep-alive"}


@dataclass
class Case:
    name: str
    kind: str  # "public", "staff", "write"
    requests: list[Request]


@dataclass
class Context:
    db: Database
    load: Load
    warmup: float
    run_id: str
    tokens: dict[str, str]
    ids: dict[str, Any]


def gzip_get(path: str, token: str | None = None) -> Request:
    headers = {"Accept-Encoding": "gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Request("GET", path, headers)


def cases(ctx: Context) -> list[Case]:
    t = ctx.tokens
    writes = [
        Request(
            "POST",
            f"/api/v1/reports/{report_id}/comments",
            {"Authorization": f"Bearer {t[f'writer{i}']}", "Content-Type": "application/json"},
        )
        for i, report_id in enumerate(ctx.ids["writes"])
    ]
    return [
        Case("GET /tasks?limit=100", "public", [gzip_get("/api/v1/tasks?limit=100")]),
        Case("GET /tasks/A.I.1", "public", [gzip_get("/api/v1/tasks/A.I.1")]),
        Case("GET /indicators?limit=100", "public", [gzip_get("/api/v1/indicators?limit=100")]),
        Case("GET /dashboard", "public", [gzip_get("/api/v1/dashboard")]),
        Case("GET /reports (reviewer)", "staff", [gzip_get("/api/v1/reports", t["reviewer"])]),
        Case(
            "GET /me/assignments (officer)",
            "staff",
            [gzip_get("/api/v1/me/assignments", t["officer"])],
        ),
        Case("POST /reports/{id}/comments", "write", writes),
    ]


def run_cli(args: list[str], url: str) -> None:
    env = {"DATABASE_URL": url, "APP_ENV": "production", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(BIN / "dxplan"), *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: dxplan {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def sign_in(server: Server, username: str) -> str:
    answer = httpx.post(
        server.base_url + "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": datagen.PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def sign_in_all(server: Server, writers: list[str]) -> dict[str, str]:
    tokens = {
        "reviewer": sign_in(server, datagen.REVIEWER),
        "admin": sign_in(server, datagen.ADMIN),
        "officer": sign_in(server, datagen.officer_name("STTTT")),
    }
    for i, username in enumerate(writers):
        tokens[f"writer{i}"] = sign_in(server, username)
    return tokens


def identifiers(db: Database) -> tuple[dict[str, Any], list[str]]:
    """The report and period probes read, and the open reports the writers comment on."""
    period = db.scalar("SELECT id FROM reporting_periods WHERE code = 'annual-2025'")
    report_id = db.scalar(
        "SELECT r.id FROM reports r JOIN agencies a ON a.id = r.agency_id"
        f" WHERE a.code = 'STTTT' AND r.period_id = {period}"
    )
    rows = _rows(
        db,
        "SELECT r.id, a.code FROM reports r JOIN agencies a ON a.id = r.agency_id"
        " JOIN reporting_periods p ON p.id = r.period_id"
        f" WHERE p.code = '{datagen.OPEN_PERIOD}' ORDER BY a.sort_order, a.code LIMIT {WRITERS}",
    )
    ids = {"period": period, "report": report_id, "writes": [r[0] for r in rows]}
    return ids, [datagen.officer_name(str(r[1])) for r in rows]


def _rows(db: Database, query: str) -> list[tuple[object, ...]]:
    from bench.servers import _fetch

    return _fetch(db.url, query)


def capture(server: Server, all_cases: list[Case], run_id: str) -> list[dict[str, object]]:
    """The service's exact answers (status, headers, raw bytes) for the ceiling to replay."""
    captured = []
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        for case in all_cases:
            for r in case.requests:
                body = None
                if case.kind == "write":
                    body = json.dumps({"body": f"{run_id}-capture: Đề nghị bổ sung số liệu."})
                with client.stream(r.method, r.path, headers=r.headers, content=body) as answer:
                    raw = b"".join(answer.iter_raw())
                if not 200 <= answer.status_code < 300:
                    raise SystemExit(f"bench: {r.method} {r.path} answered {answer.status_code}")
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in answer.headers.raw
                    if k.lower() not in DROPPED_HEADERS
                ]
                captured.append(
                    {
                        "method": r.method,
                        "target": r.path,
                        "status": answer.status_code,
                        "headers": headers,
                        "body": base64.b64encode(raw).decode(),
                        "case": case.name,
                    }
                )
    return captured


def measure(
    ctx: Context, server: Server, case: Case, *, database: bool = True, label: str = ""
) -> report.Row:
    """Warm up, then one measured wrk run with the server's (and database's) CPU time."""
    comment = f"{ctx.run_id}{label}" if case.kind == "write" else None
    if case.kind != "write":
        prime(server, case.requests)
    warm = Load(ctx.load.threads, ctx.load.connections, ctx.warmup)
    loadgen.run(server.base_url, case.requests, warm, comment_run=comment and comment + "w")
    settle(server)  # let the server finish what the warm-up left in flight
    before_db = backends_cpu_seconds(ctx.db.backend_pids()) if database else {}
    before = server.cpu_seconds()
    result = loadgen.run(server.base_url, case.requests, ctx.load, comment_run=comment)
    cpu = server.cpu_seconds() - before
    settle(server)
    db_cpu = None
    if database:
        after_db = backends_cpu_seconds(ctx.db.backend_pids())
        db_cpu = sum(v - before_db.get(pid, 0.0) for pid, v in after_db.items())
    row = report.Row(case.name, case.kind, result, cpu, db_cpu)
    if comment is not None and database:
        row.writes = check_writes(ctx.db, comment, result.ok_counted)
    report.progress(row)
    return row


def settle(server: Server, timeout: float = 60.0) -> None:
    """Wait until the server is idle (under 10 % of a core for half a second): requests wrk
    gave up on (timeouts, the end of a run) may still be running and would slow the next
    measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(0.5)
        if server.cpu_seconds() - before < 0.05:
            return


def prime(server: Server, requests: list[Request], rounds: int = 6) -> None:
    """A few sequential requests, each on a new connection (so both workers get some):
    the answers are in each worker's cache and its pool is connected before the load
    starts. Without this, 32 connections meeting a cold cache all build the same answer
    at once and exhaust the connection pool (measured once: 503s, p99 of seconds)."""
    for _ in range(rounds):
        for r in requests:
            httpx.request(r.method, server.base_url + r.path, headers=r.headers, timeout=60)


def check_writes(db: Database, prefix: str, acknowledged: int) -> report.Writes:
    stored, distinct = _rows(
        db,
        "SELECT count(*), count(DISTINCT comment) FROM report_events"
        f" WHERE action = 'comment' AND comment LIKE '{prefix} t%'",
    )[0]
    return report.Writes(acknowledged, int(str(stored)), int(str(distinct)))


def reads_while_writing(ctx: Context, server: Server, public: list[Case]) -> report.Mixed:
    """The public reads in rotation, without writes, then beside officers writing
    WRITES_PER_SECOND comments (bench.loadgen.PacedWriter)."""
    mix = Case("public reads, in rotation", "public", [c.requests[0] for c in public])
    baseline = measure(ctx, server, mix)
    prime(server, mix.requests, rounds=2)
    writes = cases(ctx)[-1]
    writer = loadgen.PacedWriter(
        server.base_url, writes.requests, WRITES_PER_SECOND, ctx.load.seconds, ctx.run_id + "m"
    )
    reads = loadgen.run(server.base_url, mix.requests, ctx.load)
    written = writer.result()
    settle(server)
    report.progress(report.Row("public reads while writing", "public", reads, 0.0, None))
    checked = check_writes(ctx.db, ctx.run_id + "m", written.ok_counted)
    return report.Mixed(baseline.result, reads, written, checked, WRITES_PER_SECOND)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="4 s runs, 10× instead of 100×")
    parser.add_argument("--big", type=int, help="the large history (default 100, quick 10)")
    parser.add_argument("--seconds", type=float, help="seconds per measured run (default 10)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    loadgen.require_wrk()
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    big = args.big or (10 if args.quick else 100)
    started = time.monotonic()
    run = report.Run.begin("quick" if args.quick else "full", seconds, big)
    work = workdir()
    db = Database.create(report.server_url(), work)
    servers: list[Server] = []
    try:
        print(f"bench: database {db.name}; logs in {work}", flush=True)
        run_cli(["migrate"], db.url)
        run_cli(["seed"], db.url)
        run.small = datagen_load(db.url, 0, 1)
        ids, writers = identifiers(db)
        warmup = 1.0 if args.quick else 2.0
        ctx = Context(db, Load(seconds=seconds), warmup, run.run_id, {}, ids)

        cached = app_server(db.url, 512, work, "cached").start()
        servers.append(cached)
        ctx.tokens = sign_in_all(cached, writers)
        all_cases = cases(ctx)
        answers = work / "answers.json"
        answers.write_text(json.dumps(capture(cached, all_cases, run.run_id)))
        public = [c for c in all_cases if c.kind == "public"]
        for case in all_cases:
            run.rows.append(measure(ctx, cached, case, label=f"-{case.kind}"))
        run.mixed = reads_while_writing(ctx, cached, public)
        cached.stop()

        built = app_server(db.url, 0, work, "built").start()
        servers.append(built)
        ctx.tokens = sign_in_all(built, writers)
        for case in cases(ctx):
            if case.kind == "public":
                run.built.append(measure(ctx, built, case))
        built.stop()

        # The probes of each size on a server of their own, started alike: probing the one
        # wrk has just driven at 32 connections timed 1× slower than 100× (a worker's heap
        # and the database still busy after the load), flattering every ratio.
        small = app_server(db.url, 0, work, "small").start()
        servers.append(small)
        tokens = sign_in_all(small, [])
        settle(small)
        run.probes_small = probes.run_all(small.base_url, tokens, ids)
        small.stop()

        ceiling = ceiling_server(answers, work).start()
        servers.append(ceiling)
        for case in all_cases:
            run.ceiling.append(measure(ctx, ceiling, case, database=False))
        ceiling.stop()

        # The floor: a bare ASGI app doing one database read per answer (bench/floor.py),
        # what any answer that is not a cache hit can reach on this machine.
        floor = floor_server(db.url, work).start()
        servers.append(floor)
        run.floor = measure_all(floor, ctx.load, ctx.warmup)
        floor.stop()

        run.large = datagen_load(db.url, 1, big)
        large = app_server(db.url, 0, work, "large").start()
        servers.append(large)
        tokens = sign_in_all(large, [])
        settle(large)
        run.probes_large = probes.run_all(large.base_url, tokens, ids)
        large.stop()
    finally:
        for server in servers:
            server.stop()
        if not args.keep_db:
            db.drop()
    run.finish(time.monotonic() - started)
    text = report.render(run)
    print(text)
    if not args.no_record:
        report.append(text)
        print(f"bench: appended to {report.RESULTS}")


def datagen_load(url: str, first: int, last: int) -> datagen.Counts:
    import asyncio

    counts = asyncio.run(datagen.load(url, first, last))
    started = time.monotonic()
    asyncio.run(vacuum(url))
    print(
        f"bench: {last}× history: {counts.describe()} ({counts.seconds:.1f} s,"
        f" vacuumed in {time.monotonic() - started:.1f} s)",
        flush=True,
    )
    return counts


async def vacuum(url: str) -> None:
    """VACUUM (ANALYZE) the generated history, as autovacuum does in service soon after a
    bulk load: this machine's PostgreSQL may run with autovacuum off, and an unvacuumed
    table answers every index-only scan from the heap (the visibility map is empty), which
    no deployed database does for long. Both sizes are vacuumed alike."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
