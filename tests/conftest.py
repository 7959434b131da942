"""Fixtures: one migrated and seeded database per session, the app, an HTTP client."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.cli import run_seed
from app.core.migrate import upgrade
from app.main import create_app
from tests import db
from tests.factories import Account, signed_in

# Tests that start real servers (their own PostgreSQL cluster, `dxplan serve` processes)
# run one after another on one xdist worker (`make test` runs `-n 2 --dist loadgroup`).
SERVER_TESTS = ("tests/faults/", "tests/core/test_lifecycle.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in item.nodeid for part in SERVER_TESTS):
            item.add_marker(pytest.mark.xdist_group("servers"))


@pytest.fixture(scope="session")
def server_url() -> str:
    return db.server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database with every migration applied and the plan loaded."""
    url = db.create_database(server_url)
    settings = db.settings_for(url)
    upgrade(settings)
    asyncio.run(run_seed(settings, None))
    yield url
    db.drop_database(server_url, url)


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[object]:
    application = create_app(db.settings_for(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="session")
def sessionmaker(app: Any) -> Any:
    return app.state.sessionmaker


@pytest.fixture(scope="session")
async def accounts(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    """One signed-in account per role, plus an officer of another agency."""
    made = {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        "agency_lead": await signed_in(client, sessionmaker, role="agency_lead", agency="SYT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        "observer": await signed_in(client, sessionmaker, role="observer", agency="UBND_TINH"),
        "admin": await signed_in(client, sessionmaker, role="admin", agency="STTTT"),
        "other_officer": await signed_in(client, sessionmaker, role="officer", agency="SGDDT"),
    }
    made["anonymous"] = Account(id=0, username="", role="", agency="")
    return made


@pytest.fixture(scope="session", autouse=True)
def offline_name_resolution() -> Iterator[None]:
    """Webhook host names never reach a DNS server in tests (only loopback may see our
    traffic): `localhost` names resolve as the system says, any other name fails to
    resolve unless a test installs its own table (tests/services/test_webhook_destinations.py)."""
    import socket

    from app.services import webhook_destinations

    real = webhook_destinations.resolve

    async def resolve(host: str, port: int) -> list[Any]:
        if host.rstrip(".").lower() == "localhost":
            return await real("localhost", port)  # from the hosts file
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: not resolved in tests")

    webhook_destinations.resolve = resolve
    yield
    webhook_destinations.resolve = real
