"""What a benchmark run measured, as the tables of issue 13 and its goals, in Markdown."""

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import floor as bare_floor
from bench.datagen import Counts
from bench.loadgen import Result
from bench.probes import PROBES, Measured

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SIZE_TOLERANCE = 1.1  # ids and counts get a few digits longer at 100×: not "growth"
WRITE_RATE_TOLERANCE = 0.9  # "while officers write (≈20 writes/s)": at least 90 % of it


def server_url() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or None


@dataclass
class Writes:
    """Comments acknowledged (2xx) by the server against those stored, by unique body."""

    acknowledged: int
    stored: int
    distinct: int

    @property
    def lost(self) -> int:
        return max(0, self.acknowledged - self.stored)

    @property
    def duplicated(self) -> int:
        return self.stored - self.distinct

    @property
    def in_flight(self) -> int:
        """Stored but never acknowledged: requests cut off when wrk stopped."""
        return max(0, self.stored - self.acknowledged)


@dataclass
class Row:
    name: str
    kind: str
    result: Result
    cpu_seconds: float
    db_cpu_seconds: float | None
    writes: Writes | None = None

    def per_request(self, seconds: float | None) -> str:
        if seconds is None or not self.result.requests:
            return "—"
        return f"{seconds * 1000 / self.result.requests:.2f}"


@dataclass
class Mixed:
    baseline: Result
    reads: Result
    writes: Result
    checked: Writes
    target_rate: float = 20.0  # writes/s the PacedWriter was asked for


@dataclass
class Run:
    mode: str
    seconds: float
    big: int
    run_id: str
    started: datetime
    load_start: str
    commit: str
    small: Counts | None = None
    large: Counts | None = None
    rows: list[Row] = field(default_factory=list)
    built: list[Row] = field(default_factory=list)
    ceiling: list[Row] = field(default_factory=list)
    mixed: Mixed | None = None
    floor: list[bare_floor.Measured] = field(default_factory=list)
    probes_small: dict[str, Measured] = field(default_factory=dict)
    probes_large: dict[str, Measured] = field(default_factory=dict)
    elapsed: float = 0.0
    load_end: str = ""

    @classmethod
    def begin(cls, mode: str, seconds: float, big: int) -> "Run":
        run_id = "bench-" + uuid.uuid4().hex[:8]
        return cls(mode, seconds, big, run_id, datetime.now(UTC), _uptime(), _commit())

    def finish(self, elapsed: float) -> None:
        self.elapsed = elapsed
        self.load_end = _uptime()


def _uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True)
    one, five, fifteen = os.getloadavg()
    return done.stdout.strip() or f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes in the tree)"
    return commit


def progress(row: Row) -> None:
    r = row.result
    print(
        f"bench: {row.name:48} {r.rate:9.0f} req/s  p99 {r.p99_ms:7.1f} ms  non-2xx {r.non_2xx}",
        flush=True,
    )


def _size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _ratio(value: float, base: float) -> float:
    return value / base if base else 0.0


def ok_rate(r: Result) -> float:
    """Answers per second that were 2xx: an error answered fast is not throughput."""
    return (r.requests - r.non_2xx) / r.seconds if r.seconds else 0.0


def _errors(r: Result) -> str:
    """Non-2xx answers and requests with no answer (timeouts, resets), or "" if none."""
    parts = [f"{r.non_2xx:,} non-2xx"] if r.non_2xx else []
    parts += [f"{r.socket_errors:,} without an answer"] if r.socket_errors else []
    return ", ".join(parts)


