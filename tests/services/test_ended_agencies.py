"""Users of an agency that has ended (issue 11, item 4): they cannot sign in or refresh until
an administrator moves them, and nobody is created in or moved into such an agency. The
session's app runs with the rule off (tests/db.py); these tests use a second app on the same
database with it on, as deployed (DXPLAN_REFUSE_ENDED_AGENCIES, on by default)."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.deps import get_today
from app.main import create_app
from app.services.demo import DEMO_USERS
from tests import db
from tests.factories import PASSWORD, Account, create_user, sign_in

API = "/api/v1"
TOKEN = f"{API}/auth/token"
EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
async def strict_app(database_url: str) -> AsyncIterator[Any]:
    settings = db.settings_for(database_url).model_copy(update={"refuse_ended_agencies": True})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def strict(strict_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=strict_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="module")
async def admin(strict: httpx.AsyncClient, sessionmaker: Any) -> Account:
    """An administrator of today's Sở KH&CN (Hải Phòng), signed in with the rule on."""
    account = await create_user(sessionmaker, role="admin", agency="HP_SKHCN")
    await sign_in(strict, account)
    return account


def test_the_rule_is_on_by_default() -> None:
    assert Settings.model_fields["refuse_ended_agencies"].default is True


async def _password_grant(client: httpx.AsyncClient, account: Account, password: str = PASSWORD):
    return await client.post(
        TOKEN, data={"username": account.username, "password": password}, headers=EN
    )


async def test_sign_in_of_an_ended_agency_is_refused_naming_its_successor(
    strict: httpx.AsyncClient, client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    user = await create_user(sessionmaker, role="officer", agency="STTTT")
    for _ in range(7):  # past the 5 failures per user: a right password is no guess
        refused = await _password_grant(strict, user)
        assert refused.status_code == 400, refused.text
        problem = refused.json()
        assert (problem["code"], problem["error"]) == ("agency_ended", "invalid_grant")
        assert problem["detail"] == (
            "The agency Sở Thông tin và Truyền thông (STTTT) ended on 28/02/2025; an"
            " administrator must move the account to its successor: Sở Khoa học và Công nghệ"
            " thành phố Hải Phòng (HP_SKHCN)."
        )
    # A wrong password says nothing about the agency.
    wrong = await _password_grant(strict, user, "Not-the-password-1")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_grant")
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT after FROM audit_log WHERE action = 'auth.sign_in_failed'"
                    " AND entity = 'user' AND entity_id = :id ORDER BY id"
                ),
                {"id": str(user.id)},
            )
        ).scalars()
        reasons = [row.get("reason") for row in rows]
    assert reasons == ["agency_ended"] * 7 + [None]
    # With the rule off (the session's app) the same account signs in.
    assert (await _password_grant(client, user)).status_code == 200


async def test_an_agency_ends_after_its_last_day(
    strict_app: Any, strict: httpx.AsyncClient, sessionmaker: Any
) -> None:
    """Sở TTTT worked until 28 February 2025 (Việt Nam days, the app's clock)."""
    user = await create_user(sessionmaker, role="officer", agency="STTTT")
    try:
        strict_app.dependency_overrides[get_today] = lambda: date(2025, 2, 28)
        assert (await _password_grant(strict, user)).status_code == 200
        strict_app.dependency_overrides[get_today] = lambda: date(2025, 3, 1)
        assert (await _password_grant(strict, user)).json()["code"] == "agency_ended"
    finally:
        strict_app.dependency_overrides.pop(get_today, None)


async def test_an_ended_agency_without_one_successor_names_them_all(
    strict: httpx.AsyncClient, sessionmaker: Any
) -> None:
    user = await create_user(sessionmaker, role="officer", agency="HBG")  # huyện Bình Giang
    problem = (await _password_grant(strict, user)).json()
    assert problem["code"] == "agency_ended"
    assert "(HBG) ended on 30/06/2025" in problem["detail"]
    assert "(UBND_HP), " in problem["detail"] and "(G_UBND_XA_HP)." in problem["detail"]


async def test_refresh_of_a_user_whose_agency_has_ended_is_refused_and_ends_the_sign_in(
    strict: httpx.AsyncClient, client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    user = await create_user(sessionmaker, role="officer", agency="SYT")
    # Signed in while the rule was off (or before the agency ended).
    first = await sign_in(client, user)
    second = await sign_in(client, user)
    oauth2 = await strict.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=EN,
    )
    assert oauth2.status_code == 400, oauth2.text
    assert (oauth2.json()["code"], oauth2.json()["error"]) == ("agency_ended", "invalid_grant")
    assert "(HP_SYT)" in oauth2.json()["detail"]
    json_door = await strict.post(
        f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]}, headers=EN
    )
    assert json_door.status_code == 401, json_door.text
    assert json_door.json()["code"] == "agency_ended"
    assert json_door.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # Both sign-ins ended: their refresh tokens are refused even with the rule off.
    again = await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    assert again.json()["code"] == "unauthorized"
    async with sessionmaker() as session:
        refused = (
            await session.execute(
                text(
                    "SELECT count(*) FROM audit_log WHERE action = 'auth.refresh_refused'"
                    " AND entity_id = :id AND after->>'reason' = 'agency_ended'"
                ),
                {"id": str(user.id)},
            )
        ).scalar_one()
    assert refused == 2


