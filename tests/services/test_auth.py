"""Sign-in, tokens and their attacks, refresh rotation, lockout, passwords."""

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, text
from sqlmodel import col

from app.core.config import Settings
from app.core.security import InsecureConfigurationError, signing_key
from app.models import User
from tests.db import TEST_JWT_SECRET
from tests.factories import PASSWORD, Account, create_user, sign_in, signed_in

ME = "/api/v1/me"


def claims(account: Account, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": str(account.id),
        "iss": "dxplan",
        "aud": "dxplan-api",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "x" * 32,
        "role": account.role,
        "agency": account.agency,
        # The account's real sign-in, so each attack is refused for its own flaw only.
        "sid": jwt.decode(account.token, options={"verify_signature": False})["sid"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def me_status(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


async def test_sign_in_and_me(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    account = await create_user(sessionmaker, role="agency_lead", agency="SYT")
    tokens = await sign_in(client, account)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_expires_in"] == 30 * 86400
    decoded = jwt.decode(
        tokens["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], audience="dxplan-api"
    )
    assert set(decoded) == {
        "sub",
        "iss",
        "aud",
        "iat",
        "nbf",
        "exp",
        "jti",
        "role",
        "agency",
        "sid",
    }
    assert (decoded["role"], decoded["agency"]) == ("agency_lead", "SYT")
    assert decoded["exp"] - int(decoded["iat"]) == 900
    me = (await client.get(ME, headers=account.headers)).json()
    assert me["username"] == account.username
    assert me["agency"]["code"] == "SYT"
    assert me["role"] == "agency_lead"
    assert me["permissions"] == [
        "profile:password",
        "profile:read",
        "reports:comment",
        "reports:edit",
        "reports:read_own",
        "reports:submit",
        "users:read",
    ]
    assert me["created_at"].endswith("+07:00")


async def test_missing_token_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="dxplan"'
    assert response.json()["code"] == "unauthorized"
    basic = await client.get(ME, headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def _rsa_token(payload: dict[str, Any]) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(payload, pem, algorithm="RS256")


def _none_token(payload: dict[str, Any]) -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def _tampered(account: Account) -> str:
    token = jwt.encode(claims(account), TEST_JWT_SECRET, algorithm="HS256")
    header, _, signature = token.split(".")
    forged = jwt.encode(claims(account, sub="1", jti="y" * 32), "k", algorithm="HS256").split(".")[
        1
    ]
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "rs256_confusion",
        "hs256_public_key",
        "wrong_key",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "wrong_aud",
        "wrong_iss",
        "tampered",
        "garbage",
        "sub_not_int",
        "missing_sub",
        "missing_iss",
        "missing_aud",
        "missing_iat",
        "missing_exp",
        "missing_jti",
        "missing_role",
        "missing_agency",
        "missing_sid",
        "unknown_user",
        "sid_not_uuid",
        "unknown_sid",
        "other_users_sid",
    ],
)
async def test_jwt_attacks_are_401(
    client: httpx.AsyncClient, accounts: dict[str, Account], attack: str
) -> None:
    victim = accounts["admin"]
    now = int(time.time())

    def hs(**overrides: Any) -> str:
        return jwt.encode(claims(victim, **overrides), TEST_JWT_SECRET, algorithm="HS256")

    tokens = {
        "alg_none": _none_token(claims(victim)),
        "rs256_confusion": _rsa_token(claims(victim)),
        "hs256_public_key": jwt.encode(
            claims(victim), "-----BEGIN PUBLIC KEY-----x", algorithm="HS256"
        ),
        "wrong_key": jwt.encode(
            claims(victim), "another-key-that-is-long-enough-000000000", algorithm="HS256"
        ),
        "expired": hs(iat=now - 3600, nbf=now - 3600, exp=now - 60),
        "not_yet_valid": hs(nbf=now + 600, exp=now + 1200),
        "issued_in_future": hs(iat=now + 600, nbf=None, exp=now + 1200),
        "wrong_aud": hs(aud="another-api"),
        "wrong_iss": hs(iss="someone-else"),
        "tampered": _tampered(victim),
        "garbage": "not.a.jwt",
        "sub_not_int": hs(sub="admin"),
        "unknown_user": hs(sub="2147483000"),
        "sid_not_uuid": hs(sid="1"),
        "unknown_sid": hs(sid="00000000-0000-4000-8000-000000000000"),
        "other_users_sid": hs(sid=claims(accounts["officer"])["sid"]),
    }
    for claim in ("sub", "iss", "aud", "iat", "exp", "jti", "role", "agency", "sid"):
        tokens[f"missing_{claim}"] = hs(**{claim: None})
    response = await me_status(client, tokens[attack])
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # The genuine token of the same user still works.
    assert (await client.get(ME, headers=victim.headers)).status_code == 200


async def test_deactivated_user_and_role_change_apply_at_once(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    refresh_token = (await sign_in(client, reviewer))["refresh_token"]
    admin = accounts["admin"]
    url = f"/api/v1/users/{reviewer.id}"
    current = await client.get(url, headers=admin.headers)
    demoted = await client.patch(
        url,
        json={"role": "observer", "agency": "UBND_TINH"},
        headers={**admin.headers, "If-Match": current.headers["etag"]},
    )
    assert demoted.status_code == 200, demoted.text
    me = (await client.get(ME, headers=reviewer.headers)).json()
    assert (me["role"], me["agency"]["code"]) == ("observer", "UBND_TINH")

    off = await client.patch(
        url,
        json={"is_active": False},
        headers={**admin.headers, "If-Match": demoted.headers["etag"]},
    )
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert (await client.get(ME, headers=reviewer.headers)).status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401
    login = await client.post(
        "/api/v1/auth/token", data={"username": reviewer.username, "password": PASSWORD}
    )
    assert login.status_code == 400


async def test_refresh_rotation_and_reuse_detection(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await create_user(sessionmaker, role="officer")
    first = await sign_in(client, account)
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await me_status(client, second["access_token"])).status_code == 200
    third = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).json()
    # Replaying the first (already used) token revokes the whole family ...
    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    assert replay.json()["detail"].startswith("Mã làm mới đã được dùng trước đó")
    # ... so even the newest token of the family is now refused.
    latest = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}
    )
    assert latest.status_code == 401
    # A separate sign-in is a separate family and keeps working.
    other = await sign_in(client, account)
    ok = await client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert ok.status_code == 200
    assert ok.headers["cache-control"] == "no-store"


async def test_logout_revokes_the_family(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    account = await create_user(sessionmaker, role="officer")
    first = await sign_in(client, account)
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    out = await client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert out.status_code == 204
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert again.status_code == 401
    unknown = await client.post("/api/v1/auth/logout", json={"refresh_token": "nope"})
    assert unknown.status_code == 204


async def test_lockout_per_username_and_reset(app: Any, sessionmaker: Any) -> None:
    account = await create_user(sessionmaker, role="officer")
    settings: Settings = app.state.settings
    transport = httpx.ASGITransport(app=app, client=("10.9.8.1", 1000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        for _ in range(settings.login_max_failures_per_user - 1):
            bad = await c.post(
                "/api/v1/auth/token", data={"username": account.username, "password": "wrong"}
            )
            assert bad.status_code == 400
            assert bad.json()["code"] == "invalid_grant"
        # A success before the threshold resets the count.
        await sign_in(c, account)
        for _ in range(settings.login_max_failures_per_user):
            bad = await c.post(
                "/api/v1/auth/token", data={"username": account.username, "password": "wrong"}
            )
            assert bad.status_code == 400
        locked = await c.post(
            "/api/v1/auth/token", data={"username": account.username, "password": PASSWORD}
        )
        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_requests"
        retry = int(locked.headers["retry-after"])
        assert 1 <= retry <= settings.login_lockout_seconds
    # The lock holds from any address, and across workers: it lives in PostgreSQL.
    transport = httpx.ASGITransport(app=app, client=("10.9.8.2", 1000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        elsewhere = await c.post(
            "/api/v1/auth/token", data={"username": account.username, "password": PASSWORD}
        )
        assert elsewhere.status_code == 429
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE login_throttles SET locked_until = now() - interval '1 second' "
                "WHERE key = :key"
            ),
            {"key": f"user:{account.username}"},
        )
    transport = httpx.ASGITransport(app=app, client=("10.9.8.3", 1000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        await sign_in(c, account)  # the back-off has passed


async def test_lockout_per_address(app: Any, sessionmaker: Any) -> None:
    settings: Settings = app.state.settings
    victim = await create_user(sessionmaker, role="officer")
    transport = httpx.ASGITransport(app=app, client=("10.7.7.7", 1000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        for n in range(settings.login_max_failures_per_address):
            bad = await c.post(
                "/api/v1/auth/token", data={"username": f"guess{n}", "password": "wrong"}
            )
            assert bad.status_code == 400
        blocked = await c.post(
            "/api/v1/auth/token", data={"username": victim.username, "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert "retry-after" in blocked.headers


async def test_password_rehash_on_login(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    account = await create_user(sessionmaker, role="officer", password_hash_value=weak)
    await sign_in(client, account)
    async with sessionmaker() as session:
        stored = (
            await session.execute(select(col(User.password_hash)).where(col(User.id) == account.id))
        ).scalar_one()
    assert stored != weak
    assert "$m=19456,t=2,p=1$" in stored
    await sign_in(client, account)  # and the new hash verifies


async def test_change_own_password(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    account = await signed_in(client, sessionmaker, role="officer")
    old_headers = account.headers
    url = "/api/v1/me/password"
    wrong = await client.post(
        url,
        headers=old_headers,
        json={"current_password": "nope", "new_password": "A-new-secret-99"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    weak = await client.post(
        url, headers=old_headers, json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert [e["type"] for e in weak.json()["errors"]] == ["password_too_short"]
    named = await client.post(
        url,
        headers=old_headers,
        json={"current_password": PASSWORD, "new_password": f"xx{account.username}yy-2358"},
    )
    assert "password_contains_name" in [e["type"] for e in named.json()["errors"]]
    ok = await client.post(
        url,
        headers=old_headers,
        json={"current_password": PASSWORD, "new_password": "A-new-secret-99"},
    )
    assert ok.status_code == 204
    assert (await client.get(ME, headers=old_headers)).status_code == 401
    await sign_in(client, account, password="A-new-secret-99")
    assert (await client.get(ME, headers=account.headers)).status_code == 200


def test_production_refuses_missing_or_weak_key(tmp_path: Any) -> None:
    with pytest.raises(InsecureConfigurationError):
        signing_key(Settings(app_env="production", data_dir=tmp_path))
    with pytest.raises(InsecureConfigurationError):
        signing_key(Settings(app_env="production", jwt_secret="short"))  # type: ignore[arg-type]
    strong = "k" * 40
    assert signing_key(Settings(app_env="production", jwt_secret=strong)) == strong  # type: ignore[arg-type]


def test_development_key_is_generated_once(tmp_path: Any) -> None:
    settings = Settings(app_env="development", data_dir=tmp_path)
    first = signing_key(settings)
    assert len(first) >= 32
    assert signing_key(settings) == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