def _table(run: Run) -> list[str]:
    ceiling = {row.name: row.result.rate for row in run.ceiling}
    lines = [
        "| case | req/s | × ceiling | p50 ms | p99 ms | app CPU ms/req | db CPU ms/req | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    labelled = (
        [("public, cached", r) for r in run.rows if r.kind == "public"]
        + [("public, built (cache off)", r) for r in run.built]
        + [("staff", r) for r in run.rows if r.kind == "staff"]
        + [("staff write", r) for r in run.rows if r.kind == "write"]
        + [("ceiling", r) for r in run.ceiling]
    )
    for label, row in labelled:
        r = row.result
        if not r.requests:
            lines.append(f"| {label}: `{row.name}` | 0 | — | — | — | — | — | none completed |")
            continue
        times = "1" if label == "ceiling" else f"{_ratio(ok_rate(r), ceiling.get(row.name, 0)):.3f}"
        errors = f"{r.non_2xx}" + (f" (+{r.socket_errors} socket)" if r.socket_errors else "")
        lines.append(
            f"| {label}: `{row.name}` | {r.rate:,.0f} | {times} | {r.p50_ms:.1f} | {r.p99_ms:.1f}"
            f" | {row.per_request(row.cpu_seconds)} | {row.per_request(row.db_cpu_seconds)}"
            f" | {errors} |"
        )
    return lines


def _goal(name: str, target: str, measured: str, met: bool) -> str:
    return f"| {name} | {target} | {measured} | {'yes' if met else '**no**'} |"


def _worst(rows: list[tuple[str, float]], *, high: bool = False) -> tuple[str, float]:
    if not rows:
        return "—", 0.0
    return (max if high else min)(rows, key=lambda x: x[1])


