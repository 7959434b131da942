"""The standard OAuth2 doors beside the JSON ones (issue 10, item 5).

Refresh as `grant_type=refresh_token` at `POST /auth/token` (RFC 6749 §6), sign-out as
token revocation at `POST /auth/revoke` (RFC 7009), and `POST /auth/logout` with no body
for a signed-in caller; the JSON forms of `/auth/refresh` and `/auth/logout` keep working.
Each test signs in accounts of its own: ending a shared account's sign-in would break the
tests that run after it.
"""

from typing import Any

import httpx

from tests.factories import Account, create_user, sign_in

API = "/api/v1"
TOKEN = f"{API}/auth/token"
REVOKE = f"{API}/auth/revoke"
LOGOUT = f"{API}/auth/logout"
REFRESH = f"{API}/auth/refresh"
PROBLEM = "application/problem+json"


async def me(client: httpx.AsyncClient, access_token: str) -> int:
    response = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


async def refresh_grant(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


async def fresh(client: httpx.AsyncClient, sessionmaker: Any) -> tuple[Account, dict[str, Any]]:
    account = await create_user(sessionmaker, role="officer")
    return account, await sign_in(client, account)


async def test_refresh_grant_rotates_and_a_replay_ends_the_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    _, first = await fresh(client, sessionmaker)
    rotated = await refresh_grant(client, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    second = rotated.json()
    # RFC 6749 §5.1: the same answer as the password grant.
    assert set(second) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert (second["token_type"], second["expires_in"]) == ("bearer", 900)
    assert second["refresh_token"] != first["refresh_token"]
    assert await me(client, second["access_token"]) == 200

    # The used token presented again, at either door, ends the whole sign-in.
    replay = await refresh_grant(client, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.headers["content-type"] == PROBLEM
    body = replay.json()
    assert (body["code"], body["error"]) == ("invalid_grant", "invalid_grant")
    assert body["detail"].startswith("Mã làm mới đã được dùng trước đó")
    assert await me(client, second["access_token"]) == 401
    assert (await refresh_grant(client, second["refresh_token"])).status_code == 400
    assert (await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})).json()[
        "code"
    ] == "unauthorized"

    # A token rotated at /auth/refresh and replayed at /auth/token: the same family rule.
    _, other = await fresh(client, sessionmaker)
    third = (await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})).json()
    assert (await refresh_grant(client, other["refresh_token"])).status_code == 400
    assert await me(client, third["access_token"]) == 401
    # ... and the other way round.
    _, more = await fresh(client, sessionmaker)
    fourth = (await refresh_grant(client, more["refresh_token"])).json()
    assert (
        await client.post(REFRESH, json={"refresh_token": more["refresh_token"]})
    ).status_code == 401
    assert await me(client, fourth["access_token"]) == 401


