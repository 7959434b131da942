"""Dashboard, scorecard, compliance, the reviewers' export and my assignments."""

import io
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.factories import Account, signed_in
from tests.services.test_reporting import etag_of, new_period

API = "/api/v1"


async def submitted_report(
    client: httpx.AsyncClient, officer: Account, lead: Account, period_id: int
) -> str:
    report = (
        await client.post(f"{API}/reports", headers=officer.headers, json={"period_id": period_id})
    ).json()
    url = f"{API}/reports/{report['id']}"
    await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={
            "task": "E.1",
            "status": "in_progress",
            "percent_complete": 75,
            "public_summary": "Hoàn thành kết nối bệnh án điện tử tại 3 bệnh viện tuyến tỉnh.",
            "internal_difficulties": "Nhân lực CNTT còn thiếu.",
        },
    )
    await client.post(
        f"{url}/indicator-values",
        headers=officer.headers,
        json={
            "target": "CT-2025-06.1",
            "value": 72.5,
            "as_of": "2026-11-15",
            "level": "province",
            "source": "Sở Y tế",
            "provenance": "verified",
        },
    )
    response = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert response.status_code == 200, response.text
    return url


async def test_compliance_on_time_late_missing(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    reviewer = accounts["reviewer"]
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    upcoming = await new_period(client, reviewer, ["SYT", "SGDDT"], due="2030-12-01")
    await submitted_report(client, officer, lead, upcoming["id"])
    result = (
        await client.get(f"{API}/periods/{upcoming['id']}/compliance", headers=officer.headers)
    ).json()
    assert result["counts"] == {"on_time": 1, "late": 0, "missing": 1}
    assert [(a["agency"]["code"], a["status"]) for a in result["agencies"]] == [
        ("SYT", "on_time"),
        ("SGDDT", "missing"),
    ]


async def test_late_submission(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    reviewer = accounts["reviewer"]
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    period = (
        await client.post(
            f"{API}/periods",
            headers=reviewer.headers,
            json={
                "title": "Báo cáo nhanh quý III",
                "due_date": "2026-10-01",
                "cutoff_date": "2026-09-30",
                "agencies": ["SYT"],
            },
        )
    ).json()
    url = await submitted_report(client, officer, lead, period["id"])
    report = (await client.get(url, headers=officer.headers)).json()
    assert report["late"] is True
    result = (
        await client.get(f"{API}/periods/{period['id']}/compliance", headers=officer.headers)
    ).json()
    assert result["counts"] == {"on_time": 0, "late": 1, "missing": 0}
    # The scorecard is public and ad hoc requests are not (GET /periods hides them too).
    card = (await client.get(f"{API}/agencies/SYT/scorecard")).json()
    assert period["code"] not in [p["period"]["code"] for p in card["periods"]]
    assert all(p["period"]["code"].startswith("annual-") for p in card["periods"])


async def test_dashboard_and_scorecard(client: httpx.AsyncClient) -> None:
    board = (await client.get(f"{API}/dashboard")).json()
    assert sorted(board["tasks_by_group"]) == ["A", "B", "C", "D", "E", "F"]
    assert sum(sum(g.values()) for g in board["tasks_by_group"].values()) == 80  # B.3 heading out
    assert board["tasks_by_group"]["C"] == {
        "completed": 0,
        "on_track": 0,
        "behind": 0,
        "overdue": 4,
        "not_started": 0,
        "no_data": 0,
    }
    indicators = (await client.get(f"{API}/indicators", params={"limit": 200})).json()["items"]
    for year in ("2025", "2030"):
        targets = sum(len(i["targets"]) for i in indicators if str(i["target_year"]) == year)
        assert sum(board["targets_by_year"][year].values()) == targets
    current = board["current_period"]
    assert current["period"]["code"] == "annual-2026"
    # Today's agencies (issue 11): fewer than the plan names, after the 2025 mergers.
    assert sum(current["counts"].values()) == len(current["agencies"]) > 10
    card = (await client.get(f"{API}/agencies/SYT/scorecard")).json()
    assert card["agency"]["code"] == "SYT"
    assert sum(card["tasks"].values()) == len(card["task_list"])
    codes = {t["code"]: t for t in card["task_list"]}
    assert codes["E.1"]["via"] is None
    assert codes["A.III.1"]["via"] == "G_SBN"
    assert (await client.get(f"{API}/agencies/NOPE/scorecard")).status_code == 404


async def test_export_for_reviewers(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    reviewer = accounts["reviewer"]
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    period = await new_period(client, reviewer, ["SYT", "SGDDT"])
    await submitted_report(client, officer, lead, period["id"])
    xlsx = await client.get(f"{API}/periods/{period['id']}/export.xlsx", headers=reviewer.headers)
    assert xlsx.status_code == 200
    assert xlsx.headers["content-disposition"] == f'attachment; filename="{period["code"]}.xlsx"'
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Nhiệm vụ", "Chỉ tiêu", "Văn bản", "Tình hình nộp báo cáo"]
    tasks = list(book["Nhiệm vụ"].iter_rows(values_only=True))
    assert tasks[0][:5] == (
        "Cơ quan",
        "Mã nhiệm vụ",
        "Tên nhiệm vụ",
        "Tình trạng",
        "Tỷ lệ hoàn thành (%)",
    )
    assert tasks[1][0:2] == ("Sở Y tế", "E.1")
    assert tasks[1][3:5] == ("Đang thực hiện", 75)
    values = list(book["Chỉ tiêu"].iter_rows(values_only=True))
    assert values[1][1] == "CT-2025-06.1" and values[1][3] == 72.5
    status = list(book["Tình hình nộp báo cáo"].iter_rows(values_only=True))
    assert [(r[0], r[1]) for r in status[1:]] == [("Sở Y tế", "Đúng hạn"), ("Sở GD&ĐT", "Chưa nộp")]
    csv = await client.get(
        f"{API}/periods/{period['id']}/export.csv",
        params={"sheet": "compliance"},
        headers=reviewer.headers,
    )
    assert csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.content.decode("utf-8-sig").splitlines()[0] == "Cơ quan,Tình hình,Nộp lần đầu lúc"
    forbidden = await client.get(
        f"{API}/periods/{period['id']}/export.csv", headers=officer.headers
    )
    assert forbidden.status_code == 403


async def test_my_assignments(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    period = await new_period(client, accounts["reviewer"], ["SYT"])
    mine = (await client.get(f"{API}/me/assignments", headers=officer.headers)).json()
    assert mine["agency"]["code"] == "SYT"
    tasks = {(t["code"], t["role"], t["via"]) for t in mine["tasks"]}
    assert ("E.1", "lead", None) in tasks
    assert ("A.I.5", "lead", "G_SBN") in tasks
    assert "E.2" not in {t["code"] for t in mine["tasks"]}
    due = {p["period_id"]: p for p in mine["open_periods"]}
    assert due[period["id"]]["report_state"] is None
    report = (
        await client.post(
            f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
        )
    ).json()
    mine = (await client.get(f"{API}/me/assignments", headers=officer.headers)).json()
    due = {p["period_id"]: p for p in mine["open_periods"]}
    assert (due[period["id"]]["report_id"], due[period["id"]]["report_state"]) == (
        report["id"],
        "draft",
    )
