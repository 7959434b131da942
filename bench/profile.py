"""Where the time goes: py-spy samples the service's workers while wrk drives one case.

    python -m bench.profile [--seconds 10] [--big 100] [--only NAME ...]

Same set-up as bench/run.py (fresh database, production settings, 2 workers, 1× history,
later grown to ``--big``×). For each profiled case: prime and warm up, then
``py-spy record --format raw`` on both workers for the whole measured wrk run. py-spy leaves
out idle samples, so the shares are of the workers' CPU time (waits on the database are
not in them; the run's "db CPU ms/req" column measures those). Prints, per case, the
functions with the largest inclusive and self shares, and writes the collapsed stacks
(flamegraph.pl or speedscope read them) to the run's work folder.
"""

import argparse
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench import loadgen, run
from bench.loadgen import Load
from bench.servers import Database, Server, app_server, workdir

TOP = 22
NATIVE = False  # --native: C frames too (asyncpg's Cython protocol, uvloop, zlib)


@dataclass(frozen=True)
class Target:
    name: str
    case: str  # a bench.run case name
    large: bool  # on the --big× history
    cache: bool


TARGETS = [
    Target("cached public hit", "GET /tasks?limit=100", large=False, cache=True),
    Target("staff GET /reports", "GET /reports (reviewer)", large=False, cache=True),
    Target("staff GET /me/assignments", "GET /me/assignments (officer)", large=False, cache=True),
    Target("comment write", "POST /reports/{id}/comments", large=False, cache=True),
    Target("built /tasks?limit=100 at big", "GET /tasks?limit=100", large=True, cache=False),
    Target("built /indicators?limit=100", "GET /indicators?limit=100", large=False, cache=False),
    Target("/dashboard at big", "GET /dashboard", large=True, cache=False),
]


def _py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(run.BIN) / "py-spy")
    if not Path(path).exists():
        raise SystemExit("bench: py-spy is missing: pip install -e '.[dev]'")
    return path


def workers(server: Server) -> list[int]:
    assert server.process is not None
    master = psutil.Process(server.process.pid)
    return [
        p.pid
        for p in master.children(recursive=True)
        if "multiprocessing" in " ".join(p.cmdline()) or p.name().startswith("python")
    ]


def profile(ctx: run.Context, server: Server, case: run.Case, out: Path) -> Counter[str]:
    if case.kind != "write":
        run.prime(server, case.requests)
    warm = Load(ctx.load.threads, ctx.load.connections, ctx.warmup)
    comment = ctx.run_id + "p" if case.kind == "write" else None
    loadgen.run(server.base_url, case.requests, warm, comment_run=comment and comment + "w")
    run.settle(server)
    spies = []
    for pid in workers(server):
        path = out.with_suffix(f".{pid}.txt")
        argv = [_py_spy(), "record", "--pid", str(pid), "--duration", f"{ctx.load.seconds:g}"]
        argv += ["--rate", "200", "--format", "raw", "--output", str(path)]
        argv += ["--native"] if NATIVE else []
        spies.append(
            (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT), path)
        )
    result = loadgen.run(server.base_url, case.requests, ctx.load, comment_run=comment)
    stacks: Counter[str] = Counter()
    for spy, path in spies:
        spy.wait(timeout=60)
        if path.exists():
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                stacks[stack] += int(count)
    run.settle(server)
    print(f"\n### {case.name}: {result.rate:,.0f} req/s, p99 {result.p99_ms:.0f} ms", flush=True)
    return stacks


def _frame(frame: str) -> str:
    """``function (path:line)`` → ``function (short/path)``, without the line."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


# Frames every request sits under: 100 % of the event loop's samples, so not worth a line.
BOILERPLATE = (
    "<module>",
    "spawn_main",
    "_main",
    "BaseProcess.",
    "subprocess_started",
    "Process.target",
    "Server.run",
    "asyncio_run",
    "Runner.run",
)


def summary(stacks: Counter[str]) -> list[str]:
    """Shares of the event loop's busy samples. Stacks of other threads (uvicorn's
    supervisor pings, anyio's worker threads, the resource tracker) are left out, and so
    are samples whose innermost Python frame is the loop itself (uvloop's C code: socket
    I/O and waiting; py-spy does not always see the wait as idle). SQLAlchemy's greenlets
    show as stacks of their own, without the loop's frames: they are counted as busy."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    in_loop = other = busy = 0
    for stack, count in stacks.items():
        frames = stack.split(";")
        if frames[0].startswith("Thread._bootstrap") or "resource_tracker" in frames[-1]:
            other += count
            continue
        if frames[-1].startswith("Runner.run"):
            in_loop += count
            continue
        busy += count
        names = [_frame(f) for f in frames]
        for name in set(names):
            if not name.startswith(BOILERPLATE):
                inclusive[name] += count
        own[names[-1]] += count
    total = busy or 1
    lines = [
        f"{busy} busy samples of the event loop (200/s per worker); besides them {in_loop}"
        f" in uvloop's C code (I/O or waiting) and {other} in other threads.",
        "",
        "inclusive (share of busy samples):",
    ]
    lines += [f"  {n * 100 / total:5.1f}%  {f}" for f, n in inclusive.most_common(TOP * 2)]
    lines += ["", "self:"]
    lines += [f"  {n * 100 / total:5.1f}%  {f}" for f, n in own.most_common(TOP)]
    return lines


def summarize(folder: Path) -> None:
    """Print the summary of every profile left in a run's work folder."""
    for target in TARGETS:
        stem = target.name.replace(" ", "_").replace("/", "")
        stacks: Counter[str] = Counter()
        for path in sorted(folder.glob(f"{stem}.*.txt")):
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                stacks[stack] += int(count)
        if stacks:
            print(f"\n{target.name}:", *summary(stacks), sep="\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--big", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="profile only these targets (names)")
    parser.add_argument("--summarize", type=Path, help="only summarize a run's folder")
    parser.add_argument("--native", action="store_true", help="sample C frames too")
    args = parser.parse_args()
    global NATIVE
    NATIVE = args.native
    if args.summarize:
        summarize(args.summarize)
        return
    loadgen.require_wrk()
    _py_spy()
    work = workdir()
    db = Database.create(run.report.server_url(), work)
    targets = [t for t in TARGETS if not args.only or t.name in args.only]
    try:
        run.run_cli(["migrate"], db.url)
        run.run_cli(["seed"], db.url)
        run.datagen_load(db.url, 0, 1)  # vacuumed, as bench/run.py does
        ids, writers = run.identifiers(db)
        ctx = run.Context(db, Load(seconds=args.seconds), 2.0, "profile", {}, ids)
        for large in (False, True):
            if large:
                run.datagen_load(db.url, 1, args.big)
            for cache in (True, False):
                chosen = [t for t in targets if t.large == large and t.cache == cache]
                if not chosen:
                    continue
                server = app_server(db.url, 512 if cache else 0, work, f"profile-{len(chosen)}")
                server.start()
                try:
                    ctx.tokens = run.sign_in_all(server, writers)
                    by_name = {c.name: c for c in run.cases(ctx)}
                    for target in chosen:
                        out = work / target.name.replace(" ", "_").replace("/", "")
                        stacks = profile(ctx, server, by_name[target.case], out)
                        print(f"{target.name}:", *summary(stacks), sep="\n", flush=True)
                finally:
                    server.stop()
    finally:
        db.drop()
    print(f"\nbench: collapsed stacks in {work}")


if __name__ == "__main__":
    main()