def _goals(run: Run) -> list[str]:
    ceiling = {row.name: row.result.rate for row in run.ceiling}

    def ratios(rows: list[Row]) -> list[tuple[str, float]]:
        return [(r.name, _ratio(ok_rate(r.result), ceiling.get(r.name, 0))) for r in rows]

    def failing(rows: list[Row]) -> str:
        """The cases with error answers or requests left unanswered: their rates and p99s
        are not the service's, so their goals are not met whatever the figures."""
        bad = [f"`{r.name}`: {_errors(r.result)}" for r in rows if _errors(r.result)]
        return f"; errors: {'; '.join(bad)}" if bad else ""

    cached = [r for r in run.rows if r.kind == "public"]
    staff = [r for r in run.rows if r.kind == "staff"]
    writes = [r for r in run.rows if r.kind == "write"]
    lines = ["| goal | target | measured | met |", "| --- | --- | --- | --- |"]
    for name, rows in (("public reads from the cache", cached),):
        case, value = _worst(ratios(rows))
        bad = failing(rows)
        lines.append(
            _goal(
                name,
                "≥ 0.6× ceiling",
                f"{value:.3f}× (worst: `{case}`){bad}",
                value >= 0.6 and not bad,
            )
        )
    if run.mixed is not None:
        m = run.mixed
        value = _ratio(ok_rate(m.reads), ok_rate(m.baseline))
        written = m.writes.ok_counted / m.writes.seconds if m.writes.seconds else 0.0
        enough = written >= WRITE_RATE_TOLERANCE * m.target_rate
        bad = ", ".join(
            f"{what} {_errors(r)}"
            for what, r in (("reads", m.reads), ("writes", m.writes))
            if _errors(r)
        )
        lines.append(
            _goal(
                "public reads while officers write",
                f"≥ 0.5× the same reads without writes, at ≈{m.target_rate:g} writes/s",
                f"{value:.3f}× ({written:.1f} writes/s acknowledged"
                + ("" if enough else f", under {WRITE_RATE_TOLERANCE * m.target_rate:g}")
                + (f"; errors: {bad}" if bad else "")
                + ")",
                value >= 0.5 and enough and not bad,
            )
        )
    # What a bare ASGI app reading the database once per answer reached (bench/floor.py):
    # no answer built from the database can pass it on this machine.
    bound = f"; floor {bare_floor.ratio(run.floor):.3f}×" if run.floor else ""
    # A write is a transaction: its floor is the read inside BEGIN/COMMIT.
    write_bound = f"floor {bare_floor.ratio(run.floor, '/asyncpg-tx'):.3f}×" if run.floor else ""
    for name, rows in (("public reads built from the database", run.built), ("staff reads", staff)):
        case, value = _worst(ratios(rows))
        bad = failing(rows)
        lines.append(
            _goal(
                name,
                "≥ 0.25× ceiling",
                f"{value:.3f}× (worst: `{case}`{bound}){bad}",
                value >= 0.25 and not bad,
            )
        )
    case, value = _worst(ratios(writes))
    bad = failing(writes)
    lines.append(
        _goal(
            "staff writes",
            "≥ 0.10× ceiling",
            f"{value:.3f}×{f' ({write_bound})' if write_bound else ''}{bad}",
            value >= 0.10 and not bad,
        )
    )
    checks = [r.writes for r in writes if r.writes] + ([run.mixed.checked] if run.mixed else [])
    lost = sum(w.lost for w in checks)
    duplicated = sum(w.duplicated for w in checks)
    acknowledged = sum(w.acknowledged for w in checks)
    lines.append(
        _goal(
            "no lost or duplicated write",
            "0 and 0",
            f"{lost} lost, {duplicated} duplicated of {acknowledged:,} acknowledged",
            lost == 0 and duplicated == 0,
        )
    )
    # Public reads: cached, built (cache off) and beside the officers' writes, all at 32
    # connections. A run with requests left unanswered has no honest p99 (wrk's percentiles
    # leave them out), so its goal is not met.
    public_runs = [(f"cached: {r.name}", r.result) for r in cached]
    public_runs += [(f"built: {r.name}", r.result) for r in run.built]
    if run.mixed is not None:
        public_runs.append(("cached, in rotation, beside writes", run.mixed.reads))
    case, value = _worst([(name, r.p99_ms) for name, r in public_runs], high=True)
    unanswered = sum(r.socket_errors for _, r in public_runs)
    lines.append(
        _goal(
            "p99 of public reads, 32 connections",
            "≤ 50 ms (cached, built, beside writes)",
            f"{value:.0f} ms (`{case}`)"
            + (f"; {unanswered:,} requests without an answer" if unanswered else ""),
            value <= 50 and not unanswered,
        )
    )
    case, value = _worst([(r.name, r.result.p99_ms) for r in staff + writes], high=True)
    unanswered = sum(r.result.socket_errors for r in staff + writes)
    lines.append(
        _goal(
            "p99 of staff reads and writes",
            "≤ 100 ms",
            f"{value:.0f} ms (`{case}`)"
            + (f"; {unanswered:,} requests without an answer" if unanswered else ""),
            value <= 100 and not unanswered,
        )
    )
    judged = [
        p
        for p in PROBES
        if not p.export and p.name in run.probes_large and p.name in run.probes_small
    ]
    slow = [
        (p.name, _ratio(run.probes_large[p.name].p50_ms, run.probes_small[p.name].p50_ms))
        for p in judged
    ]
    case, value = _worst(slow, high=True)
    over = sum(1 for _, v in slow if v > 1.5)
    # A page partial at 1× and full at 100× compares page fill, not history (bench/probes.py);
    # an error answer at either size compares nothing.
    unfair = [p.name for p in judged if not comparable(run, p.name)]
    failed = [
        p.name
        for p in judged
        if run.probes_small[p.name].status != 200 or run.probes_large[p.name].status != 200
    ]
    notes = "".join(
        f"; {len(names)} {what}: " + ", ".join(f"`{n}`" for n in names)
        for what, names in (
            ("not comparable (page full only at the large size)", unfair),
            ("not answered 200", failed),
        )
        if names
    )
    lines.append(
        _goal(
            f"p50 at {run.big}× ÷ p50 at 1×, cache off, every answer",
            "≤ 1.5×",
            f"worst {value:.1f}× (`{case}`); {over} of {len(slow)} answers over{notes}",
            over == 0 and not unfair and not failed,
        )
    )
    grown = [
        (p.name, _ratio(run.probes_large[p.name].size, run.probes_small[p.name].size))
        for p in judged
        if not run.probes_large[p.name].full_page
    ]
    case, value = _worst(grown, high=True)
    over = sum(1 for _, v in grown if v > SIZE_TOLERANCE)
    lines.append(
        _goal(
            "no answer grows with history",
            f"size at {run.big}× ≤ {SIZE_TOLERANCE}× size at 1× (full pages excepted)",
            f"worst {value:.1f}× (`{case}`); {over} of {len(grown)} answers grow",
            over == 0,
        )
    )
    return lines


