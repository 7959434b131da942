"""The fault suite's harness: a throwaway PostgreSQL cluster and a real `dxplan serve`.

The cluster is built from the embedded server's binaries (the ``pgserver`` package), in a
temporary folder, listening on a free loopback port; it can be stopped (fast or immediate)
and started again on the same port, which is how the tests make an outage. PostgreSQL
refuses to run as root, so under root the server binaries run as an unprivileged account
(``nobody``), as pgserver itself does with an account of its own.

The service is the real command, ``python -m app.cli serve --workers 2``, in a process group
of its own so that teardown can end it with every worker, whatever state the test left it
in. Everything listens on and talks to 127.0.0.1 only.
"""

import contextlib
import importlib.util
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.core.config import REPO_ROOT

API = "/api/v1"
DEMO_PASSWORD = "Smart-HaiDuong-2358"  # the password of `dxplan seed --demo` accounts
HOST = "127.0.0.1"
# Staff sign in and the load runs from this address; the sign-in tests use others, so the
# per-address failure counters of one test cannot lock out another.
STAFF_SOURCE = "127.0.0.2"


def pg_bin() -> Path | None:
    """The folder of the pgserver package's PostgreSQL binaries, or None when absent.

    Found without importing pgserver, whose import sets up lock files and handlers."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    needed = ("initdb", "pg_ctl", "postgres", "psql")
    return folder if all((folder / name).is_file() for name in needed) else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def loopback_source(address: str) -> str:
    """``address`` (in 127.0.0.0/8) if this machine lets a client bind to it, else 127.0.0.1.

    Tests send from distinct loopback addresses so that per-address sign-in counters of one
    test do not lock out the next one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return HOST
    return address


class PgCluster:
    """One PostgreSQL cluster in ``root``: trust auth, no fsync, TCP on 127.0.0.1 only."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgresql.log"
        self.port = free_port()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            account = pwd.getpwnam("nobody")
            self._as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            root.chmod(0o755)
            os.chown(root, account.pw_uid, account.pw_gid)

    def _server_tool(self, *args: str, timeout: float = 60) -> None:
        """Run initdb or pg_ctl as the account the server runs as; raise with its output."""
        result = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # the postmaster must not share pytest's process group
            check=False,
            **self._as,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}\n{log}")

    def init(self) -> None:
        self._server_tool(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "max_connections": "100",
            # Nothing here survives the machine, but every commit must survive PostgreSQL:
            # the outage test crashes it (immediate stop) and then looks for every write
            # acknowledged before. So synchronous_commit stays on; fsync is off for speed
            # (the OS keeps what was written), and so are full-page writes (torn pages only
            # come from a crash of the OS).
            "fsync": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._server_tool("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` disconnects every client, ``immediate`` is a crash."""
        self._server_tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        result = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
            **self._as,
        )
        return result.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "dxplan") -> str:
        """Run one statement as the superuser; the unaligned, tuples-only output."""
        psql = [str(self.bin_dir / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1"]
        result = subprocess.run(
            [*psql, "-d", self.url(database), "-c", sql],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout.strip()


class DxplanServer:
    """A real ``dxplan serve`` subprocess on a free port, logging to a file."""

    def __init__(self, root: Path, database_url: str, workers: int = 2) -> None:
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log = root / "dxplan.log"
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("DXPLAN_")
            and key not in {"DATABASE_URL", "TEST_DATABASE_URL", "APP_ENV", "FORWARDED_ALLOW_IPS"}
        }
        self.env = {
            **inherited,
            "DATABASE_URL": database_url,
            "APP_ENV": "test",
            "DXPLAN_JWT_SECRET": secrets.token_urlsafe(48),
            "DXPLAN_DATA_DIR": str(root / "data"),
            "DXPLAN_WEBHOOK_WORKER": "false",
            # Accounts may sit in agencies that ended in 2025 (tests/db.py settings_for).
            "DXPLAN_REFUSE_ENDED_AGENCIES": "false",
            # Outages answer within about a second; the pool has room for the sign-in burst
            # (25 requests per worker), so that test measures accounting, not capacity.
            "DXPLAN_DB_CONNECT_TIMEOUT_SECONDS": "1",
            "DXPLAN_DB_POOL_TIMEOUT_SECONDS": "2",
            "DXPLAN_DB_POOL_SIZE": "5",
            "DXPLAN_DB_MAX_OVERFLOW": "25",
            "DXPLAN_LOG_LEVEL": "INFO",
            "DXPLAN_LOG_JSON": "true",
            "DXPLAN_LOGIN_MAX_FAILURES_PER_USER": "5",
            "DXPLAN_LOGIN_MAX_FAILURES_PER_ADDRESS": "10",
            "PYTHONUNBUFFERED": "1",
        }

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "app.cli", *args]

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ),
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, ended as one at teardown
            )

    def wait_serving(self, timeout: float = 90) -> None:
        """Wait until the supervisor has migrated, loaded the plan and starts its workers."""
        self._wait(lambda: "dxplan: serving on" in self.log_text(), timeout, "serving")

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until every worker has started and /readyz answers 200."""

        def ready() -> bool:
            if self.log_text().count("Application startup complete") < self.workers:
                return False
            try:
                return httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        self._wait(ready, timeout, "ready")

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dxplan serve exited early:\n{self.log_tail()}")
            if done():
                return
            time.sleep(0.2)
        raise RuntimeError(f"dxplan serve not {what} within {timeout} s:\n{self.log_tail()}")

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run another `dxplan` command against the same database; its standard output."""
        result = subprocess.run(
            self._command(*args),
            cwd=REPO_ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dxplan {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def worker_pids(self) -> set[int]:
        """The uvicorn worker processes (children of the supervisor) alive now."""
        assert self.process is not None
        workers = set()
        for child in psutil.Process(self.process.pid).children():
            try:
                alive = child.is_running() and child.status() != psutil.STATUS_ZOMBIE
                if alive and "spawn_main" in " ".join(child.cmdline()):
                    workers.add(child.pid)
            except psutil.NoSuchProcess:
                continue
        return workers

    def stop(self) -> None:
        """End the whole process group: SIGTERM, then SIGKILL after 15 s."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        # Leftovers of the group (workers) even when the supervisor has gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log, without the access log."""
        kept = [line for line in self.log_text().splitlines() if "uvicorn.access" not in line]
        return "\n".join(kept[-lines:])


def live_client(
    server: DxplanServer, source: str = STAFF_SOURCE, timeout: float = 15.0
) -> httpx.AsyncClient:
    """An HTTP client of the live server, sending from the loopback address ``source``."""
    transport = httpx.AsyncHTTPTransport(local_address=loopback_source(source))
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=timeout)


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await http.post(
        f"{API}/auth/token", data={"username": username, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@dataclass
class Staff:
    officer: dict[str, str]  # SYT officer: writes comments on the report below
    reviewer: dict[str, str]
    admin: dict[str, str]
    report_id: int  # a draft report of SYT in an ad hoc period
