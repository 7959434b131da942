"""An embedded PostgreSQL (the pgserver package) for machines without a database.

Used only when DATABASE_URL is unset: the server lives in ``<data_dir>/pg``, is reused by
the next start, and is stopped when the last process using it exits.

pgserver decides who stops the server by a list of holders: every process that attaches adds
its pid to ``<pgdata>/.handle_pids.json`` and removes it in an exit handler, and the process
that removes the last pid stops the server. A server found running with live holders (another
``dxplan`` command, a test run) is theirs and is left running; one found running with none
is an orphan of a killed run and is adopted, i.e. stopped by whoever exits last.

pgserver (with psutil) is an optional dependency, the `embedded` extra (in `.[dev]` and what
`make run` installs): a production image, which always has DATABASE_URL, does not carry a
PostgreSQL of its own. Nothing imports it until the embedded server is asked for; without
it, that request fails with EmbeddedUnavailableError saying what to install or set.
"""

import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger("app.embedded")

_servers: dict[Path, Any] = {}


class EmbeddedUnavailableError(RuntimeError):
    """DATABASE_URL is unset and the embedded PostgreSQL is not installed."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"DATABASE_URL is unset and the embedded PostgreSQL is not installed ({missing}): "
            "set DATABASE_URL to a PostgreSQL server, or install the embedded one with "
            "pip install 'dxplan[embedded]' (make run does)"
        )


def _require_embedded() -> None:
    for module in ("pgserver", "psutil"):
        try:
            __import__(module)
        except ImportError as exc:
            raise EmbeddedUnavailableError(f"no module {module!r}") from exc


def start_embedded(data_dir: Path, database: str = "dxplan") -> str:
    """Start (or attach to) the embedded server and return a URL for ``database``."""
    _require_embedded()
    if "XDG_RUNTIME_DIR" not in os.environ:  # pgserver keeps its lock files there
        runtime = data_dir.resolve() / "run"
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver  # imported late: heavy, optional, and unused with an external database

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        logger.info("starting embedded PostgreSQL in %s", pgdata)
        _forget_dead_holders(pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        _servers[pgdata] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri: str = server.get_uri(database)
    return uri


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop from pgserver's holder list the pids of processes that are gone.

    A process killed without running its exit handlers (SIGKILL, an out-of-memory kill, a
    power cut) leaves its pid in the list for ever; without this, no later process would
    ever be the last holder, and every later exit would leave the server running. A pid
    whose number was reused by a process started after the list was last written is not
    the holder either. Runs under pgserver's own inter-process lock, like its updates.
    """
    from pgserver.postgres_server import PostgresServer

    holders = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not holders.exists():
            return
        try:
            pids = [int(pid) for pid in json.loads(holders.read_text())]
        except (ValueError, TypeError):
            pids = []  # unreadable: no holder can be trusted to stop the server
        written = holders.stat().st_mtime
        alive = [pid for pid in pids if _alive_since(pid, written)]
        if alive != pids:
            logger.info(
                "embedded PostgreSQL: forgetting dead holders %s", sorted(set(pids) - set(alive))
            )
            holders.write_text(json.dumps(alive))


def _alive_since(pid: int, written: float) -> bool:
    """Whether ``pid`` runs and was started before the list was written (1 s of slack)."""
    import psutil  # the embedded extra, as pgserver

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= written + 1
    except psutil.AccessDenied:
        return True  # another user's process: not ours to judge
    except psutil.Error:  # gone, or a zombie
        return False
