"""User administration: scoping, validation, conditional updates, mass assignment."""

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from app.models import User
from tests.factories import PASSWORD, Account, create_user, sign_in, signed_in

USERS = "/api/v1/users"


async def count_users(sessionmaker: Any, **where: Any) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(User)
        for name, value in where.items():
            stmt = stmt.where(col(getattr(User, name)) == value)
        return int((await session.execute(stmt)).scalar_one())


async def test_directory_is_scoped_by_agency(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    own = (
        await client.get(USERS, params={"limit": 200}, headers=accounts["officer"].headers)
    ).json()
    assert own["total"] >= 2
    assert {u["agency"]["code"] for u in own["items"]} == {"SYT"}
    # Asking for another agency does not widen the scope.
    other = (
        await client.get(USERS, params={"agency": "SGDDT"}, headers=accounts["officer"].headers)
    ).json()
    assert other == {"items": [], "total": 0, "total_exact": True, "next_cursor": None}
    everyone = (
        await client.get(USERS, params={"limit": 200}, headers=accounts["observer"].headers)
    ).json()
    assert {"SYT", "SGDDT", "STTTT", "UBND_TINH"} <= {
        u["agency"]["code"] for u in everyone["items"]
    }
    reviewers = (
        await client.get(
            USERS, params={"role": "reviewer", "limit": 200}, headers=accounts["reviewer"].headers
        )
    ).json()
    assert reviewers["total"] >= 1
    assert {u["role"] for u in reviewers["items"]} == {"reviewer"}


async def test_create_user_rules(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"].headers
    base = {
        "username": "le.van.d",
        "full_name": "Lê Văn D",
        "password": "Mot-cau-dai-2358",
        "agency": "SYT",
        "role": "officer",
    }
    created = await client.post(USERS, json=base, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"{USERS}/{body['id']}"
    assert (body["username"], body["agency"]["code"], body["role"], body["is_active"]) == (
        "le.van.d",
        "SYT",
        "officer",
        True,
    )
    assert "password" not in body and "password_hash" not in body
    duplicate = await client.post(USERS, json=base, headers=admin)
    assert duplicate.status_code == 409
    for change, field, rule in [
        ({"username": "x1.reviewer", "role": "reviewer"}, "role", "reviewer_agency"),
        ({"username": "x2.nowhere", "agency": "NOWHERE"}, "agency", "unknown_agency"),
        ({"username": "x3.group", "agency": "G_SBN"}, "agency", "group_agency"),
        ({"username": "x4.pw", "password": "Ab-12"}, "password", "password_too_short"),
    ]:
        response = await client.post(USERS, json={**base, **change}, headers=admin)
        assert response.status_code == 422, (change, response.text)
        assert [(e["field"], e["type"]) for e in response.json()["errors"]] == [(field, rule)]
    assert await count_users(sessionmaker, username="x1.reviewer") == 0


async def test_mass_assignment_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"].headers
    before = await count_users(sessionmaker)
    smuggled = await client.post(
        USERS,
        headers=admin,
        json={
            "username": "smuggler",
            "full_name": "Kẻ lén",
            "password": "Mot-cau-dai-2358",
            "agency": "SYT",
            "role": "officer",
            "id": 1,
            "is_active": False,
        },
    )
    assert smuggled.status_code == 422
    assert {e["field"] for e in smuggled.json()["errors"]} == {"id", "is_active"}
    assert await count_users(sessionmaker) == before

    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    # An officer cannot promote themselves, whatever the body says.
    etag = (await client.get(f"{USERS}/{officer.id}", headers=officer.headers)).headers["etag"]
    promoted = await client.patch(
        f"{USERS}/{officer.id}",
        json={"role": "admin"},
        headers={**officer.headers, "If-Match": etag},
    )
    assert promoted.status_code == 403
    sneaky = await client.post(
        "/api/v1/me/password",
        headers=officer.headers,
        json={
            "current_password": PASSWORD,
            "new_password": "Another-long-2358",
            "role": "admin",
            "agency": "STTTT",
        },
    )
    assert sneaky.status_code == 422
    me = (await client.get("/api/v1/me", headers=officer.headers)).json()
    assert (me["role"], me["agency"]["code"]) == ("officer", "SYT")
    await sign_in(client, officer)  # the password did not change either

    url = f"{USERS}/{officer.id}"
    etag = (await client.get(url, headers=admin)).headers["etag"]
    patch = await client.patch(
        url,
        json={"id": 999, "version": 7, "password_hash": "x"},
        headers={**admin, "If-Match": etag},
    )
    assert patch.status_code == 422
    assert (await client.get(url, headers=admin)).headers["etag"] == etag


async def test_conditional_update(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"].headers
    target = await create_user(sessionmaker, role="officer", agency="SYT")
    url = f"{USERS}/{target.id}"
    first = await client.get(url, headers=admin)
    etag = first.headers["etag"]
    assert etag.startswith(f'"user-{target.id}-v1-')
    missing = await client.patch(url, json={"full_name": "A"}, headers=admin)
    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition_required"
    ok = await client.patch(
        url,
        json={"full_name": "Trần Văn E", "phone": "0912 345 678"},
        headers={**admin, "If-Match": etag},
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] == f'"user-{target.id}-v2"'
    assert (ok.json()["full_name"], ok.json()["phone"]) == ("Trần Văn E", "0912 345 678")
    stale = await client.patch(
        url, json={"full_name": "Lost update"}, headers={**admin, "If-Match": etag}
    )
    assert stale.status_code == 412
    weak = await client.patch(
        url, json={"full_name": "Weak"}, headers={**admin, "If-Match": "W/" + ok.headers["etag"]}
    )
    assert weak.status_code == 412
    assert (await client.get(url, headers=admin)).json()["full_name"] == "Trần Văn E"


async def test_admin_cannot_lock_themselves_out(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    admin = await signed_in(client, sessionmaker, role="admin", agency="STTTT")
    url = f"{USERS}/{admin.id}"
    for change in ({"is_active": False}, {"role": "officer"}):
        etag = (await client.get(url, headers=admin.headers)).headers["etag"]
        response = await client.patch(url, json=change, headers={**admin.headers, "If-Match": etag})
        assert response.status_code == 409
    assert (await client.get("/api/v1/me", headers=admin.headers)).json()["role"] == "admin"


async def test_password_reset_revokes_tokens(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    target = await signed_in(client, sessionmaker, role="officer", agency="SGDDT")
    reset = await client.post(
        f"{USERS}/{target.id}/password-reset",
        json={"new_password": "Da-dat-lai-2358"},
        headers=accounts["admin"].headers,
    )
    assert reset.status_code == 204
    assert (await client.get("/api/v1/me", headers=target.headers)).status_code == 401
    await sign_in(client, target, password="Da-dat-lai-2358")
    assert (await client.get("/api/v1/me", headers=target.headers)).status_code == 200
