"""An embedded PostgreSQL (the pgserver package) for machines without a database.

Used only when DATABASE_URL is unset: the server lives in ``<data_dir>/pg``, is reused by
the next start, and is stopped when the process that started it exits.
"""

import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger("app.embedded")

_servers: dict[Path, Any] = {}


def start_embedded(data_dir: Path, database: str = "dxplan") -> str:
    """Start (or attach to) the embedded server and return a URL for ``database``."""
    if "XDG_RUNTIME_DIR" not in os.environ:  # pgserver keeps its lock files there
        runtime = data_dir.resolve() / "run"
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver  # imported late: heavy, and unused with an external database

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        logger.info("starting embedded PostgreSQL in %s", pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        _servers[pgdata] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri: str = server.get_uri(database)
    return uri
