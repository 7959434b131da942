"""Open data: approved figures only, CSV with BOM or JSON with licence and source."""

import csv
import io
from typing import Any

import httpx

from tests.factories import Account, signed_in
from tests.services.test_dashboard import submitted_report
from tests.services.test_reporting import etag_of, new_period


async def test_json_files(client: httpx.AsyncClient) -> None:
    tasks = (await client.get("/api/v1/open-data/tasks.json")).json()
    assert tasks["dataset"] == "tasks"
    assert tasks["licence"].startswith("CC BY 4.0")
    assert tasks["source"].startswith("UBND tỉnh Hải Dương")
    assert tasks["generated_at"].endswith("+07:00")
    assert len(tasks["items"]) == 81
    first = tasks["items"][0]
    assert list(first) == tasks["columns"]
    assert (first["code"], first["lead"], first["start_year"]) == ("A.I.1", "STTTT", 2021)
    indicators = (await client.get("/api/v1/open-data/indicators.json")).json()
    assert len(indicators["items"]) == 36
    assert {i["attainment"] for i in indicators["items"]} <= {
        "met",
        "not_met",
        "no_data",
        "not_applicable",  # a district-level target after 1 July 2025
    }
    documents = (await client.get("/api/v1/open-data/documents.json")).json()
    assert [d["number"] for d in documents["items"]] == list(range(1, 14))


async def test_csv_has_bom_and_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/open-data/tasks.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["code", "title", "lead"]
    assert len(rows) == 82
    assert rows[1][1].startswith("Chương trình đào tạo")


async def test_only_approved_progress_is_published(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    reviewer = accounts["reviewer"]
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    approved_url = await submitted_report(
        client, officer, lead, (await new_period(client, reviewer, ["SYT"]))["id"]
    )
    await client.post(
        f"{approved_url}/approve",
        headers={**reviewer.headers, "If-Match": await etag_of(client, approved_url, reviewer)},
    )
    draft_period = await new_period(client, reviewer, ["SYT"])
    draft = (
        await client.post(
            "/api/v1/reports", headers=officer.headers, json={"period_id": draft_period["id"]}
        )
    ).json()
    secret = "Bản nháp chưa được duyệt, không được công bố."
    await client.post(
        f"/api/v1/reports/{draft['id']}/task-updates",
        headers=officer.headers,
        json={
            "task": "E.15",
            "status": "in_progress",
            "percent_complete": 5,
            "public_summary": secret,
        },
    )
    progress = (await client.get("/api/v1/open-data/progress.json")).json()["items"]
    summaries = [p["public_summary"] for p in progress]
    assert "Hoàn thành kết nối bệnh án điện tử tại 3 bệnh viện tuyến tỉnh." in summaries
    assert secret not in summaries
    assert draft_period["code"] not in {p["period"] for p in progress}
    assert (await client.get("/api/v1/open-data/users.json")).status_code == 422
