"""Successors carry their predecessors' plan items (issue 11, item 4): an officer of today's
Hải Phòng science department (HP_SKHCN, successor of Sở KH&CN, itself the successor of Sở TTTT)
sees their tasks in /me/assignments and may report on them."""

from typing import Any

import httpx

from tests.factories import signed_in
from tests.services.test_reporting import new_period

API = "/api/v1"


async def test_assignments_list_the_predecessors_items(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    officer = await signed_in(client, sessionmaker, role="officer", agency="HP_SKHCN")
    response = await client.get(f"{API}/me/assignments", headers=officer.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agency"]["code"] == "HP_SKHCN"
    tasks = {(t["code"], t["role"]): t for t in body["tasks"]}
    # Led by Sở TTTT in the plan (merged into Sở KH&CN on 2025-03-01).
    assert tasks[("A.V.3", "lead")]["via_predecessor"] == "STTTT"
    assert tasks[("A.V.3", "lead")]["via"] is None
    # Led by Sở KH&CN itself (merged into the Hải Phòng department on 2025-07-01).
    assert tasks[("C.3", "lead")]["via_predecessor"] == "SKHCN"
    # Through the group “các sở, ban, ngành”, whose member Sở TTTT was.
    assert tasks[("A.III.4", "lead")]["via"] == "G_SBN"
    assert tasks[("A.III.4", "lead")]["via_predecessor"] in ("STTTT", "SKHCN")
    # Nothing of an agency that is not a predecessor (Sở Công Thương).
    assert ("A.I.3", "lead") not in tasks
    assert all(t["via_predecessor"] is not None for t in body["tasks"])


async def test_assignments_of_an_unchanged_plan_agency_are_as_before(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    officer = await signed_in(client, sessionmaker, role="officer", agency="STTTT")
    body = (await client.get(f"{API}/me/assignments", headers=officer.headers)).json()
    tasks = {(t["code"], t["role"]): t for t in body["tasks"]}
    assert tasks[("A.V.3", "lead")]["via_predecessor"] is None
    assert ("C.3", "lead") not in tasks


async def test_successor_reports_on_a_predecessors_task(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    officer = await signed_in(client, sessionmaker, role="officer", agency="HP_SKHCN")
    period = await new_period(client, reviewer, ["HP_SKHCN"])  # cut-off 2026-11-15
    report = await client.post(
        f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
    )
    assert report.status_code == 201, report.text
    url = f"{API}/reports/{report.json()['id']}"
    inherited = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "A.V.3", "status": "in_progress", "percent_complete": 40},
    )
    assert inherited.status_code == 201, inherited.text
    assert inherited.json()["task"]["code"] == "A.V.3"
    foreign = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "A.I.3", "status": "in_progress", "percent_complete": 40},
    )
    assert foreign.status_code == 422, foreign.text
    assert foreign.json()["errors"][0]["type"] == "not_assigned"
    document = await client.post(
        f"{url}/document-updates",
        headers=officer.headers,
        json={"document": 1, "status": "drafting"},  # VB-01, led by Sở TTTT
    )
    assert document.status_code == 201, document.text
    value = await client.post(
        f"{url}/indicator-values",
        headers=officer.headers,
        json={"target": "CT-2025-02.1", "value": 55, "as_of": "2026-11-15"},  # Sở TTTT's
    )
    assert value.status_code == 201, value.text
