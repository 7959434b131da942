"""Fixtures of the fault suite: one throwaway cluster and one `dxplan serve` per session.

Unlike the rest of the tests (an in-process app on a database of the shared server), these
drive a real server with two workers over loopback TCP and break its database, so they
need a cluster of their own. Both are ended at teardown, even when a test failed.
"""

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.faults.harness import (
    API,
    DxplanServer,
    PgCluster,
    Staff,
    live_client,
    pg_bin,
    sign_in,
)

# The app's logging setup (imported by tests/conftest.py) would log every request made here.
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def fault_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="dxplan-faults-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg(fault_root: Path) -> Iterator[PgCluster]:
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("fault suite: the pgserver package's PostgreSQL binaries are not installed")
    cluster = PgCluster(bin_dir, fault_root)
    cluster.init()
    try:
        cluster.start()
        cluster.psql("CREATE DATABASE dxplan", database="postgres")
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")


@pytest.fixture(scope="session")
def server(pg: PgCluster, fault_root: Path) -> Iterator[DxplanServer]:
    """`dxplan serve --workers 2` on the cluster, with the demo accounts."""
    service = DxplanServer(fault_root, pg.url("dxplan"))
    try:
        service.start()
        service.wait_serving()
        service.cli("seed", "--demo")  # while the workers start
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
async def staff(server: DxplanServer) -> AsyncIterator[Staff]:
    """Signed-in demo accounts and a report to comment on, made before any sign-in test
    locks anything."""
    async with live_client(server) as http:
        officer = await sign_in(http, "demo.officer")
        reviewer = await sign_in(http, "demo.reviewer")
        admin = await sign_in(http, "demo.admin")
        due = date.today() + timedelta(days=60)
        period = await http.post(
            f"{API}/periods",
            headers=reviewer,
            json={
                "title": "Kỳ kiểm thử sự cố",
                "due_date": due.isoformat(),
                "cutoff_date": (due - timedelta(days=10)).isoformat(),
                "agencies": ["HP_SYT"],  # demo.officer's agency (app/services/demo.py)
            },
        )
        assert period.status_code == 201, period.text
        report = await http.post(
            f"{API}/reports", headers=officer, json={"period_id": period.json()["id"]}
        )
        assert report.status_code == 201, report.text
    yield Staff(officer=officer, reviewer=reviewer, admin=admin, report_id=report.json()["id"])
