"""Honest versions and consistent shapes of reports and their items, through HTTP.

A report's ETag changes whenever what it shows changes, If-Match refuses a stale one
(412 naming the version seen and the current one), every item has a GET with its ETag,
a client_id retry answers the stored item, the reasons for returns are in the
conversation, and every list of a report uses the list envelope.
"""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.evidence import pdf
from tests.factories import Account
from tests.services.test_reporting import API, etag_of, make_team, start_report

TASK = {"task": "E.1", "status": "in_progress", "percent_complete": 20}


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    return await make_team(client, sessionmaker)


async def _returned_report(client: httpx.AsyncClient, team: dict[str, Account]) -> tuple[str, int]:
    """A returned Sở Y tế report with one task update; its url and the item's id."""
    officer, lead, reviewer = team["officer"], team["lead"], team["reviewer"]
    url = f"{API}/reports/{(await start_report(client, team))['id']}"
    item = await client.post(f"{url}/task-updates", headers=officer.headers, json=TASK)
    assert item.status_code == 201, item.text
    submit = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert submit.status_code == 200, submit.text
    back = await client.post(
        f"{url}/return",
        json={"comment": "Bổ sung số liệu cấp huyện."},
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    assert back.status_code == 200, back.text
    return url, int(item.json()["id"])


async def test_a_stale_report_etag_is_refused_after_an_item_edit(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead = team["officer"], team["lead"]
    url = f"{API}/reports/{(await start_report(client, team))['id']}"
    created = await client.post(f"{url}/task-updates", headers=officer.headers, json=TASK)
    assert created.status_code == 201, created.text
    submit = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    back = await client.post(
        f"{url}/return",
        json={"comment": "Bổ sung số liệu cấp huyện."},
        headers={**team["reviewer"].headers, "If-Match": submit.headers["etag"]},
    )
    assert back.status_code == 200, back.text
    old_get_etag = await etag_of(client, url, lead)
    edited = await client.patch(
        f"{url}/task-updates/{created.json()['id']}",
        json={"percent_complete": 35},
        headers={**officer.headers, "If-Match": created.headers["etag"]},
    )
    assert edited.status_code == 200, edited.text
    assert await etag_of(client, url, lead) != old_get_etag
    for stale in (old_get_etag, back.headers["etag"]):
        refused = await client.post(f"{url}/submit", headers={**lead.headers, "If-Match": stale})
        assert refused.status_code == 412, refused.text
    # A made-up suffix on a tag is not one this server issued.
    forged = (await etag_of(client, url, lead))[:-1] + '-forged"'
    assert (
        await client.post(f"{url}/submit", headers={**lead.headers, "If-Match": forged})
    ).status_code == 412
    assert (await client.get(url, headers=lead.headers)).json()["state"] == "returned"
    fresh = await etag_of(client, url, lead)
    submitted = await client.post(f"{url}/submit", headers={**lead.headers, "If-Match": fresh})
    assert submitted.status_code == 200, submitted.text
    # The write's own ETag is the If-Match of the next write.
    withdrawn = await client.post(
        f"{url}/withdraw", headers={**lead.headers, "If-Match": submitted.headers["etag"]}
    )
    assert withdrawn.status_code == 200, withdrawn.text


async def test_the_412_problem_says_which_version_was_seen_and_which_is_current(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead = team["officer"], team["lead"]
    url, item_id = await _returned_report(client, team)
    old = await etag_of(client, url, lead)
    item_url = f"{url}/task-updates/{item_id}"
    tag = await etag_of(client, item_url, officer)
    await client.patch(
        item_url, json={"percent_complete": 40}, headers={**officer.headers, "If-Match": tag}
    )
    en = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": old, "Accept-Language": "en"}
    )
    vi = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": old, "Accept-Language": "vi"}
    )
    assert (en.status_code, vi.status_code) == (412, 412)
    report = (await client.get(url, headers=lead.headers)).json()
    assert en.json()["code"] == "precondition_failed"
    assert "changed by someone else" not in en.json()["detail"]
    current = report["version"]
    assert en.json()["current_version"] == current
    assert en.json()["seen_version"] == current - 1
    assert f"{current - 1}" in en.json()["detail"] and f"{current}" in en.json()["detail"]
    assert f"{current}" in vi.json()["detail"] and "phiên bản" in vi.json()["detail"].lower()
    # Unchanged object, tag that was never issued: not "changed"; says it is not ours.
    junk = await client.post(
        f"{url}/submit",
        headers={**lead.headers, "If-Match": '"nonsense"', "Accept-Language": "en"},
    )
    assert junk.status_code == 412
    assert junk.json()["seen_version"] is None
    assert "changed" not in junk.json()["detail"]


async def test_every_item_has_a_get_with_its_etag_and_lists_carry_it(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead, reviewer = team["officer"], team["lead"], team["reviewer"]
    url = f"{API}/reports/{(await start_report(client, team))['id']}"
    created = await client.post(f"{url}/task-updates", headers=officer.headers, json=TASK)
    item_url = f"{url}/task-updates/{created.json()['id']}"
    got = await client.get(item_url, headers=officer.headers)
    assert got.status_code == 200, got.text
    assert got.json()["percent_complete"] == 20
    assert got.json()["etag"] == created.headers["etag"] == created.json()["etag"]
    assert got.headers["etag"].startswith(created.headers["etag"][:-1])
    # Visibility as the report's: a draft item is 404 to the reviewer and other agencies.
    assert (await client.get(item_url, headers=reviewer.headers)).status_code == 404
    assert (await client.get(item_url, headers=team["other"].headers)).status_code == 404
    assert (
        await client.get(f"{url}/task-updates/999999", headers=officer.headers)
    ).status_code == (404)
    await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    await client.post(
        f"{url}/approve",
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    # The reviewer returns one item with the ETag from the list, no guessing.
    listed = (await client.get(f"{url}/task-updates", headers=reviewer.headers)).json()
    assert set(listed) == {"items", "total", "total_exact", "next_cursor"}
    tag = listed["items"][0]["etag"]
    back = await client.post(
        f"{item_url}/return",
        json={"comment": "Sai tỉ lệ."},
        headers={**reviewer.headers, "If-Match": tag},
    )
    assert back.status_code == 200, back.text
    # The old tag (from the list, and from a GET) is now stale: 412.
    stale = await client.post(
        f"{item_url}/resubmit", headers={**lead.headers, "If-Match": got.headers["etag"]}
    )
    assert stale.status_code == 412
    fresh = await etag_of(client, item_url, lead)
    assert (
        await client.post(f"{item_url}/resubmit", headers={**lead.headers, "If-Match": fresh})
    ).status_code == 200
    detail = (await client.get(url, headers=reviewer.headers)).json()
    assert (
        detail["task_updates"][0]["etag"]
        == (await client.get(item_url, headers=lead.headers)).json()["etag"]
    )


async def test_concurrent_client_id_retries_answer_the_stored_item(
    client: httpx.AsyncClient, team: dict[str, Account], sessionmaker: Any
) -> None:
    url = f"{API}/reports/{(await start_report(client, team))['id']}"
    body = {**TASK, "client_id": str(uuid.uuid4())}
    responses = await asyncio.gather(
        *[
            client.post(f"{url}/task-updates", headers=team["officer"].headers, json=body)
            for _ in range(50)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 49 + [201], [r.text for r in responses if r.status_code >= 300][:2]
    assert len({r.json()["id"] for r in responses}) == 1
    listed = (await client.get(f"{url}/task-updates", headers=team["officer"].headers)).json()
    assert listed["total"] == 1


async def test_return_reasons_are_in_the_conversation(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead, reviewer = team["officer"], team["lead"], team["reviewer"]
    url, item_id = await _returned_report(client, team)
    talk = (await client.get(f"{url}/comments", headers=officer.headers)).json()
    assert set(talk) == {"items", "total", "total_exact", "next_cursor"}
    history = (await client.get(f"{url}/history", headers=officer.headers)).json()["items"]
    returned = next(h for h in history if h["action"] == "returned")
    assert [(c["comment"], c["action"], c["event_id"]) for c in talk["items"]] == [
        ("Bổ sung số liệu cấp huyện.", "comment", returned["id"])
    ]
    # An item sent back after approval: its reason joins the thread too.
    await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    await client.post(
        f"{url}/approve",
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    item_url = f"{url}/task-updates/{item_id}"
    sent_back = await client.post(
        f"{item_url}/return",
        json={"comment": "Tỉ lệ chưa khớp minh chứng."},
        headers={**reviewer.headers, "If-Match": await etag_of(client, item_url, reviewer)},
    )
    assert sent_back.status_code == 200, sent_back.text
    talk = (await client.get(f"{url}/comments", headers=officer.headers)).json()["items"]
    reopened = next(
        h
        for h in (await client.get(f"{url}/history", headers=officer.headers)).json()["items"]
        if h["action"] == "item_reopened"
    )
    last = talk[-1]
    assert (last["comment"], last["event_id"], last["item_kind"], last["item_id"]) == (
        "Tỉ lệ chưa khớp minh chứng.",
        reopened["id"],
        "task-updates",
        item_id,
    )
    assert len(talk) == 2


async def test_report_lists_use_the_list_envelope_with_cursors(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer = team["officer"]
    url = f"{API}/reports/{(await start_report(client, team))['id']}"
    for n in range(3):
        made = await client.post(f"{url}/comments", headers=officer.headers, json={"body": f"#{n}"})
        assert made.status_code == 201
    for target in ("CT-2025-06.1", "CT-2025-06.1", "CT-2025-06.1"):
        made = await client.post(
            f"{url}/indicator-values",
            headers=officer.headers,
            json={"target": target, "value": 10, "as_of": "2026-11-15"},
        )
        assert made.status_code == 201, made.text
    for path, expected in (("comments", 3), ("indicator-values", 3), ("history", 1)):
        first = await client.get(f"{url}/{path}", headers=officer.headers, params={"limit": 2})
        assert first.status_code == 200, first.text
        page = first.json()
        assert (page["total"], len(page["items"])) == (expected, min(2, expected))
        seen = [i["id"] for i in page["items"]]
        while page["next_cursor"]:
            page = (
                await client.get(
                    f"{url}/{path}",
                    headers=officer.headers,
                    params={"limit": 2, "cursor": page["next_cursor"]},
                )
            ).json()
            seen += [i["id"] for i in page["items"]]
        assert len(seen) == expected and seen == sorted(seen)
    bad = await client.get(f"{url}/comments", headers=officer.headers, params={"cursor": "x.y"})
    assert bad.status_code == 422


async def test_evidence_and_comments_move_the_report_version(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    officer, lead = team["officer"], team["lead"]
    url = f"{API}/reports/{(await start_report(client, team))['id']}"
    created = await client.post(f"{url}/task-updates", headers=officer.headers, json=TASK)
    item_url = f"{url}/task-updates/{created.json()['id']}"

    async def changes(write: Any) -> None:
        before = await client.get(url, headers=lead.headers)
        response = await write()
        assert response.status_code in (201, 204), response.text
        after = await client.get(url, headers=lead.headers)
        assert after.json()["version"] == before.json()["version"] + 1
        stale = await client.post(
            f"{url}/submit", headers={**lead.headers, "If-Match": before.headers["etag"]}
        )
        assert stale.status_code == 412

    upload = {"file": ("evidence.pdf", pdf(), "application/pdf")}
    attached: dict[str, Any] = {}

    async def attach() -> httpx.Response:
        response = await client.post(
            f"{item_url}/attachments", headers=officer.headers, files=upload
        )
        attached.update(response.json())
        return response

    await changes(attach)
    await changes(
        lambda: client.delete(
            f"{url}/attachments/{attached['id']}",
            headers={**officer.headers, "If-Match": f'"attachment-{attached["id"]}-v1"'},
        )
    )
    await changes(
        lambda: client.post(f"{url}/comments", headers=officer.headers, json={"body": "Đã xong."})
    )


async def test_an_item_is_not_added_to_a_report_a_concurrent_submit_moved(
    client: httpx.AsyncClient, team: dict[str, Account], sessionmaker: Any
) -> None:
    """A submit holds the report FOR UPDATE while it moves it out of draft; an item POSTed
    meanwhile waits for it and is then judged against the submitted report: 409, no item."""
    officer = team["officer"]
    report_id = (await start_report(client, team))["id"]
    url = f"{API}/reports/{report_id}"
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("SELECT id FROM reports WHERE id = :id FOR UPDATE"), {"id": report_id}
        )
        await session.execute(
            text("UPDATE reports SET state = 'submitted' WHERE id = :id"), {"id": report_id}
        )
        posting = asyncio.create_task(
            client.post(f"{url}/task-updates", headers=officer.headers, json=TASK)
        )
        for _ in range(200):  # until the POST waits on the report's row lock
            waiting = (
                (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                            " WHERE NOT l.granted AND c.relname = 'reports'"
                            " UNION ALL SELECT count(*) FROM pg_locks WHERE NOT granted"
                            " AND locktype = 'transactionid'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            if any(waiting) or posting.done():
                break
            await asyncio.sleep(0.05)
    answer = await asyncio.wait_for(posting, timeout=30)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "conflict"
    listed = (await client.get(f"{url}/task-updates", headers=officer.headers)).json()
    assert (listed["items"] if isinstance(listed, dict) else listed) == []
