"""Concurrent writes of reorganisations: the unique indexes settle races the checks cannot, as
409 (or 412 for corrections), never 500. No Idempotency-Key is sent: the generic replay layer
is not involved."""

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.factories import Account
from tests.services.test_reorganisations import NEW_EVENT, cleanup  # noqa: F401

API = "/api/v1"
EN = {"Accept-Language": "en"}


def _event(code: str, agency: str) -> dict[str, Any]:
    new = {**NEW_EVENT["new_agencies"][0], "code": agency}
    return {**NEW_EVENT, "code": code, "successors": [agency], "new_agencies": [new]}


async def test_identical_concurrent_creates_are_one_201_and_409s(
    client: httpx.AsyncClient,
    accounts: dict[str, Account],
    cleanup: None,  # noqa: F811
) -> None:
    headers = {**accounts["admin"].headers, **EN}
    body = _event("T-2091-RACE", "T_RACE")
    answers = await asyncio.gather(
        *(client.post(f"{API}/reorganisations", json=body, headers=headers) for _ in range(10))
    )
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 9}, [
        a.text for a in answers if a.status_code not in (201, 409)
    ]
    for refused in (a for a in answers if a.status_code == 409):
        problem = refused.json()
        assert problem["code"] == "conflict"
        assert problem["detail"] == "A reorganisation with code “T-2091-RACE” already exists."


async def test_concurrent_creates_introducing_one_agency_are_one_201_and_409s(
    client: httpx.AsyncClient,
    accounts: dict[str, Account],
    cleanup: None,  # noqa: F811
) -> None:
    headers = {**accounts["admin"].headers, **EN}
    answers = await asyncio.gather(
        *(
            client.post(
                f"{API}/reorganisations", json=_event(f"T-2092-R{i}", "T_SHARED"), headers=headers
            )
            for i in range(6)
        )
    )
    statuses = Counter(a.status_code for a in answers)
    # Those that raced the winner are refused by the index (409); one that started after it
    # committed is refused by the check (422 `agency_exists`). Never a 500.
    assert statuses[201] == 1 and statuses[409] + statuses[422] == 5, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert (
            refused.json()["detail"] == "An agency with one of the codes T_SHARED already exists."
        )


async def test_concurrent_corrections_with_one_tag_are_one_200_and_412s(
    client: httpx.AsyncClient,
    accounts: dict[str, Account],
    cleanup: None,  # noqa: F811
) -> None:
    admin = accounts["admin"].headers
    created = await client.post(
        f"{API}/reorganisations", json=_event("T-2093-FIX", "T_FIX"), headers=admin
    )
    assert created.status_code == 201, created.text
    url = f"{API}/reorganisations/T-2093-FIX"
    tag = created.headers["etag"]
    answers = await asyncio.gather(
        *(
            client.patch(
                url,
                json={"notes": f"Sửa {i}.", "successors": ["T_FIX"]},
                headers={**admin, "If-Match": tag},
            )
            for i in range(8)
        )
    )
    assert Counter(a.status_code for a in answers) == {200: 1, 412: 7}, [
        a.text for a in answers if a.status_code not in (200, 412)
    ]
    winner = next(a for a in answers if a.status_code == 200)
    assert winner.headers["etag"].endswith('-v2"')  # one correction, applied once
    assert (await client.get(url)).json()["notes"] == winner.json()["notes"]
