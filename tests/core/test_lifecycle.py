"""Process lifecycle of `dxplan serve` on the embedded PostgreSQL (issue 9, item 8).

Each test runs real `dxplan serve` processes on 127.0.0.1 with DATABASE_URL unset, so the
embedded PostgreSQL (pgserver) is started in the module's data folder (initdb runs once,
later runs reuse it). "Stopped" means what pgserver and pg_ctl go by: no postmaster.pid and
no postgres process for that data folder. As root, pgserver runs PostgreSQL as its own
`pgserver` user, so the tests run the same way in CI.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from app.core.config import REPO_ROOT

START_SECONDS = 120  # migrate + seed + uvicorn on a loaded 2-core machine
STOP_SECONDS = 60
HEADER_TIMEOUT = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(process)
    return found


def holders(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    return list(json.loads(path.read_text())) if path.exists() else []


def assert_postgres_stopped(pgdata: Path) -> None:
    deadline = time.monotonic() + 10  # the postmaster's children exit just after it
    while postgres_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert postgres_processes(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()
    assert holders(pgdata) == []


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """Not under pytest's tmp_path: every pytest session makes that 0700 again, and as
    root PostgreSQL runs as another user who must be able to reach its data folder."""
    folder = Path(tempfile.mkdtemp(prefix="dxplan-lc-")).resolve()
    yield folder
    leftovers = postgres_processes(folder / "pg")  # whatever a failure left running
    for process in leftovers:
        process.terminate()
    psutil.wait_procs(leftovers, timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


class Serve:
    """One `dxplan serve` in a session of its own, its output in a log file."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        self.port = free_port()
        self.pgdata = (data_dir / "pg").resolve()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("DXPLAN_")
            and key not in {"DATABASE_URL", "TEST_DATABASE_URL", "APP_ENV", "XDG_RUNTIME_DIR"}
        }
        self.env = env
        env |= {
            "DXPLAN_DATA_DIR": str(data_dir),
            "DXPLAN_WEBHOOK_WORKER": "false",
            "DXPLAN_REFUSE_ENDED_AGENCIES": "false",  # as tests/db.py settings_for
            "DXPLAN_LOG_JSON": "false",
            "DXPLAN_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "DXPLAN_SHUTDOWN_GRACE_SECONDS": "30",
        }
        self.log = data_dir / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"),
                    *("--port", str(self.port), "--workers", str(workers)),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited early:\n{self.output()}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        pytest.fail(f"serve not healthy in {START_SECONDS} s:\n{self.output()}")

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"serve still running {STOP_SECONDS} s after {sig!r}:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the whole session (server and workers), as an OOM kill or power cut
        would: no exit handler runs. PostgreSQL runs in a session of its own and stays."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def serve(data_dir: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def start(started: list[Serve], data_dir: Path, workers: int) -> Serve:
    server = Serve(data_dir, workers)
    started.append(server)
    server.wait_healthy()
    return server


def read_answer(sock: socket.socket, timeout: float = 30) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_sigterm_lets_a_request_in_flight_finish_then_stops_postgres(
    data_dir: Path, serve: list[Serve]
) -> None:
    """Two workers: a sign-in whose body is still arriving when SIGTERM comes is answered
    in full (using the database), then the process exits 0 and PostgreSQL is stopped."""
    server = start(serve, data_dir, workers=2)
    body = b"grant_type=password&username=nobody.here&password=Wrong-password-1"
    head = (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Expect: 100-continue\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        # uvicorn sends 100 Continue when the app first asks for the body: it is in flight.
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # the workers are shutting down, waiting for this request
        assert server.process.poll() is None
        sock.sendall(body)
        answer = read_answer(sock)
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 400 Bad Request", answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "invalid_grant"
    assert server.process.wait(STOP_SECONDS) == 0, server.output()
    assert_postgres_stopped(server.pgdata)


def test_incomplete_request_heads_are_dropped_and_sigterm_stops_postgres(
    data_dir: Path, serve: list[Serve]
) -> None:
    """One worker. Connections that send no head, half a head, a head trickled a byte at
    a time, or half of a second head on a kept-alive connection are closed within the
    header timeout while a normal client is served; then SIGTERM stops PostgreSQL too."""
    server = start(serve, data_dir, workers=1)
    address = ("127.0.0.1", server.port)
    silent = socket.create_connection(address)
    partial = socket.create_connection(address)
    partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    kept = socket.create_connection(address)
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    kept.settimeout(30)
    first = b""
    while not first.endswith(b'{"status":"ok"}'):
        first += kept.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 OK")
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n")
    trickle = socket.create_connection(address)
    waiting = {"silent": silent, "partial": partial, "kept": kept, "trickle": trickle}
    opened = time.monotonic()

    served: list[int] = []
    client = threading.Thread(
        target=lambda: served.append(httpx.get(f"{server.url}/healthz", timeout=30).status_code)
    )
    client.start()

    closed_after: dict[str, float] = {}
    line = iter(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 200)
    while waiting and time.monotonic() - opened < 10 * HEADER_TIMEOUT + 5:
        with contextlib.suppress(OSError, StopIteration):
            trickle.send(bytes([next(line)]))  # a byte every 0.1 s: never idle
        readable, _, _ = select.select(list(waiting.values()), [], [], 0.1)
        for name, sock in list(waiting.items()):
            if sock in readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                assert data == b"", (name, data)  # closed without an answer
                closed_after[name] = time.monotonic() - opened
                del waiting[name]
    for sock in (silent, partial, kept, trickle):
        sock.close()
    client.join(30)

    assert served == [200]
    assert set(closed_after) == {"silent", "partial", "kept", "trickle"}, closed_after
    assert min(closed_after.values()) >= 0.8 * HEADER_TIMEOUT, closed_after  # not earlier
    assert server.stop(signal.SIGTERM) == 0, server.output()
    assert_postgres_stopped(server.pgdata)


@pytest.mark.parametrize(
    ("sig", "workers"), [(signal.SIGTERM, 1), (signal.SIGINT, 2)], ids=["sigterm", "sigint"]
)
def test_a_killed_run_leaves_nothing_that_stops_the_next_from_stopping_postgres(
    data_dir: Path, serve: list[Serve], sig: int, workers: int
) -> None:
    """A serve killed with SIGKILL leaves PostgreSQL running and its pid in pgserver's
    holder list; the next serve adopts the server and stops it when it is stopped (and not
    before: a command that attaches and exits meanwhile leaves it to the serve)."""
    killed = Serve(data_dir, workers=1)
    serve.append(killed)
    deadline = time.monotonic() + START_SECONDS
    while killed.process.pid not in holders(killed.pgdata):  # it has attached: kill it
        assert killed.process.poll() is None, killed.output()
        assert time.monotonic() < deadline, killed.output()
        time.sleep(0.05)
    killed.kill()
    assert postgres_processes(killed.pgdata) != []  # the orphan
    assert killed.process.pid in holders(killed.pgdata)  # the stale holder

    server = start(serve, data_dir, workers=workers)
    # Another command using the server meanwhile exits without stopping it: it is not the
    # last holder (the serve is alive).
    other = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        timeout=START_SECONDS,
    )
    assert other.returncode == 0, other.stderr.decode(errors="replace")[-3000:]
    assert httpx.get(f"{server.url}/api/v1/plan", timeout=30).status_code == 200
    assert server.stop(sig) == 0, server.output()
    assert_postgres_stopped(server.pgdata)
