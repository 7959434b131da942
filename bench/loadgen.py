"""Driving a server with wrk (Debian's package) through bench/bench.lua."""

import asyncio
import json
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "bench.lua"


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "bench: wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk"
            " (macOS: brew install wrk); then run make bench again."
        )
    return path


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class Load:
    """How hard to push: wrk's threads, connections, seconds, and a pause per request."""

    threads: int = 2
    connections: int = 32
    seconds: float = 10.0
    delay_ms: int = 0
    timeout_seconds: int = 10


@dataclass
class Result:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    ok_counted: int  # exact 2xx count, for comment writes only

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua(value: object) -> str:
    """A Python value as a Lua literal (dicts with string keys, lists, str, int, None)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "".join(['"', *(_lua_char(c) for c in value.encode("utf-8")), '"'])
    if isinstance(value, list):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _lua_char(byte: int) -> str:
    return chr(byte) if 32 <= byte < 127 and byte not in (34, 92) else f"\\{byte:03d}"


class Wrk:
    """One wrk process, started now and read when finished (so two can run at once)."""

    def __init__(
        self,
        base_url: str,
        requests: list[Request],
        load: Load,
        *,
        comment_run: str | None = None,
    ) -> None:
        config = {
            "requests": [
                {"method": r.method, "path": r.path, "headers": r.headers, "body": r.body}
                for r in requests
            ],
            "comment": comment_run,
            "delay_ms": load.delay_ms,
        }
        self.config_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in result())
            "w", suffix=".lua", prefix="bench-wrk-", delete=False
        )
        self.config_file.write("return " + _lua(config) + "\n")
        self.config_file.close()
        argv = [
            require_wrk(),
            f"-t{load.threads}",
            f"-c{load.connections}",
            f"-d{load.seconds:g}s",
            f"--timeout={load.timeout_seconds}s",
            "-s",
            str(SCRIPT),
            base_url + requests[0].path,
        ]
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={"BENCH_WRK_CONFIG": self.config_file.name, "PATH": "/usr/bin:/bin"},
            text=True,
        )

    def result(self) -> Result:
        output, _ = self.process.communicate()
        Path(self.config_file.name).unlink(missing_ok=True)
        line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
        if line is None:
            raise SystemExit(f"bench: wrk failed:\n{output}")
        data = json.loads(line[len("BENCH ") :])
        return Result(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            non_2xx=max(data["status_errors"], data["other_counted"]),
            socket_errors=data["connect_errors"]
            + data["read_errors"]
            + data["write_errors"]
            + data["timeouts"],
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            ok_counted=data["ok_counted"],
        )


def run(base_url: str, requests: list[Request], load: Load, **kwargs: str) -> Result:
    return Wrk(base_url, requests, load, **kwargs).result()


class PacedWriter:
    """Comment writes at a steady rate beside wrk: open loop, one every 1/rate s whatever
    the answers' latency (so "≈20 writes/s" holds even when the server slows down), in a
    thread of this process. Bodies are unique (``<prefix> t0 n<k>: …``) like bench.lua's."""

    def __init__(
        self, base_url: str, requests: list[Request], rate: float, seconds: float, prefix: str
    ) -> None:
        self.base_url, self.requests, self.rate = base_url, requests, rate
        self.seconds, self.prefix = seconds, prefix
        self.latencies: list[float] = []
        self.failures = 0
        self.errors = 0
        self.elapsed = 0.0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()

    async def _one(self, client: httpx.AsyncClient, request: Request, n: int) -> None:
        body = json.dumps({"body": f"{self.prefix} t0 n{n}: Đề nghị Sở xem xét số liệu."})
        started = time.perf_counter()
        try:
            answer = await client.post(request.path, headers=request.headers, content=body)
        except httpx.HTTPError:
            self.errors += 1
            return
        if 200 <= answer.status_code < 300:
            self.latencies.append(time.perf_counter() - started)
        else:
            self.failures += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            start, tasks, n = loop.time(), [], 0
            while loop.time() - start < self.seconds:
                request = self.requests[n % len(self.requests)]
                n += 1
                tasks.append(asyncio.create_task(self._one(client, request, n)))
                await asyncio.sleep(max(0.0, start + n / self.rate - loop.time()))
            await asyncio.gather(*tasks)
            self.elapsed = loop.time() - start

    def result(self) -> Result:
        self.thread.join()
        ordered = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

        return Result(
            requests=len(self.latencies) + self.failures,
            seconds=self.elapsed,
            non_2xx=self.failures,
            socket_errors=self.errors,
            p50_ms=pct(0.5),
            p99_ms=pct(0.99),
            ok_counted=len(self.latencies),
        )