def comparable(run: Run, name: str) -> bool:
    """Both sizes serve the same amount of output: not a page full only at the large size."""
    return run.probes_small[name].full_page or not run.probes_large[name].full_page


def _probes(run: Run) -> list[str]:
    lines = [
        f"| answer | status | 1× p50 ms | {run.big}× p50 ms | ratio | 1× size | {run.big}× size"
        " | size ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for probe in PROBES:
        small, large = run.probes_small.get(probe.name), run.probes_large.get(probe.name)
        if small is None or large is None:
            continue
        name = probe.name + (" (export: grows by design)" if probe.export else "")
        if large.full_page:
            name += " (a full page)" if small.full_page else " (full only at the large size)"
        lines.append(
            f"| {name} `{probe.path}` | {small.status}/{large.status} | {small.p50_ms:.1f}"
            f" | {large.p50_ms:.1f} | {_ratio(large.p50_ms, small.p50_ms):.1f}"
            f" | {_size(small.size)} | {_size(large.size)} | {_ratio(large.size, small.size):.2f} |"
        )
    return lines


def render(run: Run) -> str:
    target = "make bench-quick" if run.mode == "quick" else "make bench"
    lines = [
        f"## {run.started:%Y-%m-%d %H:%M} UTC: `{target}`",
        "",
        f"Commit {run.commit}; {os.cpu_count()} cores; took {run.elapsed / 60:.1f} min.",
        f"Load at start: `{run.load_start}`; at end: `{run.load_end}`.",
        f"wrk -t2 -c32 -d{run.seconds:g}s after a warm-up, one server at a time, 2 uvicorn"
        " workers, production settings, `Accept-Encoding: gzip` (as the app sends).",
    ]
    if run.small and run.large:
        lines += [
            f"Data: 1×: {run.small.describe()}; {run.big}×: {run.large.describe()}"
            f" (generated in {run.small.seconds + run.large.seconds:.0f} s).",
        ]
    lines += ["", *_table(run), ""]
    if run.mixed is not None:
        m, w = run.mixed, run.mixed.checked
        lines += [
            f"Public reads in rotation (the four public cases), cached: {m.baseline.rate:,.0f}"
            f" req/s alone (p99 {m.baseline.p99_ms:.0f} ms); {m.reads.rate:,.0f} req/s"
            f" (p99 {m.reads.p99_ms:.0f} ms) beside {m.writes.rate:.1f} comments/s"
            f" (p99 {m.writes.p99_ms:.0f} ms; {w.acknowledged} acknowledged, {w.stored} stored,"
            f" {w.duplicated} duplicated).",
            "",
        ]
    for row in run.rows:
        if row.writes is not None:
            w = row.writes
            lines += [
                f"Comment writes: {w.acknowledged:,} acknowledged, {w.stored:,} stored"
                f" ({w.in_flight} cut off in flight when wrk stopped), {w.lost} lost,"
                f" {w.duplicated} duplicated.",
                "",
            ]
    if run.floor:
        lines += [
            "The floor (bench/floor.py): a bare ASGI app, same uvicorn and workers, answering a"
            " small body after one database read, against its own in-memory answer; what any"
            " answer that is not a cache hit can reach here:",
            "",
            *bare_floor.table(run.floor),
            "",
        ]
    lines += ["Goals of issue 13:", "", *_goals(run), ""]
    lines += [
        f"Single client, cache off (`DXPLAN_PUBLIC_CACHE_ENTRIES=0`), 1× against {run.big}×:",
        "",
        *_probes(run),
        "",
    ]
    return "\n".join(lines)


def append(text: str) -> None:
    with RESULTS.open("a", encoding="utf-8") as file:
        file.write("\n" + text)
