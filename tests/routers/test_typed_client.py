"""A typed client generated from the committed contract works against a live server.

openapi-python-client turns `openapi/openapi.json` into a Python package (attrs models, one
module per operation), offline, into a temporary folder. The real app then serves the test
database under uvicorn on a free local port, and the generated client does what an
integrator's would: a public read, and a staff write after signing in.
"""

import importlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from app.core.config import REPO_ROOT
from app.main import create_app
from tests import db
from tests.factories import PASSWORD, Account

CONTRACT = REPO_ROOT / "openapi" / "openapi.json"
PACKAGE = "dxplan_typed_client"  # a name no other module uses, so imports are unambiguous

# The generator's only complaints about our contract: responses that are files, not JSON,
# which it leaves out of the generated functions (the calls themselves are still generated).
BINARY_DOWNLOADS = {
    "GET /api/v1/reports/{report_id}/attachments/{attachment_id}/download",
    "GET /api/v1/periods/{period_id}/export.xlsx",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Generate the client package and put its folder on sys.path for this module."""
    root = tmp_path_factory.mktemp("typed-client")
    config = root / "config.json"
    # No post-generation hooks (ruff fix and format of the generated code): formatting is
    # irrelevant to a test, and the hooks need ruff on PATH.
    config.write_text('{"post_hooks": []}')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(CONTRACT),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    warned = set(re.findall(r"WARNING parsing (\w+ \S+) within", output))
    assert warned <= BINARY_DOWNLOADS, output
    assert (root / PACKAGE / "client.py").is_file(), output
    sys.path.insert(0, str(root))
    try:
        yield root / PACKAGE
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def typed(name: str) -> ModuleType:
    """A module of the generated package, e.g. typed("api.tasks.tasks_get")."""
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def live_url(database_url: str) -> Iterator[str]:
    """The real app, built like the `app` fixture, served by uvicorn in a thread."""
    application = create_app(db.settings_for(database_url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from now on: no race for it
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_public_read_through_the_typed_client(generated: Path, live_url: str) -> None:
    client_module = typed("client")
    tasks_get = typed("api.tasks.tasks_get")
    tasks_list = typed("api.tasks.tasks_list")
    task_read = typed("models.task_read").TaskRead
    task_page = typed("models.task_page").TaskPage
    problem = typed("models.problem").Problem

    with client_module.Client(base_url=live_url, raise_on_unexpected_status=True) as client:
        task = tasks_get.sync(code="B.3.1", client=client)
        assert isinstance(task, task_read), task
        assert task.code == "B.3.1"
        assert task.parent == "B.3"
        assert task.group == "B"

        page = tasks_list.sync(client=client, limit=200)
        assert isinstance(page, task_page), page
        assert page.total == 81
        assert len(page.items) == 81
        assert page.next_cursor is None
        assert [page.items[0].code, page.items[-1].code] == ["A.I.1", "F.4"]

        missing = tasks_get.sync_detailed(code="Z.9", client=client)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, problem)
        assert missing.parsed.code == "not_found"


def sign_in(client_module: ModuleType, live_url: str, account: Account) -> Any:
    """A signed-in AuthenticatedClient, the token got through the typed `auth-token`."""
    auth_token = typed("api.auth.auth_token")
    form = typed("models.body_auth_token").BodyAuthToken
    token_pair = typed("models.token_pair").TokenPair
    with client_module.Client(base_url=live_url, raise_on_unexpected_status=True) as anonymous:
        tokens = auth_token.sync(
            client=anonymous, body=form(username=account.username, password=PASSWORD)
        )
    assert isinstance(tokens, token_pair), tokens
    assert tokens.token_type == "bearer"
    return client_module.AuthenticatedClient(
        base_url=live_url, token=tokens.access_token, raise_on_unexpected_status=True
    )


def test_staff_write_through_the_typed_client(
    generated: Path, live_url: str, accounts: dict[str, Account]
) -> None:
    client_module = typed("client")
    periods_create = typed("api.periods.periods_create")
    reports_create = typed("api.reports.reports_create")
    period_create = typed("models.period_create").PeriodCreate
    period_read = typed("models.period_read").PeriodRead
    report_create = typed("models.report_create").ReportCreate
    report_read = typed("models.report_read").ReportRead
    report_state = typed("models.report_read_state").ReportReadState

    today = date.today()
    with sign_in(client_module, live_url, accounts["reviewer"]) as reviewer:
        period = periods_create.sync(
            client=reviewer,
            body=period_create(
                title="Báo cáo đột xuất (client sinh từ OpenAPI)",
                due_date=today + timedelta(days=30),
                cutoff_date=today,
                agencies=["SYT"],
            ),
        )
    assert isinstance(period, period_read), period
    assert period.status == "open"
    assert [agency.code for agency in period.agencies] == ["SYT"]

    officer = accounts["officer"]
    with sign_in(client_module, live_url, officer) as client:
        report = reports_create.sync(client=client, body=report_create(period_id=period.id))
        token = client.token
    assert isinstance(report, report_read), report
    assert report.state is report_state.DRAFT
    assert report.period_id == period.id
    assert report.agency.code == "SYT"
    assert report.allowed_actions == ["edit", "comment"]

    # The write persisted: the same report read back over plain HTTP.
    stored = httpx.get(
        f"{live_url}/api/v1/reports/{report.id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert (body["id"], body["state"], body["period_id"]) == (report.id, "draft", period.id)
    assert body["agency"]["code"] == "SYT"