async def test_a_user_moved_to_the_successor_signs_in_again(
    strict: httpx.AsyncClient, sessionmaker: Any, admin: Account
) -> None:
    user = await create_user(sessionmaker, role="officer", agency="STTTT")
    assert (await _password_grant(strict, user)).json()["code"] == "agency_ended"
    url = f"{API}/users/{user.id}"
    etag = (await strict.get(url, headers=admin.headers)).headers["etag"]
    moved = await strict.patch(
        url, json={"agency": "HP_SKHCN"}, headers={**admin.headers, "If-Match": etag}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["agency"]["code"] == "HP_SKHCN"
    assert (await _password_grant(strict, user)).status_code == 200


async def test_no_user_is_created_in_or_moved_into_an_ended_agency(
    strict: httpx.AsyncClient, sessionmaker: Any, admin: Account
) -> None:
    body = {
        "username": "old.sttt.officer",
        "full_name": "Nguyễn Văn Cũ",
        "password": "Chuyen-doi-so-2026-HP",
        "agency": "STTTT",
        "role": "officer",
    }
    created = await strict.post(f"{API}/users", json=body, headers=admin.headers)
    assert created.status_code == 422, created.text
    problem = created.json()
    assert problem["code"] == "validation_error"
    assert [(e["field"], e["type"]) for e in problem["errors"]] == [("agency", "agency_ended")]
    assert problem["errors"][0]["message"] == (
        "Cơ quan Sở Thông tin và Truyền thông (STTTT) đã kết thúc hoạt động từ ngày 28/02/2025;"
        " chọn cơ quan kế thừa: Sở Khoa học và Công nghệ thành phố Hải Phòng (HP_SKHCN)."
    )
    # The successor takes the account.
    created = await strict.post(
        f"{API}/users", json={**body, "agency": "HP_SKHCN"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    url = f"{API}/users/{created.json()['id']}"
    etag = created.headers["etag"]
    # Moving it into an ended agency (Hải Dương's Sở KH&CN, ended 30/06/2025) is refused too.
    moved = await strict.patch(
        url, json={"agency": "SKHCN"}, headers={**admin.headers, "If-Match": etag, **EN}
    )
    assert moved.status_code == 422, moved.text
    assert moved.json()["errors"][0]["type"] == "agency_ended"
    assert moved.json()["errors"][0]["message"].startswith(
        "The agency Sở Khoa học và Công nghệ (SKHCN) ended on 30/06/2025; choose its successor:"
    )


async def test_a_user_left_in_an_ended_agency_can_still_be_changed(
    strict: httpx.AsyncClient, sessionmaker: Any, admin: Account
) -> None:
    """Deactivating or renaming is not placing: only a move into an ended agency is refused."""
    user = await create_user(sessionmaker, role="officer", agency="SYT")
    url = f"{API}/users/{user.id}"
    etag = (await strict.get(url, headers=admin.headers)).headers["etag"]
    changed = await strict.patch(
        url,
        json={"full_name": "Trần Thị Mới", "is_active": False, "agency": "SYT"},
        headers={**admin.headers, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["agency"]["code"] == "SYT"


async def test_reviewers_of_the_successor_reviewing_department(
    strict: httpx.AsyncClient, admin: Account
) -> None:
    """The plan's reviewing department was Sở TTTT; today it is Sở KH&CN thành phố Hải Phòng
    (GET /plan, succession.reviewer), whose reviewers may be created; another department's
    may not."""
    plan = (await strict.get(f"{API}/plan")).json()
    reviewing = [a["code"] for a in plan["succession"]["reviewer"]["responsible"]]
    assert reviewing == ["HP_SKHCN"]
    body = {
        "full_name": "Lê Thị Thẩm Định",
        "password": "Chuyen-doi-so-2026-HP",
        "agency": "HP_SKHCN",
        "role": "reviewer",
    }
    created = await strict.post(
        f"{API}/users", json={**body, "username": "hp.reviewer.1"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    other = await strict.post(
        f"{API}/users",
        json={**body, "username": "hp.reviewer.2", "agency": "HP_SYT"},
        headers=admin.headers,
    )
    assert other.status_code == 422, other.text
    assert other.json()["errors"][0]["type"] == "reviewer_agency"


async def test_demo_accounts_sit_in_todays_agencies(strict: httpx.AsyncClient) -> None:
    """`make run` then `dxplan seed --demo`: every demo account can sign in with the rule on."""
    for _, _, code, _ in DEMO_USERS:
        agency = (await strict.get(f"{API}/agencies/{code}")).json()
        assert agency["valid_to"] is None, (code, agency["valid_to"])