async def test_unknown_refresh_token_and_unsupported_grant(client: httpx.AsyncClient) -> None:
    unknown = await refresh_grant(client, "not-a-token")
    assert unknown.status_code == 400
    assert (unknown.json()["code"], unknown.json()["error"]) == ("invalid_grant", "invalid_grant")
    for grant in ("client_credentials", "authorization_code", "PASSWORD", "x" * 50):
        response = await client.post(
            TOKEN,
            data={"grant_type": grant, "username": "a", "password": "b"},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 400, (grant, response.text)
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["code"] == "unsupported_grant_type"
        assert body["error"] == "unsupported_grant_type"  # RFC 6749 §5.2
        assert body["type"] == "urn:dxplan:problem:unsupported_grant_type"
        assert body["detail"] == ("Unsupported grant_type; use password or refresh_token.")
    missing = await client.post(TOKEN, data={"grant_type": "refresh_token"})
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["refresh_token"]
    no_password = await client.post(TOKEN, data={"username": "someone"})
    assert no_password.status_code == 422
    assert [e["field"] for e in no_password.json()["errors"]] == ["password"]


async def test_password_grant_unchanged_with_and_without_grant_type(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await create_user(sessionmaker, role="officer")
    for extra in ({}, {"grant_type": "password"}):
        response = await client.post(
            TOKEN,
            data={"username": account.username, "password": "Correct-Horse-Battery-7", **extra},
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
    wrong = await client.post(
        TOKEN, data={"grant_type": "password", "username": account.username, "password": "no"}
    )
    assert wrong.status_code == 400
    assert (wrong.json()["code"], wrong.json()["error"]) == ("invalid_grant", "invalid_grant")


async def test_revoke_by_refresh_token_ends_the_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account, tokens = await fresh(client, sessionmaker)
    kept = await sign_in(client, account)  # another sign-in of the same account
    response = await client.post(
        REVOKE, data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    )
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert await me(client, tokens["access_token"]) == 401
    assert (await refresh_grant(client, tokens["refresh_token"])).status_code == 400
    assert await me(client, kept["access_token"]) == 200
    # Revoking it again, or without a hint, still answers 200 and empty.
    again = await client.post(REVOKE, data={"token": tokens["refresh_token"]})
    assert (again.status_code, again.content) == (200, b"")


async def test_revoke_by_access_token_ends_the_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account, tokens = await fresh(client, sessionmaker)
    kept = await sign_in(client, account)
    # A wrong hint is only a hint: the token is found anyway (RFC 7009 §2.1).
    response = await client.post(
        REVOKE, data={"token": tokens["access_token"], "token_type_hint": "refresh_token"}
    )
    assert (response.status_code, response.content) == (200, b"")
    assert await me(client, tokens["access_token"]) == 401
    refreshed = await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert await me(client, kept["access_token"]) == 200


async def test_revoke_answers_200_for_any_token(client: httpx.AsyncClient) -> None:
    for data in (
        {"token": "garbage"},
        {"token": "garbage", "token_type_hint": "access_token"},
        {"token": "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "token_type_hint": "access_token"},
        {"token": "x", "token_type_hint": "something_else"},
    ):
        response = await client.post(REVOKE, data=data)
        assert (response.status_code, response.content) == (200, b""), data
        assert response.headers["cache-control"] == "no-store"
    missing = await client.post(REVOKE, data={})
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["token"]


async def test_logout_without_body_ends_the_callers_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account, tokens = await fresh(client, sessionmaker)
    kept = await sign_in(client, account)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = await client.post(LOGOUT, headers=headers)
    assert out.status_code == 204, out.text
    assert await me(client, tokens["access_token"]) == 401
    assert (
        await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    assert await me(client, kept["access_token"]) == 200
    # The ended token signs nothing out any more, and no token at all is 401.
    assert (await client.post(LOGOUT, headers=headers)).status_code == 401
    anonymous = await client.post(LOGOUT)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_logout_json_body_still_works(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    _, tokens = await fresh(client, sessionmaker)
    # Sent by an app whose access token has expired (here: a broken one): the body decides.
    out = await client.post(
        LOGOUT,
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": "Bearer expired.or.broken"},
    )
    assert out.status_code == 204, out.text
    assert await me(client, tokens["access_token"]) == 401
    unknown = await client.post(LOGOUT, json={"refresh_token": "nope"})
    assert unknown.status_code == 204


async def test_contract_documents_the_forms(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    token_form = paths[TOKEN]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert {"password", "refresh_token"} <= set(token_form["examples"])
    revoke = paths[REVOKE]["post"]
    assert revoke["operationId"] == "auth-revoke"
    assert revoke["security"] == []
    assert "content" not in revoke["responses"]["200"]
    form = revoke["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert form["example"] == {
        "token": form["example"]["token"],
        "token_type_hint": "refresh_token",
    }
    logout = paths[LOGOUT]["post"]
    assert logout["requestBody"].get("required", False) is False
    assert logout["security"] == [{}, {"OAuth2PasswordBearer": []}]
