"""The reporting cycle through HTTP, from a draft to public progress, and every illegal move."""

import asyncio
import secrets
from datetime import date
from typing import Any

import httpx
import pytest

from app.deps import get_today
from tests.factories import Account, signed_in

API = "/api/v1"


async def new_period(
    client: httpx.AsyncClient, reviewer: Account, agencies: list[str], due: str = "2026-12-01"
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/periods",
        headers=reviewer.headers,
        json={
            "title": f"Báo cáo đột xuất {secrets.token_hex(3)}",
            "instructions": "Báo cáo tiến độ chuyển đổi số.",
            "due_date": due,
            "cutoff_date": "2026-11-15",
            "agencies": agencies,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def etag_of(client: httpx.AsyncClient, url: str, account: Account) -> str:
    response = await client.get(url, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    return await make_team(client, sessionmaker)


async def make_team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    """Fresh staff of Sở Y tế and a reviewer, so each test owns its reports."""
    return {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="SYT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        "other": await signed_in(client, sessionmaker, role="officer", agency="SGDDT"),
        "observer": await signed_in(client, sessionmaker, role="observer", agency="UBND_TINH"),
    }


async def start_report(client: httpx.AsyncClient, team: dict[str, Account]) -> dict[str, Any]:
    period = await new_period(client, team["reviewer"], ["SYT", "SGDDT"])
    response = await client.post(
        f"{API}/reports", headers=team["officer"].headers, json={"period_id": period["id"]}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_full_cycle_to_public_progress(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead, reviewer = team["officer"], team["lead"], team["reviewer"]
    report = await start_report(client, team)
    assert report["state"] == "draft"
    assert report["agency"]["code"] == "SYT"
    assert report["allowed_actions"] == ["edit", "comment"]
    url = f"{API}/reports/{report['id']}"

    task = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={
            "task": "E.1",
            "status": "in_progress",
            "percent_complete": 60,
            "public_summary": "Đã triển khai hồ sơ sức khỏe điện tử tại 12/12 trung tâm y tế.",
            "internal_difficulties": "Thiếu kinh phí nâng cấp máy chủ.",
            "next_steps": "Kết nối với Cổng dữ liệu của tỉnh.",
        },
    )
    assert task.status_code == 201, task.text
    assert task.json()["task"]["code"] == "E.1"
    assert task.json()["allowed_actions"] == ["update", "delete"]
    value = await client.post(
        f"{url}/indicator-values",
        headers=officer.headers,
        json={
            "target": "CT-2025-06.1",
            "value": 55,
            "as_of": "2026-11-15",
            "source": "Sở Y tế",
            "provenance": "self_reported",
        },
    )
    assert value.status_code == 201, value.text
    document = await client.post(
        f"{url}/document-updates",
        headers=officer.headers,
        json={
            "document": 1,
            "status": "issued",
            "issued_number": "06-NQ/TU",
            "issued_on": "2021-03-26",
        },
    )
    assert document.status_code == 201, document.text

    detail = (await client.get(url, headers=lead.headers)).json()
    assert detail["counts"] == {"task_updates": 1, "indicator_values": 1, "document_updates": 1}
    assert detail["allowed_actions"] == ["edit", "submit", "comment"]
    submitted = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "submitted"

    queue = (await client.get(f"{API}/review-queue", headers=reviewer.headers)).json()
    assert report["id"] in [r["id"] for r in queue["items"]]
    seen = (await client.get(url, headers=reviewer.headers)).json()
    assert seen["allowed_actions"] == ["approve", "return", "comment"]
    approved = await client.post(
        f"{url}/approve",
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert approved.json()["late"] is False

    # Approved progress is now public: summary yes, internal difficulties no.
    app: Any = client._transport.app  # type: ignore[attr-defined]
    app.dependency_overrides[get_today] = lambda: date(2025, 6, 1)  # a fixed clock
    try:
        public = (await client.get(f"{API}/tasks/E.1")).json()
    finally:
        app.dependency_overrides.clear()
    assert public["progress"]["percent_complete"] == 60
    assert public["progress"]["public_summary"].startswith("Đã triển khai hồ sơ sức khỏe")
    assert "internal_difficulties" not in public["progress"]
    assert public["progress"]["period"] == report["period"]["code"]
    # 2021-2025 is 88 % elapsed on 1 June 2025: 60 % is more than 25 points behind.
    assert public["derived_status"] == "behind"
    assert (await client.get(f"{API}/tasks/E.1")).json()["derived_status"] == "overdue"
    indicator = (await client.get(f"{API}/indicators/CT-2025-06")).json()
    target = indicator["targets"][0]
    assert target["series"][-1]["value"] == 55.0
    assert (target["attainment"], target["progress_ratio"]) == ("not_met", round(55 / 70, 4))

    board = (await client.get(f"{API}/dashboard")).json()
    assert board["last_approval_at"] == approved.json()["approved_at"]
    card = (await client.get(f"{API}/agencies/SYT/scorecard")).json()
    assert next(t for t in card["task_list"] if t["code"] == "E.1")["status"] == "overdue"

    history = (await client.get(f"{url}/history", headers=officer.headers)).json()["items"]
    assert [(h["action"], h["from_state"], h["to_state"]) for h in history] == [
        ("created", None, "draft"),
        ("submitted", "draft", "submitted"),
        ("approved", "submitted", "approved"),
    ]
    assert history[1]["actor"] == lead.username


async def test_return_then_resubmit(client: httpx.AsyncClient, team: dict[str, Account]) -> None:
    officer, lead, reviewer = team["officer"], team["lead"], team["reviewer"]
    report = await start_report(client, team)
    url = f"{API}/reports/{report['id']}"
    await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "E.15", "status": "in_progress", "percent_complete": 30},
    )
    await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    etag = await etag_of(client, url, reviewer)
    no_reason = await client.post(
        f"{url}/return", json={"comment": "  "}, headers={**reviewer.headers, "If-Match": etag}
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["type"] == "comment_required"
    assert (await client.get(url, headers=reviewer.headers)).json()["state"] == "submitted"
    returned = await client.post(
        f"{url}/return",
        json={"comment": "Bổ sung số liệu cấp huyện."},
        headers={**reviewer.headers, "If-Match": etag},
    )
    assert returned.status_code == 200
    assert returned.json()["state"] == "returned"
    comment = await client.post(
        f"{url}/comments", headers=officer.headers, json={"body": "Đã bổ sung, xin thẩm định lại."}
    )
    assert comment.status_code == 201
    talk = (await client.get(f"{url}/comments", headers=reviewer.headers)).json()["items"]
    # The return's reason opens the conversation.
    assert [c["comment"] for c in talk] == [
        "Bổ sung số liệu cấp huyện.",
        "Đã bổ sung, xin thẩm định lại.",
    ]
    again = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert again.json()["state"] == "submitted"
    withdrawn = await client.post(
        f"{url}/withdraw", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert withdrawn.json()["state"] == "draft"


async def test_illegal_moves_change_nothing(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead, reviewer, other = (
        team["officer"],
        team["lead"],
        team["reviewer"],
        team["other"],
    )
    report = await start_report(client, team)
    url = f"{API}/reports/{report['id']}"
    item = (
        await client.post(
            f"{url}/task-updates",
            headers=officer.headers,
            json={"task": "E.1", "status": "in_progress", "percent_complete": 10},
        )
    ).json()

    # Another agency's officer cannot see the draft at all.
    assert (await client.get(url, headers=other.headers)).status_code == 404
    # Reviewers and observers do not see drafts either.
    assert (await client.get(url, headers=reviewer.headers)).status_code == 404
    assert (await client.get(url, headers=team["observer"].headers)).status_code == 404
    # An item for a task Sở Y tế neither leads nor coordinates.
    foreign = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "E.2", "status": "in_progress", "percent_complete": 10},
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["type"] == "not_assigned"
    for path, body, rule in [
        (
            "task-updates",
            {"task": "Z.9", "status": "in_progress", "percent_complete": 1},
            "unknown_task",
        ),
        ("document-updates", {"document": 99, "status": "drafting"}, "unknown_document"),
        (
            "indicator-values",
            {"target": "CT-2025-06.9", "value": 1, "as_of": "2026-11-15"},
            "unknown_target",
        ),
        ("indicator-values", {"target": "CT-2025-06.1", "as_of": "2026-11-15"}, "value_required"),
        ("document-updates", {"document": 1, "status": "issued"}, "issued_fields_required"),
    ]:
        bad = await client.post(f"{url}/{path}", headers=officer.headers, json=body)
        assert (bad.status_code, bad.json()["errors"][0]["type"]) == (422, rule)
    counts = (await client.get(url, headers=officer.headers)).json()["counts"]
    assert counts == {"task_updates": 1, "indicator_values": 0, "document_updates": 0}
    etag = await etag_of(client, url, lead)
    # An officer cannot submit; approving a draft is refused.
    assert (
        await client.post(f"{url}/submit", headers={**officer.headers, "If-Match": etag})
    ).status_code == 403
    assert (
        await client.post(f"{url}/approve", headers={**reviewer.headers, "If-Match": etag})
    ).status_code == 404  # a draft does not exist for the reviewer
    await client.post(f"{url}/submit", headers={**lead.headers, "If-Match": etag})
    etag = await etag_of(client, url, lead)
    # The officer cannot approve; the submitted report cannot be edited.
    assert (
        await client.post(f"{url}/approve", headers={**officer.headers, "If-Match": etag})
    ).status_code == 403
    item_url = f"{url}/task-updates/{item['id']}"
    item_etag = (await client.get(f"{url}/task-updates", headers=officer.headers)).json()["items"][
        0
    ]
    edit = await client.patch(
        item_url,
        json={"percent_complete": 90},
        headers={**officer.headers, "If-Match": f'"task_update-{item["id"]}-v1"'},
    )
    assert edit.status_code == 409
    assert edit.json()["code"] == "conflict"
    assert item_etag["percent_complete"] == 10
    # A stale If-Match is refused and a missing one required.
    assert (
        await client.post(
            f"{url}/approve", headers={**reviewer.headers, "If-Match": '"report-1-v1"'}
        )
    ).status_code == 412
    assert (await client.post(f"{url}/approve", headers=reviewer.headers)).status_code == 428
    state = (await client.get(url, headers=reviewer.headers)).json()["state"]
    assert state == "submitted"


async def test_two_edits_with_one_etag_exactly_one_wins(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    report = await start_report(client, team)
    url = f"{API}/reports/{report['id']}"
    item = (
        await client.post(
            f"{url}/task-updates",
            headers=officer.headers,
            json={"task": "E.1", "status": "in_progress", "percent_complete": 10},
        )
    ).json()
    item_url = f"{url}/task-updates/{item['id']}"
    headers = {**officer.headers, "If-Match": f'"task_update-{item["id"]}-v1"'}
    results = await asyncio.gather(
        client.patch(item_url, json={"percent_complete": 40}, headers=headers),
        client.patch(item_url, json={"percent_complete": 70}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
    winner = next(r for r in results if r.status_code == 200).json()["percent_complete"]
    stored = (await client.get(f"{url}/task-updates", headers=officer.headers)).json()["items"][0]
    assert (stored["percent_complete"], stored["version"]) == (winner, 2)


async def test_fifty_posts_with_one_idempotency_key_make_one_report(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    period = await new_period(client, team["reviewer"], ["SYT"])
    headers = {**team["officer"].headers, "Idempotency-Key": secrets.token_hex(8)}
    responses = await asyncio.gather(
        *[
            client.post(f"{API}/reports", headers=headers, json={"period_id": period["id"]})
            for _ in range(50)
        ]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    listed = (
        await client.get(
            f"{API}/reports", params={"period_id": period["id"]}, headers=team["officer"].headers
        )
    ).json()
    assert listed["total"] == 1
    other_body = await client.post(f"{API}/reports", headers=headers, json={"period_id": 1})
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"


async def test_period_list_names_the_agencies_each_period_asks_in_agency_order(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    """The list reads every period's agencies in one query (one row per agency, with the
    periods of the page that ask it): each period still lists exactly its own agencies, in
    the agencies' order, as its own answer does, whatever the order they were asked in."""
    annual = (await client.get(f"{API}/periods", params={"kind": "annual"})).json()["items"]
    order = [a["code"] for a in annual[-1]["agencies"]]
    a, b, c = order[0], order[len(order) // 2], order[-1]
    first = await new_period(client, team["reviewer"], [c, a, b])
    second = await new_period(client, team["reviewer"], [b, c])
    third = await new_period(client, team["reviewer"], [a])
    # Every page: other tests of the session's database add ad hoc periods too.
    listed: dict[int, Any] = {}
    params: dict[str, Any] = {"kind": "ad_hoc", "limit": 200}
    while True:
        page = (
            await client.get(f"{API}/periods", params=params, headers=team["reviewer"].headers)
        ).json()
        listed |= {p["id"]: p for p in page["items"]}
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    for period, asked in ((first, [a, b, c]), (second, [b, c]), (third, [a])):
        own = await client.get(f"{API}/periods/{period['id']}", headers=team["reviewer"].headers)
        assert [x["code"] for x in listed[period["id"]]["agencies"]] == asked
        assert listed[period["id"]] == own.json() == period


async def test_periods_open_close_extend(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account]
) -> None:
    public = (await client.get(f"{API}/periods", params={"kind": "annual", "limit": 50})).json()
    assert [p["code"] for p in public["items"]] == [f"annual-{y}" for y in range(2021, 2031)]
    first = public["items"][0]
    assert (first["due_date"], first["cutoff_date"], first["status"]) == (
        "2021-12-01",
        "2021-11-15",
        "planned",
    )
    assert "SYT" in [a["code"] for a in first["agencies"]]
    assert "G_SBN" not in [a["code"] for a in first["agencies"]]  # groups are expanded
    only_syt = await new_period(client, team["reviewer"], ["SYT"])
    assert (await client.get(f"{API}/periods/{only_syt['id']}")).status_code == 404
    assert (
        await client.get(f"{API}/periods/{only_syt['id']}", headers=team["other"].headers)
    ).status_code == 404
    visible = await client.get(f"{API}/periods/{only_syt['id']}", headers=team["officer"].headers)
    assert visible.status_code == 200

    url = f"{API}/periods/{only_syt['id']}"
    reviewer = team["reviewer"]
    extended = await client.patch(
        url,
        json={"due_date": "2026-12-15"},
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    assert extended.json()["due_date"] == "2026-12-15"
    closed = await client.patch(
        url,
        json={"status": "closed"},
        headers={**reviewer.headers, "If-Match": extended.headers["etag"]},
    )
    assert closed.json()["status"] == "closed"
    refused = await client.post(
        f"{API}/reports", headers=team["officer"].headers, json={"period_id": only_syt["id"]}
    )
    assert refused.status_code == 409
    bad_dates = await client.patch(
        url,
        json={"cutoff_date": "2027-01-01"},
        headers={**reviewer.headers, "If-Match": closed.headers["etag"]},
    )
    assert bad_dates.status_code == 409  # closed: only reopening is allowed
    reopened = await client.patch(
        url,
        json={"status": "open"},
        headers={**reviewer.headers, "If-Match": closed.headers["etag"]},
    )
    assert reopened.json()["status"] == "open"
    assert (
        await client.post(
            f"{API}/reports", headers=team["officer"].headers, json={"period_id": only_syt["id"]}
        )
    ).status_code == 201
