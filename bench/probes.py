"""Single-client latencies and answer sizes of every list, detail, dashboard, audit and
assignments answer, to compare the same answers at 1× and at 100× history (cache off).

Each probe is one request (``who`` signs it: None for the public, else a bench account), sent
as the mobile app sends it (``Accept-Encoding: gzip``); the size is the decoded JSON or file.
A probe marked ``export`` returns the whole history by design (an open-data file): its
growth is shown, not judged.

A list probe compares the same amount of output at both sizes. A list that grows with history
(reports, periods, notifications, the review queue, the audit trail) has its ``limit`` no
larger than the items it holds at 1×, so its page is full at 1× as at 100× (each then
serializes ``limit`` items, and only what history adds is measured: counting the total,
finding the page among more rows). Without it, the 1× page holds the few items there are and
the 100× page fifty: the ratio would measure page fill, not history. ``bench/report.py``
checks the rule: a page full at 100× but not at 1× is flagged as not comparable, and the
p50 goal is then not met. Lists that do not grow (sections, tasks, agencies…) ask for all
their items (``limit=100``) and hold the same items at both sizes.
"""

import statistics
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson

from app.core.pagination import DEFAULT_LIMIT
from bench.loadgen import Request

SAMPLES = 15  # timed requests per probe at most (see measure)


@dataclass(frozen=True)
class Probe:
    name: str
    path: str  # with {report}, {period}
    who: str | None = None  # "officer", "reviewer", "admin"
    export: bool = False


PROBES = [
    Probe("plan", "/api/v1/plan"),
    Probe("sections list", "/api/v1/sections?limit=100"),
    Probe("section", "/api/v1/sections/IV"),
    Probe("tasks list", "/api/v1/tasks?limit=100"),
    Probe("task", "/api/v1/tasks/A.I.1"),
    Probe("indicators list", "/api/v1/indicators?limit=100"),
    Probe("indicator", "/api/v1/indicators/CT-2025-01"),
    Probe("documents list", "/api/v1/documents?limit=100"),
    Probe("document", "/api/v1/documents/1"),
    Probe("agencies list", "/api/v1/agencies?limit=100"),
    Probe("agency", "/api/v1/agencies/STTTT"),
    Probe("dashboard", "/api/v1/dashboard"),
    Probe("agency scorecard", "/api/v1/agencies/STTTT/scorecard"),
    Probe("search", "/api/v1/search?q=chuyen%20doi%20so"),
    Probe("sync, cursor for now", "/api/v1/sync"),
    Probe("open data tasks.csv", "/api/v1/open-data/tasks.csv"),
    Probe("open data progress.csv", "/api/v1/open-data/progress.csv", export=True),
    Probe("me", "/api/v1/me", "officer"),
    Probe("my assignments", "/api/v1/me/assignments", "officer"),
    # limit: at most the items at 1× (5 notifications, 10 periods, 6 reports of the officer's
    # agency, 7 submitted reports), so the page is full at both sizes (see above).
    Probe("my notifications", "/api/v1/me/notifications?limit=5", "officer"),
    Probe("periods list", "/api/v1/periods?limit=10", "officer"),
    Probe("period", "/api/v1/periods/{period}", "officer"),
    Probe("period compliance", "/api/v1/periods/{period}/compliance", "reviewer"),
    Probe("reports list (reviewer)", "/api/v1/reports", "reviewer"),
    Probe("reports list (officer)", "/api/v1/reports?limit=6", "officer"),
    Probe("review queue", "/api/v1/review-queue?limit=7", "reviewer"),
    Probe("report", "/api/v1/reports/{report}", "reviewer"),
    Probe("report history", "/api/v1/reports/{report}/history", "reviewer"),
    Probe("report comments", "/api/v1/reports/{report}/comments", "reviewer"),
    Probe("report task updates", "/api/v1/reports/{report}/task-updates", "reviewer"),
    Probe("report indicator values", "/api/v1/reports/{report}/indicator-values", "reviewer"),
    Probe("report document updates", "/api/v1/reports/{report}/document-updates", "reviewer"),
    Probe("audit", "/api/v1/audit", "admin"),
    Probe("users list", "/api/v1/users", "admin"),
    Probe("sync as officer, cursor for now", "/api/v1/sync", "officer"),
]


@dataclass
class Measured:
    status: int
    p50_ms: float
    size: int
    samples: int
    full_page: bool  # a list page holding as many items as it may, with a next cursor


def request_for(probe: Probe, tokens: dict[str, str], ids: dict[str, int]) -> Request:
    headers = {"Accept-Encoding": "gzip"}
    if probe.who is not None:
        headers["Authorization"] = f"Bearer {tokens[probe.who]}"
    return Request("GET", probe.path.format(**ids), headers)


def measure(client: httpx.Client, request: Request, *, budget: float = 2.0) -> Measured:
    """One warm-up request, then samples until SAMPLES, or at least 3 once ``budget``
    seconds have passed. A warm-up over a second counts as a sample (the work then
    dominates), and one over 3 s is the only one: a 100× run stays within minutes. The 1× and
    100× probes run minutes apart on a shared machine: the median of up to 15 samples (a
    fraction of a second for most answers) is less at the mercy of a neighbour's burst than
    that of 5."""
    t0 = time.perf_counter()
    answer = client.get(request.path, headers=request.headers)
    first = time.perf_counter() - t0
    times = [first] if first > 1.0 else []
    started = time.monotonic()
    while first <= 3.0 and (
        len(times) < 3 or (len(times) < SAMPLES and time.monotonic() - started < budget)
    ):
        t0 = time.perf_counter()
        answer = client.get(request.path, headers=request.headers)
        times.append(time.perf_counter() - t0)
    p50 = statistics.median(times) * 1000
    return Measured(answer.status_code, p50, len(answer.content), len(times), _full_page(answer))


def _full_page(answer: httpx.Response) -> bool:
    """A list envelope ({"items": [...], "next_cursor": ...}) that is full (a next page, or
    as many items as its limit allows): its size is bounded by the page size, so it may
    grow up to a full page and no further."""
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        body = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return False
    query = parse_qs(urlsplit(str(answer.request.url)).query)
    limit = int(query.get("limit", [DEFAULT_LIMIT])[0])
    return bool(body.get("next_cursor")) or len(body["items"]) >= limit


def run_all(base_url: str, tokens: dict[str, str], ids: dict[str, int]) -> dict[str, Measured]:
    results = {}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for probe in PROBES:
            results[probe.name] = measure(client, request_for(probe, tokens, ids))
    return results
