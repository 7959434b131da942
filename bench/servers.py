"""The processes a benchmark run starts: a fresh database, the service, the ceiling.

Everything listens on 127.0.0.1 only. Each server is started as a child process of the run
and stopped by its own pid (SIGTERM, then SIGKILL after a grace period); CPU time is read
with psutil from that process and all its descendants (uvicorn's worker processes).
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass
class Server:
    """One HTTP server process; ``start`` waits until ``ready_path`` answers ``ready_status``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    ready_path: str = "/readyz"
    ready_status: int = 200
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 180.0) -> "Server":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=REPO,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: {self.name} exited at start; see {self.log}")
            try:
                answer = httpx.get(self.base_url + self.ready_path, timeout=2)
                if answer.status_code == self.ready_status:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"bench: {self.name} not ready within {timeout:.0f} s; see {self.log}")

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def app_server(database_url: str, cache_entries: int, workdir: Path, name: str) -> Server:
    """The service as deployed: production settings, two workers, a strong signing key."""
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "DXPLAN_JWT_SECRET": secrets.token_urlsafe(48),
        "DXPLAN_HOST": LOOPBACK,
        "DXPLAN_WORKERS": "2",
        "DXPLAN_PUBLIC_CACHE_ENTRIES": str(cache_entries),
        "DXPLAN_DATA_DIR": str(workdir / "data"),
        "DXPLAN_ACCESS_TOKEN_MINUTES": "60",
        # bench/datagen.py's staff sit in the plan's 2021 agencies (Sở TTTT…), ended in 2025.
        "DXPLAN_REFUSE_ENDED_AGENCIES": "false",
    }
    server = Server(name, [str(BIN / "dxplan"), "serve"], env, workdir / f"{name}.log")
    server.env["DXPLAN_PORT"] = str(server.port)
    return server


def asgi_server(
    name: str,
    target: str,
    env: dict[str, str],
    workdir: Path,
    ready_path: str,
    ready_status: int = 200,
) -> Server:
    """A bare ASGI app (``module:app``) on uvicorn with the service's two workers and no
    access log: the ceiling and the floor."""
    server = Server(
        name, [], env, workdir / f"{name}.log", ready_path=ready_path, ready_status=ready_status
    )
    server.argv = [
        str(BIN / "uvicorn"),
        target,
        "--host",
        LOOPBACK,
        "--port",
        str(server.port),
        "--workers",
        "2",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return server


def ceiling_server(answers: Path, workdir: Path) -> Server:
    """The bare ASGI app of bench/ceiling.py, on uvicorn with the same two workers."""
    return asgi_server(
        "ceiling",
        "bench.ceiling:app",
        {"BENCH_CEILING_ANSWERS": str(answers)},
        workdir,
        ready_path="/__ready",
        ready_status=204,
    )


@dataclass
class Database:
    """A fresh database for one run: on the server of ``server_url`` when given (dropped at
    the end), else in a throwaway embedded cluster in ``workdir``."""

    url: str
    name: str
    maintenance_url: str | None

    @classmethod
    def create(cls, server_url: str | None, workdir: Path) -> "Database":
        name = f"dxplan_bench_{int(time.time())}_{os.getpid()}"
        if server_url is None:
            from app.core.embedded import start_embedded

            return cls(start_embedded(workdir / "embedded", database=name), name, None)
        base = make_url(server_url)
        if base.host not in (None, "localhost") and not base.host.startswith("127."):
            raise SystemExit("bench: the database must be on this machine (loopback)")
        maintenance = base.set(database="postgres").render_as_string(hide_password=False)
        _sql(maintenance, f'CREATE DATABASE "{name}"')
        return cls(base.set(database=name).render_as_string(hide_password=False), name, maintenance)

    def drop(self) -> None:
        if self.maintenance_url is not None:
            _sql(self.maintenance_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def backend_pids(self) -> list[int]:
        rows = _fetch(
            self.url,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()",
        )
        return [int(r[0]) for r in rows]

    def scalar(self, query: str) -> object:
        return _fetch(self.url, query)[0][0]


def _sql(url: str, statement: str) -> None:
    _fetch(url, statement, fetch=False)


def _fetch(url: str, query: str, *, fetch: bool = True) -> list[tuple[object, ...]]:
    import asyncio

    async def run() -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(url)
        try:
            if not fetch:
                await conn.execute(query)
                return []
            return [tuple(r) for r in await conn.fetch(query)]
        finally:
            await conn.close()

    return asyncio.run(run())


def backends_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds of the database's server processes (local PostgreSQL only)."""
    result = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        result[pid] = times.user + times.system
    return result


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="dxplan-bench-"))
