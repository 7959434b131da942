"""The review queue pages by position (keyset), so reviewing reports on earlier pages, which
takes them out of the queue, never makes a later page skip one."""

from typing import Any

import httpx

from tests.services.test_reporting import etag_of, make_team, start_report

API = "/api/v1"


async def test_reviewing_while_paging_skips_no_report(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    team = await make_team(client, sessionmaker)
    lead, reviewer = team["lead"], team["reviewer"]
    ours: list[int] = []
    for _ in range(3):
        report = await start_report(client, team)
        url = f"{API}/reports/{report['id']}"
        submitted = await client.post(
            f"{url}/submit",
            headers={**lead.headers, "If-Match": await etag_of(client, url, lead)},
        )
        assert submitted.status_code == 200, submitted.text
        ours.append(report["id"])

    # Walk the queue one report a page, approving ours as they come (other tests' submitted
    # reports may be queued before them and are left alone).
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = await client.get(f"{API}/review-queue", headers=reviewer.headers, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        for item in body["items"]:
            seen.append(item["id"])
            if item["id"] in ours:
                url = f"{API}/reports/{item['id']}"
                approved = await client.post(
                    f"{url}/approve",
                    headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
                )
                assert approved.status_code == 200, approved.text
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [i for i in seen if i in ours] == ours
    assert len(seen) == len(set(seen))


async def test_queue_cursor_beyond_every_submission_is_an_empty_page(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    team = await make_team(client, sessionmaker)
    page = await client.get(
        f"{API}/review-queue", headers=team["reviewer"].headers, params={"cursor": "f" * 32}
    )
    assert page.status_code == 200, page.text
    assert page.json()["items"] == []
    assert page.json()["next_cursor"] is None
